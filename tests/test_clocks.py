"""Statutory clocks on real 2026 dates: starts, pauses, one extension, officer-set lengths, year end."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from dialogs.policy import load_policies
from scheduler.calendar import WorkCalendar
from scheduler.clocks import ClockEvent, clock_for, clocks_for

D = dt.date
POLICIES = load_policies()
CAL = WorkCalendar()


def ev(event: str, on: str, **details) -> ClockEvent:
    return ClockEvent(event, D.fromisoformat(on), details)


def limit(policy: str, limit_id: str):
    return POLICIES[policy].time_limit(limit_id)


def test_dongguan_decision_clock_spans_national_day():
    events = [ev("accepted", "2026-09-25")]
    clock = clock_for(limit("dongguan", "decision"), events, CAL, D(2026, 9, 28))
    # 30 working days after 9/25: 9/28,29,30 (3), 10/8,9 (5), 10/10 make-up Sat (6), 10/12..16 (11),
    # 10/19..23 (16), 10/26..30 (21), 11/2..6 (26), 11/9,10,11,12 (30)
    assert clock.status == "running" and clock.due.date == D(2026, 11, 12) and not clock.provisional


def test_evaluation_pauses_and_extension_adds_fifteen_once():
    events = [ev("accepted", "2026-09-25"), ev("evaluation_started", "2026-10-12"),
              ev("evaluation_ended", "2026-10-16")]
    paused = clock_for(limit("dongguan", "decision"), events[:2], CAL, D(2026, 10, 14))
    assert paused.status == "paused" and paused.due is None
    resumed = clock_for(limit("dongguan", "decision"), events, CAL, D(2026, 10, 20))
    # 10/13..16 are four working days not counted: 11/12 moves four working days to 11/18
    assert resumed.status == "running" and resumed.due.date == D(2026, 11, 18)
    extended = clock_for(limit("dongguan", "decision"),
                         [*events, ev("extension_granted", "2026-11-01", time_limit="decision", reason="复杂")],
                         CAL, D(2026, 11, 2))
    assert extended.extended and extended.length == 45 and extended.due.date == D(2026, 12, 9)


def test_closing_event_stops_the_clock_and_overdue_is_negative():
    events = [ev("application_filed", "2026-11-02")]
    running = clock_for(limit("yunnan", "acceptance"), events, CAL, D(2026, 11, 20))
    assert running.due.date == D(2026, 11, 11) and running.overdue and running.days_left == -7
    stopped = clock_for(limit("yunnan", "acceptance"), [*events, ev("accepted", "2026-11-05")], CAL,
                        D(2026, 11, 20))
    assert stopped.status == "stopped" and stopped.stopped_on == D(2026, 11, 5) and not stopped.overdue


def test_calendar_day_limits_and_officer_set_lengths():
    publicity = clock_for(limit("zhejiang", "publicity"), [ev("publicity_started", "2026-09-30")], CAL,
                          D(2026, 10, 1))
    assert publicity.due.date == D(2026, 10, 7) and publicity.days_left == 6
    review = limit("liaoning", "review_request")
    unset = clock_for(review, [ev("conclusion_sent", "2026-11-02")], CAL, D(2026, 11, 3))
    assert unset.status == "unset" and unset.due is None
    set_ = clock_for(review, [ev("conclusion_sent", "2026-11-02"), ev("clock_set", "2026-11-02",
                                                                      time_limit="review_request", length=15)],
                     CAL, D(2026, 11, 3))
    assert set_.due.date == D(2026, 11, 17)


def test_year_end_into_2027_is_provisional_until_loaded(tmp_path):
    cal = WorkCalendar(tmp_path)
    clock = clock_for(limit("yunnan", "filing"), [ev("procedure_started", "2026-12-15")], cal, D(2026, 12, 16))
    assert clock.provisional and clock.due.unknown_years == (2027,)
    assert clock.due.date == D(2027, 1, 12)  # weekends only: 12/16..31 = 12 days, then 1/1..1/12 = 8
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: fictitious test arrangement\nholidays:\n  - 2027-01-01..2027-01-03\n"
        "makeup_workdays: []\n", encoding="utf-8")
    cal.reload()
    loaded = clock_for(limit("yunnan", "filing"), [ev("procedure_started", "2026-12-15")], cal, D(2026, 12, 16))
    assert not loaded.provisional and loaded.due.date == D(2027, 1, 13)


def test_every_policy_has_its_clocks():
    for key, policy in POLICIES.items():
        clocks = clocks_for(policy, [], CAL, D(2026, 11, 22))
        assert clocks and all(c.status == "not_started" for c in clocks), key


@pytest.mark.parametrize("args,expected", [
    (["--policy", "dongguan", "--step", "filing", "--from", "2026-02-12"], "2026-03-04"),
    (["--policy", "dongguan", "--step", "filing", "--from", "2026-09-25"], "2026-10-15"),
    (["--policy", "yunnan", "--step", "acceptance", "--from", "2026-09-30"], "2026-10-15"),  # 10/8=1, 10/9=2, 10/10 make-up=3 … 10/15=7
    (["--policy", "zhejiang", "--step", "publicity", "--from", "2026-09-30"], "2026-10-07"),
])
def test_due_command(args, expected):
    out = subprocess.run([sys.executable, "-m", "scheduler", "due", *args], capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[0] == expected
    assert "clause" in out


def test_due_command_refuses_unknowns_clearly():
    bad = subprocess.run([sys.executable, "-m", "scheduler", "due", "--policy", "dongguan", "--step", "nope",
                          "--from", "2026-02-12"], capture_output=True, text=True)
    assert bad.returncode == 2 and "filing" in bad.stderr


def test_case_view_names_the_unit_and_marks_provisional_dates(tmp_path):
    from bot.config import Settings
    from bot.officer.desk import Desk
    from bot.officer.labels import Labels

    views = Labels(Desk(POLICIES, CAL, Settings(_env_file=None)))
    cal = WorkCalendar(tmp_path)  # no 2027 arrangement: provisional
    into_2027 = clock_for(limit("yunnan", "acceptance"), [ev("application_filed", "2026-12-28")], cal,
                          D(2026, 12, 29))
    line = views.clock_line(into_2027, "zh")
    assert into_2027.provisional and "暂定" in line and "个工作日" in line and "第六条(二)" in line
    publicity = clock_for(limit("zhejiang", "publicity"), [ev("publicity_started", "2026-09-30")], CAL,
                          D(2026, 10, 1))
    line = views.clock_line(publicity, "en")
    assert "6 days left" in line and "provisional" not in line
