"""Statutory clocks on real 2026 dates: starts, pauses, one extension, officer-set lengths, year end, and
calendar-day periods ending on a rest day (民法典 第二百零三条)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from dialogs.policy import load_policies
from scheduler.calendar import Due, WorkCalendar
from scheduler.clocks import ClockEvent, clock_for, clocks_for, due_date, limit_due

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
    # 7 日 from 09-30 end on 10-07, inside National Day: moved to 10-08 (第二百零三条), 7 days from 10-01.
    assert publicity.due.date == D(2026, 10, 8) and publicity.days_left == 7
    assert publicity.rolled_from == D(2026, 10, 7)
    review = limit("liaoning", "review_request")
    unset = clock_for(review, [ev("conclusion_sent", "2026-11-02")], CAL, D(2026, 11, 3))
    assert unset.status == "unset" and unset.due is None
    set_ = clock_for(review, [ev("conclusion_sent", "2026-11-02"), ev("clock_set", "2026-11-02",
                                                                      time_limit="review_request", length=15)],
                     CAL, D(2026, 11, 3))
    assert set_.due.date == D(2026, 11, 17) and set_.rolled_from is None


def test_year_end_into_2027_is_provisional_until_loaded(tmp_path):
    cal = WorkCalendar(tmp_path)
    clock = clock_for(limit("yunnan", "filing"), [ev("procedure_started", "2026-12-15")], cal, D(2026, 12, 16))
    assert clock.provisional and clock.due.unknown_years == (2027,)
    # 12/16..31 = 12 working days; 1/1 is 元旦 (statutory, no arrangement needed); 1/4..1/13 = 8
    assert clock.due.date == D(2027, 1, 13)
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: fictitious test arrangement\nholidays:\n  - 2027-01-01..2027-01-05\n"
        "makeup_workdays: []\n", encoding="utf-8")
    cal.reload()
    loaded = clock_for(limit("yunnan", "filing"), [ev("procedure_started", "2026-12-15")], cal, D(2026, 12, 16))
    assert not loaded.provisional and loaded.due.date == D(2027, 1, 15)


def test_dongguan_filing_window_from_new_years_eve_skips_new_year_2027(tmp_path):
    # 4(1)2: 10 working days. 2027 has no arrangement, but 元旦 is fixed by the 放假办法: 1/4..1/8 = 5,
    # 1/11..1/15 = 10. (Weekends alone gave 01-14, a day early.)
    due, _ = due_date(POLICIES["dongguan"], "filing", D(2026, 12, 31), WorkCalendar(tmp_path))
    assert due == Due(D(2027, 1, 15), True, (2027,))


def test_clock_around_spring_festival_2027_uses_lunar_dates(tmp_path):
    # Yunnan 第六条(二), 7 working days from Mon 2027-02-01: 02-02..02-04 = 3; 除夕 02-05 .. 初三 02-08
    # and the two 补假 days 02-09/10 are off; 02-11 = 4, 02-12 = 5, 02-15 = 6, 02-16 = 7.
    clock = clock_for(limit("yunnan", "acceptance"), [ev("application_filed", "2027-02-01")],
                      WorkCalendar(tmp_path), D(2027, 2, 1))
    assert clock.due == Due(D(2027, 2, 16), True, (2027,)) and clock.days_left == 7


def test_civil_code_203_publicity_ending_on_national_day_rolls_to_first_working_day():
    # Zhejiang 三(五) 公示 7 日 from 09-30 would end 10-07, inside National Day → 10-08.
    publicity = clock_for(limit("zhejiang", "publicity"), [ev("publicity_started", "2026-09-30")], CAL,
                          D(2026, 9, 30))
    assert publicity.due == Due(D(2026, 10, 8), False, (), D(2026, 10, 7))
    # Yunnan 第九条(三) 谈话 10 日 from 09-24 would end Sun 10-04 → 10-08.
    interview = clock_for(limit("yunnan", "interview"), [ev("correction_notice_sent", "2026-09-24")], CAL,
                          D(2026, 9, 24))
    assert interview.due == Due(D(2026, 10, 8), False, (), D(2026, 10, 4))


def test_civil_code_203_period_ending_on_a_make_up_saturday_is_not_rolled():
    # Yunnan 第九条(二) 纠错通知书 7 日 from 10-03 ends Sat 10-10, a working day under the 2026 arrangement.
    notice = clock_for(limit("yunnan", "correction_notice"), [ev("correction_started", "2026-10-03")], CAL,
                       D(2026, 10, 3))
    assert notice.due == Due(D(2026, 10, 10)) and notice.rolled_from is None


def test_civil_code_203_applies_to_periods_set_per_case():
    # Liaoning 第八条: the unit gave 10 days to confirm or ask for review from 09-24 → Sun 10-04 → 10-08.
    review = clock_for(limit("liaoning", "review_request"),
                       [ev("conclusion_sent", "2026-09-24"), ev("clock_set", "2026-09-24", time_limit="review_request",
                                                                 length=10)], CAL, D(2026, 9, 25))
    assert review.due == Due(D(2026, 10, 8), False, (), D(2026, 10, 4))
    # Yunnan 第九条(四): 30 days of rectification from 2026-12-02 end on 2027-01-01 (元旦) → Mon 01-04.
    rectification = clock_for(limit("yunnan", "rectification"),
                              [ev("interview_held", "2026-12-02"),
                               ev("clock_set", "2026-12-02", time_limit="rectification", length=30)],
                              WorkCalendar(), D(2026, 12, 3))
    assert rectification.due == Due(D(2027, 1, 4), True, (2027,), D(2027, 1, 1))


def test_limit_due_is_the_one_computation():
    # Working days, pauses and the extension go through the same function as the calendar-day roll.
    decision = limit("dongguan", "decision")
    assert limit_due(decision, D(2026, 9, 11), CAL, extended=True,
                     pauses=[(D(2026, 9, 18), D(2026, 10, 9))]) == Due(D(2026, 12, 3))  # the audit's hand check
    assert limit_due(decision, D(2026, 9, 11), CAL, pauses=[(D(2026, 9, 18), None)]) is None
    with pytest.raises(ValueError):
        limit_due(limit("liaoning", "review_request"), D(2026, 9, 24), CAL)


def test_every_policy_has_its_clocks():
    for key, policy in POLICIES.items():
        clocks = clocks_for(policy, [], CAL, D(2026, 11, 22))
        assert clocks and all(c.status == "not_started" for c in clocks), key


@pytest.mark.parametrize("args,expected", [
    (["--policy", "dongguan", "--step", "filing", "--from", "2026-02-12"], "2026-03-04"),
    (["--policy", "dongguan", "--step", "filing", "--from", "2026-09-25"], "2026-10-15"),
    (["--policy", "yunnan", "--step", "acceptance", "--from", "2026-09-30"], "2026-10-15"),  # 10/8=1, 10/9=2, 10/10 make-up=3 … 10/15=7
    (["--policy", "zhejiang", "--step", "publicity", "--from", "2026-09-30"], "2026-10-08"),  # 第二百零三条
])
def test_due_command(args, expected):
    out = subprocess.run([sys.executable, "-m", "scheduler", "due", *args, "--lang", "en"], capture_output=True,
                         text=True, check=True).stdout
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
    assert "7 calendar days left" in line and "provisional" not in line
