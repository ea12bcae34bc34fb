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

from ._files import image_size
from ._text import format_text

if TYPE_CHECKING:
    from .server import BotApiServer, _Chat, _Msg

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
    """A private-chat user of the bot.  Obtain via ``server.user(user_id, ...)``."""

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

    # ------------------------------------------------------------------ acting

    def _begin_action(self) -> None:
        self._last_action_mark = self._server._seq

    def send_text(self, text: str, *, entities: list[dict[str, Any]] | None = None, reply_to: MessageRef = None) -> int:
        """Send a text message; returns the update_id.  Commands get a ``bot_command`` entity."""
        srv = self._server
        with srv._cond:
            self._begin_action()
            plain, ents = format_text(text, None, entities)
            if not plain:
                raise AssertionError("Telegram clients cannot send an empty message")
            fields: dict[str, Any] = {"text": plain}
            if ents:
                fields["entities"] = ents
            self._apply_reply(fields, reply_to)
            msg = srv._add_user_message(self._chat(), fields)
            return srv._enqueue({"message": msg})

    def edit_text(self, message: dict[str, Any] | int, text: str) -> int:
        """Edit one of this user's own text messages; the bot gets an ``edited_message`` update."""
        srv = self._server
        with srv._cond:
            msg = self._find_message(message, need_keyboard=False, bot_only=False)
            if msg.from_bot or "text" not in msg.data:
                raise AssertionError(f"message {msg.data['message_id']} is not a text message of user {self.id}")
            self._begin_action()
            plain, ents = format_text(text, None, None)
            msg.data["text"] = plain
            if ents:
                msg.data["entities"] = ents
            else:
                msg.data.pop("entities", None)
            msg.data["edit_date"] = srv._now()
            msg.version = srv._bump()
            return srv._enqueue({"edited_message": copy.deepcopy(msg.data)})

    def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
    ) -> int:
        """Upload a document (stored by reference, so 30-50 MB is fine); returns the update_id."""
        srv = self._server
        stored = srv.files.add(content, "document", filename, mime_type)
        with srv._cond:
            self._begin_action()
            fields: dict[str, Any] = {"document": stored.document_dict()}
            self._apply_caption(fields, caption)
            msg = srv._add_user_message(self._chat(), fields)
            return srv._enqueue({"message": msg})

    def send_photo(self, content: bytes, *, caption: str | None = None) -> int:
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
            self._begin_action()
            fields: dict[str, Any] = {"photo": [s.photo_size_dict() for s in sizes]}
            self._apply_caption(fields, caption)
            msg = srv._add_user_message(self._chat(), fields)
            return srv._enqueue({"message": msg})

    def press(self, button: str, message: MessageRef = None) -> int:
        """Press an inline button (matched by exact text, else by callback_data) on ``message``
        (dict or message_id) or on the latest bot message with an inline keyboard."""
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

    def press_data(self, data: str, message_id: int) -> int:
        """Send a callback query with arbitrary (possibly forged) ``data`` for a bot message."""
        with self._server._cond:
            return self._callback(self._find_message(message_id, need_keyboard=False), data)

    def _callback(self, msg: _Msg, data: str) -> int:
        srv = self._server
        self._begin_action()
        query_id = str(next(srv._callback_ids))
        srv._callbacks[query_id] = {
            "user_id": self.id,
            "message_id": msg.data["message_id"],
            "data": data,
            "answered": False,
        }
        query = {
            "id": query_id,
            "from": self._chat().user_dict(),
            "message": copy.deepcopy(msg.data),
            "chat_instance": srv._chat_instance(self.id),
            "data": data,
        }
        return srv._enqueue({"callback_query": query})

    def _apply_reply(self, fields: dict[str, Any], reply_to: MessageRef) -> None:
        if reply_to is None:
            return
        target = self._find_message(reply_to, need_keyboard=False, bot_only=False)
        data = copy.deepcopy(target.data)
        data.pop("reply_to_message", None)
        fields["reply_to_message"] = data

    def _apply_caption(self, fields: dict[str, Any], caption: str | None) -> None:
        if caption:
            text, ents = format_text(caption, None, None)
            fields["caption"] = text
            if ents:
                fields["caption_entities"] = ents

    def _find_message(self, ref: MessageRef, *, need_keyboard: bool, bot_only: bool = True) -> _Msg:
        chat = self._chat()
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
            raise AssertionError(f"no {'bot ' if bot_only else ''}message {message_id} in chat {self.id}")
        return msg

    def block_bot(self) -> None:
        """Block the bot: further sends to this chat fail with 403 (see ``server.block_user``)."""
        self._server.block_user(self.id)

    def unblock_bot(self) -> None:
        """Unblock the bot again."""
        self._server.unblock_user(self.id)

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
