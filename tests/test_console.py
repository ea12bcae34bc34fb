"""The console is the same product: every line from the new-user trial that crashed it or misread it,
the officer and admin commands through the same registry, notifications printed, console files refused
at submission."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.console import run_console
from bot.reply import Who
from bot.runtime import build_runtime
from dialogs.wizard import UploadInfo
from storage import caserepo
from storage.casework import Membership, Outbox
from storage.models import Draft
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import find, play

ADMIN = 9


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=dt.date(2026, 11, 20),
                                  admin_ids=[ADMIN], _env_file=None))


def console(runtime, user_id: int, *lines: str) -> str:
    out = io.StringIO()
    assert run_console(runtime, user_id, io.StringIO("\n".join([*lines, "/quit"])), out) == 0
    return out.getvalue()


def test_no_line_from_the_trial_crashes_it(runtime, tmp_path):
    junk = ["", "          ", "\t", "/foo", "/foo bar baz", "#", "#99", "#abc", "#-1", "#１", "/file", "/file   ",
            f"/file {tmp_path}/missing.pdf", "120", "²", "/", "//", "/start@rcmz_bot", "/case", "/case ²",
            "/timeline 99999999999999999999", "/ics -1", "/queue", "/officers", "/status", "/help", "\x00"]
    text = console(runtime, 70, *junk)
    assert "空行已忽略" in text and "未知命令 /foo" in text and "没有编号为 99 的按钮" in text
    assert "找不到文件" in text and "Traceback" not in text


def test_typed_digits_are_answers_and_buttons_are_pressed_with_a_hash(runtime):
    policy = runtime.policies["dongguan"]
    steps = happy_path(policy, start_date="2026-11-18")
    to_number = next(i for i, s in enumerate(steps) if s.value == "测试-number")
    flow = drive(runtime)
    play(flow, Who(71), flow.new_draft(Who(71)).view, steps[:to_number])
    text = console(runtime, 71, "/drafts", "#1", "20240001", "#1")  # resume; the project number; a choice
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == 71)).one()
    assert draft.answers["project"]["number"] == "20240001"
    assert "没有编号为 20240001 的按钮" not in text
    amount_field = next(f for f in policy.project_fields if f.kind == "number")
    assert amount_field.id not in draft.answers["project"] or draft.answers["project"][amount_field.id] != 1


def test_amounts_typed_as_digits_reach_the_amount_check(runtime):
    policy = runtime.policies["dongguan"]
    steps = happy_path(policy, start_date="2026-11-18")
    to_amount = next(i for i, s in enumerate(steps) if s.value == "120.5")
    flow = drive(runtime)
    play(flow, Who(72), flow.new_draft(Who(72)).view, steps[:to_amount])
    text = console(runtime, 72, "/drafts", "#1", "99999999999", "2", "120")
    assert "不在合理范围内" in text
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == 72)).one()
    amount = next(f for f in policy.project_fields if f.kind == "number")
    assert draft.answers["project"][amount.id] == 2.0  # "2" is an amount here, never the ✖ Cancel button


def test_officer_and_admin_commands_work_in_the_console(runtime):
    text = console(runtime, ADMIN, "/invite officer zhejiang 73", "/officers")  # an invitation names its person
    assert "已创建邀请" in text and "start" in text
    code = text.split("/start ")[1].split()[0] if "/start " in text else text.split("start=")[1].split()[0]
    joined = console(runtime, 73, f"/start {code}", "/queue")
    assert "您没有这项权限" not in joined and "暂无案件" in joined
    with Session(runtime.engine) as s:
        assert s.exec(select(Membership).where(Membership.user_id == 73)).one().policy_key == "zhejiang"


def test_pending_notifications_are_printed_once(runtime):
    with Session(runtime.engine) as s:
        caserepo.enqueue(s, 74, "note.accepted", {}, "您的申请已受理。", "test:74:1")
        s.commit()
    first = console(runtime, 74, "/help")
    second = console(runtime, 74, "/help")
    assert "🔔 您的申请已受理。" in first and "🔔" not in second
    with Session(runtime.engine) as s:
        assert s.exec(select(Outbox).where(Outbox.chat_id == 74)).one().status == "delivered"


def test_files_added_in_the_console_are_never_submitted(runtime):
    flow = drive(runtime)
    who = Who(75)
    policy = runtime.policies["liaoning"]
    steps = happy_path(policy)
    at_materials = next(i for i, s in enumerate(steps) if s.value == "l:0")
    reply = play(flow, who, flow.new_draft(who).view, steps[:at_materials])
    flow.press(who, find(reply.view, "m:0"))
    flow.document(who, UploadInfo("", "notes.pdf", 10, "console:/home/r/notes.pdf", "console:abc"))
    reply = play(flow, who, flow.press(who, find(flow.command(who, "drafts").view, "dr:r:1")).view,
                 [s for s in steps[at_materials + 1:-1]])
    refused = flow.press(who, find(reply.view, "submit"))
    assert refused.toast and "终端" in refused.toast
    with Session(runtime.engine) as s:
        assert s.exec(select(Draft).where(Draft.user_id == 75)).one().status == "active"


def test_a_line_the_terminal_may_have_cut_is_flagged(runtime):
    text = console(runtime, 76, "/new", "长" * 1400)  # 4,200 bytes: a terminal keeps 4,095 of a pasted line
    assert "可能已把粘贴的长文本截断" in text


def test_log_lines_stay_out_of_the_dialog(tmp_path, capsys):
    import logging

    from bot.console import quiet_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        quiet_logging(tmp_path / "console.log")
        logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    captured = capsys.readouterr()
    assert "Running upgrade" not in captured.out + captured.err
    assert "Running upgrade" in (tmp_path / "console.log").read_text(encoding="utf-8")
