"""The same product in a terminal: one line in, the bot's reply and numbered buttons out.

It goes through the same router and command registry as Telegram, so the researcher's wizard, the
officers' and admins' commands and the files work alike. Typed text is always an answer (a project number
`20240001` or an amount `120` is text); a button is pressed with `#2`. Notifications the outbox holds for
this user are printed, since no Telegram chat will show them. Log lines go to a file, not into the dialog.
Files added here are marked as console files (`console:` ids): they are not on Telegram, so the wizard
refuses to submit a draft that holds one and asks for the file to be sent on Telegram or removed.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import TextIO

from bot.commands import split_command
from bot.i18n import t
from bot.reply import Reply, View, Who
from bot.runtime import Runtime
from dialogs.wizard import CONSOLE_FILE_PREFIX, UploadInfo
from storage import caserepo
from storage.db import session_scope
from storage.models import utcnow

TTY_LINE_BYTES = 4095  # the line limit of a terminal in canonical mode (Linux N_TTY_BUF_SIZE - 1)


def quiet_logging(log_file: Path = Path("data") / "console.log") -> None:
    """Log lines (alembic's migrations, transitions' callbacks) go to a file, out of the dialog."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _show(view: View, out: TextIO) -> list[str]:
    for part in view.preface:
        print("\n" + part, file=out)
    print("\n" + view.text, file=out)
    actions: list[str] = []
    for row in view.buttons:
        cells = []
        for label, data in row:
            actions.append(data)
            cells.append(f"[#{len(actions)}] {label}")
        print("  " + "   ".join(cells), file=out)
    return actions


def _save_files(reply: Reply, folder: Path, lang: str, out: TextIO) -> None:
    """Documents and pictures the bot would send (the 申请书, a timeline, an .ics) land in a folder."""
    for file in reply.files:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(file.name).name
        path.write_bytes(file.content)
        print(t("console.file_saved", lang, path=path), file=out)
    if reply.document:
        print(t("console.stored_file", lang, file=reply.document), file=out)


def _print_notifications(runtime: Runtime, user_id: int, out: TextIO) -> None:
    """The outbox's pending messages for this user: the console is their transport, so it delivers them."""
    with session_scope(runtime.engine) as s:
        for row in caserepo.messages_for(s, user_id):
            if row.status == "pending":
                print("\n🔔 " + row.text, file=out)
                row.status = "delivered"
                row.delivered_at = utcnow()


def _upload(path: Path) -> UploadInfo:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    return UploadInfo("", path.name, path.stat().st_size, f"{CONSOLE_FILE_PREFIX}{path.resolve()}",
                      f"{CONSOLE_FILE_PREFIX}{digest}")


def handle_line(runtime: Runtime, who: Who, line: str, actions: list[str], out: TextIO) -> Reply | None:
    """One console line as the bot would take it; None when there is nothing to send to the bot."""
    router = runtime.router
    lang = runtime.actions.language_of(who)
    if line.startswith("#"):
        number = line[1:].strip()
        n = int(number) if number.isascii() and number.isdigit() and len(number) < 6 else 0
        if not 1 <= n <= len(actions):
            print(t("console.bad_number", lang, n=number[:12]), file=out)
            return None
        return router.press(who, actions[n - 1])
    command = split_command(line)
    if command is None:
        return router.text(who, line)
    name, args = command
    if name == "file":
        path = Path(" ".join(args)).expanduser() if args else Path()
        if not args or not path.is_file():
            print(t("console.no_file", lang, path=path if args else "—"), file=out)
            return None
        return router.document(who, _upload(path))
    return router.command(who, name, args)


def run_console(runtime: Runtime, user_id: int, inp: TextIO = sys.stdin, out: TextIO = sys.stdout,
                files_dir: Path | None = None) -> int:
    who = Who(user_id, "console", None, runtime.settings.default_language)
    lang = runtime.actions.language_of(who)
    print(t("console.intro", lang), file=out)
    start = runtime.router.command(who, "start")
    actions = _show(start.view, out) if start.view else []
    for raw in inp:
        line = raw.strip()
        if len(raw.encode("utf-8")) >= TTY_LINE_BYTES:  # a terminal cuts a longer pasted line there, silently
            print(t("console.line_cut", runtime.actions.language_of(who), n=TTY_LINE_BYTES), file=out)
        if not line:
            print(t("console.empty_line", runtime.actions.language_of(who)), file=out)
            continue
        if line in ("/quit", "/exit"):
            break
        reply = handle_line(runtime, who, line, actions, out)
        lang = runtime.actions.language_of(who)
        if reply is not None:
            if reply.toast:
                print("⚠ " + reply.toast, file=out)
            if reply.view is not None:
                shown = _show(reply.view, out)
                actions = shown or actions  # a reply without buttons keeps the last screen's buttons usable
            _save_files(reply, files_dir or Path("data") / "console-files", lang, out)
        _print_notifications(runtime, user_id, out)
    return 0
