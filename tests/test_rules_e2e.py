"""The procedures the rules audit changed, end to end through the real bot process against the local Bot
API server: Yunnan's correction decided together with the decision and carried to rectification,
Dongguan's 结题 after the third-party review, Liaoning's conclusion → review → appeal with the collective
body on record, and Zhejiang's 省基础公益研究专项 routed to the fund office's officers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session, col, select

from storage.casework import CaseEvent
from storage.db import make_engine
from storage.models import Case
from tests import test_officer_e2e as officer_e2e
from tests.casework_scenario import MEETING
from tests.scenario import Step, happy_path
from tests.test_officer_e2e import POLICIES, START, Actor, invite, lead, submit, wait_for_notifications

world = officer_e2e.world  # the same fixture: a Bot API server, a fresh database and the bot process

pytestmark = pytest.mark.slow
FILE = {"file_id": "F-r", "file_unique_id": "U-r", "file_name": "report.pdf", "size": 1200}


def state(world: dict[str, Any], case: Case) -> str:
    with Session(make_engine(world["url"])) as s:
        return s.get(Case, case.id).state


def events(world: dict[str, Any], case: Case) -> list[str]:
    with Session(make_engine(world["url"])) as s:
        rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, col(CaseEvent.event).is_not(None))
                      .order_by(col(CaseEvent.id))).all()
        return [r.event for r in rows if not r.refused]


def buttons(actor: Actor) -> list[str]:
    return [b.get("callback_data", "") for row in actor.screen()["reply_markup"]["inline_keyboard"] for b in row]


def refused(actor: Actor, data: str) -> str:
    """Press forged or out-of-turn data on the actor's own screen; the alert the bot answers with."""
    before = len([a for a in actor.user.callback_answers() if a.get("show_alert")])
    actor.user.press_data(data, actor.screen()["message_id"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alerts = [a for a in actor.user.callback_answers() if a.get("show_alert")]
        if len(alerts) > before:
            return alerts[-1].get("text", "")
        time.sleep(0.05)
    raise AssertionError(f"no refusal for {data}")


def walk(actors: dict[str, Actor], case: Case, steps: list[tuple[str, str, list]]) -> None:
    for who, action, values in steps:
        screen = actors[who].act(case, action, values)
        assert "✅" in screen["text"], (action, screen["text"][-400:])


def test_yunnan_correction_started_with_the_decision_runs_to_rectification(world):
    server = world["server"]
    applicant, officer = Actor(server, 81001, "申请人"), Actor(server, 81002, "经办")
    invite(world, ["officer", "yunnan", "provincial"], officer)
    case = submit(world, applicant, "yunnan")
    cast = {"officer": officer, "applicant": applicant}
    walk(cast, case, [("officer", "accept", [None]),
                      ("officer", "consult", ["finance", "财政厅无异议"]),
                      ("officer", "consult", ["audit", "审计厅无异议"]),
                      ("officer", "investigated", ["符合第五条(六)"])])
    # not recognised: the correction decision is not even asked (第九条(一)), the reason is
    officer.command(f"/case {case.number}")
    officer.press_data(officer.find(lambda d: d.endswith(":decide")))
    screen = officer.press_data(f"c:v:{case.id}:not_recognised")
    assert "理由（不予认定的必须说明）" in screen["text"] and "一并作出的纠错程序决定" not in screen["text"]
    officer.press_data(f"c:x:{case.id}")
    walk(cast, case, [("officer", "decide", ["exempt", "start", None, *MEETING])])
    assert state(world, case) == "decided" and events(world, case)[-2:] == ["decided", "correction_started"]
    # the result is copied for the record before it is fed back (第六条(四)), and marked (第六条(五))
    officer.command(f"/case {case.number}")
    assert "须先完成" in refused(officer, f"c:a:{case.id}:decided:feedback")
    walk(cast, case, [("officer", "notice", ["经费报销手续不全", "补齐手续"]),
                      ("officer", "file_copy", ["省委组织部干部一处", "2026-11-20"]),
                      ("officer", "feedback", ["0", "marked"]),
                      ("officer", "schedule", ["2026-12-10", "省科技厅302会议室"]),
                      ("officer", "interview", ["当事人如实陈述", "30"])])
    assert state(world, case) == "rectification"
    walk(cast, case, [("officer", "improve", ["完善经费内控制度"]), ("officer", "rectified", ["已补齐手续"]),
                      ("applicant", "report", [FILE])])
    assert state(world, case) == "closed"
    received = wait_for_notifications(applicant, 1)
    assert any(lead("rules.note.decided_correction") in text and "启动纠错程序" in text for text in received)


def test_dongguan_closure_after_third_party_review(world):
    server = world["server"]
    applicant, officer = Actor(server, 82001, "申请人"), Actor(server, 82002, "经办")
    invite(world, ["officer", "dongguan"], officer)
    case = submit(world, applicant, "dongguan")
    cast = {"officer": officer, "applicant": applicant}
    walk(cast, case, [("officer", "accept", [None]), ("officer", "section_opinion", ["建议予以结题"]),
                      ("officer", "resource_review", ["同意"])])
    officer.command(f"/case {case.number}")
    officer.press_data(officer.find(lambda d: d.endswith(":decide")))
    officer.press_data(f"c:v:{case.id}:closure")
    officer.press_data(f"c:s:{case.id}")
    assert "须先完成" in refused(officer, f"c:k:{case.id}")  # 3(2)2: no third-party review yet
    assert state(world, case) == "meeting"
    walk(cast, case, [("officer", "third_party", ["广东省科技评估中心", "原始记录证明已履行尽责义务"]),
                      ("officer", "decide", ["closure", None, *MEETING]), ("officer", "feedback", [None])])
    assert state(world, case) == "closed"
    texts = wait_for_notifications(applicant, 3)
    assert any("予以结题" in t and "不纳入科研失信行为记录" in t for t in texts)


def test_liaoning_conclusion_review_and_appeal(world):
    server = world["server"]
    applicant, group = Actor(server, 83001, "申请人"), Actor(server, 83002, "认定组")
    invite(world, ["group", "liaoning", "测试-unit"], group)
    case = submit(world, applicant, "liaoning")
    cast = {"group": group, "applicant": applicant}
    walk(cast, case, [("group", "group", ["group", "纪委、财务处、科研处各一人", "李某", "confirmed"]),
                      ("group", "conclude", ["fails", "未履行审批程序", "校长办公会", "2026-11-18", "15", MEETING[2]]),
                      ("applicant", "ask_review", ["审批程序已履行，有会议纪要"]),
                      ("group", "redo", ["basically", "有会议纪要，但程序存在瑕疵", "党委会", "2026-11-25"]),
                      ("applicant", "object", ["不应认定存在瑕疵"]),
                      ("group", "apply_joint", ["申请省委科技办联合认定"]),
                      ("group", "joint_result", ["科技、财政、教育、卫生健康、国资", "meets", "符合免责条件"])])
    assert state(world, case) == "closed"
    texts = wait_for_notifications(applicant, 4)
    assert any(lead("rules.note.conclusion") in t and "校长办公会" in t and "2026-11-18" in t for t in texts)
    assert any(lead("rules.note.redone") in t and "党委会" in t for t in texts)


def _basic_public_path() -> list[Step]:
    steps = happy_path(POLICIES["zhejiang"], start_date=START)
    return [Step("press", "c:funding_level.basic_public") if s.value == "c:funding_level.provincial" else s
            for s in steps]


def test_zhejiang_basic_public_cases_go_to_the_fund_office(world):
    server = world["server"]
    applicant, unit = Actor(server, 84001, "申请人"), Actor(server, 84002, "单位")
    office, department = Actor(server, 84003, "基金委办公室"), Actor(server, 84004, "省科技厅")
    invite(world, ["unit", "zhejiang", "测试-unit"], unit)
    invite(world, ["officer", "zhejiang", "basic_public"], office)
    invite(world, ["officer", "zhejiang"], department)
    applicant.command("/new")
    applicant.run(_basic_public_path())
    with Session(make_engine(world["url"])) as s:
        case = s.exec(select(Case).where(Case.applicant_id == applicant.user.id)).one()
    assert case.answers["project"]["funding_level"] == "basic_public"
    cast = {"unit": unit, "office": office, "department": department, "applicant": applicant}
    walk(cast, case, [("unit", "unit_approve", [None])])
    # the department's officer has no part in receiving it: no button, and a forged press is refused
    department.command(f"/case {case.number}")
    assert not [d for d in buttons(department) if d.endswith(":accept")]
    assert "省自然科学基金委员会办公室" in refused(department, f"c:a:{case.id}:received:accept")
    office.command(f"/case {case.number}")
    assert [d for d in buttons(office) if d.endswith(":accept")]
    experts = [("office", "expert", [name, kind, "good", "good", "good", "good", "good", "good", "同意"])
               for name, kind in (("张一", "technical"), ("李二", "technical"), ("王三", "technical"),
                                  ("赵四", "financial"), ("钱五", "financial"))]
    walk(cast, case, [("office", "accept", [None]), ("office", "to_experts", ["初步审核符合情形"]), *experts,
                      ("office", "experts_done", ["diligent", "五位专家一致认为已履行勤勉尽责义务"])])
    assert state(world, case) == "collective"
    # the collective decision is the department's (三(四)), not the office's
    office.command(f"/case {case.number}")
    assert not [d for d in buttons(office) if d.endswith(":decide")]
    walk(cast, case, [("department", "decide", ["not_recognised", "集体审议认为记录不完整", *MEETING]),
                      ("department", "feedback_no", [])])
    assert state(world, case) == "closed"
    # an ordinary (provincial) Zhejiang case never reaches the fund office
    other = Actor(server, 84005, "另一申请人")
    second = submit(world, other, "zhejiang")
    mark = office.user.mark()
    office.user.send_text(f"/case {second.number}")
    assert office.user.wait_for_text("找不到该案件", since=mark, timeout=15)
    assert f"📁 {second.number}" in department.command(f"/case {second.number}")["text"]  # the department's
