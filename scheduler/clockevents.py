"""A case's clock events (scheduler.clocks.ClockEvent), derived from its audit trail in one place.

The audit trail (storage.casework.CaseEvent) is the source of truth: every applied (not refused) line
that carries a clock event name becomes one ClockEvent, dated by its Shanghai-local day, because the
texts count days as people in China see them. The case screen, the timeline picture, the calendar file
and the reminder scan all read clocks through this module, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlmodel import Session, col, select

from dialogs.procedure import EVENT_DATE
from dialogs.tz import SHANGHAI
from scheduler.clocks import ClockEvent
from storage.casework import CaseEvent
from storage.models import Case


def local_date(value: dt.datetime) -> dt.date:
    """The Shanghai day of a stored instant (stored datetimes are aware UTC: sqlmodel's UTCDateTime)."""
    return value.astimezone(SHANGHAI).date()


def trail(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's applied audit lines in the order they happened."""
    stmt = (select(CaseEvent).where(CaseEvent.case_id == case_id, col(CaseEvent.refused).is_(False))
            .order_by(col(CaseEvent.at), col(CaseEvent.id)))
    return list(session.exec(stmt))


def event_day(row: CaseEvent) -> dt.date:
    """The day an audit line's event happened: the date it carries when the event had a day of its own (a
    notice published on the portal before the officer recorded it: `dialogs.procedure.EVENT_DATE`), else
    the Shanghai day it was recorded. The procedure's guards read the same detail (`procedure.event_day`)."""
    carried = (row.details or {}).get(EVENT_DATE)
    if isinstance(carried, str):
        try:
            return dt.date.fromisoformat(carried)
        except ValueError:
            pass
    return local_date(row.at)


def clock_events_of(rows: Iterable[CaseEvent]) -> list[ClockEvent]:
    """The clock events among audit lines already read (refused lines never move a clock)."""
    return [ClockEvent(str(r.event), event_day(r), dict(r.details or {})) for r in rows
            if r.event and not r.refused]


def case_clock_events(session: Session, case: Case) -> list[ClockEvent]:
    return clock_events_of(trail(session, case.id or 0))
