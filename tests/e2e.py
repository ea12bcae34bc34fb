"""End-to-end harness: the real bot process (`python -m bot`, unmodified PTB) against the local Bot API
server, and a simulated researcher who presses the buttons a person would press."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.botapi import BotApiServer, User
from tests.scenario import Step

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:TEST-TOKEN"


class BotProcess:
    """The bot as users get it: its own process, so it can be killed with SIGKILL and started again."""

    def __init__(self, server: BotApiServer, database_url: str, workdir: Path, module: str = "bot",
                 **env: str) -> None:
        self.server = server
        self.module = module  # bench.echo_bot runs the benchmark's baseline bot the same way
        self.database_url = database_url
        self.workdir = workdir
        self.extra_env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_"))}
        env.update({"BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": f"{self.server.url}/bot",
                    "BOT_API_FILE_URL": f"{self.server.url}/file/bot", "DATABASE_URL": self.database_url,
                    "POLL_TIMEOUT": "5", "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": str(ROOT)})
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> BotProcess:
        self.starts += 1
        log = open(self.workdir / f"bot-{self.starts}.log", "wb")  # noqa: SIM115 - lives as long as the process
        before = len(self.server.calls("getUpdates"))
        self.proc = subprocess.Popen([sys.executable, "-m", self.module], cwd=self.workdir, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while len(self.server.calls("getUpdates")) <= before:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"bot did not start polling within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return (self.workdir / f"bot-{self.starts}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or `kill -9`."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def has_keyboard(message: dict[str, Any]) -> bool:
    return bool(message.get("reply_markup", {}).get("inline_keyboard"))


class Researcher:
    """A person on a phone: reads the latest screen, presses its buttons, types, uploads."""

    def __init__(self, server: BotApiServer, user_id: int, name: str = "研究员", language_code: str = "zh-hans"):
        self.server = server
        self.user: User = server.user(user_id, first_name=name, language_code=language_code)

    def screen(self) -> dict[str, Any]:
        for message in reversed(self.user.messages()):
            if has_keyboard(message):
                return message
        raise AssertionError(f"no screen with buttons; messages: {self.user.texts()[-5:]}")

    def button_data(self, action: str) -> str:
        for row in self.screen()["reply_markup"]["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data", "")
                if data == action or data.endswith(":" + action):
                    return data
        raise AssertionError(f"no button {action!r} on screen:\n{self.screen().get('text')}\n"
                             f"{self.screen()['reply_markup']}")

    def _wait(self, mark: int, timeout: float = 15.0) -> dict[str, Any]:
        return self.user.wait_for(has_keyboard, timeout=timeout, since=mark)

    def command(self, text: str) -> dict[str, Any]:
        mark = self.user.mark()
        self.user.send_text(text)
        return self._wait(mark)

    def press(self, action: str) -> dict[str, Any]:
        data = self.button_data(action)
        mark = self.user.mark()
        self.user.press_data(data, self.screen()["message_id"])
        return self._wait(mark)

    def type(self, text: str) -> dict[str, Any]:
        mark = self.user.mark()
        self.user.send_text(text)
        return self._wait(mark)

    def upload(self, filename: str, size: int) -> dict[str, Any]:
        mark = self.user.mark()
        self.user.send_document(filename, b"%PDF-1.4\n" + b"0" * max(0, size - 9), mime_type="application/pdf")
        return self._wait(mark, timeout=30)

    def do(self, step: Step) -> dict[str, Any]:
        if step.kind == "press":
            return self.press(step.value)
        if step.kind == "text":
            return self.type(step.value)
        return self.upload(step.value, step.size)

    def run(self, steps: list[Step]) -> dict[str, Any]:
        screen: dict[str, Any] = {}
        for step in steps:
            screen = self.do(step)
            assert "⚠" not in screen.get("text", "").split("\n")[-1], (step, screen.get("text"))
        return screen


def wait_inbox_done(url: str, timeout: float = 30.0) -> None:
    """Until the inbox has handled and confirmed every update it holds. The Bot API server's `wait_idle` is
    not enough: Telegram is told an update arrived once it is in the inbox, before it is handled, and on a
    busy machine the handling (or the re-showing of a screen after a restart) comes later than its quiet."""
    from sqlmodel import Session

    from storage import inbox
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with Session(engine) as s:
                left = inbox.backlog(s)
            if not left or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    finally:
        engine.dispose()
    assert not left, f"the inbox still holds {left} update(s) after {timeout}s"

