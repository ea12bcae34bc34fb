"""Texts as data, resolved to a language only at the edge, so dialogs never hold a user-facing string."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.policy import LText


@dataclass(frozen=True)
class Msg:
    """A message-catalogue entry; params may themselves be texts and are resolved first."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def msg(key: str, /, **params: Any) -> Msg:
    return Msg(key, params)


@dataclass(frozen=True)
class Plain:
    """What the user typed (a project name, a statement): shown back as is, never translated."""

    text: str


@dataclass(frozen=True)
class Join:
    parts: tuple[Text, ...]
    sep: str = ""


Text = Msg | Plain | LText | Join


@dataclass(frozen=True)
class Button:
    label: Text
    action: str


@dataclass
class Screen:
    """What the user sees at one moment: lines of text and rows of buttons."""

    lines: list[Text] = field(default_factory=list)
    rows: list[list[Button]] = field(default_factory=list)

    def add(self, *texts: Text) -> None:
        self.lines.extend(texts)

    def row(self, *buttons: Button) -> None:
        if buttons:
            self.rows.append(list(buttons))
