"""Refusals of people who hold no role where they pressed: a stranger naming a guessed case id, an
officer of another policy, a non-admin trying /invite, a bad invitation code.

They are evidence, but not of the case's handling: written into the case's audit trail they would push the
officers' real work out of view (one forged press, one row). Here one row counts every repetition of the
same attempt (who, what, which case, why), so a flood costs a counter, and the case file shows the count.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, func
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utcnow


class SecurityEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    case_id: int | None = Field(default=None, index=True)
    action: str
    why: str
    detail: str = ""
    count: int = 1
    first_at: dt.datetime = Field(default_factory=utcnow)
    last_at: dt.datetime = Field(default_factory=utcnow, index=True)


def printable(text: str) -> str:
    """What the attempt sent, kept as evidence but with control characters spelled out (`\\x00`):
    PostgreSQL refuses a NUL in a text column outright, and a forged button may well carry one."""
    return "".join(ch if ch >= " " or ch == "\t" else f"\\x{ord(ch):02x}" for ch in text)


def record(session: Session, actor_id: int, case_id: int | None, action: str, why: str, detail: str = "",
           at: dt.datetime | None = None) -> SecurityEvent:
    """Count one more of this attempt (a new row only the first time)."""
    at = at or utcnow()
    action, detail = printable(action), printable(detail)
    stmt = select(SecurityEvent).where(SecurityEvent.actor_id == actor_id, SecurityEvent.action == action[:40],
                                       SecurityEvent.why == why)
    stmt = stmt.where(col(SecurityEvent.case_id).is_(None) if case_id is None else SecurityEvent.case_id == case_id)
    row = session.exec(stmt).first()
    if row is None:
        row = SecurityEvent(actor_id=actor_id, case_id=case_id, action=action[:40], why=why, detail=detail[:200],
                            first_at=at, last_at=at)
    else:
        row.count += 1
        row.last_at = at
        row.detail = detail[:200] or row.detail
    session.add(row)
    session.flush()
    return row


def count_for_case(session: Session, case_id: int) -> int:
    total = session.exec(select(func.sum(SecurityEvent.count)).where(SecurityEvent.case_id == case_id)).one()
    return int(total or 0)


def recent(session: Session, limit: int = 30) -> list[SecurityEvent]:
    stmt = select(SecurityEvent).order_by(col(SecurityEvent.last_at).desc(), col(SecurityEvent.id).desc()).limit(limit)
    return list(session.exec(stmt))


def of_actor(session: Session, actor_id: int) -> list[SecurityEvent]:
    stmt = select(SecurityEvent).where(SecurityEvent.actor_id == actor_id).order_by(col(SecurityEvent.last_at),
                                                                                    col(SecurityEvent.id))
    return list(session.exec(stmt))
