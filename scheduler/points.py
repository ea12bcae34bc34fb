"""When each reminder about a clock is due: pure date arithmetic, no database and no Telegram.

The rules (issue 4): researchers hear about their filing window at 5, 2 and 1 working days left and on
the last day; officers hear at half time, at 2 working days left, on the due day, and once a clock is
overdue at once and then daily. Non-urgent messages go out at 09:00 Asia/Shanghai on a working day;
the due-day and overdue alerts are urgent and go out whatever the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from dialogs.tz import SHANGHAI
from scheduler.calendar import WorkCalendar

NINE = dt.time(9, 0)
Audience = Literal["applicant", "officer"]


@dataclass(frozen=True)
class Point:
    """One reminder: `name` is stable for a given due date, so the same point is never sent twice."""

    name: str
    fire_at: dt.datetime
    urgent: bool
    days_left: int


def at_nine(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, NINE, SHANGHAI)


def next_working_nine(calendar: WorkCalendar, when: dt.datetime) -> dt.datetime:
    """The first 09:00 on a working day at or after `when` (Shanghai)."""
    local = when.astimezone(SHANGHAI)
    day = local.date()
    if local.time() > NINE:
        day += dt.timedelta(days=1)
    while not calendar.is_workday(day):
        day += dt.timedelta(days=1)
    return at_nine(day)


def working_days_before(calendar: WorkCalendar, due: dt.date, n: int) -> dt.date:
    """The working day that leaves exactly n working days until `due` (due itself counted)."""
    day = due
    remaining = n
    while remaining > 0:
        day -= dt.timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    return day


def applicant_points(calendar: WorkCalendar, due: dt.date, lefts: tuple[int, ...] = (5, 2, 1)) -> list[Point]:
    points = []
    for n in lefts:
        day = working_days_before(calendar, due, n)
        points.append(Point(f"left{n}", next_working_nine(calendar, at_nine(day)), False, n))
    points.append(Point("last_day", at_nine(due), True, 0))
    return points


@dataclass(frozen=True)
class AlertPlan:
    """Which officer alerts to send; configurable (OFFICER_ALERTS), the issue's list by default."""

    half: bool = True
    lefts: tuple[int, ...] = (2,)
    due_today: bool = True
    overdue: bool = True

    @classmethod
    def parse(cls, text: str) -> AlertPlan:
        """E.g. "half,5,2,due,overdue": names and numbers of working days left, comma-separated."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        unknown = [p for p in parts if p not in ("half", "due", "overdue") and not p.isdigit()]
        if unknown:
            raise ValueError(f"unknown officer alert point(s): {', '.join(unknown)}; use half, due, overdue "
                             "or a number of working days left")
        return cls("half" in parts, tuple(sorted({int(p) for p in parts if p.isdigit()}, reverse=True)),
                   "due" in parts, "overdue" in parts)


DEFAULT_PLAN = AlertPlan()


def officer_points(calendar: WorkCalendar, started: dt.date, due: dt.date, working: bool,
                   overdue_until: dt.date, plan: AlertPlan | None = None) -> list[Point]:
    """Half time, n working days left, the due day, overdue at once, then daily up to `overdue_until`."""
    plan = plan or DEFAULT_PLAN
    points: list[Point] = []
    if working:
        total = calendar.working_days_between(started, due)
        half = working_days_before(calendar, due, total - (total + 1) // 2) if total > 1 else None
    else:
        total = (due - started).days
        half = started + dt.timedelta(days=(total + 1) // 2) if total > 1 else None
    if plan.half and half is not None and half < due:
        points.append(Point("half", next_working_nine(calendar, at_nine(half)), False,
                            calendar.working_days_between(half, due) if working else (due - half).days))
    for n in plan.lefts:
        day_n = working_days_before(calendar, due, n)
        if day_n > started and (not plan.half or half is None or day_n > half):
            points.append(Point(f"left{n}", next_working_nine(calendar, at_nine(day_n)), False, n))
    if plan.due_today:
        points.append(Point("due_today", at_nine(due), True, 0))
    if not plan.overdue:
        return sorted(points, key=lambda p: p.fire_at)
    first_overdue = due + dt.timedelta(days=1)
    points.append(Point("overdue", dt.datetime.combine(first_overdue, dt.time(0, 0), SHANGHAI), True, -1))
    day = first_overdue + dt.timedelta(days=1)
    while day <= overdue_until:
        points.append(Point(f"overdue_{day.isoformat()}", at_nine(day), True, -(day - due).days))
        day += dt.timedelta(days=1)
    return sorted(points, key=lambda p: p.fire_at)
