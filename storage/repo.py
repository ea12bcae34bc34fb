"""Queries the bot needs, each taking the caller's session so one action is one transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage import inbox
from storage.models import Case, CaseCounter, Draft, Upload, User, utcnow


def get_or_create_user(session: Session, user_id: int, first_name: str = "", username: str | None = None) -> User:
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, first_name=first_name, username=username)
        session.add(user)
        session.flush()
    elif first_name and user.first_name != first_name:
        user.first_name = first_name
    if user.blocked_bot:  # whoever sends us an update has unblocked the bot
        user.blocked_bot = False
    return user


def claim_update(session: Session, update_id: int | None) -> bool:
    """False when this update was already applied; True marks it applied in the caller's transaction, so
    the mark and the answer commit together (storage/inbox.py: exactly once, in polling and webhook mode)."""
    return inbox.claim_update(session, update_id)


def active_drafts(session: Session, user_id: int) -> list[Draft]:
    stmt = (select(Draft).where(Draft.user_id == user_id, Draft.status == "active")
            .order_by(col(Draft.updated_at).desc(), col(Draft.id).desc()))
    return list(session.exec(stmt))


# Built once, as the screens of a draft read it on every answer (see scheduler/reminders.py _CLOCK_ROWS).
_UPLOADS = select(Upload).where(Upload.draft_id == bindparam("draft")).order_by(col(Upload.id))


def uploads_for(session: Session, draft_id: int) -> list[Upload]:
    return list(session.execute(_UPLOADS, {"draft": draft_id}).scalars())


def next_case_number(session: Session, prefix: str, year: int) -> str:
    """The year's first submission of a policy creates its counter. Two processes doing that at once both
    found no row to lock, and the second INSERT failed on the unique key, losing that submission (seen in
    bench/replicas.py on PostgreSQL); the row is therefore inserted if missing (ON CONFLICT DO NOTHING,
    which waits for a concurrent insert of the same key) and then always locked and read."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(CaseCounter.__table__).values(prefix=prefix, year=year, last=0)  # type: ignore[arg-type]
                    .on_conflict_do_nothing(index_elements=["prefix", "year"]))
    counter = session.exec(
        select(CaseCounter).where(CaseCounter.prefix == prefix, CaseCounter.year == year).with_for_update()
    ).one()
    counter.last += 1
    session.flush()
    return f"{prefix}-{year}-{counter.last:04d}"


def create_case(session: Session, draft: Draft, number: str) -> Case:
    case = Case(number=number, draft_id=draft.id or 0, applicant_id=draft.user_id,
                policy_key=draft.policy_key or "", policy_version=draft.policy_version or 0,
                answers=dict(draft.answers), submitted_at=utcnow())
    session.add(case)
    session.flush()
    return case


def touch(draft: Draft, when: dt.datetime | None = None) -> None:
    """A new revision: the UPDATE checks the one this transaction read (Draft's version_id_col), so a
    concurrent writer of the same draft makes this one fail rather than being overwritten by it."""
    draft.revision += 1
    draft.updated_at = when or utcnow()
