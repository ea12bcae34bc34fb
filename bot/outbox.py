"""Delivers the notification outbox: rows written in the same transaction as the change they report.

A row is marked delivered only after Telegram confirmed the message, so a crash between the state
change and the send delays the message but never loses it (at worst the one message whose confirmation
was lost in the crash is sent again: one duplicate per crash). Rows are claimed before they are sent
(`caserepo.claim_messages`: `FOR UPDATE SKIP LOCKED` and a lease), so two senders never send the same
row; the scheduler's process is the only sender in normal operation (bot/services.py), which keeps the
whole bot within Telegram's 30 messages/s however many processes run. Failures are retried with
exponential backoff; Telegram's RetryAfter is honoured; a user who blocked the bot is marked
(`User.blocked_bot`) and not retried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from aiolimiter import AsyncLimiter
from sqlalchemy.engine import Engine
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.i18n import normalise_language, t
from storage import caserepo as cr
from storage.casework import Outbox
from storage.db import session_scope
from storage.models import Case, User, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = dt.timedelta(minutes=10)
MAX_BAD_REQUESTS = 5
LEASE = dt.timedelta(minutes=2)


class SendsMessages(Protocol):
    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any: ...
    async def edit_message_text(self, text: str, **kwargs: Any) -> Any: ...


def _button(label: Any, data: Any, bot_username: str | None) -> InlineKeyboardButton | None:
    """[label, callback data], or a link: [label, {"url": …}] or [label, {"start": payload}], the deep link
    that opens a private chat with the bot (a channel post cannot carry callback buttons for strangers to
    act on privately). A deep link without the bot's name yet is left out rather than sent broken."""
    if isinstance(data, dict):
        if "url" in data:
            return InlineKeyboardButton(str(label), url=str(data["url"]))
        if "start" in data and bot_username:
            return InlineKeyboardButton(str(label), url=f"https://t.me/{bot_username}?start={data['start']}")
        return None
    return InlineKeyboardButton(str(label), callback_data=str(data))


def markup_of(params: dict[str, Any], bot_username: str | None = None) -> InlineKeyboardMarkup | None:
    """A notification's buttons (`params["buttons"]`: rows of [label, callback data]), e.g. "open the case"."""
    rows = params.get("buttons") if isinstance(params, dict) else None
    if not rows:
        return None
    built = [[b for b in (_button(label, data, bot_username) for label, data in row) if b is not None] for row in rows]
    built = [row for row in built if row]
    return InlineKeyboardMarkup(built) if built else None


def target_of(chat_id: int, params: dict[str, Any]) -> int | str:
    """Where a row goes: its chat id, or the @username of a channel configured by name (`params["chat"]`)."""
    chat = params.get("chat") if isinstance(params, dict) else None
    return str(chat) if isinstance(chat, str) and chat.startswith("@") else chat_id


def backoff(attempts: int) -> dt.timedelta:
    """1 s, 2 s, 4 s … capped: quick recovery from a blip, no hammering during an outage."""
    seconds = 2 ** min(max(attempts - 1, 0), 20)
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _username(bot: Any) -> str | None:
    """The bot's @name for deep links; None before PTB's initialize() (its property raises then)."""
    try:
        name = getattr(bot, "username", None)
    except RuntimeError:
        return None
    return name if isinstance(name, str) else None


class OutboxWorker:
    def __init__(self, engine: Engine, poll_interval: float = 1.0, batch: int = 20,
                 messages_per_second: float = 30.0, owner: int = 0, executor: Executor | None = None,
                 live_owners: Callable[[], set[int] | None] = lambda: None) -> None:
        self.engine = engine
        self.poll_interval = poll_interval
        self.batch = batch
        self.owner = owner
        self.executor = executor
        self.live_owners = live_owners
        # Telegram counts messages per second: aiolimiter's leaky bucket with room for one message, leaking
        # one every 1/30 s, spaces a fan-out evenly, so no second ever holds more than 30 (a bucket of 30 per
        # second would let a burst of 30 through on top of the steady 30).
        self.limiter = AsyncLimiter(1, 1.0 / messages_per_second)
        self._stopping = asyncio.Event()

    def stop_soon(self) -> None:
        """Stop after the message being sent: cancelling a send that Telegram may already have taken would
        leave it unrecorded, and the next sender would send it again."""
        self._stopping.set()

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run(self, bot: SendsMessages) -> None:
        """Until `stop_soon`: deliver what is due, then wait a little when nothing was."""
        while not self._stopping.is_set():
            try:
                sent = await self.deliver_due(bot)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the worker must outlive a database hiccup
                log.warning("outbox pass failed (%s: %s)", type(exc).__name__, exc)
                sent = 0
            if not sent:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    def _claim(self, bot_username: str | None = None) -> list[tuple[int | None, Any, str, Any, Any]]:
        """The claimed rows as (id, target, text, markup, edit): `edit` is (chat, message id) of an earlier
        row's message to edit instead of sending (`params["edit_of"]`: a channel post edited at the end of
        the publicity), "wait" while that message is not sent yet."""
        with session_scope(self.engine) as s:
            rows = cr.claim_messages(s, self.owner, LEASE, self.batch, self.live_owners())
            out = []
            for r in rows:
                edit: Any = None
                edit_of = (r.params or {}).get("edit_of")
                if edit_of is not None:
                    original = s.get(Outbox, edit_of)
                    if original is None or original.status in ("failed", "blocked"):
                        edit = "gone"
                    elif original.message_id is None:
                        edit = "wait"
                    else:
                        edit = (target_of(original.chat_id, original.params or {}), original.message_id)
                out.append((r.id, target_of(r.chat_id, r.params or {}), r.text, markup_of(r.params, bot_username),
                            edit))
            return out

    def release(self) -> None:
        with session_scope(self.engine) as s:
            cr.release_messages(s, self.owner)

    async def deliver_due(self, bot: SendsMessages) -> int:
        """One pass; returns how many rows were delivered."""
        due = await self._db(self._claim, _username(bot))
        delivered = 0
        for n, (row_id, chat_id, text, markup, edit) in enumerate(due):
            if edit == "wait":  # the message to edit is not sent yet: after it
                await self._db(self._retry, row_id, "waiting for the message it edits", dt.timedelta(seconds=5))
                continue
            if edit == "gone":
                await self._db(self._retry, row_id, "the message it edits was never sent", None, 1)
                continue
            await self.limiter.acquire()
            if self._stopping.is_set():  # the rest goes back, for this or the next sender
                await self._db(self._unclaim, [r[0] for r in due[n:]])
                break
            try:
                if edit is not None:
                    message = await bot.edit_message_text(text, chat_id=edit[0], message_id=edit[1])
                else:
                    message = await (bot.send_message(chat_id, text, reply_markup=markup) if markup
                                     else bot.send_message(chat_id, text))
            except RetryAfter as exc:
                await self._db(self._retry, row_id, f"RetryAfter {exc}",
                               dt.timedelta(seconds=retry_after_seconds(exc)))
                await self._db(self._unclaim, [r[0] for r in due[n + 1:]])
                break  # the whole bot is throttled, not just this chat
            except Forbidden as exc:
                await self._db(self._blocked, row_id, chat_id, str(exc))
            except BadRequest as exc:
                await self._db(self._retry, row_id, f"BadRequest {exc}", None, MAX_BAD_REQUESTS)
            except TelegramError as exc:
                await self._db(self._retry, row_id, f"{type(exc).__name__} {exc}", None)
            else:
                await self._db(self._delivered, row_id, getattr(message, "message_id", None))
                delivered += 1
        return delivered

    def _unclaim(self, ids: list[int | None]) -> None:
        if not ids:
            return
        with session_scope(self.engine) as s:
            for row_id in ids:
                row = s.get(Outbox, row_id)
                if row is not None and row.lease_owner == self.owner:
                    row.lease_owner, row.lease_until = None, None

    def _delivered(self, row_id: int | None, message_id: int | None) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Outbox, row_id)
            if row is not None:
                row.status = "delivered"
                row.delivered_at = utcnow()
                row.message_id = message_id
                row.attempts += 1
                row.lease_owner, row.lease_until = None, None

    def _retry(self, row_id: int | None, error: str, wait: dt.timedelta | None,
               give_up_after: int | None = None) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Outbox, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:500]
            row.next_attempt_at = utcnow() + (wait if wait is not None else backoff(row.attempts))
            row.lease_owner, row.lease_until = None, None
            if give_up_after is not None and row.attempts >= give_up_after:
                row.status = "failed"
            log.warning("outbox %s: attempt %s failed: %s", row_id, row.attempts, error)

    def _blocked(self, row_id: int | None, chat_id: int | str, error: str) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Outbox, row_id)
            if row is not None:
                row.attempts += 1
                row.lease_owner, row.lease_until = None, None
                row.status = "blocked"
                row.last_error = error[:500]
            user = s.get(User, chat_id) if isinstance(chat_id, int) and chat_id > 0 else None  # not a channel
            if user is not None:
                user.blocked_bot = True
            if row is not None and row.case_id is not None:
                self._tell_staff_blocked(s, row, chat_id)

    @staticmethod
    def _tell_staff_blocked(s: Any, row: Outbox, chat_id: int | str) -> None:
        """The applicant blocked the bot: their case's officers must reach them another way."""
        case = s.get(Case, row.case_id)
        if case is None or case.applicant_id != chat_id:
            return
        for member in cr.members_for_case(s, case, {"officer", "unit_reviewer", "determination_group"}):
            if member.user_id == chat_id:
                continue
            staff = s.get(User, member.user_id)
            lang = normalise_language(staff.language if staff and staff.language else None)
            text = t("off.note.applicant_blocked", lang, number=case.number, message=row.text[:300])
            cr.enqueue(s, member.user_id, "off.note.applicant_blocked", {"number": case.number}, text,
                       f"blocked:{row.id}:{member.user_id}", case.id)
