"""The command registry: every slash command once, for Telegram and the console alike.

A command names its handler, the message key of its one-line description (Telegram's command menu and
/help), and the menus it appears in. Telegram registers one CommandHandler per entry and builds each chat's
menu from `menu()`; the console looks the same names up in `run()`. A name not in the registry gets the
"unknown command" answer from the same place, so both transports say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.actions import Act, Actions
from bot.reply import Menu, Reply, Who

Handler = Callable[[Act, list[str]], Reply]
EVERY_MENU = frozenset({Menu.USER, Menu.STAFF, Menu.ADMIN})
STAFF_MENUS = frozenset({Menu.STAFF, Menu.ADMIN})
ADMIN_MENU = frozenset({Menu.ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # message key
    run: Handler
    # The current screen for a re-delivered update; None when `run` is read-only and can simply run again.
    current: Handler | None = None
    menus: frozenset[Menu] = field(default=EVERY_MENU)
    # Shows something and changes nothing, in a few milliseconds: its update is claimed from the inbox
    # ahead of other chats' waiting updates (the order within a chat stays), so /help answers at once
    # while twenty others are submitting applications.
    quick: bool = False


class Commands:
    def __init__(self, actions: Actions, commands: list[Command], unknown: Handler) -> None:
        self.actions = actions
        self._commands = {c.name: c for c in commands}
        if len(self._commands) != len(commands):
            raise ValueError("a command name is registered twice")
        self._unknown = unknown

    def __iter__(self):  # noqa: ANN204 - Iterator[Command]
        return iter(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def menu(self, menu: Menu) -> list[Command]:
        return [c for c in self._commands.values() if menu in c.menus]

    def priority(self, payload: dict[str, Any]) -> int:
        """The inbox priority of an update as Telegram sent it: 1 for a quick command typed as a message."""
        message = payload.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        parsed = split_command(text) if isinstance(text, str) else None
        command = self._commands.get(parsed[0].lower()) if parsed else None
        return 1 if command is not None and command.quick else 0

    def run(self, who: Who, name: str, args: list[str], update_id: int | None = None,
            peek: bool = False) -> Reply | None:
        """Run `/name args` as `who`; an unknown name is answered, not ignored. `peek`: only a quick command,
        only if it changes nothing (bot/actions.py `look`); otherwise None."""
        command = self._commands.get(name.lower())
        if peek and (command is None or not command.quick):
            return None
        if command is None:
            def unknown(act: Act) -> Reply:
                return self._unknown(act, [name, *args])
            return self.actions.run(who, update_id, unknown)
        current = command.current

        def body(act: Act) -> Reply:
            return command.run(act, args)

        if command.quick:
            return self.actions.look(who, update_id, body, fallback=not peek)
        return self.actions.run(who, update_id, body, (lambda act: current(act, args)) if current else None)


def split_command(line: str) -> tuple[str, list[str]] | None:
    """`/name@bot arg …` → ("name", ["arg", …]); None when the line is not a command."""
    words = line.split()
    if not words or not words[0].startswith("/") or len(words[0]) < 2:
        return None
    name = words[0][1:].split("@", 1)[0]
    return name, words[1:]
