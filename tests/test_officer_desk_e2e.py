"""The officer's desk and the applicant's file, end to end: the real bot process against the local Bot API
server. A Zhejiang researcher types the unit in another form and the case still reaches the unit's reviewer
(another, whose unit matches nothing, is proposed and goes before the admins at once); the provincial officer is told once
the unit approved; a panel of five is recorded with one typed name, one keyboard and one confirmation per
expert; the collective decision names its meeting; the applicant's /status shows the outcome and reason."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from storage.casework import Outbox
from storage.db import make_engine
from storage.models import Case
from tests.scenario import Step, happy_path
from tests.test_officer_e2e import POLICIES, START, Actor, invite, running

pytestmark = pytest.mark.slow
CRITERIA = ["innovative", "strategic", "necessary", "inspiring", "records", "funds"]


@pytest.fixture()
def world(tmp_path) -> Iterator[dict[str, Any]]:
    with running(tmp_path) as state:
        yield state


def submit_with_unit(world: dict[str, Any], applicant: Actor, typed: str) -> Case:
    steps = [Step("text", typed) if s == Step("text", "测试-unit") else s
             for s in happy_path(POLICIES["zhejiang"], start_date=START)]
    applicant.command("/new")
    applicant.run(steps)
    with Session(make_engine(world["url"])) as s:
        return s.exec(select(Case).where(Case.applicant_id == applicant.user.id)).one()


def wait_for_message(actor: Actor, text: str, timeout: float = 15.0) -> dict[str, Any]:
    return actor.user.wait_for(lambda m: text in (m.get("text") or ""), timeout=timeout, since=0)


def open_button(message: dict[str, Any]) -> str:
    return message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]


class Counting(Actor):
    """An actor whose every message and press is counted, with the message each press was made on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.typed: list[str] = []
        self.pressed: list[tuple[int, str]] = []

    def type(self, text: str) -> dict[str, Any]:
        self.typed.append(text)
        return super().type(text)

    def press_data(self, data: str) -> dict[str, Any]:
        self.pressed.append((self.screen()["message_id"], data))
        return super().press_data(data)


def test_the_desk_end_to_end_unit_routing_notices_panel_and_the_applicants_file(world):
    server = world["server"]
    reviewer, officer = Actor(server, 80002, "单位审核人"), Counting(server, 80003, "省厅经办")
    applicant, lost = Actor(server, 80001, "张研究员"), Actor(server, 80004, "李研究员")
    invite(world, ["unit", "zhejiang", "浙江大学材料学院"], reviewer)
    invite(world, ["officer", "zhejiang"], officer)

    # the unit typed with an emoji reaches the reviewer invited for the registered name, with a button
    case = submit_with_unit(world, applicant, "浙江大学🔬材料学院")
    note = wait_for_message(reviewer, "待您办理")
    assert case.number in note["text"] and "三(一)" in note["text"]
    assert open_button(note) == f"c:o:{case.id}"
    # a unit that matches nothing is proposed to the admins, and the case goes before them at once, with the fix
    stray = submit_with_unit(world, lost, "浙大材料所")
    admin = server.user(90001)
    assert "浙大材料所" in admin.wait_for_text("提议新单位", timeout=15)["text"]
    alert = admin.wait_for_text("无人可办理", timeout=15)["text"]
    assert stray.number in alert and "/units merge zhejiang 浙大材料所" in alert
    assert not [m for m in officer.user.messages() if "待您办理" in (m.get("text") or "")]

    # the reviewer opens the case from the message and approves; then the provincial officer is told
    reviewer.user.press_data(open_button(note), note["message_id"])
    reviewer.user.wait_for(lambda m: "📁" in (m.get("text") or ""), timeout=15)
    reviewer.act(case, "unit_approve", ["情况属实，同意报送"])
    told = wait_for_message(officer, "待您办理")
    assert case.number in told["text"] and "期限待设定" in told["text"] and open_button(told) == f"c:o:{case.id}"

    officer.act(case, "set_limit", ["acceptance", "10"])
    officer.act(case, "accept", ["材料齐全"])
    officer.act(case, "to_experts", ["符合二(二)2，组织专家评审"])
    # five experts: per expert one typed name, kind and six criteria on one keyboard, one confirmation
    panel = [("张一", "technical"), ("李二", "technical"), ("王三", "financial"), ("赵四", "technical"),
             ("钱五", "financial")]
    seen_progress = ""
    for name, kind in panel:
        officer.command(f"/case {case.number}")
        officer.press_data(officer.find(lambda d: d.endswith(":expert")))
        typed_before, pressed_before = len(officer.typed), len(officer.pressed)
        screen = officer.type(name)
        for field, value in [("kind", kind), *[(c, "good") for c in CRITERIA]]:
            screen = officer.press_data(f"c:p:{case.id}:{field}:{value}")
        labels = [b["text"] for row in screen["reply_markup"]["inline_keyboard"] for b in row]
        assert "✅ 确认" in labels, (name, screen["text"], labels)
        assert any(x.startswith("☑") and x.endswith("合规") for x in labels)  # its own words
        if name == "赵四":
            seen_progress = screen["text"]
        screen = officer.press_data(f"c:k:{case.id}")
        assert "✅ 已记录" in screen["text"], screen["text"]
        assert len(officer.typed) - typed_before == 1  # the name
        choice_presses = officer.pressed[pressed_before:]  # after the one press that opened the form
        assert len(choice_presses) == 8 and len({m for m, _d in choice_presses}) == 1  # one keyboard + confirm
    assert "已记录 3/5（技术专家 2，财务专家 1）" in seen_progress and "还需" in seen_progress
    officer.act(case, "experts_done", ["diligent", "五位专家一致认为已履行勤勉尽责义务"])  # 三(三): the panel's conclusion
    officer.act(case, "decide", ["exempt", "实施记录完整，属于技术路线选择失误（二(二)2）", "2026年第5次厅务会",
                                 "2026-11-18", "厅长、分管副厅长、相关处室负责人"])

    # the applicant's /status and file show the outcome with its reason
    applicant.command("/status")
    status = applicant.screen()["text"]
    assert case.number in status and "认定为容错免责" in status and "技术路线选择失误" in status
    file = applicant.press(f"c:o:{case.id}")["text"]
    assert "结果与理由" in file and "认定为容错免责" in file and "技术路线选择失误" in file
    # the officer's log reads in words: no field ids, no raw values
    log = officer.command(f"/case {case.number}")["text"]
    assert "kind=" not in log and "innovative" not in log and "创新性：充分" in log and "会议日期：2026-11-18" in log
    time.sleep(0.5)
    with Session(make_engine(world["url"])) as s:
        work = s.exec(select(Outbox).where(Outbox.key == "off.work.reached", Outbox.case_id == case.id)).all()
        assert len({o.dedupe_key for o in work}) == len(work)
        assert reviewer.user.id in {o.chat_id for o in work} and applicant.user.id not in {o.chat_id for o in work}
