"""Statutory clocks, derived from the policy's declared time limits and a case's event log.

Clocks are never stored as mutable counters: they are recomputed from the events (start, pauses,
resumes, extension, officer-set length, closing event), so a restart, a late-loaded holiday year or
a corrected event gives the right date without any migration of clock state.

Conventions (the texts', the State Council's and the Civil Code's): the day of the starting event is
not counted (民法典 第二百零一条); a pause opened by an event on day P stops counting from P+1 and a
resume on day R counts again from R+1 (`WorkCalendar.add_working_days_with_pauses`); an extension adds
its days once; a period in calendar days whose last day is a rest day ends on the first working day
after it (第二百零三条). `limit_due` is the one place that turns a time limit and a start into a due
date: every clock, the `due` command and the reminders go through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dialogs.policy import Policy, TimeLimit
from dialogs.text import Msg, msg
from scheduler.calendar import Due, Pause, WorkCalendar

ClockStatus = Literal["not_started", "unset", "running", "paused", "stopped"]


@dataclass(frozen=True)
class ClockEvent:
    event: str
    on: dt.date
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    limit: TimeLimit
    status: ClockStatus
    started_on: dt.date | None = None
    length: int | None = None
    extended: bool = False
    pauses: tuple[tuple[dt.date, dt.date | None], ...] = ()
    stopped_on: dt.date | None = None
    due: Due | None = None
    days_left: int | None = None

    @property
    def overdue(self) -> bool:
        return self.status == "running" and self.days_left is not None and self.days_left < 0

    @property
    def provisional(self) -> bool:
        return bool(self.due and self.due.provisional)

    @property
    def working(self) -> bool:
        return self.limit.unit == "working_days"

    @property
    def rolled_from(self) -> dt.date | None:
        """The period's own last day when it was a rest day and the due date moved (第二百零三条)."""
        return self.due.rolled_from if self.due else None


def _length(limit: TimeLimit, events: list[ClockEvent]) -> tuple[int | None, bool]:
    """The length set for this case (or the declared one) before any extension, and whether it was extended."""
    length = limit.length
    for e in events:
        if e.event == "clock_set" and e.details.get("time_limit") == limit.id:
            length = int(e.details["length"])
    extended = any(e.event == "extension_granted" and e.details.get("time_limit") == limit.id for e in events)
    return length, extended


def _pauses(limit: TimeLimit, events: list[ClockEvent]) -> list[tuple[dt.date, dt.date | None]]:
    """Pair each pausing event with the resume of the same kind (evaluation_started ↔ evaluation_ended)."""
    spans: list[tuple[dt.date, dt.date | None]] = []
    for kind, pause_event in enumerate(limit.pauses_on):
        resume_event = limit.resumes_on[kind] if kind < len(limit.resumes_on) else None
        open_since: dt.date | None = None
        for e in events:
            if e.event == pause_event and open_since is None:
                open_since = e.on
            elif e.event == resume_event and open_since is not None:
                spans.append((open_since, e.on))
                open_since = None
        if open_since is not None:
            spans.append((open_since, None))
    return sorted(spans, key=lambda s: s[0])


def limit_due(limit: TimeLimit, start: dt.date, calendar: WorkCalendar, *, length: int | None = None,
              extended: bool = False, pauses: Sequence[Pause] = ()) -> Due | None:
    """The due date of a policy time limit whose starting event happened on ``start``.

    ``length`` is the number of days the deciding body set for this case (required when the limit is
    ``set_per_case``; otherwise the declared length); ``extended`` adds the limit's one extension;
    ``pauses`` are (start, end-or-None) spans that do not count. Working days follow the State
    Council arrangement; calendar days are rolled per 民法典 第二百零三条 (``Due.rolled_from``).
    Returns ``None`` while an open pause leaves the date unknown.
    """
    n = length if length is not None else limit.length
    if n is None:
        raise ValueError(f"time limit {limit.id!r} has no fixed length: the deciding body sets it per case")
    if extended and limit.extension:
        n += limit.extension
    if limit.unit == "working_days":
        return calendar.add_working_days_with_pauses(start, n, pauses) if pauses \
            else calendar.add_working_days(start, n)
    return calendar.add_calendar_days_with_pauses(start, n, pauses) if pauses \
        else calendar.add_calendar_days(start, n)


def days_left(limit: TimeLimit, due: dt.date, today: dt.date, calendar: WorkCalendar) -> int:
    """Days from ``today`` to ``due`` in the limit's own unit (negative once overdue)."""
    if limit.unit == "working_days":
        return calendar.working_days_between(today, due)
    return (due - today).days


def left_text(days: int, working: bool) -> Msg:
    """"还剩 N 个工作日" / "还剩 N 天（自然日）", or how long overdue; plural-correct in English."""
    if days >= 0:
        return msg("cal.left.working", n=days) if working else msg("cal.left.calendar", n=days)
    return msg("cal.overdue.working", n=-days) if working else msg("cal.overdue.calendar", n=-days)


def rolled_text(due: Due | None) -> Msg | None:
    """"期末逢休息日顺延（民法典第二百零三条）" with the two days, when the period was rolled."""
    if due is None or due.rolled_from is None:
        return None
    return msg("cal.rolled", rolled_from=due.rolled_from.isoformat(), date=due.date.isoformat())


def clock_for(limit: TimeLimit, events: list[ClockEvent], calendar: WorkCalendar, today: dt.date) -> Clock:
    events = sorted(events, key=lambda e: e.on)
    start = next((e for e in events if e.event == limit.starts_on), None)
    if start is None:
        return Clock(limit, "not_started")
    after = [e for e in events if e.on >= start.on and e is not start]
    stop = next((e for e in after if e.event in limit.ends_on), None)
    relevant = [e for e in after if stop is None or e.on <= stop.on]
    length, extended = _length(limit, relevant)
    if length is None:  # a period set per case that nobody set: once its end event came it is over, not owed
        if stop is not None:
            return Clock(limit, "stopped", started_on=start.on, stopped_on=stop.on)
        return Clock(limit, "unset", started_on=start.on)
    pauses = _pauses(limit, relevant)
    due = limit_due(limit, start.on, calendar, length=length, extended=extended, pauses=pauses)
    if extended and limit.extension:
        length += limit.extension
    paused_now = bool(pauses) and pauses[-1][1] is None
    if stop is not None:
        status: ClockStatus = "stopped"
    elif paused_now:
        status = "paused"
    else:
        status = "running"
    left = days_left(limit, due.date, today, calendar) if due is not None and stop is None else None
    return Clock(limit, status, start.on, length, extended, tuple(pauses), stop.on if stop else None, due, left)


def clocks_for(policy: Policy, events: list[ClockEvent], calendar: WorkCalendar, today: dt.date) -> list[Clock]:
    return [clock_for(limit, events, calendar, today) for limit in policy.time_limits]


def due_date(policy: Policy, limit_id: str, start: dt.date, calendar: WorkCalendar,
             length: int | None = None, extended: bool = False) -> tuple[Due, TimeLimit]:
    """The answer to "when is this due?" for a clock started on `start` with nothing paused.

    ``length`` is for limits the deciding body sets per case; a limit the text fixes keeps its own
    length (a different one would not be the text's deadline), so giving one is refused.
    """
    limit = policy.time_limit(limit_id)
    if length is not None and limit.length is not None and not limit.set_per_case:
        raise ValueError(f"{policy.key}.{limit_id} is fixed by clause {limit.clause} at {limit.length} days; "
                         "a length can only be given for limits set per case")
    if limit.length is None and length is None:
        raise ValueError(f"{policy.key}.{limit_id} has no fixed length: the deciding body sets it per case; "
                         "pass --length")
    if extended and not limit.extension:
        raise ValueError(f"{policy.key}.{limit_id} has no extension (clause {limit.clause})")
    due = limit_due(limit, start, calendar, length=length, extended=extended)
    assert due is not None  # only an open pause leaves it unknown, and there is none here
    return due, limit
