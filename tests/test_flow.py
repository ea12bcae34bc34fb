"""The transport-free flow over a real database: ownership, stale buttons, drafts, submission."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.console import run_console
from bot.reply import Reply, View, Who
from bot.runtime import build_runtime
from dialogs.wizard import UploadInfo
from storage.models import Case, Draft, Upload
from tests.driver import Driver, drive
from tests.scenario import Step, happy_path


@pytest.fixture()
def runtime(database_url):
    settings = Settings(database_url=database_url, today_override=dt.date(2026, 11, 20),
                        _env_file=None)
    return build_runtime(settings)


def find(view: View, action: str) -> str:
    for row in view.buttons:
        for _label, data in row:
            if data == action or data.endswith(":" + action):
                return data
    raise AssertionError(f"no button {action!r} in {view.buttons}")


def play(flow: Driver, who: Who, view: View, steps: list[Step]) -> Reply:
    reply = Reply(view=view)
    for step in steps:
        if step.kind == "press":
            reply = flow.press(who, find(reply.view, step.value))
        elif step.kind == "text":
            reply = flow.text(who, step.value)
        else:
            reply = flow.document(who, UploadInfo("", step.value, step.size, f"F-{step.value}", f"U-{step.value}"))
        assert reply.view is not None and "⚠" not in reply.view.text.split("\n")[-1], (step, reply.view.text)
    return reply


def test_full_application_creates_a_numbered_case(runtime):
    flow, policy = drive(runtime), runtime.policies["yunnan"]
    who = Who(501, "研究员")
    reply = flow.new_draft(who)
    reply = play(flow, who, reply.view, happy_path(policy, start_date="2026-11-02"))
    assert "YN-2026-0001" in reply.view.text
    with Session(runtime.engine) as s:
        case = s.exec(select(Case)).one()
        assert case.applicant_id == 501 and case.policy_key == "yunnan" and case.answers["start_date"] == "2026-11-02"
        assert s.get(Draft, case.draft_id).status == "submitted"
        owed = [m for m in policy.materials if m.required and m.id not in ("application", "statement")]
        assert len(s.exec(select(Upload)).all()) == len(owed)  # the 申请书 is generated, the 情况说明 typed
    # the identity given once is remembered: the second application only shows it for review
    second = play(flow, who, flow.new_draft(who).view, happy_path(policy, remembered=True))
    assert "YN-2026-0002" in second.view.text


def test_buttons_of_other_users_old_messages_and_double_presses_are_refused(runtime):
    flow = drive(runtime)
    alice, mallory = Who(1, "A"), Who(2, "M")
    view = flow.new_draft(alice).view
    data = find(view, "p:dongguan")
    assert flow.press(mallory, data).toast is not None  # forged: another user's draft
    first = flow.press(alice, data)
    assert first.toast is None and "步骤 2/" in first.view.text
    again = flow.press(alice, data)  # the same button pressed twice: applied once
    assert again.toast is not None and again.view is None
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft)).one()
        assert draft.state == "applicant" and draft.revision == 1
    assert "不是您的" in flow.press(mallory, find(first.view, "k:unit")).toast


def test_drafts_list_resume_and_delete(runtime):
    flow = drive(runtime)
    who = Who(7, "R")
    v = flow.new_draft(who).view
    flow.press(who, find(v, "p:shanwei"))
    flow.new_draft(who)
    listing = flow.drafts(who).view
    assert listing.text.count("#") == 2 and "汕尾" in listing.text
    resumed = flow.press(who, find(listing, "dr:r:1"))
    assert resumed.edit and "汕尾" in resumed.view.text and "步骤 2/" in resumed.view.text
    confirm = flow.press(who, "dr:d:2")
    gone = flow.press(who, find(confirm.view, "dr:x:2"))
    assert "#2" in gone.view.text.split("\n")[0] and gone.view.text.count("#1") == 1
    assert flow.press(Who(8), "dr:r:1").toast is not None  # not theirs


def test_typed_input_without_a_draft_and_in_the_wrong_step(runtime):
    flow = drive(runtime)
    who = Who(9)
    assert "/new" in flow.text(who, "hello").view.text
    flow.new_draft(who)
    reply = flow.text(who, "东莞")
    assert "按钮" in reply.view.text


def test_english_interface(runtime):
    flow = drive(runtime)
    who = Who(10, language_code="en-GB")
    view = flow.new_draft(who).view
    assert "Choose the policy document" in view.text
    flow.set_language(who, "zh")
    assert "请选择" in flow.new_draft(who).view.text


def test_console_runs_the_same_dialogs(runtime, tmp_path):
    doc = tmp_path / "申请书.pdf"
    doc.write_bytes(b"%PDF-1.4 test")
    script = "\n".join(["/new", "#5", "#1", "/quit"])  # /new → policies, 5th button = 汕尾, then 单位
    out = io.StringIO()
    assert run_console(runtime, 77, io.StringIO(script), out) == 0
    text = out.getvalue()
    assert "汕尾" in text and "步骤 2/" in text and "第 2/5 项" in text and "单位名称" in text
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == 77)).one()
        assert draft.policy_key == "shanwei" and draft.state == "applicant" and draft.answers["applicant_kind"] == "unit"


def test_console_saves_the_documents_it_would_send(runtime, tmp_path):
    flow, who = drive(runtime), Who(78, "console")
    play(flow, who, flow.new_draft(who).view, happy_path(runtime.policies["dongguan"]))
    out = io.StringIO()
    run_console(runtime, 78, io.StringIO("/ics\n/timeline\n/quit"), out, files_dir=tmp_path / "files")
    saved = sorted(p.name for p in (tmp_path / "files").iterdir())
    assert [n for n in saved if n.endswith(".png")] and [n for n in saved if n.endswith(".ics")], out.getvalue()
    assert "已保存文件" in out.getvalue()
