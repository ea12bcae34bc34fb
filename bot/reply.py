"""What every flow hands back to the transport (Telegram or the console), and who is asking.

One shape for every reply: a screen (shown by editing the pressed message, or as a new one), a toast for
the button press, files to send after it, a stored Telegram file to send back, and a change of the chat's
command menu. Transports read these fields and nothing else, so a flow never needs to know which one runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True)
class Who:
    """The person acting, as the transport saw them; every check is made against `user_id`."""

    user_id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass
class View:
    """One screen: text and rows of (label, callback data). `preface` are messages sent before it when
    the whole does not fit in one message (the screen with its buttons always comes last)."""

    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    preface: list[str] = field(default_factory=list)


class OutFile:
    """A file for the transport to send after the reply's screen: a document or a photo.

    `content` may be given as a function that builds it: the transport then builds it after the update's
    transaction has committed (bot/app.py, in its thread pool), so a .docx build never holds the database
    (on SQLite, the one write lock every other user is waiting for) — measured in docs/BENCHMARKS.md.
    The function must not touch the session; reading `content` builds it once."""

    def __init__(self, kind: Literal["document", "photo"], name: str, content: bytes | Callable[[], bytes],
                 mime_type: str, caption: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.mime_type = mime_type
        self.caption = caption
        self._content = content

    @property
    def built(self) -> bool:
        return not callable(self._content)

    @property
    def content(self) -> bytes:
        if callable(self._content):
            self._content = self._content()
        return self._content

    def __repr__(self) -> str:
        return f"OutFile({self.kind!r}, {self.name!r}, built={self.built})"


class Menu(StrEnum):
    """The command menus a chat can have: everyone's, a staff member's, an administrator's."""

    USER = "user"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class MenuChange:
    """Give a chat another command menu: the acting user's own chat when `chat_id` is None."""

    menu: Menu
    chat_id: int | None = None


@dataclass
class Reply:
    """What the transport should do for one update.

    `draft_id` names the draft the screen shows, so the transport can remember which message carries it;
    `screen_message_id` is the draft's screen a typed answer edits in place; `shown_message_id` the message
    the draft is already recorded on (no second write when it did not change). `redelivered` marks the
    reply to an update Telegram delivered a second time: it shows the current screen and changes nothing.
    """

    view: View | None = None
    edit: bool = False
    toast: str | None = None
    alert: bool = False
    files: list[OutFile] = field(default_factory=list)
    document: str | None = None  # the Telegram file_id of a stored upload to send back
    menu: MenuChange | None = None
    draft_id: int | None = None
    screen_message_id: int | None = None
    shown_message_id: int | None = None
    redelivered: bool = False
