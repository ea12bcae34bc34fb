"""Yunnan 第六条(二) over a real database: the officer opens a case for a named person, the person takes
it up with a single-use code, gives their account, and the case runs on like any other."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from storage import access, exofficio
from storage import caserepo as cr
from storage.casework import CaseEvent
from storage.models import Case
from tests.rules_kit import POLICIES, PROCS
from tests.test_officer_flow import APPLICANT, CAST, act, runtime, setup_cast, state_of  # noqa: F401
from tests.test_rules_yunnan import EX_OFFICIO

TODAY = dt.date(2026, 11, 20)


def open_case(runtime, level: str = "provincial") -> tuple[int, str]:  # noqa: F811
    result = PROCS.start_ex_officio("yunnan", EX_OFFICIO, TODAY)
    with Session(runtime.engine) as s:
        case, code = exofficio.open_case(s, POLICIES["yunnan"], CAST["officer"].user_id, level, EX_OFFICIO,
                                         result, cr.stamp(TODAY))
        s.commit()
        return case.id or 0, code


def test_yunnan_6_2_case_opened_ex_officio_is_taken_up_and_continued(runtime):  # noqa: F811
    setup_cast(runtime, "yunnan")  # a provincial officer
    case_id, code = open_case(runtime)
    assert exofficio.is_claim_code(code) and len(f"/start {code}".encode()) <= 64
    with Session(runtime.engine) as s:
        case = s.get(Case, case_id)
        assert case.state == "ex_officio" and case.applicant_id == exofficio.UNCLAIMED
        assert case.number.startswith("YN-2026-") and case.answers["origin"] == "ex_officio"
        trail = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
        assert [(e.action, e.event) for e in trail] == [("ex_officio", "accepted")]
        # the officer of that level reaches it; the decision clock runs from the organ's own start
        officer_rows = [m for m in cr.memberships_of(s, CAST["officer"].user_id) if m.role == "officer"]
        assert all(access.covers(s, m, case) for m in officer_rows)
        now = cr.stamp(TODAY)
        assert exofficio.claim(s, code.replace(code[-4:], "AAAA"), APPLICANT.user_id, now) == "unknown"
        assert exofficio.claim(s, code, CAST["officer"].user_id, now) == "own"
        assert exofficio.claim(s, code, APPLICANT.user_id, now + exofficio.CLAIM_LIFETIME + dt.timedelta(1)) == \
            "expired"
        claimed = exofficio.claim(s, code, APPLICANT.user_id, now)
        assert isinstance(claimed, Case) and claimed.applicant_id == APPLICANT.user_id
        assert exofficio.claim(s, code, 4242, now) == "used"
        assert exofficio.claim(s, code, APPLICANT.user_id, now).id == case_id  # again by the same person: fine
        s.commit()
    reply = act(runtime, APPLICANT, case_id, "respond", ["当时的技术路线选择有充分论证……", None])
    assert "✅" in reply.view.text and state_of(runtime, case_id) == "investigation"
    reply = act(runtime, CAST["officer"], case_id, "note", ["已听取申辩意见"])
    assert "✅" in reply.view.text


def test_yunnan_6_2_case_of_another_level_is_not_reached(runtime):  # noqa: F811
    setup_cast(runtime, "yunnan")
    case_id, _ = open_case(runtime, level="county")
    with Session(runtime.engine) as s:
        case = s.get(Case, case_id)
        assert not any(access.covers(s, m, case) for m in cr.memberships_of(s, CAST["officer"].user_id))
