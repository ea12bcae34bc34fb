"""The procedure machine as the single authority on its guards (issue 13, code review 1.1 and 1.2):
one condition callback decides and says why, no model is ever attached to the shared machine, guard
names are declared once, and calendar-day periods are counted by the injected calendar."""

from __future__ import annotations

import ast
import datetime as dt
import threading
from pathlib import Path

import pytest

import dialogs.procedure
from dialogs.policy import GUARDS
from dialogs.procedure import CaseFile, Procedures, Record
from tests.rules_kit import CAL, POLICIES, PROCS, TODAY, officer

ROOT = Path(__file__).resolve().parent.parent


def test_guard_names_are_declared_once_and_each_has_one_implementation():
    assert set(dialogs.procedure._GUARDS) == GUARDS
    assert not [name for name in dir(dialogs.procedure.ProcModel) if name.startswith(("g_", "c_"))]  # no second copy
    with pytest.raises(NameError):
        dialogs.procedure.guard("moon_is_full")(lambda _m: True)


def test_refusal_comes_from_the_check_that_decided():
    """why_not (the button question) and apply (the press) ask the same machine and give the same message."""
    case = CaseFile("investigation", [Record("eval_start", TODAY, {"text": "x"}, ("evaluation_started",))])
    spec = PROCS.procedure("dongguan").action("section_opinion")
    asked = PROCS.why_not("dongguan", case, spec, {}, TODAY, check_fields=False)
    pressed = PROCS.apply("dongguan", case, "section_opinion", "officer", {"opinion": "免责"}, TODAY)
    assert asked == pressed.error and asked.key == "proc.guard.not_paused"
    assert PROCS.why_not("dongguan", CaseFile("received"), spec, {}, TODAY).key == "proc.err.wrong_state"
    assert PROCS.why_not("dongguan", CaseFile("investigation"), spec, {}, TODAY).key == "proc.err.missing"
    assert PROCS.why_not("dongguan", CaseFile("investigation"), spec, {}, TODAY, check_fields=False) is None


def test_no_model_is_ever_attached_to_the_shared_machines():
    case = CaseFile("received")
    assert officer("dongguan", case, "accept", {}).ok and case.state == "investigation"
    PROCS.available("dongguan", case, {"officer"}, TODAY)
    for machine in PROCS.machines.values():
        assert machine.models == []


def test_the_machine_is_safe_to_share_between_threads():
    """The reminder scan's thread and the handlers use the same machines: no shared per-call state."""
    errors: list[str] = []

    def walk(n: int) -> None:
        for _ in range(60):
            case = CaseFile("received")
            steps = [("accept", {}), ("eval_start", {"text": f"t{n}"}), ("eval_end", {"text": "ok"}),
                     ("section_opinion", {"opinion": "免责"}), ("resource_review", {"opinion": "同意"}),
                     ("decide", {"outcome": "exempt"}), ("feedback", {})]
            for action, values in steps:
                result = officer("dongguan", case, action, values)
                if not result.ok:
                    errors.append(f"{n} {action} {result.error}")
            if case.state != "closed":
                errors.append(f"{n} ended in {case.state}")

    threads = [threading.Thread(target=walk, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(m.models == [] for m in PROCS.machines.values())


class _RollingCalendar:
    """A calendar whose periods end one day later (as a period ending on a rest day does under 民法典
    第二百零三条): the guards must follow it, not count on their own."""

    def add_calendar_days(self, start: dt.date, n: int) -> dt.date:
        return CAL.add_calendar_days(start, n).date + dt.timedelta(days=1)


def test_calendar_day_guards_count_on_the_injected_calendar():
    rolling = Procedures(POLICIES, _RollingCalendar())
    conclusion = [Record("conclude", TODAY, {"level": "fails", "days": 10}, ("conclusion_sent",))]
    day_after = TODAY + dt.timedelta(days=11)
    for procs, allowed in ((PROCS, False), (rolling, True)):
        case = CaseFile("conclusion_sent", list(conclusion))
        result = procs.apply("liaoning", case, "ask_review", "applicant", {"grounds": "g"}, day_after)
        assert result.ok is allowed, result.error
    publicity = [Record("publicise", TODAY, {}, ("publicity_started",))]
    end = PROCS.procedure("zhejiang").action("publicity_end")
    eighth = TODAY + dt.timedelta(days=8)
    assert PROCS.why_not("zhejiang", CaseFile("publicity", list(publicity)), end, {}, eighth, False) is None
    assert rolling.why_not("zhejiang", CaseFile("publicity", list(publicity)), end, {}, eighth, False).key == \
        "proc.guard.publicity_over"


def test_on_the_real_calendar_a_guard_ends_a_moved_period_where_its_clock_does():
    """Zhejiang 三(五) from 2026-09-30: the 7 days end on 10-07, a 国庆 rest day, so 民法典第二百零三条 moves
    the end to 10-08 (the README's example). The clock says so, and the engine agrees: the publicity is
    still running on 10-08 and over on 10-09."""
    from scheduler.clocks import due_date

    start = dt.date(2026, 9, 30)
    due, _ = due_date(POLICIES["zhejiang"], "publicity", start, CAL)
    assert (due.date, due.rolled_from) == (dt.date(2026, 10, 8), dt.date(2026, 10, 7))
    case = CaseFile("publicity", [Record("publicise", start, {}, ("publicity_started",))])
    end = PROCS.procedure("zhejiang").action("publicity_end")
    assert PROCS.why_not("zhejiang", case, end, {}, dt.date(2026, 10, 8), False).key == "proc.guard.publicity_over"
    assert PROCS.why_not("zhejiang", case, end, {}, dt.date(2026, 10, 9), False) is None


def test_dialogs_never_import_the_scheduler():
    for path in (ROOT / "dialogs").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in ("scheduler", "storage", "bot")], path
