"""Long polling that confirms a batch to Telegram only after it is safely in the inbox.

PTB's Updater asks for the next offset — which confirms the batch — while the application is still
handling it, so a crash in between loses the update for good. Here each batch is written to the inbox
table in one transaction (storage/inbox.py) and only the next getUpdates confirms it: a crash before the
commit means Telegram delivers the batch again (the inbox drops what it already has); a database that is
away means the batch is simply not confirmed and is fetched again after a back-off. Handling happens
from the inbox (bot/dispatch.py), so a slow answer never holds up the poll.

409 Conflict (another poller, e.g. during a deploy overlap, or a webhook still set) and 5xx answers are
retried with back-off instead of ending the bot; only an invalid token is fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.outbox import retry_after_seconds

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
STORE_BACKOFF = 5.0  # the database coming back should be noticed within seconds
Store = Callable[[list[dict[str, Any]]], Awaitable[int]]


async def poll(bot: Any, store: Store, timeout: int, stop: asyncio.Event) -> None:
    offset: int | None = None
    backoff = 0.5
    stopping = asyncio.create_task(stop.wait())

    async def pause(reason: str, cap: float = MAX_BACKOFF) -> None:
        nonlocal backoff
        backoff = min(backoff, cap)
        log.warning("%s; retrying in %.1fs", reason, backoff)
        try:
            await asyncio.wait_for(asyncio.shield(stopping), backoff)
        except TimeoutError:
            pass
        backoff = min(backoff * 2, cap)

    try:
        while not stop.is_set():
            fetch = asyncio.create_task(bot.get_updates(offset=offset, timeout=timeout,
                                                        allowed_updates=Update.ALL_TYPES))
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
                continue
            except Conflict as exc:
                await pause(f"getUpdates conflict ({exc}): another poller or a webhook is active")
                continue
            except (NetworkError, TimedOut) as exc:  # 5xx, dropped connection, timeout
                await pause(f"getUpdates failed ({exc})")
                continue
            except TelegramError as exc:
                await pause(f"getUpdates refused ({exc})")
                continue
            if not updates:
                backoff = 0.5
                continue
            batch = [u.to_dict() if hasattr(u, "to_dict") else dict(u) for u in updates]
            try:
                await store(batch)
            except Exception as exc:  # noqa: BLE001 - not stored means not confirmed: fetched again
                await pause(f"could not store {len(batch)} update(s) ({type(exc).__name__}: {exc})", STORE_BACKOFF)
                continue
            backoff = 0.5
            offset = max(int(u["update_id"]) for u in batch) + 1
        if offset is not None:  # confirm what is stored before leaving
            try:
                await bot.get_updates(offset=offset, timeout=0)
            except Exception:  # noqa: BLE001 - unconfirmed updates are delivered again and dropped as duplicates
                log.info("could not confirm the last batch; it will be delivered again and dropped as a duplicate")
    finally:
        stopping.cancel()
