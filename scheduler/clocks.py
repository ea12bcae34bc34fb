"""Statutory clocks, derived from the policy's declared time limits and a case's event log.

Clocks are never stored as mutable counters: they are recomputed from the events (start, pauses,
resumes, extension, officer-set length, closing event), so a restart, a late-loaded holiday year or
a corrected event gives the right date without any migration of clock state.

Conventions (the texts' and the State Council's): the day of the starting event is not counted; a
pause opened by an event on day P stops counting from P+1 and a resume on day R counts again from
R+1 (`WorkCalendar.add_working_days_with_pauses`); an extension adds its days once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from dialogs.policy import Policy, TimeLimit
from scheduler.calendar import Due, WorkCalendar

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


def _length(limit: TimeLimit, events: list[ClockEvent]) -> tuple[int | None, bool]:
    length = limit.length
    for e in events:
        if e.event == "clock_set" and e.details.get("time_limit") == limit.id:
            length = int(e.details["length"])
    extended = any(e.event == "extension_granted" and e.details.get("time_limit") == limit.id for e in events)
    if extended and length is not None and limit.extension:
        length += limit.extension
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


def _due(calendar: WorkCalendar, limit: TimeLimit, start: dt.date, length: int,
         pauses: list[tuple[dt.date, dt.date | None]]) -> Due | None:
    if limit.unit == "working_days":
        return calendar.add_working_days_with_pauses(start, length, pauses) if pauses \
            else calendar.add_working_days(start, length)
    if any(end is None for _, end in pauses):
        return None
    paused_days = sum((end - begin).days for begin, end in pauses if end is not None)
    return calendar.add_calendar_days(start, length + paused_days)


def clock_for(limit: TimeLimit, events: list[ClockEvent], calendar: WorkCalendar, today: dt.date) -> Clock:
    events = sorted(events, key=lambda e: e.on)
    start = next((e for e in events if e.event == limit.starts_on), None)
    if start is None:
        return Clock(limit, "not_started")
    after = [e for e in events if e.on >= start.on and e is not start]
    stop = next((e for e in after if e.event in limit.ends_on), None)
    relevant = [e for e in after if stop is None or e.on <= stop.on]
    length, extended = _length(limit, relevant)
    if length is None:
        return Clock(limit, "unset", started_on=start.on)
    pauses = _pauses(limit, relevant)
    due = _due(calendar, limit, start.on, length, pauses)
    paused_now = bool(pauses) and pauses[-1][1] is None
    if stop is not None:
        status: ClockStatus = "stopped"
    elif paused_now:
        status = "paused"
    else:
        status = "running"
    days_left = None
    if due is not None and stop is None:
        days_left = (calendar.working_days_between(today, due.date) if limit.unit == "working_days"
                     else (due.date - today).days)
    return Clock(limit, status, start.on, length, extended, tuple(pauses), stop.on if stop else None, due,
                 days_left)


def clocks_for(policy: Policy, events: list[ClockEvent], calendar: WorkCalendar, today: dt.date) -> list[Clock]:
    return [clock_for(limit, events, calendar, today) for limit in policy.time_limits]


def due_date(policy: Policy, limit_id: str, start: dt.date, calendar: WorkCalendar,
             length: int | None = None) -> tuple[Due, TimeLimit]:
    """The answer to "when is this due?" for a clock started on `start` with nothing paused."""
    limit = policy.time_limit(limit_id)
    n = length or limit.length
    if n is None:
        raise ValueError(f"{policy.key}.{limit_id} has no fixed length: the deciding body sets it per case; "
                         "pass --days")
    due = _due(calendar, limit, start, n, [])
    assert due is not None
    return due, limit
