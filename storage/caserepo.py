"""Queries of the officers' side, each taking the caller's session so that one action — its audit
rows, clock events and notifications — is one transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from dialogs.policy import Policy
from dialogs.tz import SHANGHAI
from storage import access
from storage.casework import CaseDocument, CaseEvent, Invitation, Membership, Outbox, PendingForm
from storage.keys import parse_id
from storage.models import Case, utcnow


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def shanghai_date(value: dt.datetime) -> dt.date:
    return aware(value).astimezone(SHANGHAI).date()


def stamp(today: dt.date) -> dt.datetime:
    """Now, on the product's "today": the real instant, unless a time-machine date is configured, in
    which case that date at the current Shanghai time — so clocks and audit agree with the date used."""
    now = utcnow()
    local = now.astimezone(SHANGHAI)
    if local.date() == today:
        return now
    return dt.datetime.combine(today, local.time(), SHANGHAI).astimezone(dt.UTC)


# -- roles ---------------------------------------------------------------------------------------
def create_invitation(session: Session, role: str, policy_key: str, created_by: int, lifetime: dt.timedelta,
                      level: str | None = None, unit: str | None = None) -> Invitation:
    invitation = Invitation(code=secrets.token_urlsafe(12), role=role, policy_key=policy_key, level=level,
                            unit=unit, created_by=created_by, expires_at=utcnow() + lifetime)
    session.add(invitation)
    session.flush()
    return invitation


def redeem_invitation(session: Session, code: str, user_id: int) -> Membership | str:
    """The new membership, or why the code cannot be used ("unknown", "used", "expired", "revoked")."""
    invitation = session.exec(select(Invitation).where(Invitation.code == code).with_for_update()).first()
    if invitation is None:
        return "unknown"
    if invitation.revoked:
        return "revoked"
    if invitation.used_by is not None:
        return "used"
    if aware(invitation.expires_at) < utcnow():
        return "expired"
    invitation.used_by = user_id
    invitation.used_at = utcnow()
    membership = Membership(user_id=user_id, role=invitation.role, policy_key=invitation.policy_key,
                            level=invitation.level, unit=invitation.unit, invited_by=invitation.created_by)
    session.add(membership)
    session.flush()
    return membership


def memberships_of(session: Session, user_id: int) -> list[Membership]:
    stmt = select(Membership).where(Membership.user_id == user_id, col(Membership.revoked_at).is_(None))
    return list(session.exec(stmt.order_by(col(Membership.id))))


def all_memberships(session: Session) -> list[Membership]:
    stmt = select(Membership).where(col(Membership.revoked_at).is_(None)).order_by(col(Membership.id))
    return list(session.exec(stmt))


def members_for_case(session: Session, case: Case, roles: set[str]) -> list[Membership]:
    """Members whose role reaches the case, by the one rule of storage/access.py (the unit registry)."""
    return access.members_for_case(session, case, roles)


# -- cases ----------------------------------------------------------------------------------------
def find_case(session: Session, ref: str) -> Case | None:
    """By id (storage.keys.parse_id: `str.isdigit` also accepts "²" and "１") or by number."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        ident = parse_id(ref)
        return session.get(Case, ident) if ident is not None else None
    return session.exec(select(Case).where(Case.number == ref.upper())).first()


def cases_of_applicant(session: Session, user_id: int) -> list[Case]:
    return list(session.exec(select(Case).where(Case.applicant_id == user_id).order_by(col(Case.id))))


def cases_of_policy(session: Session, policy_key: str) -> list[Case]:
    return list(session.exec(select(Case).where(Case.policy_key == policy_key).order_by(col(Case.id))))


def history(session: Session, case_id: int) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    return list(session.exec(stmt))


def add_event(session: Session, case_id: int | None, actor_id: int | None, actor_role: str, action: str,
              state_before: str | None, state_after: str | None, details: dict[str, Any] | None = None,
              event: str | None = None, refused: bool = False, at: dt.datetime | None = None) -> CaseEvent:
    row = CaseEvent(case_id=case_id, at=at or utcnow(), actor_id=actor_id, actor_role=actor_role, action=action,
                    event=event, state_before=state_before, state_after=state_after, details=details or {},
                    refused=refused)
    session.add(row)
    session.flush()
    return row


def record_submission(session: Session, case: Case, policy: Policy, at: dt.datetime | None = None) -> None:
    """A submitted case enters its procedure: initial state, `application_filed`, and, for a case the
    authority started, `procedure_started` dated the start date the applicant gave."""
    if policy.procedure is not None:
        case.state = policy.procedure.initial
    origin = policy.origin(str(case.answers.get("origin", "")))
    start = case.answers.get("start_date")
    if origin is not None and origin.asks_start_date and isinstance(start, str):
        try:
            day = dt.date.fromisoformat(start)
        except ValueError:
            day = None
        if day is not None:
            started_at = dt.datetime.combine(day, dt.time(0, 0), SHANGHAI).astimezone(dt.UTC)
            add_event(session, case.id, case.applicant_id, "applicant", "submit", None, case.state,
                      {"origin": origin.id, "start_date": start}, event="procedure_started", at=started_at)
    add_event(session, case.id, case.applicant_id, "applicant", "submit", None, case.state,
              {"number": case.number}, event="application_filed", at=at)


# -- documents and forms -----------------------------------------------------------------------------
def add_document(session: Session, case_id: int, kind: str, uploaded_by: int, file: dict[str, Any]) -> CaseDocument:
    doc = CaseDocument(case_id=case_id, kind=kind, uploaded_by=uploaded_by, file_id=file["file_id"],
                       file_unique_id=file.get("file_unique_id", ""), file_name=file.get("file_name", ""),
                       mime_type=file.get("mime_type"), size=int(file.get("size") or 0))
    session.add(doc)
    session.flush()
    return doc


def documents(session: Session, case_id: int) -> list[CaseDocument]:
    stmt = select(CaseDocument).where(CaseDocument.case_id == case_id).order_by(col(CaseDocument.id))
    return list(session.exec(stmt))


def pending_form(session: Session, user_id: int) -> PendingForm | None:
    return session.get(PendingForm, user_id)


def clear_form(session: Session, user_id: int) -> None:
    form = session.get(PendingForm, user_id)
    if form is not None:
        session.delete(form)
        session.flush()


# -- outbox -------------------------------------------------------------------------------------------
def enqueue(session: Session, chat_id: int, key: str, params: dict[str, Any], text: str, dedupe_key: str,
            case_id: int | None = None) -> Outbox | None:
    """Queue a message once: a second row with the same dedupe key is not written."""
    if session.exec(select(Outbox).where(Outbox.dedupe_key == dedupe_key)).first() is not None:
        return None
    row = Outbox(chat_id=chat_id, key=key, params=params, text=text, dedupe_key=dedupe_key, case_id=case_id)
    session.add(row)
    session.flush()
    return row


def due_messages(session: Session, now: dt.datetime, limit: int = 20) -> list[Outbox]:
    stmt = (select(Outbox).where(Outbox.status == "pending", col(Outbox.next_attempt_at) <= now)
            .order_by(col(Outbox.id)).limit(limit))
    return list(session.exec(stmt))


def claim_messages(session: Session, owner: int, lease: dt.timedelta, limit: int = 20,
                   live_owners: Iterable[int] | None = None) -> list[Outbox]:
    """Lease the next due messages to one sender (`FOR UPDATE SKIP LOCKED` on PostgreSQL): two senders
    never hold the same row, so a message is sent once per claim. A claim whose owner died is free again
    (`live_owners`: the senders whose process still holds its presence lock), as is one that ran out."""
    now = utcnow()
    free = or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now)
    if live_owners is not None:
        free = or_(free, col(Outbox.lease_owner).not_in(list(live_owners) or [-1]))
    stmt = (select(Outbox).where(Outbox.status == "pending", col(Outbox.next_attempt_at) <= now, free)
            .order_by(col(Outbox.id)).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.exec(stmt))
    for row in rows:
        row.lease_owner, row.lease_until = owner, now + lease
    session.flush()
    return rows


def release_messages(session: Session, owner: int | None = None) -> None:
    """Give claimed messages back: one sender's when it stops, or every claim when a single process
    (SQLite, whose file lock we hold) starts and knows that every earlier claimer is dead."""
    stmt = update(Outbox).where(col(Outbox.lease_owner).is_not(None))
    if owner is not None:
        stmt = stmt.where(col(Outbox.lease_owner) == owner)
    session.execute(stmt.values(lease_owner=None, lease_until=None))


def messages_for(session: Session, chat_id: int) -> list[Outbox]:
    return list(session.exec(select(Outbox).where(Outbox.chat_id == chat_id).order_by(col(Outbox.id))))
