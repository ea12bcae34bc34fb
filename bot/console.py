"""The same dialogs in a terminal: one line in, the bot's reply and numbered buttons out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bot.flow import Reply, View, Who
from bot.i18n import t
from bot.runtime import Runtime
from dialogs.wizard import UploadInfo


def _show(view: View, out: TextIO) -> list[str]:
    print("\n" + view.text, file=out)
    actions: list[str] = []
    for row in view.buttons:
        cells = []
        for label, data in row:
            actions.append(data)
            cells.append(f"[{len(actions)}] {label}")
        print("  " + "   ".join(cells), file=out)
    return actions


def _save_files(reply: Reply, folder: Path, lang: str, out: TextIO) -> None:
    """Documents and pictures the bot would send (the 申请书, a timeline, an .ics) land in a folder."""
    for file in getattr(reply, "files", []):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(file.name).name
        path.write_bytes(file.content)
        print(t("console.file_saved", lang, path=path), file=out)


def run_console(runtime: Runtime, user_id: int, inp: TextIO = sys.stdin, out: TextIO = sys.stdout,
                files_dir: Path | None = None) -> int:
    flow = runtime.flow
    who = Who(user_id, "console", None, runtime.settings.default_language)
    lang = flow.language_of(who)
    print(t("console.intro", lang), file=out)
    actions = _show(flow.start(who).view or View(""), out)
    for raw in inp:
        line = raw.strip()
        lang = flow.language_of(who)
        reply: Reply
        if line in ("/quit", "/exit"):
            break
        if line.isdigit():
            n = int(line)
            if not 1 <= n <= len(actions):
                print(t("console.bad_number", lang, n=n), file=out)
                continue
            reply = flow.press(who, actions[n - 1])
        elif line.startswith("/file "):
            path = Path(line.removeprefix("/file ").strip()).expanduser()
            if not path.is_file():
                print(t("console.no_file", lang, path=path), file=out)
                continue
            upload = UploadInfo("", path.name, path.stat().st_size, f"local:{path.resolve()}", path.name)
            reply = flow.document(who, upload)
        elif line == "/new":
            reply = flow.new_draft(who)
        elif line == "/drafts":
            reply = flow.drafts(who)
        elif line == "/language":
            reply = flow.set_language(who, None)
        elif line.split()[0] in ("/timeline", "/ics") and flow.documents is not None:
            make = flow.documents.timeline if line.startswith("/timeline") else flow.documents.ics
            reply = make(who, line.split()[1:])
        elif line in ("/start", "/help"):
            reply = flow.start(who) if line == "/start" else flow.help(who)
        else:
            reply = flow.text(who, line)
        if reply.toast:
            print("⚠ " + reply.toast, file=out)
        if reply.view is not None:
            actions = _show(reply.view, out)
        _save_files(reply, files_dir or Path("data") / "console-files", lang, out)
    return 0
