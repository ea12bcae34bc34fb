"""SQLModel tables. Rows are plain records: state machines run on separate plain objects (see
dialogs), because transitions cannot use a SQLModel instance as its model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Aware UTC: SQLModel's UTCDateTime refuses naive values, and Shanghai time is derived on display."""
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    first_name: str = ""
    username: str | None = None
    language: str | None = None
    current_draft_id: int | None = None
    blocked_bot: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow)


_draft_revision = Column("revision", Integer, nullable=False, default=0)
_case_version = Column("version", Integer, nullable=False, default=0, server_default="0")


class Draft(SQLModel, table=True):
    """One application in progress. `revision` grows with every applied answer, so a button on an
    old message (or the same button pressed twice) can be recognised and refused.

    It is also the row's version (`version_id_col`): every UPDATE of a draft says `WHERE revision =
    <the revision this transaction read>`, so two writers that read the same revision cannot both win —
    the second gets StaleDataError and its transaction rolls back, instead of silently overwriting the
    first one's answer. `storage.repo.touch` moves it on (`version_id_generator=False`: the number is
    the product's, shown in the buttons, not a counter SQLAlchemy keeps)."""

    __mapper_args__ = {"version_id_col": _draft_revision, "version_id_generator": False}

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    policy_key: str | None = None
    policy_version: int | None = None
    state: str = "policy"
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    revision: int = Field(default=0, sa_column=_draft_revision)
    message_id: int | None = None
    status: str = Field(default="active", index=True)
    case_id: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow, index=True)


class Upload(SQLModel, table=True):
    """A document a researcher sent for one checklist item; the bytes stay with Telegram."""

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(index=True)
    material_id: str
    file_id: str
    file_unique_id: str = ""
    file_name: str = ""
    mime_type: str | None = None
    size: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow)


class Case(SQLModel, table=True):
    """A submitted application. The answers are frozen as submitted; the draft row stays for history.

    `version` counts the actions applied to the case and is checked in the UPDATE itself: every
    transaction that appends a (non-refused) line to the case's audit trail moves it on
    (storage/casework.py), so two actions decided on the same reading of the case — an officer's and the
    reminder scan's, say — cannot both commit; the second raises StaleDataError and rolls back whole."""

    __mapper_args__ = {"version_id_col": _case_version, "version_id_generator": False}

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(index=True, unique=True)
    draft_id: int = Field(index=True)
    applicant_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    policy_key: str = Field(index=True)
    policy_version: int
    state: str = Field(default="submitted", index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submitted_at: dt.datetime = Field(default_factory=utcnow)
    version: int = Field(default=0, sa_column=_case_version)


class CaseCounter(SQLModel, table=True):
    """Per policy and year, so case numbers read like DG-2026-0007 and never repeat."""

    __table_args__ = (UniqueConstraint("prefix", "year"),)
    id: int | None = Field(default=None, primary_key=True)
    prefix: str
    year: int
    last: int = 0
