"""Zhejiang 三(五): when the 7-day publicity ends with no objection, the case moves on by itself and the
applicant is told — through the real bot process and the local Bot API server. With an objection on
record, the officers are alerted to weigh it instead and the case waits for them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from storage.casework import CaseEvent
from storage.db import make_engine
from storage.models import Case
from tests.casework_scenario import INVITES, WALKS
from tests.test_officer_e2e import TODAY, Actor, invite, start_bot, submit, world  # noqa: F401

pytestmark = pytest.mark.slow
_STEPS = WALKS["zhejiang"]["steps"]
UNTIL_PUBLICITY = _STEPS[: [s[1] for s in _STEPS].index("publicise") + 1]


def walk_to_publicity(env, with_objection: bool) -> tuple[Actor, Actor, Case]:
    server = env["server"]
    applicant, officer, unit = Actor(server, 81001, "申请人"), Actor(server, 81002, "经办"), Actor(server, 81003, "单位")
    cast = {"officer": officer, "unit": unit, "applicant": applicant}
    for role, args in INVITES["zhejiang"].items():
        invite(env, args, cast[role])
    case = submit(env, applicant, "zhejiang")
    steps = UNTIL_PUBLICITY + ([("officer", "objection", ["有人反映原始记录不全"])] if with_objection else [])
    for who, action, values in steps:
        assert "✅" in cast[who].act(case, action, values)["text"], action
    return applicant, officer, case


def travel(env, days: int) -> None:
    env["bot"].stop()
    env["bot"] = start_bot(env["server"], env["url"], env["dir"], TODAY + dt.timedelta(days=days))


def wait_for(actor: Actor, needle: str, timeout: float = 20.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [t for t in actor.user.texts() if needle in t]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no message with {needle!r}: {actor.user.texts()[-4:]}")


def test_publicity_without_objection_ends_by_itself_and_the_applicant_is_told(world):  # noqa: F811
    applicant, _officer, case = walk_to_publicity(world, with_objection=False)
    travel(world, 7)  # the 7th day of publicity: not over yet
    world["server"].wait_idle(timeout=10, quiet=1.0)
    assert not [t for t in applicant.user.texts() if "公示结束" in t]
    travel(world, 8)
    text = wait_for(applicant, "公示结束")
    assert case.number in text and "认定为容错免责" in text
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "feedback"
        [ended] = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.event == "publicity_ended")).all()
        assert ended.actor_role == "system" and ended.details.get("outcome") == "exempt"


def test_publicity_with_an_objection_waits_for_an_officer(world):  # noqa: F811
    applicant, officer, case = walk_to_publicity(world, with_objection=True)
    travel(world, 8)
    alert = wait_for(officer, "公示期已届满")
    assert case.number in alert and "异议" in alert
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "publicity"
