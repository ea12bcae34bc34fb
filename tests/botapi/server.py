"""A local, faithful Telegram Bot API server for end-to-end tests of a real PTB Application.

Why it exists: the bot must be tested against the *unmodified* python-telegram-bot stack
(HTTP client, retries, update parsing, offsets), which only an HTTP server speaking the real
Bot API wire format can exercise.  Existing fakes got details wrong that PTB 22 depends on
(``is_bot`` in getMe, dates in seconds, ``chat_instance``, edit results, getUpdates offset
and long-poll semantics), so this one follows https://core.telegram.org/bots/api closely and
returns the same error descriptions Telegram does for the mistakes bots typically make.

The server runs aiohttp in a background thread with its own event loop so that synchronous
test code can drive users (``server.user(...)``) while the bot talks HTTP to it.  All state
lives behind one re-entrant lock + condition variable shared by both threads.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from ._chats import (
    CHANNEL_ADMIN_RIGHTS,
    GROUP_ADMIN_RIGHTS,
    _Chat,
    _Msg,
    _Profile,
    chat_member,
    is_supergroup_id,
)
from ._files import FileStore, StoredFile, image_size
from ._markup import MarkupError, check_markup, parse_deep_link, web_app_url_ok
from ._text import EntityParseError, format_text, utf16_len
from .community import Channel, Community, Group
from .user import User

__all__ = ["ApiError", "BotApiServer", "Call", "Upload", "DEFAULT_TOKEN"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_C = TypeVar("_C", bound=Community)

#: A syntactically valid token tests can use; any token is accepted.
DEFAULT_TOKEN = "123456789:TEST-TOKEN-for-local-bot-api"

_MB = 1024 * 1024
_UPLOAD_LIMIT = 50 * _MB  # bots may upload up to 50 MB
_DOWNLOAD_LIMIT = 20 * _MB  # getFile refuses bigger files
_PHOTO_LIMIT = 10 * _MB
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024

_DEFAULT_ALLOWED = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
        "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
        "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
        "chat_boost", "removed_chat_boost",
    }
)  # everything except chat_member, message_reaction and message_reaction_count, like Telegram

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)

# Form fields that are plain strings and must never be JSON-decoded ("123" stays text).
_STRING_FIELDS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "language_code",
        "action", "inline_message_id", "file_id", "query", "emoji", "title", "description",
        "short_description", "name", "business_connection_id", "message_effect_id", "ip_address",
        "document", "photo", "data", "certificate", "thumbnail",
    }
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answer ``{"ok": false, ...}``; raised inside method implementations."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request (content kept by reference, not copied)."""

    filename: str | None
    content_type: str | None
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class Call:
    """One recorded bot request.  Unpacks like the tuple ``(method, params, time)``.

    ``status`` is the HTTP status answered (None while in flight, 0 if the connection was
    dropped on purpose); ``result``/``error`` hold what the bot got back.
    """

    method: str
    params: dict[str, Any]
    time: float
    token: str = ""
    status: int | None = None
    result: Any = None
    error: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params, self.time))

    def __getitem__(self, index: int) -> Any:
        return (self.method, self.params, self.time)[index]

    def __len__(self) -> int:
        return 3

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _Fault:
    kind: str  # "fail" or "drop"
    remaining: int
    status: int = 500
    retry_after: int | None = None
    description: str | None = None
    after_processing: bool = False


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


def _bot_id(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1000


class BotApiServer:
    """The fake Bot API.  ``start()``/``stop()`` or use as a context manager.

    Point PTB at it with ``.base_url(server.base_url).base_file_url(server.base_file_url)``
    (i.e. ``f"{server.url}/bot"`` and ``f"{server.url}/file/bot"``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_first_name: str = "Test Bot",
        bot_username: str = "test_bot",
        strict_chats: bool = True,
        clock: Callable[[], float] = time.time,
        webhook_retry_delay: float = 0.1,
        privacy_mode: bool = True,
        test_environment: bool = False,
    ) -> None:
        """``strict_chats``: sending to a chat no ``server.user()`` exists for fails with
        "chat not found", as it would for a user who never started the bot.
        ``clock``: source of message dates (unix seconds), injectable for time-travel tests.
        ``privacy_mode``: BotFather's default; in groups the bot then sees only commands, replies to it
        and service messages (getMe reports ``can_read_all_group_messages`` accordingly).
        ``test_environment``: as Telegram's test environment, Web App links may be plain http to a local
        host (the desk's tests serve it on 127.0.0.1 without TLS); otherwise only https with a host name."""
        self.host = host
        self._requested_port = port
        self.port = 0
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.strict_chats = strict_chats
        self.privacy_mode = privacy_mode
        self.test_environment = test_environment
        self._clock = clock
        self._webhook_retry_delay = webhook_retry_delay

        self._cond = threading.Condition(threading.RLock())
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._closing = False

        self.files = FileStore()
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, User] = {}
        self._community_ids = itertools.count(1001)
        self._token_seen = DEFAULT_TOKEN  # the bot's identity in updates the server makes up (my_chat_member)
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(100000001)
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED
        self._seq = 0
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(4_801_234_567_890_000_001)
        self._answers: list[dict[str, Any]] = []
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._webhook: _Webhook | None = None
        self._webhook_deliveries: list[dict[str, Any]] = []
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._poll_generation: dict[str, int] = {}
        self._updates_event: asyncio.Event | None = None

        self._methods: dict[str, tuple[str, Callable[[str, dict[str, Any]], Any]]] = {}
        for name in (
            "getMe", "logOut", "close", "getChat", "setWebhook", "deleteWebhook", "getWebhookInfo",
            "sendMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
            "deleteMessage", "deleteMessages", "answerCallbackQuery", "setMyCommands",
            "getMyCommands", "deleteMyCommands", "setChatMenuButton", "getChatMenuButton",
            "sendChatAction", "sendDocument", "sendPhoto", "getFile", "setMyDescription", "getChatMember",
            "getChatAdministrators", "getChatMemberCount", "leaveChat",
            "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName", "getMyName",
        ):
            self._methods[name.lower()] = (name, getattr(self, f"_m_{name}"))
        self._methods["getupdates"] = ("getUpdates", _async_placeholder)  # served by _get_updates

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        if not self.port:
            raise RuntimeError("BotApiServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    def application_builder(self, token: str = DEFAULT_TOKEN) -> Any:
        """A PTB ``ApplicationBuilder`` already pointed at this server (imports PTB lazily)."""
        from telegram.ext import ApplicationBuilder

        return ApplicationBuilder().token(token).base_url(self.base_url).base_file_url(self.base_file_url)

    def start(self) -> BotApiServer:
        """Start serving in a background thread; returns self once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("BotApiServer already started")
        self._thread = threading.Thread(target=self._run, name="botapi-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("BotApiServer did not start within 15 s")
        if self._startup_error is not None:
            self._thread = None
            raise RuntimeError("BotApiServer failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop the server and its thread; pending long polls are answered with no updates."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), loop).result(15)
        except Exception:  # pragma: no cover - best effort shutdown
            _log.exception("error while stopping BotApiServer")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        self._thread = None
        self._loop = None

    def __enter__(self) -> BotApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._astart())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            self._loop = None
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _astart(self) -> None:
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=_UPLOAD_LIMIT + 5 * _MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # noqa: S101 - internal invariant
        self.port = server.sockets[0].getsockname()[1]

    async def _astop(self) -> None:
        with self._cond:
            self._closing = True
            webhook = self._webhook
        if webhook and webhook.task:
            webhook.task.cancel()
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()

    def _wake(self) -> None:
        """Wake long-polling getUpdates and webhook delivery (call in the server loop)."""
        event = self._updates_event
        self._updates_event = asyncio.Event()
        if event is not None:
            event.set()

    def _wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # loop closed concurrently
                pass

    # ------------------------------------------------------------------ helpers for tests

    def user(
        self,
        user_id: int,
        first_name: str = "Test User",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        last_name: str | None = None,
    ) -> User:
        """The simulated user ``user_id`` (created on first use; later calls update the profile
        only when arguments differ from the defaults).  Their private chat id equals user_id."""
        with self._cond:
            chat = self._chats.get(user_id)
            if chat is None:
                if user_id <= 0:
                    raise ValueError(f"user ids are positive; {user_id} would be a group or channel")
                chat = _Chat(user_id, "private", _Profile(user_id, first_name, last_name, username, language_code))
                self._chats[user_id] = chat
                self._users[user_id] = User(self, user_id)
            else:
                p = chat.profile
                assert p is not None  # noqa: S101 - positive ids are private chats
                if first_name != "Test User":
                    p.first_name = first_name
                if language_code != "zh-hans":
                    p.language_code = language_code
                if username is not None:
                    p.username = username
                if last_name is not None:
                    p.last_name = last_name
            return self._users[user_id]

    def group(self, title: str, *, chat_id: int | None = None, supergroup: bool = True,
              username: str | None = None, members: list[User] | None = None,
              creator: User | None = None) -> Group:
        """A group (``supergroup=False``: a basic group) with ``members``; the bot is not in it until
        ``group.add_bot(by=...)``.  Supergroup ids look like -100xxxxxxxxxx, basic groups like -4xxxxxxxx."""
        return self._community(Group, "supergroup" if supergroup else "group", title, chat_id, username,
                               members or [], creator)

    def channel(self, title: str, *, username: str | None = None, chat_id: int | None = None,
                admins: list[User] | None = None, creator: User | None = None,
                subscribers: list[User] | None = None) -> Channel:
        """A channel (public when it has a ``username``, reachable as ``@username``); the bot posts in it
        only after ``channel.add_bot(by=..., admin=True)``, as on Telegram."""
        channel = self._community(Channel, "channel", title, chat_id, username, subscribers or [], creator)
        for admin in admins or []:
            channel.add_member(admin, "administrator")
        return channel

    def _community(self, kind: type[_C], chat_type: str, title: str, chat_id: int | None, username: str | None,
                   members: list[User], creator: User | None) -> _C:
        with self._cond:
            if chat_id is None:
                chat_id = (-1_000_000_000_000 - next(self._community_ids) if chat_type != "group"
                           else -4_000_000_000 - next(self._community_ids))
            if chat_id >= 0 or chat_id in self._chats:
                raise ValueError(f"chat id {chat_id} is taken or not a group/channel id")
            if (chat_type != "group") != is_supergroup_id(chat_id):
                raise ValueError(f"{chat_type} ids {'are' if chat_type != 'group' else 'are not'} of the form -100xxxxxxxxxx")
            if username is not None and any(c.username and c.username.lower() == username.lower()
                                            for c in self._chats.values()):
                raise ValueError(f"@{username} is taken")
            chat = _Chat(chat_id, chat_type, title=title, username=username, bot_status="left")
            self._chats[chat_id] = chat
            handle = kind(self, chat_id)
            if creator is not None:
                chat.members[creator.id] = "creator"
            for member in members:
                chat.members.setdefault(member.id, "member")
            return handle

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue a raw update (anything not covered by User helpers); returns its update_id (the
        payload's own ``update_id`` when it has one: a re-delivery)."""
        with self._cond:
            return self._enqueue(copy.deepcopy(payload))

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded bot requests, oldest first, optionally only those of ``method`` (any case)."""
        with self._cond:
            if method is None:
                return list(self._calls)
            wanted = method.lower()
            return [c for c in self._calls if c.method.lower() == wanted]

    def calls_since(self, index: int) -> list[Call]:
        """Recorded calls from position ``index`` on (``len(server.calls())`` taken earlier): cheap when
        a test checks thousands of inputs one by one."""
        with self._cond:
            return self._calls[index:]

    def call_count(self) -> int:
        with self._cond:
            return len(self._calls)

    def clear_calls(self) -> None:
        """Forget recorded calls, so a test phase can assert on its own calls only."""
        with self._cond:
            self._calls.clear()

    def fail_next(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any method) fail with ``status``.

        The method is not executed.  429 carries ``parameters.retry_after`` (default 1), so PTB
        raises ``telegram.error.RetryAfter``; 403 defaults to "bot was blocked by the user".
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, "Internal Server Error")
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).append(
                _Fault("fail", times, status, retry_after, description)
            )

    def drop_next(self, method: str, times: int = 1, after_processing: bool = False) -> None:
        """Close the connection without answering the next ``times`` calls of ``method``.

        ``after_processing=True`` executes the call first (the message *is* sent) and only then
        drops the answer — the "did my request go through?" case retries must handle.
        """
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).append(
                _Fault("drop", times, after_processing=after_processing)
            )

    def clear_faults(self) -> None:
        """Cancel pending fail_next/drop_next injections that were not consumed."""
        with self._cond:
            self._faults.clear()

    def block_user(self, user_id: int) -> None:
        """From now on every send to this user's chat fails with 403 "bot was blocked by the user".

        The bare fault: no ``my_chat_member`` update, and the user can still write (a race where the
        user blocks right after writing).  ``user.block_bot()`` is what a person does."""
        with self._cond:
            self._chat_for_test(user_id).blocked = True

    def unblock_user(self, user_id: int) -> None:
        """Undo ``block_user``: sends to this chat succeed again."""
        with self._cond:
            self._chat_for_test(user_id).blocked = False

    def mark(self) -> int:
        """Current change counter; see ``User.wait_for_change``."""
        with self._cond:
            return self._seq

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (copies)."""
        with self._cond:
            return copy.deepcopy(list(self._updates))

    def callback_answers(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """answerCallbackQuery calls that succeeded: callback_query_id, user_id, data, text,
        show_alert, url, cache_time, time."""
        with self._cond:
            return [dict(a) for a in self._answers if user_id is None or a["user_id"] == user_id]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands set for exactly this scope (default: BotCommandScopeDefault) and language."""
        with self._cond:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        """Menu button set for ``chat_id`` (None = the bot-wide default), or None if never set."""
        with self._cond:
            return copy.deepcopy(self._menu_buttons.get(chat_id))

    def webhook_info(self) -> dict[str, Any]:
        """What getWebhookInfo would answer right now."""
        with self._cond:
            return self._webhook_info_dict()

    def webhook(self) -> dict[str, Any] | None:
        """The webhook as the bot set it, including ``secret_token`` (which getWebhookInfo hides)."""
        with self._cond:
            hook = self._webhook
            if hook is None:
                return None
            return {"url": hook.url, "secret_token": hook.secret_token, "max_connections": hook.max_connections,
                    "allowed_updates": copy.deepcopy(hook.allowed_updates)}

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Updates successfully POSTed to the webhook (copies), oldest first."""
        with self._cond:
            return copy.deepcopy(self._webhook_deliveries)

    def file_content(self, file_id: str) -> bytes:
        """Stored bytes of ``file_id`` (no copy)."""
        stored = self.files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.content

    def wait_idle(self, timeout: float = 10.0, quiet: float = 0.2) -> None:
        """Block until every queued update was fetched *and confirmed* (offset moved past it,
        or webhook delivery succeeded) and no bot request ran for ``quiet`` seconds.

        Why "quiet": a confirmed update may still be being handled; the first API call a handler
        makes usually comes well within 200 ms.  Raise ``quiet`` for slow handlers.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                quiet_for = now - self._last_activity
                busy = bool(self._updates) or self._inflight > 0
                if not busy and quiet_for >= quiet:
                    return
                if now >= deadline:
                    raise AssertionError(
                        f"bot not idle after {timeout}s: {len(self._updates)} unconfirmed update(s), "
                        f"{self._inflight} request(s) in flight, last activity {quiet_for:.2f}s ago"
                    )
                wait = deadline - now if busy else min(deadline - now, quiet - quiet_for)
                self._cond.wait(max(wait, 0.005))

    def wait_confirmed(self, update_id: int, timeout: float = 15.0) -> None:
        """Block until the bot has confirmed ``update_id`` and every update before it (its getUpdates
        offset moved past them): Telegram would not deliver it again.  For a bot that confirms only after
        handling, it is then handled; ours confirms once the update is in its inbox.  0 (nothing was
        delivered) returns at once."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._updates and self._updates[0]["update_id"] <= update_id:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"update {update_id} not confirmed after {timeout}s; "
                                         f"{len(self._updates)} unconfirmed update(s)")
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ state used by User

    def _chat_for_test(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise AssertionError(f"no user/chat {chat_id}; create it with server.user({chat_id})")
        return chat

    def _now(self) -> int:
        return int(self._clock())

    def _bump(self) -> int:
        self._seq += 1
        self._cond.notify_all()
        return self._seq

    def _enqueue(self, payload: dict[str, Any]) -> int:
        """Assign an update_id and queue (or drop, if filtered by allowed_updates)."""
        update = {"update_id": next(self._update_ids), **payload}
        kind = next((k for k in payload if k != "update_id"), "")
        allowed = set(self._webhook.allowed_updates) if self._webhook and self._webhook.allowed_updates else self._allowed_updates
        if kind in allowed:
            self._updates.append(update)
            self._cond.notify_all()
            self._wake_threadsafe()
        return int(update["update_id"])

    def _add_message(self, chat: _Chat, sender: _Profile | None, fields: dict[str, Any]) -> _Msg:
        """A message written by a person (``sender``; None for a channel post shown as the channel)."""
        mid = chat.next_message_id
        chat.next_message_id += 1
        data: dict[str, Any] = {"message_id": mid}
        if chat.type == "channel":
            data["sender_chat"] = chat.chat_dict()
        elif sender is not None:
            data["from"] = sender.user_dict()
        data.update({"chat": chat.chat_dict(), "date": self._now(), **fields})
        msg = _Msg(data, from_bot=False, version=self._bump(), sender_id=sender.id if sender else None)
        chat.messages[mid] = msg
        return msg

    def _bot_receives(self, chat: _Chat, data: dict[str, Any]) -> bool:
        """Whether a person's message in ``chat`` reaches the bot.  Private chats: always.  Channels: when
        the bot is a member (bots are always admins there).  Groups: when the bot is a member and, in
        privacy mode (BotFather's default) unless it is an admin, only commands meant for it, replies to
        its own messages and service messages (https://core.telegram.org/bots/features#privacy-mode)."""
        if chat.type == "private":
            return True
        if not chat.bot_is_member:
            return False
        if chat.type == "channel" or not self.privacy_mode or chat.bot_is_admin:
            return True
        if any(k in data for k in ("new_chat_members", "left_chat_member", "new_chat_title", "pinned_message",
                                   "group_chat_created", "migrate_to_chat_id")):
            return True
        reply = data.get("reply_to_message")
        if reply is not None and reply.get("from", {}).get("is_bot") and reply["from"].get("username") == self.bot_username:
            return True
        text = data.get("text") or data.get("caption") or ""
        for entity in data.get("entities") or data.get("caption_entities") or []:
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                _, at, target = command.partition("@")
                return not at or target.lower() == self.bot_username.lower()
        return False

    def _post_user_message(self, chat: _Chat, sender: _Profile, fields: dict[str, Any]) -> int | None:
        """Record a person's new message and deliver it as ``message`` / ``channel_post`` when the bot
        would receive it; the update_id, or None when Telegram would not tell the bot."""
        msg = self._add_message(chat, sender, fields)
        if not self._bot_receives(chat, msg.data):
            return None
        return self._enqueue({"channel_post" if chat.type == "channel" else "message": copy.deepcopy(msg.data)})

    def _post_edit(self, chat: _Chat, msg: _Msg) -> int | None:
        """After a person edited ``msg``: ``edited_message`` / ``edited_channel_post`` when the bot sees it."""
        if not self._bot_receives(chat, msg.data):
            return None
        kind = "edited_channel_post" if chat.type == "channel" else "edited_message"
        return self._enqueue({kind: copy.deepcopy(msg.data)})

    def _set_bot_status(self, chat: _Chat, by: dict[str, Any], status: str, rights: dict[str, bool] | None = None) -> int:
        """The bot's membership in ``chat`` changes (added, promoted, removed, blocked): ``my_chat_member``,
        plus the service message groups show when the bot is added."""
        bot = self._bot_user(self._token_seen)
        old = chat_member(bot, chat.bot_status, chat.bot_rights)
        if status == "administrator":
            defaults = CHANNEL_ADMIN_RIGHTS if chat.type == "channel" else GROUP_ADMIN_RIGHTS
            chat.bot_rights = {**defaults, **(rights or {})}
        else:
            chat.bot_rights = {}
        was_member = chat.bot_is_member
        chat.bot_status = status
        if chat.bot_is_member:
            chat.bot_was_member = True
        new = chat_member(bot, status, chat.bot_rights)
        update_id = self._enqueue({"my_chat_member": {"chat": chat.chat_dict(), "from": by,
                                                      "date": self._now(), "old_chat_member": old,
                                                      "new_chat_member": new}})
        if chat.type in ("group", "supergroup") and chat.bot_is_member and not was_member:
            adder = self._chats[by["id"]].profile if by["id"] in self._chats else None
            msg = self._add_message(chat, adder, {"new_chat_members": [bot]})
            self._enqueue({"message": copy.deepcopy(msg.data)})
        self._bump()
        return update_id

    def _add_user_message(self, chat: _Chat, fields: dict[str, Any]) -> dict[str, Any]:
        """A message from a private chat's user (kept for callers of the original driver API)."""
        return self._add_message(chat, chat.profile, fields).data

    def _bot_user(self, token: str) -> dict[str, Any]:
        return {"id": _bot_id(token), "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    @staticmethod
    def _chat_instance(chat_id: int) -> str:
        return str(-((chat_id * 2654435761 + 97531) % 9_000_000_000_000_000_000) - 1)

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        canonical, impl = self._methods.get(raw_method.lower(), (raw_method, None))
        is_poll = canonical == "getUpdates"
        call = Call(canonical, {}, time.time(), token)
        with self._cond:
            self._token_seen = token
            self._calls.append(call)
            if not is_poll:
                self._inflight += 1
                self._last_activity = time.monotonic()
        fault: _Fault | None = None
        try:
            try:
                call.params = await self._read_params(request)
            except ApiError as exc:
                return self._finish(call, exc.status, exc.payload())
            with self._cond:
                fault = self._take_fault(canonical)
            if fault is not None and fault.kind == "drop" and not fault.after_processing:
                return self._drop(request, call)
            if fault is not None and fault.kind == "fail":
                err = ApiError(fault.status, fault.description or "Internal Server Error", fault.retry_after)
                return self._finish(call, err.status, err.payload())
            if impl is None:
                return self._finish(call, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            try:
                if is_poll:
                    result = await self._get_updates(token, call.params)
                else:
                    with self._cond:
                        result = impl(token, call.params)
                        self._cond.notify_all()
            except ApiError as exc:
                return self._finish(call, exc.status, exc.payload())
            if fault is not None and fault.kind == "drop":
                return self._drop(request, call, result)
            return self._finish(call, 200, {"ok": True, "result": result})
        finally:
            with self._cond:
                if not is_poll:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
                self._cond.notify_all()

    def _finish(self, call: Call, status: int, payload: dict[str, Any]) -> web.Response:
        text = json.dumps(payload, ensure_ascii=False)
        with self._cond:
            call.status = status
            if payload.get("ok"):
                call.result = copy.deepcopy(payload["result"])
            else:
                call.error = payload.get("description")
        return web.Response(status=status, text=text, content_type="application/json")

    def _drop(self, request: web.Request, call: Call, result: Any = None) -> web.Response:
        with self._cond:
            call.status = 0
            call.result = result
            call.error = "connection dropped (fault injection)"
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Parse query string + JSON / urlencoded / multipart body into one params dict.

        PTB sends every value JSON-encoded as a form string (``"123"``, ``"true"``,
        ``'{"inline_keyboard": ...}'``), so form values are JSON-decoded except for fields
        that are text by definition.
        """
        form: dict[str, str] = dict(request.query)
        params: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        ctype = request.content_type
        if request.can_read_body:
            if ctype == "multipart/form-data":
                reader = await request.multipart()
                while True:
                    part = await reader.next()
                    if part is None:
                        break
                    if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        buf = bytearray()
                        while chunk := await part.read_chunk(1024 * 1024):
                            buf += chunk
                            if len(buf) > _UPLOAD_LIMIT:
                                raise ApiError(413, "Request Entity Too Large")
                        uploads[part.name] = Upload(part.filename, part.headers.get("Content-Type"), bytes(buf))
                    else:
                        form[part.name] = await part.text()
            elif ctype == "application/x-www-form-urlencoded":
                post = await request.post()
                form.update({k: str(v) for k, v in post.items()})
            else:
                raw = await request.read()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError as exc:
                        raise _bad("can't parse JSON object") from exc
                    if not isinstance(body, dict):
                        raise _bad("can't parse JSON object")
                    params.update(body)
        for key, value in form.items():
            params[key] = self._decode_form_value(key, value)
        for key, upload in uploads.items():
            params.setdefault(key, upload)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                name = value[len("attach://") :]
                if name in uploads:
                    params[key] = uploads[name]
        return params

    @staticmethod
    def _decode_form_value(key: str, value: str) -> Any:
        if key in _STRING_FIELDS:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = self.files.by_path(path)
        with self._cond:
            self._last_activity = time.monotonic()
            self._cond.notify_all()
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling with Telegram's offset semantics.

        ``offset`` confirms (deletes) every update with a lower id; a negative offset keeps
        only the last ``-offset`` updates.  Unconfirmed updates are returned again on the
        next call.  A newer getUpdates for the same token ends a waiting one with 409.
        """
        offset = _int_param(params, "offset", 0)
        limit = max(1, min(100, _int_param(params, "limit", 100)))
        timeout = max(0, _int_param(params, "timeout", 0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed) if allowed.strip() else None
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._webhook is not None:
                raise ApiError(
                    409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
                )
            generation = self._poll_generation.get(token, 0) + 1
            self._poll_generation[token] = generation
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
            if offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            elif offset < 0:
                while len(self._updates) > -offset:
                    self._updates.popleft()
            self._cond.notify_all()
        self._wake()  # ends an older long poll of this token with 409
        deadline = loop.time() + timeout
        while True:
            event = self._updates_event
            assert event is not None  # noqa: S101 - set in _astart
            with self._cond:
                if self._closing:
                    return []
                if self._poll_generation.get(token) != generation:
                    raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                if self._webhook is not None:
                    raise ApiError(409, "Conflict: terminated by setWebhook request")
                batch = [copy.deepcopy(u) for u in itertools.islice(self._updates, limit)]
                if batch:
                    self._last_activity = time.monotonic()
                    self._cond.notify_all()
                    return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ parameter helpers

    def _resolve_chat(self, raw: Any) -> _Chat:
        """``chat_id`` as bots send it: a number, or ``@username`` of a public group or channel (a user's
        @username does not resolve for bots: "chat not found")."""
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            found = next((c for c in self._chats.values()
                          if c.type != "private" and c.username and c.username.lower() == name), None)
            if found is None:
                raise _bad("chat not found")
            return found
        if isinstance(raw, bool):
            raise _bad("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats or chat_id < 0:
                raise _bad("chat not found")
            chat = _Chat(chat_id, "private", _Profile(chat_id, f"User {chat_id}", None, None, None))
            self._chats[chat_id] = chat
        return chat

    def _chat(self, params: dict[str, Any], *, sending: bool = False) -> _Chat:
        """The chat a method names; with ``sending``, refused as Telegram refuses posts the bot may not
        make (blocked by the user, not a member, kicked, no right to post in the channel)."""
        if "chat_id" not in params or params["chat_id"] in ("", None):
            raise _bad("chat_id is empty")
        chat = self._resolve_chat(params["chat_id"])
        refusal = chat.send_refusal() if sending else chat.read_refusal()
        if refusal is not None:
            raise ApiError(*refusal)
        return chat

    def _format(self, params: dict[str, Any], text_key: str, entities_key: str) -> tuple[str, list[dict[str, Any]]]:
        text = params.get(text_key)
        if text is None:
            text = ""
        if not isinstance(text, str):
            text = str(text)
        entities = _json_param(params, entities_key, list)
        try:
            return format_text(text, params.get("parse_mode"), entities)
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        except ValueError as exc:
            raise _bad(f"unsupported parse_mode: {params.get('parse_mode')}") from exc

    def _markup(self, params: dict[str, Any], chat: _Chat, *, inline_only: bool = False) -> dict[str, Any] | None:
        """Validate reply_markup for ``chat`` (see _markup.py); returns it or None if absent."""
        markup = _json_param(params, "reply_markup", dict, error="can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        try:
            return check_markup(markup, chat.type, inline_only=inline_only, test_environment=self.test_environment)
        except MarkupError as exc:
            raise _bad(str(exc)) from None

    def _reply_to(self, chat: _Chat, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = _json_param(params, "reply_parameters", dict)
        target_id: Any = None
        allow = bool(params.get("allow_sending_without_reply"))
        if reply:
            target_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
        elif params.get("reply_to_message_id") not in (None, ""):
            target_id = params["reply_to_message_id"]
        if target_id is None:
            return None
        target = chat.messages.get(_as_int(target_id, "reply_to_message_id"))
        if target is None or target.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        data = copy.deepcopy(target.data)
        data.pop("reply_to_message", None)
        return data

    def _send(self, token: str, chat: _Chat, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Create a bot message in ``chat`` with the common optional fields applied."""
        markup = self._markup(params, chat)
        reply_to = self._reply_to(chat, params)
        mid = chat.next_message_id
        chat.next_message_id += 1
        data: dict[str, Any] = {"message_id": mid}
        if chat.type == "channel":  # a channel post is shown as sent by the channel, without "from"
            data["sender_chat"] = chat.chat_dict()
        else:
            data["from"] = self._bot_user(token)
        data.update({"chat": chat.chat_dict(), "date": self._now()})
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if params.get("protect_content") is True:
            data["has_protected_content"] = True
        data.update(fields)
        if markup is not None:
            if "inline_keyboard" in markup:
                data["reply_markup"] = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
            elif "keyboard" in markup:
                chat.reply_keyboard = markup
        chat.messages[mid] = _Msg(data, from_bot=True, version=self._bump())
        return copy.deepcopy(data)

    def _caption_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._format(params, "caption", "caption_entities")
        if utf16_len(caption) > _CAPTION_LIMIT:
            raise _bad("message caption is too long")
        fields: dict[str, Any] = {}
        if caption:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        return fields

    def _target(self, params: dict[str, Any], missing: str) -> tuple[_Chat, _Msg]:
        if params.get("inline_message_id"):
            raise _bad(missing)
        chat = self._chat(params, sending=True)  # Telegram refuses edits into a blocked chat too (403)
        if params.get("message_id") in (None, ""):
            raise _bad("message identifier is not specified")
        msg = chat.messages.get(_as_int(params["message_id"], "message_id"))
        if msg is None or msg.deleted:
            raise _bad(missing)
        return chat, msg

    @staticmethod
    def _editable(chat: _Chat, msg: _Msg) -> None:
        """Bots edit their own messages; in a channel, others' posts too with can_edit_messages."""
        if msg.from_bot or (chat.type == "channel" and chat.bot_rights.get("can_edit_messages")):
            return
        raise _bad("message can't be edited")

    # ------------------------------------------------------------------ methods

    def _m_getMe(self, token: str, params: dict[str, Any]) -> Any:
        return {
            **self._bot_user(token),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, token: str, params: dict[str, Any]) -> Any:
        return True

    def _m_close(self, token: str, params: dict[str, Any]) -> Any:
        return True

    def _m_getChat(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        extra: dict[str, Any] = {}
        if chat.type in ("group", "supergroup"):
            extra["permissions"] = {"can_send_messages": True, "can_send_audios": True, "can_send_documents": True,
                                    "can_send_photos": True, "can_send_videos": True, "can_send_video_notes": True,
                                    "can_send_voice_notes": True, "can_send_polls": True,
                                    "can_send_other_messages": True, "can_add_web_page_previews": True,
                                    "can_change_info": False, "can_invite_users": True, "can_pin_messages": False,
                                    "can_manage_topics": False}
        return {
            **chat.chat_dict(),
            **extra,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True, "limited_gifts": True, "unique_gifts": True,
                "premium_subscription": True, "gifts_from_channels": True,
            },
        }

    def _member_dict(self, token: str, chat: _Chat, user_id: int) -> dict[str, Any]:
        if user_id == _bot_id(token):
            return chat_member(self._bot_user(token), chat.bot_status, chat.bot_rights)
        profile = self._chats[user_id].profile if user_id in self._chats else None
        if profile is None:
            raise _bad("user not found")
        status = chat.member_status(user_id)
        return chat_member(profile.user_dict(), status, {"can_post_messages": True, "can_edit_messages": True}
                           if status == "administrator" and chat.type == "channel" else {})

    def _m_getChatMember(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if chat.type == "channel" and not chat.bot_is_admin:
            raise _bad("member list is inaccessible")
        return self._member_dict(token, chat, _as_int(params.get("user_id"), "user_id"))

    def _m_getChatAdministrators(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        if chat.type == "channel" and not chat.bot_is_admin:
            raise _bad("member list is inaccessible")
        admins = [self._member_dict(token, chat, uid) for uid, status in chat.members.items()
                  if status in ("creator", "administrator")]
        if chat.bot_is_admin:
            admins.append(self._member_dict(token, chat, _bot_id(token)))
        return admins

    def _m_getChatMemberCount(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if chat.type == "private":
            return 2
        present = sum(1 for status in chat.members.values() if status in ("creator", "administrator", "member"))
        return present + (1 if chat.bot_is_member else 0)

    def _m_leaveChat(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if chat.type == "private":
            raise _bad("chat member status can't be changed in private chats")
        if not chat.bot_is_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        self._set_bot_status(chat, self._bot_user(token), "left")
        return True

    def _webhook_info_dict(self) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if hook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = list(hook.allowed_updates)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _m_getWebhookInfo(self, token: str, params: dict[str, Any]) -> Any:
        return self._webhook_info_dict()

    def _m_deleteWebhook(self, token: str, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        if self._webhook is not None:
            if self._webhook.task is not None:
                self._webhook.task.cancel()
            self._webhook = None
        return True

    def _m_setWebhook(self, token: str, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        if not url:
            return self._m_deleteWebhook(token, params)
        if not isinstance(url, str) or "://" not in url:
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0].rsplit(":", 1)[0]
        if scheme != "https" and host not in ("127.0.0.1", "localhost", "[::1]"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if not 1 <= len(secret) <= 256 or any(not (c.isascii() and (c.isalnum() or c in "_-")) for c in secret):
                raise _bad("secret token contains unallowed characters")
        allowed = _json_param(params, "allowed_updates", list)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        old = self._webhook
        if old is not None and old.task is not None:
            old.task.cancel()
        hook = _Webhook(url, secret, _int_param(params, "max_connections", 40), allowed or None)
        self._webhook = hook
        hook.task = asyncio.get_running_loop().create_task(self._webhook_loop(hook))
        self._wake()  # a waiting getUpdates now ends with 409
        return True

    async def _webhook_loop(self, hook: _Webhook) -> None:
        """Deliver queued updates one at a time, in order, retrying with backoff on failure."""
        delay = self._webhook_retry_delay
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                event = self._updates_event
                assert event is not None  # noqa: S101
                with self._cond:
                    if self._webhook is not hook or self._closing:
                        return
                    update = copy.deepcopy(self._updates[0]) if self._updates else None
                if update is None:
                    await event.wait()
                    continue
                error: str | None = None
                try:
                    async with session.post(hook.url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers) as resp:
                        await resp.read()
                        if not 200 <= resp.status < 300:
                            error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    error = "Connection refused" if isinstance(exc, aiohttp.ClientConnectorError) else f"Connection error: {exc}"
                with self._cond:
                    if error is None:
                        if self._updates and self._updates[0]["update_id"] == update["update_id"]:
                            self._updates.popleft()
                        self._webhook_deliveries.append(update)
                        self._last_activity = time.monotonic()
                        delay = self._webhook_retry_delay
                    else:
                        hook.last_error_date = self._now()
                        hook.last_error_message = error
                    self._cond.notify_all()
                if error is not None:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)

    def _m_sendMessage(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params, sending=True)
        text, entities = self._format(params, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > _TEXT_LIMIT:
            raise _bad("message is too long")
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        return self._send(token, chat, params, fields)

    def _m_editMessageText(self, token: str, params: dict[str, Any]) -> Any:
        chat, msg = self._target(params, "message to edit not found")
        self._editable(chat, msg)
        if "text" not in msg.data:
            raise _bad("there is no text in the message to edit")
        text, entities = self._format(params, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > _TEXT_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        markup = self._markup(params, chat, inline_only=True)
        data = msg.data
        if text == data.get("text") and entities == data.get("entities", []) and markup == data.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        data["text"] = text
        _set_or_pop(data, "entities", entities or None)
        _set_or_pop(data, "reply_markup", markup)
        data["edit_date"] = self._now()
        msg.version = self._bump()
        return copy.deepcopy(data)

    def _m_editMessageCaption(self, token: str, params: dict[str, Any]) -> Any:
        chat, msg = self._target(params, "message to edit not found")
        self._editable(chat, msg)
        if "text" in msg.data:
            raise _bad("there is no caption in the message to edit")
        fields = self._caption_fields(params)
        markup = self._markup(params, chat, inline_only=True)
        data = msg.data
        if (fields.get("caption") == data.get("caption") and fields.get("caption_entities") == data.get("caption_entities")
                and markup == data.get("reply_markup")):
            raise ApiError(400, _NOT_MODIFIED)
        _set_or_pop(data, "caption", fields.get("caption"))
        _set_or_pop(data, "caption_entities", fields.get("caption_entities"))
        _set_or_pop(data, "reply_markup", markup)
        data["edit_date"] = self._now()
        msg.version = self._bump()
        return copy.deepcopy(data)

    def _m_editMessageReplyMarkup(self, token: str, params: dict[str, Any]) -> Any:
        chat, msg = self._target(params, "message to edit not found")
        self._editable(chat, msg)
        markup = self._markup(params, chat, inline_only=True)
        data = msg.data
        if markup == data.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        _set_or_pop(data, "reply_markup", markup)
        data["edit_date"] = self._now()
        msg.version = self._bump()
        return copy.deepcopy(data)

    def _m_deleteMessage(self, token: str, params: dict[str, Any]) -> Any:
        chat, msg = self._target(params, "message to delete not found")
        if chat.type != "private" and not msg.from_bot and not chat.bot_rights.get("can_delete_messages"):
            raise _bad("message can't be deleted")
        msg.deleted = True
        msg.version = self._bump()
        return True

    def _m_deleteMessages(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        ids = _json_param(params, "message_ids", list) or []
        if not 1 <= len(ids) <= 100:
            raise _bad("message_ids must contain 1-100 identifiers")
        for raw in ids:
            msg = chat.messages.get(_as_int(raw, "message_ids"))
            if msg is not None and not msg.deleted:
                msg.deleted = True
                msg.version = self._bump()
        return True

    def _m_answerCallbackQuery(self, token: str, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        record = self._callbacks.get(query_id)
        if record is None or record["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > 200:  # "0-200 characters", counted in UTF-16 units
            raise _bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url not in (None, ""):
            link = parse_deep_link(str(url))  # no games here: only t.me/<this bot>?start=... links are allowed
            if link is None or link.bot_username.lower() != self.bot_username.lower():
                raise _bad("URL_INVALID")
        record["answered"] = True
        self._answers.append(
            {
                "callback_query_id": query_id,
                "user_id": record["user_id"],
                "message_id": record["message_id"],
                "data": record["data"],
                "text": text,
                "show_alert": params.get("show_alert") is True,
                "url": params.get("url"),
                "cache_time": _int_param(params, "cache_time", 0),
                "time": time.time(),
            }
        )
        self._bump()
        return True

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if scope is None:
            scope = {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        scope = dict(scope)
        if "chat_id" in scope:
            try:
                scope["chat_id"] = int(scope["chat_id"])
            except (TypeError, ValueError):
                pass
        return json.dumps(scope, sort_keys=True)

    def _scope_from_params(self, params: dict[str, Any]) -> str:
        scope = _json_param(params, "scope", dict)
        valid = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
                 "chat_administrators", "chat_member"}
        if scope is not None and scope.get("type") not in valid:
            raise _bad("unsupported bot command scope type")
        if scope is not None and scope.get("type", "").startswith("chat") and "chat_id" not in scope:
            raise _bad("chat not found")
        return self._scope_key(scope)

    def _m_setMyCommands(self, token: str, params: dict[str, Any]) -> Any:
        commands = _json_param(params, "commands", list)
        if commands is None:
            raise _bad("commands is empty") if "commands" not in params else _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad("can't parse BotCommand")
            name = str(cmd.get("command", ""))
            desc = str(cmd.get("description", ""))
            if not 1 <= len(name) <= 32 or any(not (c.islower() or c.isdigit() or c == "_") or not c.isascii() for c in name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID") if desc else _bad("command description is empty")
            clean.append({"command": name, "description": desc})
        key = (self._scope_from_params(params), str(params.get("language_code") or ""))
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _m_getMyCommands(self, token: str, params: dict[str, Any]) -> Any:
        key = (self._scope_from_params(params), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _m_deleteMyCommands(self, token: str, params: dict[str, Any]) -> Any:
        key = (self._scope_from_params(params), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def _menu_chat(self, params: dict[str, Any]) -> int | None:
        """Menu buttons live in private chats only (the method takes a user on Telegram's side)."""
        if params.get("chat_id") in (None, ""):
            return None
        chat = self._chat(params)
        if chat.type != "private":
            raise _bad("chat not found")
        return chat.id

    def _m_setChatMenuButton(self, token: str, params: dict[str, Any]) -> Any:
        chat_id = self._menu_chat(params)
        button = _json_param(params, "menu_button", dict) or {"type": "default"}
        kind = button.get("type")
        if kind not in ("default", "commands", "web_app"):
            raise _bad("unsupported menu button type")
        if kind == "web_app":
            text, info = button.get("text"), button.get("web_app")
            if not isinstance(text, str) or not text.strip() or not isinstance(info, dict):
                raise _bad("web_app menu button must have text and web_app")
            url = info.get("url")
            if not isinstance(url, str) or not web_app_url_ok(url, self.test_environment) or (
                    not self.test_environment and "." not in url[8:].split("/")[0]):
                raise _bad(f"menu button Web App URL '{url}' is invalid: Only HTTPS links are allowed")
            button = {"type": "web_app", "text": text, "web_app": {"url": url}}
        else:
            button = {"type": kind}
        self._menu_buttons[chat_id] = button
        self._bump()
        return True

    def resolved_menu_button(self, chat_id: int | None) -> dict[str, Any]:
        """The menu button a user sees in chat ``chat_id`` (what getChatMenuButton answers): the chat's
        own unless it is "default", else the bot's default unless that is "default", else the commands."""
        with self._cond:
            for key in (chat_id, None):
                button = self._menu_buttons.get(key)
                if button is not None and button.get("type") != "default":
                    return copy.deepcopy(button)
            return {"type": "commands"}

    def _m_getChatMenuButton(self, token: str, params: dict[str, Any]) -> Any:
        return self.resolved_menu_button(self._menu_chat(params))

    def _m_sendChatAction(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params, sending=True)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.actions.append(str(action))
        return True

    def _resolve_file(self, value: Any, kind: str, field_name: str) -> tuple[StoredFile | None, Upload | None]:
        if isinstance(value, Upload):
            if value.size == 0:
                raise _bad("file must be non-empty")
            return None, value
        if value is None or value == "":
            raise _bad(f"there is no {field_name} in the request")
        if not isinstance(value, str):
            raise _bad(f"wrong type of the {field_name} field")
        if value.startswith("attach://"):
            raise _bad("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            raise _bad("wrong file identifier/HTTP URL specified")  # this fake does not fetch URLs
        stored = self.files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad("type of file mismatch")
        return stored, None

    def _m_sendDocument(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params, sending=True)
        stored, upload = self._resolve_file(params.get("document"), "document", "document")
        fields = self._caption_fields(params)
        if upload is not None:
            name = upload.filename or "document"
            mime = upload.content_type if upload.content_type not in (None, "application/octet-stream") else None
            stored = self.files.add(upload.content, "document", name, mime)
        assert stored is not None  # noqa: S101
        return self._send(token, chat, params, {"document": stored.document_dict(), **fields})

    def _m_sendPhoto(self, token: str, params: dict[str, Any]) -> Any:
        chat = self._chat(params, sending=True)
        stored, upload = self._resolve_file(params.get("photo"), "photo", "photo")
        fields = self._caption_fields(params)
        if upload is not None:
            if upload.size > _PHOTO_LIMIT:
                raise _bad("PHOTO_SAVE_FILE_INVALID")
            size = image_size(upload.content)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            w, h = size
            if w + h > 10000 or max(w, h) > 20 * min(w, h):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            sizes = self.files.add_photo(upload.content, w, h)
            ids = [s.file_id for s in sizes]
            for s in sizes:
                s.extra["sizes"] = ids
        else:
            assert stored is not None  # noqa: S101
            sizes = [f for f in (self.files.get(i) for i in stored.extra.get("sizes", [stored.file_id])) if f]
        return self._send(token, chat, params, {"photo": [s.photo_size_dict() for s in sizes], **fields})

    def _m_getFile(self, token: str, params: dict[str, Any]) -> Any:
        file_id = params.get("file_id")
        if not file_id:
            raise _bad("invalid file_id")
        stored = self.files.get(str(file_id))
        if stored is None:
            raise _bad("wrong file_id or the file is temporarily unavailable")
        if stored.file_size > _DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return stored.file_dict()

    def _bot_text(self, key: str, params: dict[str, Any], limit: int, field_name: str) -> Any:
        value = str(params.get(field_name) or "")
        if len(value) > limit:
            raise _bad(f"{field_name} is too long")
        self._bot_texts[(key, str(params.get("language_code") or ""))] = value
        return True

    def _m_setMyDescription(self, token: str, params: dict[str, Any]) -> Any:
        return self._bot_text("description", params, 512, "description")

    def _m_getMyDescription(self, token: str, params: dict[str, Any]) -> Any:
        return {"description": self._bot_texts.get(("description", str(params.get("language_code") or "")), "")}

    def _m_setMyShortDescription(self, token: str, params: dict[str, Any]) -> Any:
        return self._bot_text("short_description", params, 120, "short_description")

    def _m_getMyShortDescription(self, token: str, params: dict[str, Any]) -> Any:
        lang = str(params.get("language_code") or "")
        return {"short_description": self._bot_texts.get(("short_description", lang), "")}

    def _m_setMyName(self, token: str, params: dict[str, Any]) -> Any:
        return self._bot_text("name", params, 64, "name")

    def _m_getMyName(self, token: str, params: dict[str, Any]) -> Any:
        lang = str(params.get("language_code") or "")
        return {"name": self._bot_texts.get(("name", lang)) or self.bot_first_name}


# ---------------------------------------------------------------------- module helpers


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))  # e.g. timeout=1.5
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    return _as_int(value, name)


def _json_param(params: dict[str, Any], name: str, kind: type[_T], error: str | None = None) -> _T | None:
    """A structured parameter that may arrive decoded or as a JSON string (JSON bodies)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad(error or f"can't parse {name} JSON object") from None
    if not isinstance(value, kind):
        raise _bad(error or f"can't parse {name} JSON object")
    return value


def _async_placeholder(token: str, params: dict[str, Any]) -> Any:
    """Never called: getUpdates is asynchronous and dispatched to ``_get_updates``."""
    raise AssertionError("getUpdates is handled asynchronously")


def _set_or_pop(data: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
