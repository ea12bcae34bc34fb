"""Long polling that confirms an update to Telegram only after the bot has handled it.

PTB's Updater asks for the next offset — which confirms the batch — while the application is still
handling that batch, so a crash in between loses the update for good. Here a batch is handled first and
only the next getUpdates confirms it: after a crash the update is delivered again, and the processed-updates
table (claimed in the same transaction as the answer) makes the second delivery change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.outbox import retry_after_seconds

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


async def poll(app: Application, timeout: int, stop: asyncio.Event) -> None:
    offset: int | None = None
    backoff = 0.5
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            fetch = asyncio.create_task(app.bot.get_updates(offset=offset, timeout=timeout,
                                                            allowed_updates=Update.ALL_TYPES))
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
                continue
            except (NetworkError, TimedOut) as exc:
                log.warning("getUpdates failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 0.5
            for update in updates:
                await app.process_update(update)  # errors go to the application's error handler
                offset = update.update_id + 1
        if offset is not None:  # confirm what was handled before leaving
            try:
                await app.bot.get_updates(offset=offset, timeout=0)
            except Exception:  # noqa: BLE001 - unconfirmed updates are simply delivered again
                log.info("could not confirm the last batch; it will be delivered again and applied once")
    finally:
        stopping.cancel()


def run_polling(app: Application, timeout: int) -> None:
    """Like Application.run_polling (init, post_init, start, stop, post_stop, shutdown, SIGINT/SIGTERM)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with app:
            if app.post_init is not None:
                await app.post_init(app)
            await app.bot.delete_webhook(drop_pending_updates=False)
            await app.start()
            try:
                await poll(app, timeout, stop)
            finally:
                await app.stop()
                if app.post_stop is not None:
                    await app.post_stop(app)
        if app.post_shutdown is not None:
            await app.post_shutdown(app)

    asyncio.run(main())
