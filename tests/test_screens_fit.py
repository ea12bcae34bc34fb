"""Every screen fits Telegram's limits (in UTF-16 units) for the longest application the wizard accepts:
the summary keeps every section — the facts as an excerpt, the whole text in the 申请书 — and a screen
too long for one message is split over several, never cut."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document

from bot.config import Settings
from bot.limits import CALLBACK_DATA_BYTES, TEXT_LIMIT, utf16_len
from bot.reply import Reply, Who
from bot.runtime import build_runtime
from dialogs.policy import load_policies
from dialogs.wizard import UploadInfo
from tests.driver import drive
from tests.scenario import MAXIMAL_FACTS, maximal_path
from tests.test_flow import find

POLICIES = load_policies()


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    from tests.conftest import fresh_database

    with fresh_database(tmp_path_factory.mktemp("fit")) as url:
        yield drive(build_runtime(Settings(database_url=url, today_override=dt.date.today(), _env_file=None)))


def _check(reply: Reply) -> None:
    assert reply.view is not None
    for text in [*reply.view.preface, reply.view.text]:
        assert utf16_len(text) <= TEXT_LIMIT
    for row in reply.view.buttons:
        for _label, data in row:
            assert len(data.encode()) <= CALLBACK_DATA_BYTES


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", list(POLICIES))
def test_the_longest_application_fits_every_screen(flow, key, lang):
    policy = POLICIES[key]
    who = Who(hash((key, lang)) % 1_000_000 + 10_000, language_code=lang)
    reply = flow.new_draft(who)
    summary = None
    for step in maximal_path(policy):
        if step.kind == "press":
            reply = flow.press(who, find(reply.view, step.value))
        elif step.kind == "text":
            reply = flow.text(who, step.value)
        else:
            reply = flow.document(who, UploadInfo("", step.value, step.size, f"F-{step.value}", f"U-{step.value}"))
        _check(reply)
        assert reply.toast is None, (step, reply.toast)
        if "— " in "\n".join([*reply.view.preface, reply.view.text]) and step.value == "next" and summary is None and any(
                d.endswith(":e:facts") for row in reply.view.buttons for _l, d in row):
            summary = reply
    assert summary is not None
    whole = "\n".join([*summary.view.preface, summary.view.text])
    print(f"{key}/{lang}: summary {utf16_len(whole)} UTF-16 units in {1 + len(summary.view.preface)} message(s)")
    for title in ("申请人", "项目信息", "本案如何启动", "免责情形", "情况说明", "申请材料") if lang == "zh" else ():
        assert title in whole or title == "本案如何启动", title
    assert MAXIMAL_FACTS[:300] in whole and MAXIMAL_FACTS not in whole, "the statement is an excerpt in the summary"
    assert ("全文见申请书" if lang == "zh" else "application document") in whole
    assert "submitted" in str(reply.view) or "案件编号" in reply.view.text or "Case number" in reply.view.text
    [docx] = reply.files
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    # the whole statement is in the 申请书 (bot/documents drops characters outside the BMP from it)
    assert "事" * 1750 in text or MAXIMAL_FACTS in text, "the 申请书 carries the whole statement"
