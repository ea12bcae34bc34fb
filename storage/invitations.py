"""Invitations to a role that are not bearer links.

An invitation names the Telegram user it is for (an id or an @username) and works for that person only;
one that names nobody makes its opener *wait* until an admin confirms them. Only the SHA-256 of a code
is stored, so a copy of the database lets nobody in; the code itself is shown once, to the admin who
made it. Open invitations are listed and can be revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, Session, SQLModel, col, select

from storage.casework import Membership
from storage.models import utcnow

Outcome = Literal["joined", "waiting", "unknown", "used", "expired", "revoked", "not_for_you", "opened"]


class RoleInvitation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, max_length=64)
    role: str
    policy_key: str
    level: str | None = None
    unit_id: int | None = None
    unit_name: str | None = None
    for_user_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    for_username: str | None = None  # without "@", case-folded
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    opened_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    opened_name: str | None = None
    opened_at: dt.datetime | None = None
    used_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    used_at: dt.datetime | None = None
    membership_id: int | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: int | None = Field(default=None, sa_column=Column(BigInteger))


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def clean_username(name: str | None) -> str | None:
    return name.strip().removeprefix("@").casefold() if name and name.strip().removeprefix("@") else None


def create(session: Session, role: str, policy_key: str, created_by: int, lifetime: dt.timedelta,
           level: str | None = None, unit_id: int | None = None, unit_name: str | None = None,
           for_user_id: int | None = None, for_username: str | None = None) -> tuple[RoleInvitation, str]:
    """The stored invitation and its code; the code is not kept anywhere."""
    code = secrets.token_urlsafe(16)
    row = RoleInvitation(code_hash=code_hash(code), role=role, policy_key=policy_key, level=level, unit_id=unit_id,
                         unit_name=unit_name, for_user_id=for_user_id, for_username=clean_username(for_username),
                         created_by=created_by, expires_at=utcnow() + lifetime)
    session.add(row)
    session.flush()
    return row, code


@dataclass
class Opened:
    outcome: Outcome
    invitation: RoleInvitation | None = None
    membership: Membership | None = None


def _membership(session: Session, row: RoleInvitation, user_id: int) -> Membership:
    membership = Membership(user_id=user_id, role=row.role, policy_key=row.policy_key, level=row.level,
                            unit=row.unit_name, invited_by=row.created_by)
    session.add(membership)
    session.flush()
    row.used_by, row.used_at, row.membership_id = user_id, utcnow(), membership.id
    session.add(row)
    return membership


def open_code(session: Session, code: str, user_id: int, username: str | None, first_name: str = "") -> Opened:
    """`/start <code>`: a named invitation makes its person a member at once; an unnamed one waits for an
    admin's confirmation. Anyone else is refused and the invitation stays as it was."""
    stmt = select(RoleInvitation).where(RoleInvitation.code_hash == code_hash(code)).with_for_update()
    row = session.exec(stmt).first()
    if row is None:
        return Opened("unknown")
    if row.revoked_at is not None:
        return Opened("revoked", row)
    if row.used_by is not None:
        return Opened("used", row)
    if _aware(row.expires_at) < utcnow():
        return Opened("expired", row)
    named = row.for_user_id is not None or row.for_username is not None
    if named:
        if (row.for_user_id is not None and row.for_user_id != user_id) or \
                (row.for_username is not None and clean_username(username) != row.for_username):
            return Opened("not_for_you", row)
        return Opened("joined", row, _membership(session, row, user_id))
    if row.opened_by is not None and row.opened_by != user_id:
        return Opened("opened", row)
    row.opened_by, row.opened_name, row.opened_at = user_id, (first_name or "")[:64], utcnow()
    session.add(row)
    session.flush()
    return Opened("waiting", row)


def confirm(session: Session, row: RoleInvitation) -> Membership | None:
    """An admin confirms the person who opened an unnamed invitation; None when it is no longer waiting."""
    if row.revoked_at is not None or row.used_by is not None or row.opened_by is None:
        return None
    return _membership(session, row, row.opened_by)


def decline(session: Session, row: RoleInvitation, by: int) -> bool:
    return revoke(session, row, by)


def revoke(session: Session, row: RoleInvitation, by: int) -> bool:
    if row.revoked_at is not None or row.used_by is not None:
        return False
    row.revoked_at, row.revoked_by = utcnow(), by
    session.add(row)
    return True


def open_invitations(session: Session, now: dt.datetime | None = None) -> list[RoleInvitation]:
    """Neither used nor revoked nor expired, oldest first."""
    now = now or utcnow()
    stmt = (select(RoleInvitation).where(col(RoleInvitation.used_by).is_(None), col(RoleInvitation.revoked_at).is_(None))
            .order_by(col(RoleInvitation.id)))
    return [r for r in session.exec(stmt) if _aware(r.expires_at) >= now]
