"""Tables of the officers' side: who holds which role, invitations, the append-only audit trail of every
case, documents added to a case after submission, half-filled officer forms, and the notification outbox.

The audit trail (`CaseEvent`) is only ever inserted into: it is the case's history, the source of its
clocks (the `event` column carries the clock event names scheduler/clocks.py reads) and the record of
every refusal. Notifications are rows written in the same transaction as the change they report, so a
crash can delay a message but never lose it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from storage.models import Case, utcnow


class Membership(SQLModel, table=True):
    """A role held by one Telegram user: officer of a policy (Yunnan: at a level), or a unit's
    reviewer (Zhejiang) / determination group (Liaoning) for one named unit."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    role: str
    policy_key: str = Field(index=True)
    level: str | None = None
    unit: str | None = None
    invited_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None


class Invitation(SQLModel, table=True):
    """A single-use, expiring code carried by a deep link (`/start <code>`)."""

    code: str = Field(primary_key=True)
    role: str
    policy_key: str
    level: str | None = None
    unit: str | None = None
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    used_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    used_at: dt.datetime | None = None
    revoked: bool = False


class CaseEvent(SQLModel, table=True):
    """One line of the audit trail. `case_id` is empty for refusals that concern no case (a bad code)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, index=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    actor_role: str = ""
    action: str
    event: str | None = Field(default=None, index=True)
    state_before: str | None = None
    state_after: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    refused: bool = False


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a line of a case's audit trail."""


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _refuse_rewriting_history(_mapper: object, _connection: object, target: CaseEvent) -> None:
    """The trail is evidence of who did what when: a correction is a new line, never an edit."""
    raise AuditTrailIsAppendOnly(f"case event {target.id} cannot be changed or deleted")


@event.listens_for(OrmSession, "before_flush")
def _move_case_versions(session: OrmSession, _context: object, _instances: object) -> None:
    """An applied action is a new audit line: the first one a transaction writes for a case moves the
    case's version, so the case row is UPDATEd `WHERE version = <what this transaction read>`. A second
    transaction that decided on the same reading then fails instead of recording an action on a case
    that has meanwhile changed (an objection on a case the scan just closed, say)."""
    bumped: set[int] = session.info.setdefault("cases_versioned", set())
    for obj in list(session.new):
        if not isinstance(obj, CaseEvent) or obj.case_id is None or obj.refused or obj.case_id in bumped:
            continue
        with session.no_autoflush:
            case = session.get(Case, obj.case_id)
        if case is not None:
            case.version = (case.version or 0) + 1
            bumped.add(obj.case_id)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_versioned(session: OrmSession, transaction: object) -> None:
    if getattr(transaction, "parent", None) is None:
        session.info.pop("cases_versioned", None)


class CaseDocument(SQLModel, table=True):
    """A file added to a case after submission (more material, a report); the bytes stay with Telegram."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    kind: str
    file_id: str
    file_unique_id: str = ""
    file_name: str = ""
    mime_type: str | None = None
    size: int = 0
    uploaded_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class PendingForm(SQLModel, table=True):
    """An action whose fields are being collected, one message at a time; one per user at most."""

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    case_id: int
    action: str
    role: str
    state: str
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    skipped: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class Outbox(SQLModel, table=True):
    """A message owed to a chat. Delivered only when Telegram confirmed it; retried with backoff."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    key: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    text: str
    dedupe_key: str = Field(unique=True)
    case_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, index=True)
    delivered_at: dt.datetime | None = Field(default=None, index=True)
    message_id: int | None = None
    status: str = Field(default="pending", index=True)
    last_error: str | None = None
    # Claimed by one sender at a time (bot/outbox.py): a row is sent once per claim, and a claim dies with
    # its process (PostgreSQL presence lock) or when the lease runs out.
    lease_owner: int | None = Field(default=None, sa_column=Column(BigInteger))
    lease_until: dt.datetime | None = None
