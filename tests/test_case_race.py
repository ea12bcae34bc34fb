"""A Zhejiang publicity that runs out (the reminder scan ends it as the system) and an officer recording an
objection, fired at the same moment on the same case, many times: one of them goes first and the other
sees it. The objection is never recorded on a case the scan closed, and the scan never ends the publicity
of a case with an objection on it (Zhejiang 三(五))."""

from __future__ import annotations

import datetime as dt
import threading

from sqlmodel import Session, col, select

from bot.alerts import reminder_engine
from bot.config import SHANGHAI
from scheduler.reminders import TickReport
from storage.casework import CaseEvent
from storage.db import session_scope
from storage.models import Case
from tests.casework_scenario import WALKS
from tests.test_officer_flow import CAST, TODAY, act, buttons, cw, setup_cast, submit
from tests.test_officer_flow import runtime as officer_runtime

runtime = officer_runtime  # the same fixture: a runtime on a fresh database, today 2026-11-20

TRIALS = 12
_STEPS = WALKS["zhejiang"]["steps"]
UNTIL_PUBLICITY = _STEPS[: [s[1] for s in _STEPS].index("publicise") + 1]


def publicised_case(runtime, n: int) -> int:
    case = submit(runtime, "zhejiang", who=type(CAST["applicant"])(7000 + n, "研究员"))
    for who, action, values in UNTIL_PUBLICITY:
        reply = act(runtime, CAST[who], case.id, action, values)
        assert reply.toast is None, (action, reply.view.text)
    return case.id


def test_the_publicity_expiry_and_an_objection_never_both_win(runtime):
    setup_cast(runtime, "zhejiang")
    officer = CAST["officer"]
    reminders = reminder_engine(runtime.policies, runtime.calendar, runtime.settings, runtime.officers)
    expiry = dt.datetime.combine(TODAY + dt.timedelta(days=9), dt.time(10, 0), SHANGHAI)  # 7 days are over
    outcomes = []
    for n in range(TRIALS):
        case_id = publicised_case(runtime, n)
        view = cw(runtime).press(officer, f"c:o:{case_id}").view
        [start] = [d for d in buttons(view) if d.endswith(":objection")]
        cw(runtime).press(officer, start)
        cw(runtime).text(officer, f"异议 {n}：原始记录不全")  # the form waits for the confirmation
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def scan(barrier: threading.Barrier = barrier, case_id: int = case_id,
                 results: dict[str, object] = results) -> None:
            barrier.wait()
            report = TickReport()
            with session_scope(runtime.engine) as s:
                reminders.fire_owner(s, ("case", case_id), expiry, report)
            results["scan"] = report.messages

        def confirm(barrier: threading.Barrier = barrier, case_id: int = case_id,
                    results: dict[str, object] = results) -> None:
            barrier.wait()
            results["officer"] = cw(runtime).press(officer, f"c:k:{case_id}")

        threads = [threading.Thread(target=scan), threading.Thread(target=confirm)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert set(results) == {"scan", "officer"}, results
        with Session(runtime.engine) as s:
            state = s.get(Case, case_id).state
            applied = [e.action for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                                        col(CaseEvent.refused).is_(False))
                                                .order_by(col(CaseEvent.id)))]
        objected, ended = "objection" in applied, "publicity_end" in applied
        assert objected != ended, (n, applied, results)  # exactly one of them took effect
        if objected:  # the officer went first: the case stays in publicity, the officers are alerted
            assert state == "publicity" and applied[-1] == "objection"
            assert any(m.endswith(":needs_officer") for m in results["scan"]), results["scan"]
        else:  # the scan went first: the objection was refused on the closed publicity
            assert state == "feedback" and applied[-1] == "publicity_end"
            assert results["officer"].toast, results["officer"]
        outcomes.append("objection" if objected else "expiry")
    print("outcomes:", outcomes)
