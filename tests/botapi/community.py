"""Groups, supergroups and channels as a test drives them: who is in them, the bot joining and leaving,
and what their members and subscribers see.

Why: a bot that posts to a channel or sits in a group meets rules a private chat never shows (it must be
an administrator to post in a channel, privacy mode hides most group messages, a Web App button is refused
outside private chats), and its users read channel posts and open the deep links on them.  People act
through their ``User`` (``user.send_text(..., chat=group)``, ``user.open_link(url)``); this module is the
chat's side: membership changes (each one a ``my_chat_member`` update to the bot, as on Telegram) and
reading what is there.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._chats import _Chat
    from .server import BotApiServer
    from .user import User

__all__ = ["Channel", "Community", "Group"]

Predicate = Callable[[dict[str, Any]], bool]


class Community:
    """A group or channel of the fake server; obtain one from ``server.group(...)`` or ``server.channel(...)``."""

    def __init__(self, server: BotApiServer, chat_id: int) -> None:
        self._server = server
        self.id = chat_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}{' @' + self.username if self.username else ''}>"

    def _chat(self) -> _Chat:
        return self._server._chats[self.id]

    @property
    def username(self) -> str | None:
        with self._server._cond:
            return self._chat().username

    @property
    def title(self) -> str:
        with self._server._cond:
            return self._chat().title or ""

    @property
    def type(self) -> str:
        with self._server._cond:
            return self._chat().type

    def as_dict(self) -> dict[str, Any]:
        """The Chat object of this group or channel, as updates carry it."""
        with self._server._cond:
            return self._chat().chat_dict()

    # ------------------------------------------------------------------ membership

    def add_member(self, user: User, status: str = "member") -> None:
        """``user`` joins (``status``: member, administrator or creator); no update reaches the bot, as
        Telegram sends chat_member updates only to bots that ask for them."""
        if status not in ("member", "administrator", "creator", "left", "kicked"):
            raise ValueError(f"unknown member status {status!r}")
        with self._server._cond:
            self._chat().members[user.id] = status
            self._server._bump()

    def member_status(self, user: User) -> str:
        with self._server._cond:
            return self._chat().member_status(user.id)

    def _by(self, user: User, need_admin: bool) -> dict[str, Any]:
        status = self.member_status(user)
        if need_admin and status not in ("creator", "administrator"):
            raise AssertionError(f"user {user.id} is {status} in {self!r}: only its administrators can do that")
        return user.as_dict()

    def add_bot(self, by: User, *, admin: bool | None = None, rights: dict[str, bool] | None = None) -> int:
        """``by`` adds the bot; in a channel it can only be added as an administrator (the default there).
        Returns the update_id of the ``my_chat_member`` update."""
        is_channel = self.type == "channel"
        admin = is_channel if admin is None else admin
        if is_channel and not admin:
            raise AssertionError("Telegram adds bots to channels only as administrators")
        with self._server._cond:
            sender = self._by(by, need_admin=is_channel or admin)
            return self._server._set_bot_status(self._chat(), sender, "administrator" if admin else "member", rights)

    def promote_bot(self, by: User, rights: dict[str, bool] | None = None) -> int:
        """Make the bot an administrator (``rights`` override Telegram's defaults, e.g.
        ``{"can_post_messages": False}``); a ``my_chat_member`` update."""
        with self._server._cond:
            return self._server._set_bot_status(self._chat(), self._by(by, need_admin=True), "administrator", rights)

    def demote_bot(self, by: User) -> int:
        """Take the bot's admin rights away; in a channel that removes it (bots are admins there or nothing)."""
        with self._server._cond:
            status = "left" if self._chat().type == "channel" else "member"
            return self._server._set_bot_status(self._chat(), self._by(by, need_admin=True), status)

    def remove_bot(self, by: User) -> int:
        """Remove the bot (status "left"); later posts get "bot is not a member of the ... chat"."""
        with self._server._cond:
            return self._server._set_bot_status(self._chat(), self._by(by, need_admin=True), "left")

    def ban_bot(self, by: User) -> int:
        """Ban the bot (status "kicked"); later posts get "bot was kicked from the ... chat"."""
        with self._server._cond:
            return self._server._set_bot_status(self._chat(), self._by(by, need_admin=True), "kicked")

    def bot_status(self) -> str:
        with self._server._cond:
            return self._chat().bot_status

    # ------------------------------------------------------------------ reading

    def messages(self) -> list[dict[str, Any]]:
        """Every message in the chat, current state after edits, deleted ones omitted, oldest first."""
        with self._server._cond:
            chat = self._chat()
            return [copy.deepcopy(m.data) for _mid, m in sorted(chat.messages.items()) if not m.deleted]

    def bot_messages(self) -> list[dict[str, Any]]:
        """The bot's messages (posts) here, as everyone in the chat sees them now."""
        with self._server._cond:
            chat = self._chat()
            return [copy.deepcopy(m.data) for _mid, m in sorted(chat.messages.items()) if m.from_bot and not m.deleted]

    def buttons(self, message: dict[str, Any] | int) -> list[tuple[str, str | None]]:
        """(text, callback_data or url) of each inline button on ``message``, row by row."""
        message_id = message["message_id"] if isinstance(message, dict) else message
        with self._server._cond:
            msg = self._chat().messages.get(message_id)
            if msg is None or msg.deleted:
                raise AssertionError(f"no message {message_id} in {self!r}")
            markup = msg.data.get("reply_markup") or {}
            return [(b.get("text", ""), b.get("callback_data", b.get("url"))) for row in markup.get("inline_keyboard", [])
                    for b in row]

    def mark(self) -> int:
        return self._server.mark()

    def wait_for(self, predicate: Predicate | None = None, timeout: float = 10.0, since: int | None = None) -> dict[str, Any]:
        """Block until a bot message here, sent or edited after ``since`` (default: now), satisfies
        ``predicate``; returns it."""
        srv = self._server
        since = srv.mark() if since is None else since
        deadline = time.monotonic() + timeout
        with srv._cond:
            while True:
                changed = sorted((m for m in self._chat().messages.values()
                                  if m.from_bot and not m.deleted and m.version > since), key=lambda m: m.version)
                for m in changed:
                    if predicate is None or predicate(m.data):
                        return copy.deepcopy(m.data)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    failures = [f"{c.method} -> {c.status} {c.error}" for c in srv._calls[-50:]
                                if c.status not in (None, 200)]
                    raise AssertionError(f"timed out after {timeout}s waiting for a bot message in {self!r}; "
                                         f"changed: {[m.data.get('text') for m in changed]}; "
                                         f"recent failed calls: {failures[-10:]}")
                srv._cond.wait(remaining)


class Group(Community):
    """A basic group or a supergroup.  Members write with ``user.send_text(text, chat=group)``; the bot
    sees those messages according to privacy mode (see ``BotApiServer._bot_receives``)."""


class Channel(Community):
    """A channel.  Its administrators post with ``user.send_text(text, chat=channel)`` (the bot gets a
    ``channel_post``); subscribers read ``posts()`` and open the links on them with ``user.open_link``."""

    def subscribe(self, user: User) -> None:
        """``user`` joins the channel as a subscriber (needed to press buttons in a private channel)."""
        self.add_member(user, "member")

    def posts(self) -> list[dict[str, Any]]:
        """The channel's posts as a subscriber sees them now: edits applied, deletions gone, oldest first."""
        return self.messages()

    @property
    def link(self) -> str | None:
        """``https://t.me/<username>`` of a public channel; None for a private one."""
        name = self.username
        return f"https://t.me/{name}" if name else None
