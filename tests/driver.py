"""The transport-free bot as the tests drive it: every call goes through the router (bot/router.py), as
the Telegram edge and the console do, with the commands spelled out as methods."""

from __future__ import annotations

from bot.reply import Reply, Who
from bot.runtime import Runtime
from dialogs.wizard import UploadInfo


class Driver:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.router = runtime.router
        self.engine = runtime.engine
        self.policies = runtime.policies

    def press(self, who: Who, data: str, update_id: int | None = None) -> Reply:
        return self.router.press(who, data, update_id)

    def text(self, who: Who, text: str, update_id: int | None = None, message_id: int | None = None) -> Reply:
        return self.router.text(who, text, update_id, message_id)

    def edited(self, who: Who, text: str, message_id: int, update_id: int | None = None) -> Reply:
        return self.router.edited(who, text, message_id, update_id)

    def document(self, who: Who, upload: UploadInfo, update_id: int | None = None) -> Reply:
        return self.router.document(who, upload, update_id)

    def command(self, who: Who, name: str, *args: str, update_id: int | None = None) -> Reply:
        return self.router.command(who, name, list(args), update_id)

    def new_draft(self, who: Who, update_id: int | None = None) -> Reply:
        return self.command(who, "new", update_id=update_id)

    def drafts(self, who: Who) -> Reply:
        return self.command(who, "drafts")

    def start(self, who: Who, payload: str | None = None, update_id: int | None = None) -> Reply:
        return self.command(who, "start", *([payload] if payload else []), update_id=update_id)

    def set_language(self, who: Who, lang: str) -> Reply:
        return self.press(who, f"lang:{lang}")

    def case(self, who: Who, ref: str) -> Reply:
        return self.command(who, "case", *ref.split())

    def queue(self, who: Who) -> Reply:
        return self.command(who, "queue")

    def status(self, who: Who) -> Reply:
        return self.command(who, "status")

    def invite(self, who: Who, args: list[str]) -> Reply:
        return self.command(who, "invite", *args)

    def members(self, who: Who) -> Reply:
        return self.command(who, "officers")

    def timeline(self, who: Who, args: list[str]) -> Reply:
        return self.command(who, "timeline", *args)

    def ics(self, who: Who, args: list[str]) -> Reply:
        return self.command(who, "ics", *args)


def drive(runtime: Runtime) -> Driver:
    return Driver(runtime)
