"""The simulated Telegram user: acts (send text/files, press buttons) and observes the bot.

Why a separate class: end-to-end tests read like a conversation — ``user.send_text("/start")``,
``user.press("下一步")``, ``user.wait_for_change(mark)`` — and must be synchronous and
thread-safe while the bot talks to the server from another thread.  Everything here goes
through the server's lock; returned message dicts are copies, safe to keep and mutate.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._chats import chat_member
from ._files import image_size
from ._markup import parse_deep_link
from ._text import format_text, utf16_len

if TYPE_CHECKING:
    from ._chats import _Chat, _Msg, _Profile
    from .community import Community
    from .server import BotApiServer

__all__ = ["ReceivedDocument", "ReceivedPhoto", "User"]

MessageRef = dict[str, Any] | int | None
Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ReceivedDocument:
    """A document the bot sent to the user; ``content`` is the stored bytes (not a copy)."""

    message_id: int
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int
    caption: str | None
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class ReceivedPhoto:
    """A photo the bot sent (largest size); ``content`` is the stored bytes."""

    message_id: int
    file_id: str
    width: int
    height: int
    caption: str | None
    content: bytes = field(repr=False)


class User:
    """A Telegram user: their private chat with the bot, and what they do in groups and channels.
    Obtain via ``server.user(user_id, ...)``."""

    def __init__(self, server: BotApiServer, user_id: int) -> None:
        self._server = server
        self.id = user_id
        self._last_action_mark: int | None = None

    def __repr__(self) -> str:
        return f"<User {self.id}>"

    # ------------------------------------------------------------------ identity

    @property
    def chat_id(self) -> int:
        return self.id

    def as_dict(self) -> dict[str, Any]:
        """The Telegram ``User`` object of this user."""
        with self._server._cond:
            return self._chat().user_dict()

    def _chat(self) -> _Chat:
        return self._server._chats[self.id]

    def _profile(self) -> _Profile:
        profile = self._chat().profile
        assert profile is not None  # noqa: S101 - a user's own chat is private
        return profile

    def _where(self, chat: Community | None) -> _Chat:
        """The chat this user writes in: their private chat with the bot, or a group/channel they may
        write in (members of a group; only administrators of a channel)."""
        if chat is None:
            own = self._chat()
            if own.user_blocked:
                raise AssertionError(f"user {self.id} blocked the bot; Telegram clients offer only "
                                     "'Unblock' / 'Restart' (user.unblock_bot() or user.restart_bot())")
            return own
        target = self._server._chats[chat.id]
        status = target.member_status(self.id)
        allowed = ("creator", "administrator") if target.type == "channel" else ("creator", "administrator", "member")
        if status not in allowed:
            raise AssertionError(f"user {self.id} is {status} in {chat!r} and cannot post there")
        return target

    # ------------------------------------------------------------------ acting

    def _begin_action(self) -> None:
        self._last_action_mark = self._server._seq

    def _post(self, chat: _Chat, fields: dict[str, Any]) -> int | None:
        srv = self._server
        if chat.type == "private":
            msg = srv._add_message(chat, self._profile(), fields)
            return srv._enqueue({"message": copy.deepcopy(msg.data)})
        return srv._post_user_message(chat, self._profile(), fields)

    def send_text(self, text: str, *, entities: list[dict[str, Any]] | None = None, reply_to: MessageRef = None,
                  chat: Community | None = None) -> int:
        """Send a text message (in ``chat``, default the private chat); returns the update_id, or 0 when
        the bot does not get it (a group message hidden by privacy mode).  Commands get a
        ``bot_command`` entity, as Telegram adds it."""
        srv = self._server
        with srv._cond:
            where = self._where(chat)
            self._begin_action()
            plain, ents = format_text(text, None, entities)
            if not plain:
                raise AssertionError("Telegram clients cannot send an empty message")
            if utf16_len(plain) > 4096:
                raise AssertionError("Telegram clients split a text over 4096 UTF-16 units into several messages; "
                                     "send the parts (or use server.push_update for a forged one)")
            fields: dict[str, Any] = {"text": plain}
            if ents:
                fields["entities"] = ents
            self._apply_reply(fields, reply_to, where)
            return self._post(where, fields) or 0

    def edit_text(self, message: dict[str, Any] | int, text: str) -> int:
        """Edit one of this user's own text messages (a dict may name a group or channel message); the bot
        gets ``edited_message`` (``edited_channel_post`` in a channel) when it would see the message.
        Returns the update_id, or 0 when the bot is not told."""
        srv = self._server
        with srv._cond:
            chat = self._chat_of(message)
            msg = self._find_message(message, need_keyboard=False, bot_only=False)
            mine = msg.sender_id == self.id or (chat.type == "channel" and chat.member_status(self.id)
                                                in ("creator", "administrator") and not msg.from_bot)
            if msg.from_bot or not mine or "text" not in msg.data:
                raise AssertionError(f"message {msg.data['message_id']} is not a text message of user {self.id}")
            plain, ents = format_text(text, None, None)
            if not plain:
                raise AssertionError("Telegram clients cannot edit a message to empty text")
            if plain == msg.data["text"]:
                raise AssertionError("the text is unchanged: Telegram sends no edit (MESSAGE_NOT_MODIFIED)")
            if utf16_len(plain) > 4096:
                raise AssertionError("an edited text is limited to 4096 UTF-16 units too")
            self._begin_action()
            msg.data["text"] = plain
            if ents:
                msg.data["entities"] = ents
            else:
                msg.data.pop("entities", None)
            msg.data["edit_date"] = srv._now()
            msg.version = srv._bump()
            return srv._post_edit(chat, msg) or 0

    def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        chat: Community | None = None,
        declared_size: int | None = None,
    ) -> int:
        """Upload a document (stored by reference, so 30-50 MB is fine); returns the update_id.

        ``declared_size`` makes Telegram report that size (e.g. a 2 GB video) without holding the bytes;
        the bot can still not download it (getFile refuses over 20 MB).  Telegram refuses empty files
        and files over 4 GB, so this does too."""
        size = declared_size if declared_size is not None else len(content)
        if size <= 0:
            raise AssertionError("Telegram clients do not send empty files")
        if size > 4 * 1024**3:
            raise AssertionError("Telegram accepts files up to 4 GB (2 GB without Premium)")
        srv = self._server
        stored = srv.files.add(content, "document", filename, mime_type, declared_size=declared_size)
        with srv._cond:
            where = self._where(chat)
            self._begin_action()
            fields: dict[str, Any] = {"document": stored.document_dict()}
            self._apply_caption(fields, caption)
            return self._post(where, fields) or 0

    def send_photo(self, content: bytes, *, caption: str | None = None, chat: Community | None = None) -> int:
        """Send a PNG/JPEG/GIF/WebP photo; the bot sees the usual list of PhotoSize objects."""
        size = image_size(content)
        if size is None:
            raise AssertionError("send_photo needs real PNG/JPEG/GIF/WebP bytes (Telegram would reject it)")
        srv = self._server
        sizes = srv.files.add_photo(content, *size)
        ids = [s.file_id for s in sizes]
        for s in sizes:
            s.extra["sizes"] = ids
        with srv._cond:
            where = self._where(chat)
            self._begin_action()
            fields: dict[str, Any] = {"photo": [s.photo_size_dict() for s in sizes]}
            self._apply_caption(fields, caption)
            return self._post(where, fields) or 0

    def send_sticker(self, emoji: str = "👍", *, kind: str = "static", set_name: str | None = "TestPack",
                     chat: Community | None = None) -> int:
        """Send a sticker: ``kind`` "static" (WebP), "animated" (TGS) or "video" (WebM)."""
        if kind not in ("static", "animated", "video"):
            raise ValueError(f"unknown sticker kind {kind!r}")
        srv = self._server
        ext = {"static": "webp", "animated": "tgs", "video": "webm"}[kind]
        stored = srv.files.add(b"RIFF\x00\x00\x00\x00WEBPVP8 " if kind == "static" else b"\x1f\x8b sticker",
                               "sticker", f"sticker.{ext}", f"image/{ext}" if kind == "static" else None)
        sticker: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "type": "regular",
                                   "width": 512, "height": 512, "is_animated": kind == "animated",
                                   "is_video": kind == "video", "file_size": stored.file_size}
        if emoji:
            sticker["emoji"] = emoji
        if set_name:
            sticker["set_name"] = set_name
        with srv._cond:
            where = self._where(chat)
            self._begin_action()
            return self._post(where, {"sticker": sticker}) or 0

    def send_web_app_data(self, data: str, button_text: str | None = None, *, require_button: bool = True) -> int:
        """What a Web App opened from a reply-keyboard button sends with ``Telegram.WebApp.sendData``: a
        message with ``web_app_data`` (data up to 4096 bytes).  ``require_button=False`` sends it without
        such a button on screen, as a modified client could."""
        if not 1 <= len(data.encode("utf-8")) <= 4096:
            raise AssertionError("Telegram.WebApp.sendData takes 1-4096 bytes")
        srv = self._server
        with srv._cond:
            chat = self._where(None)
            keyboard = chat.reply_keyboard or {}
            apps = [b for row in keyboard.get("keyboard", []) for b in row if isinstance(b, dict) and "web_app" in b]
            if button_text is None:
                if not apps and require_button:
                    raise AssertionError(f"no Web App button on user {self.id}'s reply keyboard")
                button_text = apps[0]["text"] if apps else "Web App"
            elif require_button and not any(b["text"] == button_text for b in apps):
                raise AssertionError(f"no Web App button {button_text!r} on user {self.id}'s reply keyboard")
            self._begin_action()
            return self._post(chat, {"web_app_data": {"data": data, "button_text": button_text}}) or 0

    def press(self, button: str, message: MessageRef = None) -> int:
        """Press an inline button (matched by exact text, else by callback_data) on ``message``
        (dict or message_id; a dict may be a group message or channel post) or on the latest bot
        message with an inline keyboard in the private chat."""
        srv = self._server
        with srv._cond:
            msg = self._find_message(message, need_keyboard=True)
            buttons = _buttons(msg.data)
            chosen = next((b for b in buttons if b.get("text") == button), None)
            if chosen is None:
                chosen = next((b for b in buttons if b.get("callback_data") == button), None)
            if chosen is None:
                listing = [(b.get("text"), b.get("callback_data")) for b in buttons]
                raise AssertionError(
                    f"no button {button!r} on message {msg.data['message_id']} "
                    f"({_preview(msg.data)!r}); available (text, callback_data): {listing}"
                )
            if "callback_data" not in chosen:
                raise AssertionError(f"button {button!r} is not a callback button: {chosen}")
            return self._callback(msg, chosen["callback_data"])

    def press_data(self, data: str, message_id: MessageRef) -> int:
        """Send a callback query with arbitrary (possibly forged) ``data`` for a bot message."""
        with self._server._cond:
            return self._callback(self._find_message(message_id, need_keyboard=False), data)

    def url_of(self, button: str, message: dict[str, Any] | int | None = None) -> str:
        """The URL of the URL button labelled ``button`` on ``message`` (see ``press`` for ``message``)."""
        with self._server._cond:
            msg = self._find_message(message, need_keyboard=True)
            for b in _buttons(msg.data):
                if b.get("text") == button and "url" in b:
                    return str(b["url"])
            raise AssertionError(f"no URL button {button!r} on message {msg.data['message_id']}: {_buttons(msg.data)}")

    def open_link(self, url: str) -> int | None:
        """Open ``url`` in Telegram.  A deep link to this bot (``https://t.me/<bot>?start=<payload>``)
        sends ``/start <payload>`` from this user, as Telegram does; a start parameter that is not 1-64
        characters of ``A-Za-z0-9_-`` is dropped by Telegram, so a bare ``/start`` is sent when the user
        has never talked to the bot (they press START) and nothing otherwise.  Returns the update_id, or
        None when nothing reached the bot."""
        link = parse_deep_link(url)
        srv = self._server
        if link is None:
            raise AssertionError(f"{url!r} does not open a Telegram bot chat")
        if link.bot_username.lower() != srv.bot_username.lower():
            raise AssertionError(f"{url!r} opens @{link.bot_username}, not this server's bot @{srv.bot_username}")
        with srv._cond:
            chat = self._chat()
            self._begin_action()
            if chat.user_blocked:
                chat.user_blocked = False  # opening the bot and pressing START/RESTART unblocks it
                chat.blocked = False
                self._member_update("kicked", "member")
            if link.payload is not None:
                text = f"/start {link.payload}"
            elif not chat.messages:
                text = "/start"
            else:
                return None
            plain, ents = format_text(text, None, None)
            return self._post(chat, {"text": plain, "entities": ents})

    def _callback(self, msg: _Msg, data: str) -> int:
        srv = self._server
        chat_id = msg.data["chat"]["id"]
        if chat_id != self.id:
            target = srv._chats[chat_id]
            status = target.member_status(self.id)
            if not target.username and status not in ("creator", "administrator", "member"):
                raise AssertionError(f"user {self.id} cannot see messages of private chat {chat_id}")
        self._begin_action()
        query_id = str(next(srv._callback_ids))
        srv._callbacks[query_id] = {
            "user_id": self.id,
            "chat_id": chat_id,
            "message_id": msg.data["message_id"],
            "data": data,
            "answered": False,
        }
        query = {
            "id": query_id,
            "from": self._chat().user_dict(),
            "message": copy.deepcopy(msg.data),
            "chat_instance": srv._chat_instance(chat_id),
            "data": data,
        }
        return srv._enqueue({"callback_query": query})

    def _apply_reply(self, fields: dict[str, Any], reply_to: MessageRef, chat: _Chat | None = None) -> None:
        if reply_to is None:
            return
        if chat is not None and chat.type != "private" and not isinstance(reply_to, dict):
            reply_to = {"message_id": reply_to, "chat": chat.chat_dict()}
        target = self._find_message(reply_to, need_keyboard=False, bot_only=False)
        data = copy.deepcopy(target.data)
        data.pop("reply_to_message", None)
        fields["reply_to_message"] = data

    def _apply_caption(self, fields: dict[str, Any], caption: str | None) -> None:
        if caption:
            text, ents = format_text(caption, None, None)
            if utf16_len(text) > 1024:
                raise AssertionError("Telegram clients limit a caption to 1024 UTF-16 units")
            fields["caption"] = text
            if ents:
                fields["caption_entities"] = ents

    def _chat_of(self, ref: MessageRef) -> _Chat:
        """The chat a message reference points into: a dict's own chat, else this user's private chat."""
        if isinstance(ref, dict) and "chat" in ref and ref["chat"]["id"] != self.id:
            chat = self._server._chats.get(ref["chat"]["id"])
            if chat is None:
                raise AssertionError(f"no chat {ref['chat']['id']}")
            return chat
        return self._chat()

    def _find_message(self, ref: MessageRef, *, need_keyboard: bool, bot_only: bool = True) -> _Msg:
        chat = self._chat_of(ref)
        if ref is None:
            candidates = [
                m for m in chat.messages.values()
                if m.from_bot and not m.deleted and (not need_keyboard or _buttons(m.data))
            ]
            if not candidates:
                raise AssertionError(
                    f"user {self.id} has no bot message{' with an inline keyboard' if need_keyboard else ''}; "
                    f"bot messages: {[_preview(m.data) for m in chat.messages.values() if m.from_bot and not m.deleted]}"
                )
            return max(candidates, key=lambda m: m.data["message_id"])
        message_id = ref["message_id"] if isinstance(ref, dict) else int(ref)
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted or (bot_only and not msg.from_bot):
            raise AssertionError(f"no {'bot ' if bot_only else ''}message {message_id} in chat {chat.id}")
        return msg

    def _member_update(self, old: str, new: str) -> int:
        """The ``my_chat_member`` update Telegram sends when this user blocks or unblocks the bot."""
        srv = self._server
        bot = srv._bot_user(srv._token_seen)
        return srv._enqueue({"my_chat_member": {
            "chat": self._chat().chat_dict(), "from": self._chat().user_dict(), "date": srv._now(),
            "old_chat_member": chat_member(bot, old), "new_chat_member": chat_member(bot, new)}})

    def block_bot(self) -> int:
        """Block the bot in the client: the bot gets ``my_chat_member`` (member → kicked) and its sends fail
        with 403; this user can no longer write to it until ``unblock_bot``/``restart_bot``.  Returns the
        update_id.  (``server.block_user`` is the bare fault: 403s without the update.)"""
        with self._server._cond:
            chat = self._chat()
            if chat.user_blocked:
                raise AssertionError(f"user {self.id} has already blocked the bot")
            chat.user_blocked = chat.blocked = True
            return self._member_update("member", "kicked")

    def unblock_bot(self) -> int:
        """Unblock the bot: ``my_chat_member`` (kicked → member); sends succeed again.  Returns the update_id."""
        with self._server._cond:
            chat = self._chat()
            if not chat.user_blocked:  # only the bare fault was set (server.block_user): lift it silently
                chat.blocked = False
                return 0
            chat.user_blocked = chat.blocked = False
            return self._member_update("kicked", "member")

    def restart_bot(self) -> int:
        """The client's RESTART button in a blocked bot's chat: unblock, then ``/start``."""
        self.unblock_bot()
        return self.send_text("/start")

    def menu_button(self) -> dict[str, Any]:
        """The menu button this user sees next to the input field (MenuButton as a dict)."""
        return self._server.resolved_menu_button(self.id)

    # ------------------------------------------------------------------ observing

    def messages(self) -> list[dict[str, Any]]:
        """All bot messages in this chat (current state after edits, deleted ones omitted)."""
        with self._server._cond:
            return [copy.deepcopy(m.data) for m in self._chat().messages.values() if m.from_bot and not m.deleted]

    def history(self) -> list[dict[str, Any]]:
        """Both sides of the conversation in message_id order (deleted ones omitted)."""
        with self._server._cond:
            return [copy.deepcopy(m.data) for m in self._chat().messages.values() if not m.deleted]

    def texts(self) -> list[str]:
        """Text (or caption) of every bot message, for compact assertions."""
        return [_preview(m) for m in self.messages()]

    def last_message_id(self, *, with_keyboard: bool = False, with_text: bool = False) -> int | None:
        """message_id of the newest bot message in the private chat (with an inline keyboard, or with
        text, if asked): cheap, nothing is copied."""
        with self._server._cond:
            ids = [mid for mid, m in self._chat().messages.items()
                   if m.from_bot and not m.deleted and (not with_keyboard or _buttons(m.data))
                   and (not with_text or "text" in m.data)]
            return max(ids) if ids else None

    def last_message(self) -> dict[str, Any]:
        """The newest bot message; AssertionError if the bot has not written yet."""
        msgs = self.messages()
        if not msgs:
            raise AssertionError(f"the bot has not sent any message to user {self.id}")
        return msgs[-1]

    def message(self, message_id: int) -> dict[str, Any]:
        """Current state of one message (bot's or user's) in this chat."""
        with self._server._cond:
            return copy.deepcopy(self._find_message(message_id, need_keyboard=False, bot_only=False).data)

    def buttons(self, message: MessageRef = None) -> list[tuple[str, str | None]]:
        """(text, callback_data) of every inline button, row by row, on ``message`` or the latest
        bot message with an inline keyboard (empty list if there is none)."""
        with self._server._cond:
            try:
                msg = self._find_message(message, need_keyboard=message is None)
            except AssertionError:
                if message is None:
                    return []
                raise
            return [(b.get("text", ""), b.get("callback_data")) for b in _buttons(msg.data)]

    def reply_keyboard(self) -> list[list[str]] | None:
        """Texts of the custom reply keyboard currently shown, or None."""
        with self._server._cond:
            kb = self._chat().reply_keyboard
            if kb is None:
                return None
            return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in kb["keyboard"]]

    def chat_actions(self) -> list[str]:
        """sendChatAction actions received, in order."""
        with self._server._cond:
            return list(self._chat().actions)

    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery results for this user's presses (text, show_alert, url, ...)."""
        return self._server.callback_answers(self.id)

    def documents_received(self) -> list[ReceivedDocument]:
        """Documents the bot sent to this user, with their bytes."""
        out = []
        for m in self.messages():
            doc = m.get("document")
            if doc:
                out.append(
                    ReceivedDocument(
                        message_id=m["message_id"],
                        file_id=doc["file_id"],
                        file_unique_id=doc["file_unique_id"],
                        file_name=doc.get("file_name"),
                        mime_type=doc.get("mime_type"),
                        file_size=doc.get("file_size", 0),
                        caption=m.get("caption"),
                        content=self._server.file_content(doc["file_id"]),
                    )
                )
        return out

    def photos_received(self) -> list[ReceivedPhoto]:
        """Photos the bot sent to this user (largest size of each), with their bytes."""
        out = []
        for m in self.messages():
            if m.get("photo"):
                big = m["photo"][-1]
                out.append(
                    ReceivedPhoto(m["message_id"], big["file_id"], big["width"], big["height"],
                                  m.get("caption"), self._server.file_content(big["file_id"]))
                )
        return out

    # ------------------------------------------------------------------ waiting

    def mark(self) -> int:
        """A point in time for ``wait_for_change``: changes after it count as new."""
        return self._server.mark()

    def wait_for(self, predicate: Predicate | None = None, timeout: float = 10.0, since: int | None = None) -> dict[str, Any]:
        """Block until a bot message in this chat that was sent or edited after ``since``
        satisfies ``predicate``; returns it (the earliest such change).

        ``since`` defaults to the moment just before this user's latest action (send/press),
        so ``user.send_text("hi"); user.wait_for()`` cannot miss a reply that arrived before
        ``wait_for`` was called; with no action yet it is the call point.
        """
        srv = self._server
        if since is None:
            since = self._last_action_mark if self._last_action_mark is not None else srv.mark()
        deadline = time.monotonic() + timeout
        with srv._cond:
            while True:
                changed = sorted(
                    (m for m in self._chat().messages.values() if m.from_bot and not m.deleted and m.version > since),
                    key=lambda m: m.version,
                )
                for m in changed:
                    data = copy.deepcopy(m.data)
                    if predicate is None or predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(timeout, since, changed))
                srv._cond.wait(remaining)

    def wait_for_change(self, mark: int, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the bot has sent or edited any message in this chat after ``mark``."""
        return self.wait_for(None, timeout, since=mark)

    def wait_for_text(self, substring: str, timeout: float = 10.0, since: int | None = None) -> dict[str, Any]:
        """Wait for a new/edited bot message whose text or caption contains ``substring``."""
        return self.wait_for(lambda m: substring in _preview(m), timeout, since)

    def _timeout_report(self, timeout: float, since: int, changed: list[_Msg]) -> str:
        srv = self._server
        failures = [f"{c.method} -> {c.status} {c.error}" for c in srv._calls[-50:] if c.status not in (None, 200)]
        bot_msgs = [(m.data["message_id"], _preview(m.data)) for m in self._chat().messages.values() if m.from_bot and not m.deleted]
        return (
            f"timed out after {timeout}s waiting for a bot message in chat {self.id} changed after mark {since}; "
            f"changed since mark: {[_preview(m.data) for m in changed]}; all bot messages: {bot_msgs[-10:]}; "
            f"unconfirmed updates: {len(srv._updates)}; recent failed calls: {failures[-10:]}"
        )


def _buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    markup = data.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _preview(data: dict[str, Any]) -> str:
    if "text" in data:
        return str(data["text"])
    if "caption" in data:
        return str(data["caption"])
    if "document" in data:
        return f"<document {data['document'].get('file_name')}>"
    if "photo" in data:
        return "<photo>"
    return "<message>"
