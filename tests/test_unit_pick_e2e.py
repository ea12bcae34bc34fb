"""The unit picker end to end: the real bot process against the local Bot API server. A Zhejiang
researcher types part of the unit's name, presses the registered unit the picker offers, submits, and the
reviewer invited for that unit is told of the case; nothing was put to the admins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from storage import units
from storage.db import make_engine
from storage.models import Case
from tests.e2e import wait_inbox_done
from tests.scenario import Step, happy_path
from tests.test_officer_e2e import ADMIN_ID, POLICIES, START, Actor, invite, running

pytestmark = pytest.mark.slow


@pytest.fixture()
def world(tmp_path) -> Iterator[dict[str, Any]]:
    with running(tmp_path) as state:
        yield state


def test_the_researcher_picks_the_registered_unit_and_its_reviewer_is_told(world):
    server = world["server"]
    reviewer, applicant = Actor(server, 81002, "单位审核人"), Actor(server, 81001, "王研究员")
    invite(world, ["unit", "zhejiang", "浙江大学材料学院"], reviewer)
    steps = happy_path(POLICIES["zhejiang"], start_date=START)
    cut = steps.index(Step("text", "测试-unit"))
    applicant.command("/new")
    applicant.run(steps[:cut])
    picker = applicant.type("浙大材料")
    assert "浙大材料" in picker["text"] and "名称相近" in picker["text"], picker["text"]
    buttons = {b["text"]: b["callback_data"] for row in picker["reply_markup"]["inline_keyboard"] for b in row}
    assert "使用我输入的名称（提请管理员登记）" in buttons
    assert buttons["浙江大学材料学院"].endswith(":u:0")  # an index into what the bot stored, never a unit id
    after = applicant.press("u:0")
    assert "已匹配登记册中的单位：浙江大学材料学院" in after["text"], after["text"]
    applicant.run(steps[cut + 1:])
    wait_inbox_done(world["url"])
    with Session(make_engine(world["url"])) as s:
        case = s.exec(select(Case).where(Case.applicant_id == applicant.user.id)).one()
        unit = units.by_name(s, "zhejiang", "浙江大学材料学院")
        assert case.answers["project"]["unit"] == "浙江大学材料学院"
        assert s.get(units.CaseUnit, case.id).unit_id == unit.id
    note = reviewer.user.wait_for(lambda m: "待您办理" in (m.get("text") or ""), timeout=15, since=0)
    assert case.number in note["text"]
    admin_texts = server.user(ADMIN_ID).texts()
    assert not [t for t in admin_texts if "提议新单位" in t or "无人可办理" in t]
