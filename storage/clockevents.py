"""A case's clock events (scheduler.clocks.ClockEvent) read from its audit trail.

The audit trail (storage.casework.CaseEvent) is the source of truth: every row with a clock event name
becomes one ClockEvent dated by its Shanghai-local day, because the texts count days as people in China
see them. A case with no clock rows (submitted before the trail existed) still has two facts that start
clocks — its submission time and the start date the applicant gave — and these are used instead.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from dialogs.tz import SHANGHAI
from scheduler.clocks import ClockEvent
from storage.casework import CaseEvent
from storage.models import Case


def local_date(value: dt.datetime) -> dt.date:
    """SQLite returns naive datetimes; they were stored as UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(SHANGHAI).date()


def submission_events(case: Case) -> list[ClockEvent]:
    """application_filed on the submission day; procedure_started on the applicant's start date."""
    events: list[ClockEvent] = []
    start = case.answers.get("start_date") if isinstance(case.answers, dict) else None
    if isinstance(start, str):
        try:
            events.append(ClockEvent("procedure_started", dt.date.fromisoformat(start)))
        except ValueError:
            pass  # a malformed stored date starts no clock rather than a wrong one
    events.append(ClockEvent("application_filed", local_date(case.submitted_at)))
    return events


def clock_events(session: Session, case: Case) -> list[ClockEvent]:
    stmt = (select(CaseEvent).where(CaseEvent.case_id == case.id, col(CaseEvent.event).is_not(None),
                                    col(CaseEvent.refused) == False)  # noqa: E712
            .order_by(col(CaseEvent.at), col(CaseEvent.id)))
    rows = list(session.exec(stmt))
    if not rows:
        return submission_events(case)
    return [ClockEvent(str(r.event), local_date(r.at), dict(r.details or {})) for r in rows]
