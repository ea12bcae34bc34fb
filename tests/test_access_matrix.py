"""For every officer action of every policy, and every case view: the wrong role, an officer of another
policy and the applicant themself (even holding the right role) are refused, the refusal is audited, and
nothing changes. The rightful officer, in the same situation, is let through — so each refusal is real."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.reply import Who
from bot.runtime import build_runtime
from dialogs.policy import load_policies
from storage.casework import CaseEvent, Membership, PendingForm
from storage.models import Case
from storage.securitylog import SecurityEvent
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import play

POLICIES = load_policies()
APPLICANT, RIGHT, OTHER_POLICY, NOBODY = 1001, 1002, 1003, 1004
WRONG_ROLE = {"officer": 1010, "unit_reviewer": 1011, "determination_group": 1012}  # holds only that role
ACCESS_ERRORS = {"off.err.no_case", "off.err.own_case", "proc.err.wrong_role", "off.err.forged"}


def staff_actions(key: str) -> list[str]:
    return [a.id for a in POLICIES[key].procedure.actions if a.role != "applicant"]


@pytest.fixture(scope="module", params=list(POLICIES))
def world(request, tmp_path_factory):
    from tests.conftest import fresh_database

    key = request.param
    with fresh_database(tmp_path_factory.mktemp(key)) as url:
        rt = build_runtime(Settings(database_url=url, today_override=dt.date(2026, 11, 20), _env_file=None))
        flow = drive(rt)
        applicant = Who(APPLICANT, "申请人")
        play(flow, applicant, flow.new_draft(applicant).view, happy_path(POLICIES[key]))
        with Session(rt.engine) as s:
            case = s.exec(select(Case)).one()
            case_id, project = case.id, case.answers["project"]
            other = next(k for k in POLICIES if k != key)
            for user in (RIGHT, APPLICANT):  # the applicant holds every role of this policy too
                for role in {a.role for a in POLICIES[key].procedure.actions if a.role != "applicant"}:
                    s.add(Membership(user_id=user, role=role, policy_key=key,
                                     level=project.get("funding_level") if key == "yunnan" else None,
                                     unit=project.get("unit") if role != "officer" else None))
            s.add(Membership(user_id=OTHER_POLICY, role="officer", policy_key=other))
            for role, user in WRONG_ROLE.items():
                s.add(Membership(user_id=user, role=role, policy_key=key,
                                 level=project.get("funding_level") if key == "yunnan" else None,
                                 unit=project.get("unit") if role != "officer" else None))
            s.commit()
        yield key, rt, case_id


def press(rt, user_id: int, data: str):
    return drive(rt).press(Who(user_id, f"u{user_id}"), data)


def state_of(rt, case_id: int) -> str:
    with Session(rt.engine) as s:
        return s.get(Case, case_id).state


def set_state(rt, case_id: int, state: str) -> None:
    with Session(rt.engine) as s:
        case = s.get(Case, case_id)
        case.state = state
        s.add(case)
        for form in s.exec(select(PendingForm)):
            s.delete(form)
        s.commit()


@dataclass(frozen=True)
class Refusal:
    id: str
    action: str
    details: dict


def last_refusal(rt, user_id: int) -> Refusal | None:
    """The user's latest refusal: in the case's trail (people with a role on the case), or counted in the
    security log (strangers: no role on the case at all)."""
    with Session(rt.engine) as s:
        trail = s.exec(select(CaseEvent).where(CaseEvent.actor_id == user_id, CaseEvent.refused)
                       .order_by(CaseEvent.id.desc())).first()
        logged = s.exec(select(SecurityEvent).where(SecurityEvent.actor_id == user_id)
                        .order_by(SecurityEvent.last_at.desc(), SecurityEvent.id.desc())).first()
        if logged is not None and (trail is None or _aware(logged.last_at) >= _aware(trail.at)):
            return Refusal(f"s{logged.id}:{logged.count}", logged.action, {"why": logged.why})
        return Refusal(f"c{trail.id}", trail.action, trail.details) if trail is not None else None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_every_staff_action_refuses_the_wrong_people_and_admits_the_right_one(world):
    key, rt, case_id = world
    checked = 0
    for action_id in staff_actions(key):
        spec = POLICIES[key].procedure.action(action_id)
        state = spec.source[0]
        data = f"c:a:{case_id}:{state}:{action_id}"
        wrong_roles = [(user, "proc.err.wrong_role") for role, user in WRONG_ROLE.items() if role != spec.role]
        for intruder, why in ((NOBODY, "off.err.no_case"), (OTHER_POLICY, "off.err.no_case"),
                              (APPLICANT, "off.err.own_case"), *wrong_roles):
            set_state(rt, case_id, state)
            reply = press(rt, intruder, data)
            refusal = last_refusal(rt, intruder)
            assert reply.toast and refusal is not None and refusal.details["why"] == why, (action_id, intruder)
            assert refusal.action == action_id and state_of(rt, case_id) == state
            with Session(rt.engine) as s:
                assert s.get(PendingForm, intruder) is None
        set_state(rt, case_id, state)
        before = last_refusal(rt, RIGHT)
        press(rt, RIGHT, data)
        after = last_refusal(rt, RIGHT)
        if after is not None and (before is None or after.id != before.id):
            # a guard of the procedure (e.g. "not before the 7 days are over") may stop it, never access
            assert after.details["why"] not in ACCESS_ERRORS, (action_id, after.details)
        checked += 1
    assert checked == len(staff_actions(key)) > 0
    with Session(rt.engine) as s:  # the wrong roles hold a role of the case's policy: their refusals are on its trail
        wrong = s.exec(select(CaseEvent).where(CaseEvent.refused,
                                               CaseEvent.actor_id.in_(list(WRONG_ROLE.values())))).all()
    assert len(wrong) >= 2 * len(staff_actions(key))
    assert all(e.details["why"] == "proc.err.wrong_role" for e in wrong)


def test_case_view_is_refused_to_strangers_and_other_policies(world):
    key, rt, case_id = world
    with Session(rt.engine) as s:
        number = s.get(Case, case_id).number
    for intruder in (NOBODY, OTHER_POLICY):
        reply = press(rt, intruder, f"c:o:{case_id}")
        assert reply.toast and number not in (reply.view.text if reply.view else "")
        assert last_refusal(rt, intruder).details["why"] == "off.err.no_case"
    shown = press(rt, RIGHT, f"c:o:{case_id}")
    assert shown.view is not None and number in shown.view.text
