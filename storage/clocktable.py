"""The clocks table: every running statutory clock with its due date and the time of its next reminder.

Recomputed from the case's events (or the draft's answers) in the very transaction that changes them
(scheduler/clocksync.py), so the periodic scan is one indexed query on `next_fire_at` however many cases are
open, and no change can slip past it. It is the scheduler's only state besides a few remembered facts
(SchedulerState): APScheduler merely wakes the scan, which is why its jobs need no persistent job store.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


class ClockRow(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("scope", "owner_id", "limit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str  # "case" or "draft"
    owner_id: int = Field(index=True)  # the case id or the draft id
    limit_id: str
    audience: str  # "applicant" or "officer"
    recipient_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    policy_key: str
    working: bool = True
    status: str
    started_on: dt.date | None = None
    due_date: dt.date | None = None
    provisional: bool = False
    fired_through: dt.datetime | None = None
    next_fire_at: dt.datetime | None = Field(default=None, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)  # when a refresh last changed it (scheduler/reminders.py)


class SchedulerState(SQLModel, table=True):
    """Facts the scheduler must remember across restarts and processes: which daily job ran on which day
    (`digest:2026-11-12`: the 09:00 digest is sent once even when the bot starts after 09:00 or its
    scheduler moves to another process) and which holiday years the clocks were last computed with
    (`calendar`). Never a high-water mark over ids or timestamps: those skip a row committed out of order."""

    name: str = Field(primary_key=True)
    value: str = ""
