"""民法典第二百零三条 where the user reads a deadline: a calendar-day period whose last day is a rest day
ends on the next working day, and the case file and the wizard say so with both dates."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from bot.i18n import render
from bot.officer.desk import Desk
from bot.officer.labels import Labels
from dialogs.model import Deadline
from dialogs.policy import load_policies
from dialogs.steps import deadline_line
from scheduler.calendar import WorkCalendar
from scheduler.clocks import ClockEvent, clock_for

POLICIES = load_policies()
CALENDAR = WorkCalendar()


def test_zhejiang_3_5_publicity_ending_in_national_day_is_rolled_and_the_case_file_says_so():
    limit = POLICIES["zhejiang"].time_limit("publicity")
    clock = clock_for(limit, [ClockEvent("publicity_started", dt.date(2026, 9, 30))], CALENDAR, dt.date(2026, 10, 2))
    assert clock.rolled_from == dt.date(2026, 10, 7) and clock.due.date == dt.date(2026, 10, 8)
    labels = Labels(Desk(POLICIES, CALENDAR, Settings(database_url="sqlite://", _env_file=None)))
    zh, en = labels.clock_line(clock, "zh"), labels.clock_line(clock, "en")
    assert "民法典第二百零三条" in zh and "2026-10-07" in zh and "2026-10-08" in zh
    assert "2026-10-07" in en and "Art. 203" in en
    plain = clock_for(limit, [ClockEvent("publicity_started", dt.date(2026, 11, 2))], CALENDAR, dt.date(2026, 11, 3))
    assert plain.rolled_from is None and "二百零三" not in labels.clock_line(plain, "zh")


def test_wizard_deadline_line_carries_the_roll():
    rolled = Deadline(dt.date(2026, 10, 8), False, "第六条(一)", 7, False, 5, dt.date(2026, 10, 4))
    text = render(deadline_line(rolled, dt.date(2026, 10, 3)), "zh")
    assert "民法典第二百零三条" in text and "2026-10-04" in text
    unrolled = Deadline(dt.date(2026, 10, 8), False, "第六条(一)", 7, False, 5)
    assert "二百零三" not in render(deadline_line(unrolled, dt.date(2026, 10, 3)), "zh")


def test_clock_line_days_are_plural_correct_and_say_their_unit():
    limit = POLICIES["zhejiang"].time_limit("publicity")
    labels = Labels(Desk(POLICIES, CALENDAR, Settings(database_url="sqlite://", _env_file=None)))
    clock = clock_for(limit, [ClockEvent("publicity_started", dt.date(2026, 11, 2))], CALENDAR, dt.date(2026, 11, 8))
    assert clock.due.date == dt.date(2026, 11, 9) and clock.days_left == 1
    assert "1 calendar day left" in labels.clock_line(clock, "en")
    assert "还剩 1 天（自然日）" in labels.clock_line(clock, "zh")
    late = clock_for(limit, [ClockEvent("publicity_started", dt.date(2026, 11, 2))], CALENDAR, dt.date(2026, 11, 12))
    assert "overdue by 3 calendar days" in labels.clock_line(late, "en")


def test_zhejiang_3_4_decision_clock_never_set_is_over_once_decided():
    """A per-case period nobody set shows "期限待设定" while it is owed, and nothing once the decision is made."""
    limit = POLICIES["zhejiang"].time_limit("decision")
    labels = Labels(Desk(POLICIES, CALENDAR, Settings(database_url="sqlite://", _env_file=None)))
    accepted = [ClockEvent("accepted", dt.date(2026, 11, 2))]
    assert clock_for(limit, accepted, CALENDAR, dt.date(2026, 11, 5)).status == "unset"
    done = clock_for(limit, [*accepted, ClockEvent("decided", dt.date(2026, 11, 20))], CALENDAR, dt.date(2026, 11, 25))
    assert done.status == "stopped" and done.stopped_on == dt.date(2026, 11, 20)
    assert labels.clock_line(done, "zh") is None
