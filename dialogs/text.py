"""Texts as data, resolved to a language only at the edge, so dialogs never hold a user-facing string.

Message keys are written as string literals in `msg(...)`, `plural(...)` and `N_(...)` calls so that
Babel's extractor (`pybabel extract -F babel.cfg`) finds every one of them: a key computed at run time
(`step.<name>`) is declared once with `N_` next to the table that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.policy import LText


@dataclass(frozen=True)
class Msg:
    """A message-catalogue entry; params may themselves be texts and are resolved first. With `count`,
    the entry has plural forms and the catalogue picks the one for that number (ngettext)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    count: int | None = None


def msg(key: str, /, **params: Any) -> Msg:
    return Msg(key, params)


def plural(key: str, count: int, /, **params: Any) -> Msg:
    """A message whose wording depends on a number ("1 working day" / "2 working days"); `n` is the count."""
    return Msg(key, {"n": count, **params}, count)


def N_(key: str) -> str:  # noqa: N802 - the gettext convention the extractor looks for
    """Declares a message key that code then uses through a variable; returns it unchanged."""
    return key


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
