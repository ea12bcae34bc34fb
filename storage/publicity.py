"""Tables and queries of the publicity in public (Zhejiang 三(五)): a case's publicity record (where and
when the notice went up, its deep link, its channel post), the followers of a policy's notices, the
objections the public sends and the half-written ones.

What is private stays in its own columns and tables: an objector's name and contact live only on
`Objection`, never on the case's audit trail (which records that an objection with a reference number
arrived, and nothing about who sent it), so whatever shows the trail — the applicant's notifications, the
timeline, a case file — cannot show them by accident.

Every function takes the caller's session, so an objection, its audit line and its notifications are one
transaction; the ones that must not race with the end of the period lock the case row first.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import Case, CaseCounter, utcnow

PAYLOAD_PREFIX = "gs-"  # 公示: a deep link's start parameter is "gs-" and 24 URL-safe characters
OBJECTION_PREFIX = "YY"  # 异议: references read ZJYY-2026-0007


class Publicity(SQLModel, table=True):
    """One case's publicity: created when the decision to publicise is made (the notice and its deep link
    exist from then on), completed when the officer records the publication, closed when it ends.

    `payload` is the deep link's start parameter: random, so a link cannot be guessed from a case number or
    a database id, and a forged one names no publicity. `post_outbox_id` is the outbox row that posts the
    notice to the channel: its `message_id` is the channel post's, which the end edits."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, unique=True)
    policy_key: str = Field(index=True)
    payload: str = Field(unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    published_url: str | None = None
    published_on: dt.date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    recorded_at: dt.datetime | None = None
    recorded_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    channel: str | None = None
    post_outbox_id: int | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None
    objections_at_end: int | None = None


class Follower(SQLModel, table=True):
    """Someone who asked (/follow) to receive every notice and outcome of a policy's publicity."""

    __tablename__ = "publicity_follower"
    __table_args__ = (UniqueConstraint("user_id", "policy_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    policy_key: str = Field(index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Objection(SQLModel, table=True):
    """An objection from the public, under the objector's real name (三(五) "对公示有异议的……核实有关情况并提出
    调查处理意见"). One per person and case (the unique constraint makes a second one a merge, whatever the
    timing): what they send later while it is open is added to `supplements`.

    `number` is its place among the case's objections (officer-recorded ones included), the number the
    officers' verification form asks for; `reference` is what the objector is given."""

    __tablename__ = "publicity_objection"
    __table_args__ = (UniqueConstraint("case_id", "objector_id"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    publicity_id: int = Field(index=True)
    reference: str = Field(unique=True)
    number: int
    objector_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    name: str
    contact: str
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    supplements: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", index=True)
    verification: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: dt.datetime | None = None
    answered_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ObjectionDraft(SQLModel, table=True):
    """An objection being written in a private chat, one question at a time; one per person at most."""

    __tablename__ = "publicity_objection_draft"
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    publicity_id: int
    step: str = "name"
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


# -- the publicity of a case ----------------------------------------------------------------------------
_PAYLOAD = re.compile(r"gs-[A-Za-z0-9_-]{24}")


def valid_payload(text: str) -> bool:
    """Whether a deep link's start parameter has the form the bot issues (checked before any query)."""
    return isinstance(text, str) and _PAYLOAD.fullmatch(text) is not None


def new_payload() -> str:
    """A start parameter Telegram carries (1-64 of A-Za-z0-9_-) that nobody can guess: 144 random bits."""
    return PAYLOAD_PREFIX + secrets.token_urlsafe(18)


def publicity_of(session: Session, case_id: int) -> Publicity | None:
    return session.exec(select(Publicity).where(Publicity.case_id == case_id)).first()


def ensure_publicity(session: Session, case: Case) -> Publicity:
    """The case's publicity record, created on first use (when the decision is made)."""
    found = publicity_of(session, case.id or 0)
    if found is not None:
        return found
    row = Publicity(case_id=case.id or 0, policy_key=case.policy_key, payload=new_payload())
    session.add(row)
    session.flush()
    return row


def by_payload(session: Session, payload: str) -> Publicity | None:
    """The publicity a deep link names; the caller has checked the payload's form before (no query with
    arbitrary bytes)."""
    return session.exec(select(Publicity).where(Publicity.payload == payload)).first()


def lock_case(session: Session, case_id: int) -> Case | None:
    """The case row, locked for this transaction (`SELECT … FOR UPDATE`; SQLite's BEGIN IMMEDIATE already
    serialises writers): the reminder scan ending the period and an objection arriving take turns on it."""
    return session.get(Case, case_id, with_for_update=True, populate_existing=True)


# -- followers -------------------------------------------------------------------------------------------
def follow(session: Session, user_id: int, policy_key: str) -> bool:
    """Start following; False when already following."""
    if is_following(session, user_id, policy_key):
        return False
    session.add(Follower(user_id=user_id, policy_key=policy_key))
    session.flush()
    return True


def unfollow(session: Session, user_id: int, policy_key: str | None = None) -> list[str]:
    """Stop following one policy (or all): the policies stopped. The rows are deleted: nothing is kept
    about someone who no longer follows."""
    stmt = select(Follower).where(Follower.user_id == user_id)
    if policy_key is not None:
        stmt = stmt.where(Follower.policy_key == policy_key)
    rows = list(session.exec(stmt))
    for row in rows:
        session.delete(row)
    session.flush()
    return sorted(r.policy_key for r in rows)


def is_following(session: Session, user_id: int, policy_key: str) -> bool:
    stmt = select(Follower).where(Follower.user_id == user_id, Follower.policy_key == policy_key)
    return session.exec(stmt).first() is not None


def followed_by(session: Session, user_id: int) -> list[str]:
    stmt = select(Follower.policy_key).where(Follower.user_id == user_id).order_by(col(Follower.policy_key))
    return list(session.exec(stmt))


def followers(session: Session, policy_key: str) -> list[int]:
    stmt = select(Follower.user_id).where(Follower.policy_key == policy_key).order_by(col(Follower.id))
    return list(session.exec(stmt))


# -- objections ------------------------------------------------------------------------------------------
def next_reference(session: Session, case_prefix: str, year: int) -> str:
    """ZJYY-2026-0007: a counter of its own per policy and year (the case numbers' counter table, under
    its own prefix), so a reference says nothing about the case or the objector."""
    prefix = f"{case_prefix}{OBJECTION_PREFIX}"
    counter = session.exec(select(CaseCounter).where(CaseCounter.prefix == prefix, CaseCounter.year == year)
                           .with_for_update()).first()
    if counter is None:
        counter = CaseCounter(prefix=prefix, year=year, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return f"{prefix}-{year}-{counter.last:04d}"


def objection_of(session: Session, case_id: int, objector_id: int) -> Objection | None:
    stmt = select(Objection).where(Objection.case_id == case_id, Objection.objector_id == objector_id)
    return session.exec(stmt).first()


def objection_by_number(session: Session, case_id: int, number: int) -> Objection | None:
    stmt = select(Objection).where(Objection.case_id == case_id, Objection.number == number)
    return session.exec(stmt).first()


def objections_of_case(session: Session, case_id: int) -> list[Objection]:
    stmt = select(Objection).where(Objection.case_id == case_id).order_by(col(Objection.number))
    return list(session.exec(stmt))


def objections_by(session: Session, objector_id: int) -> list[Objection]:
    stmt = select(Objection).where(Objection.objector_id == objector_id).order_by(col(Objection.id))
    return list(session.exec(stmt))


# -- half-written objections -------------------------------------------------------------------------------
def draft_of(session: Session, user_id: int) -> ObjectionDraft | None:
    return session.get(ObjectionDraft, user_id)


def start_draft(session: Session, user_id: int, publicity_id: int) -> ObjectionDraft:
    """A fresh objection for this person (one they had started on another notice is dropped)."""
    old = session.get(ObjectionDraft, user_id)
    if old is not None:
        session.delete(old)
        session.flush()
    row = ObjectionDraft(user_id=user_id, publicity_id=publicity_id)
    session.add(row)
    session.flush()
    return row


def drop_draft(session: Session, user_id: int) -> None:
    row = session.get(ObjectionDraft, user_id)
    if row is not None:
        session.delete(row)
        session.flush()
