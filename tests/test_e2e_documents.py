"""The files a researcher gets on Telegram — the application .docx on submission and on demand, /timeline
and /ics — through the real bot process and the local Bot API server; and the same bot in webhook mode."""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from docx import Document
from icalendar import Calendar
from PIL import Image, ImageStat

from dialogs.policy import load_policies
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher
from tests.scenario import FACTS, happy_path

POLICIES = load_policies()
START = (dt.date.today() - dt.timedelta(days=3)).isoformat()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[BotApiServer, BotProcess]]:
    workdir = tmp_path_factory.mktemp("e2e-docs")
    with BotApiServer() as server, fresh_database(workdir) as url:
        bot = BotProcess(server, url, workdir).start()
        try:
            yield server, bot
        finally:
            bot.stop()


_ids = iter(range(200000, 300000))


def has(kind: str, suffix: str = "") -> Any:
    def check(m: dict[str, Any]) -> bool:
        if kind == "document":
            return bool(m.get("document")) and str(m["document"].get("file_name", "")).endswith(suffix)
        return bool(m.get(kind))
    return check


def submitted(server: BotApiServer, key: str, lang: str = "zh-hans") -> Researcher:
    r = Researcher(server, next(_ids), language_code=lang)
    r.command("/new")
    r.run(happy_path(POLICIES[key], start_date=START))
    r.user.wait_for(has("document", ".docx"), timeout=20, since=0)
    return r


def docx_text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_submission_sends_the_application_and_the_button_sends_it_again(world):
    server, _bot = world
    r = submitted(server, "dongguan")
    [doc] = r.user.documents_received()
    text = docx_text(doc.content)
    number = next(line for line in r.screen()["text"].split("\n") if "案件编号" in line).split("：")[-1].strip()
    assert text.startswith("容错免责认定申请书") and number in text and FACTS in text
    assert "申请人（签字）" in text
    assert all(f"{m.id}.pdf" in text for m in POLICIES["dongguan"].materials
               if m.required and m.id not in ("application", "statement")), "uploaded file names"
    assert "容错免责认定申请书：本申请书" in text, "the document is not a material the applicant uploads"
    assert number in (doc.caption or "")
    mark = r.user.mark()
    r.user.press_data(r.button_data("docx"), r.screen()["message_id"])
    r.user.wait_for(has("document", ".docx"), timeout=20, since=mark)
    assert len(r.user.documents_received()) == 2
    assert docx_text(r.user.documents_received()[1].content) == text


def test_english_researcher_gets_english_headings(world):
    r = submitted(world[0], "shanwei", lang="en")
    text = docx_text(r.user.documents_received()[0].content)
    assert text.startswith("Application for a Determination of Fault Tolerance") and "1. Basis of the application" in text
    assert "Applicant (signature)" in text


def test_timeline_and_ics_commands(world):
    server, _bot = world
    r = submitted(server, "yunnan")
    mark = r.user.mark()
    r.user.send_text("/timeline")
    r.user.wait_for(has("photo"), timeout=30, since=mark)
    [photo] = r.user.photos_received()
    image = Image.open(io.BytesIO(photo.content)).convert("L")
    assert image.size == (photo.width, photo.height) and image.width >= 800
    assert ImageStat.Stat(image).stddev[0] > 20, "not blank"
    assert "YN-" in (photo.caption or "")

    mark = r.user.mark()
    r.user.send_text("/ics")
    r.user.wait_for(has("document", ".ics"), timeout=20, since=mark)
    ics = next(d for d in r.user.documents_received() if (d.file_name or "").endswith(".ics"))
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    uids = {str(e["UID"]) for e in events}
    number = photo.caption.split(" ")[1] if photo.caption else ""
    assert f"{number}-filing@rcmz" in uids and f"{number}-acceptance@rcmz" in uids
    filing = next(e for e in events if str(e["UID"]).endswith("-filing@rcmz"))
    assert filing["DTSTART"].dt > dt.date.fromisoformat(START)


def test_bad_case_numbers_are_answered_in_the_users_language(world):
    server, _bot = world
    zh = Researcher(server, next(_ids))
    mark = zh.user.mark()
    zh.user.send_text("/timeline")
    assert "还没有已提交的案件" in zh.user.wait_for(since=mark)["text"]
    en = Researcher(server, next(_ids), language_code="en")
    mark = en.user.mark()
    en.user.send_text("/ics XX-2026-9999")
    assert 'Case "XX-2026-9999" was not found' in en.user.wait_for(since=mark)["text"]


# -- webhook mode ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebhookBot(BotProcess):
    """`python -m bot --webhook`: it registers its URL with setWebhook and then only listens."""

    def start(self, timeout: float = 30.0) -> WebhookBot:
        self.starts += 1
        log = open(self.workdir / f"bot-{self.starts}.log", "wb")  # noqa: SIM115 - lives as long as the process
        before = len(self.server.calls("setWebhook"))
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "--webhook"], cwd=self.workdir, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while len(self.server.calls("setWebhook")) <= before or self.server.webhook() is None:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"bot did not set its webhook within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return self


def test_webhook_mode_serves_updates_behind_the_secret_token(tmp_path):
    import urllib.error
    import urllib.request

    port, secret = _free_port(), "s3cret-token_42"
    url = f"http://127.0.0.1:{port}/telegram"
    with BotApiServer() as server, fresh_database(tmp_path) as db:
        bot = WebhookBot(server, db, tmp_path, WEBHOOK_URL=url, WEBHOOK_SECRET=secret,
                         WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port)).start()
        try:
            hook = server.webhook()
            assert hook is not None and hook["url"] == url and hook["secret_token"] == secret
            r = Researcher(server, next(_ids))
            assert "容错免责助手" in r.command("/start")["text"]
            r.command("/new")
            screen = r.press("p:dongguan")
            assert "东莞" in screen["text"]
            assert server.webhook_deliveries(), "updates came by POST to the webhook, not by getUpdates"
            assert not server.calls("getUpdates")
            forged = urllib.request.Request(url, data=b'{"update_id": 1}', method="POST",
                                            headers={"Content-Type": "application/json",
                                                     "X-Telegram-Bot-Api-Secret-Token": "wrong"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(forged, timeout=5)
            assert refused.value.code == 403
        finally:
            bot.stop()


def test_webhook_mode_without_a_secret_refuses_to_start(tmp_path):
    with BotApiServer() as server, fresh_database(tmp_path) as db:
        env = BotProcess(server, db, tmp_path, WEBHOOK_URL="http://127.0.0.1:9/x").env()
        env.pop("WEBHOOK_SECRET", None)
        done = subprocess.run([sys.executable, "-m", "bot", "--webhook"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "WEBHOOK_SECRET" in done.stderr
        assert not server.calls("setWebhook")
