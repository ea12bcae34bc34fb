"""The inbox: every Telegram update is written here before it is acknowledged, and handled from here.

One table is the single entry of updates in both modes. The poller inserts a batch in one transaction and
only then confirms its offset to Telegram; the webhook endpoint inserts and commits before it answers 200.
Workers (bot/dispatch.py) then claim rows and hand them to the application:

- **Per chat, in order, one at a time.** A row's `lane` is its chat (or, without a chat, its user). A row
  can be claimed only when no earlier row of its lane is unfinished, so the updates of one chat are
  handled strictly in order while different chats run concurrently. On PostgreSQL the claim is `FOR
  UPDATE SKIP LOCKED` plus a lease, so several processes share one inbox.
- **Applied exactly once.** `claim_update`, called by the handler inside the transaction that applies
  the update, moves the row from `pending` to `applied` with a conditional UPDATE (`WHERE status =
  'pending'`). A second handling of the same row — a lease that ran out while a slow handler was still
  working, a process that died after committing — finds it applied and changes nothing.
- **Finished.** After the reply was sent the worker marks the row `done` (in the transaction that claims
  its next row). A row left `applied` (the process died between the commit and the reply) is handed to
  the application once more: its handler finds the update already applied and shows the current screen.
- **Duplicates only within a window.** Update ids are not unique for ever: after a week without updates
  Telegram picks the next id at random, and a local Bot API server or a new token starts from low ids
  again. An id counts as a duplicate for `WINDOW` (48 hours; Telegram keeps an undelivered update for 24)
  and only when the content is the same; finished rows older than that are pruned, and a new update with
  an old id is handled.

Leases and back-off use the real clock (a lease must expire however the product's "today" is set); the
dedupe window uses the caller's clock, so a time-machine test can move a week on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    SmallInteger,
    and_,
    bindparam,
    case,
    delete,
    exists,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, col

from storage.locks import NAMESPACE, PRESENCE_HELD
from storage.models import utcnow

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=48)
PENDING, APPLIED, DONE = "pending", "applied", "done"
OPEN = (PENDING, APPLIED)


class InboxUpdate(SQLModel, table=True):
    """One update as Telegram sent it, and how far its handling got."""

    __tablename__ = "inbox"  # type: ignore[assignment]
    __table_args__ = (Index("ix_inbox_lane_id", "lane", "id"), Index("ix_inbox_status_id", "status", "id"))

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    lane: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Claimed before rows of lower priority of *other* chats (never ahead of an earlier row of its own
    # chat): a command that only shows something is answered while others' long work waits its turn.
    priority: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False, server_default="0"))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fingerprint: str = ""
    status: str = PENDING
    received_at: dt.datetime = Field(default_factory=utcnow, index=True)
    attempts: int = 0
    not_before: dt.datetime | None = None
    lease_owner: int | None = Field(default=None, sa_column=Column(BigInteger))
    lease_until: dt.datetime | None = None
    applied_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None


@dataclass
class Handling:
    """The inbox row a worker is handling, visible to the handler's error path (a ContextVar) so it can
    say why the handling failed: `transient` means "not the user's doing: keep it and retry"."""

    inbox_id: int
    update_id: int
    attempt: int
    errors: list[BaseException] = field(default_factory=list)
    transient: bool = False
    # Taken straight from the poll, before its row is stored (bot/dispatch.py `early`): the handler may only
    # read; anything that would change something is `declined` and handled from the inbox like any row.
    early: bool = False
    declined: bool = False


current_handling: ContextVar[Handling | None] = ContextVar("current_handling", default=None)


@dataclass(frozen=True)
class Claimed:
    id: int
    update_id: int
    payload: dict[str, Any]
    status: str
    attempts: int


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def fingerprint(payload: dict[str, Any]) -> str:
    """Telegram re-delivers the same JSON; a different update that happens to reuse an id differs."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def lane_of(payload: dict[str, Any]) -> int:
    """The chat an update belongs to (its user when it has no chat; 0 when neither): the unit of order."""
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        user = value.get("from") or value.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    return 0


def _insert(session: Session):  # noqa: ANN202 - the dialect's INSERT construct (ON CONFLICT support)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(InboxUpdate.__table__)  # type: ignore[arg-type]


@dataclass
class Stored:
    """A row `receive_rows` wrote or `open_rows` read: what a single-process dispatcher queues without reading
    it back (bot/lanes.py); its status, attempts and back-off change there as it is handled."""

    id: int
    update_id: int
    lane: int
    priority: int
    payload: dict[str, Any]
    status: str = PENDING
    attempts: int = 0
    not_before: dt.datetime | None = None

    def claimed(self) -> Claimed:
        return Claimed(self.id, self.update_id, self.payload, self.status, self.attempts)


def is_stored(session: Session, update_id: int) -> bool:
    """Whether the inbox holds this update already: a redelivery, which no handler sees twice."""
    table = InboxUpdate.__table__
    return session.execute(select(table.c.id).where(table.c.update_id == update_id).limit(1)).first() is not None


def receive(session: Session, updates: Sequence[dict[str, Any]], now: dt.datetime,
            rank: Callable[[dict[str, Any]], int] | None = None) -> int:
    """Write a batch of updates (Telegram's JSON); returns how many were new."""
    return len(receive_rows(session, updates, now, rank))


_RECEIVE: dict[str, Any] = {}


def _receive_statement(session: Session) -> Any:
    """The batch INSERT, built once per dialect and run as an executemany (SQLAlchemy turns it into one
    multi-row INSERT … RETURNING from a cached compilation). A statement holding the batch's values was
    compiled anew for every batch inside SQLite's write lock, which every reply waits on."""
    name = session.get_bind().dialect.name
    if name not in _RECEIVE:
        table = InboxUpdate.__table__
        _RECEIVE[name] = (_insert(session).on_conflict_do_nothing(index_elements=["update_id"])
                          .returning(table.c.id, table.c.update_id))
    return _RECEIVE[name]


def receive_rows(session: Session, updates: Sequence[dict[str, Any]], now: dt.datetime,
                 rank: Callable[[dict[str, Any]], int] | None = None) -> list[Stored]:
    """Write a batch of updates (Telegram's JSON); returns the rows that were new. Duplicates of an update
    seen within the window are dropped here, so a redelivery never reaches a handler. `rank` gives each its
    claim priority (the bot layer knows which commands are quick)."""
    if not updates:
        return []
    table = InboxUpdate.__table__
    batch: dict[int, dict[str, Any]] = {}
    for payload in updates:
        batch.setdefault(int(payload["update_id"]), payload)
    prints = {uid: fingerprint(p) for uid, p in batch.items()}
    rows = [{"update_id": uid, "lane": lane_of(p), "payload": p, "fingerprint": prints[uid], "status": PENDING,
             "received_at": now, "attempts": 0, "priority": rank(p) if rank is not None else 0}
            for uid, p in batch.items()]

    statement = _receive_statement(session)

    def insert() -> dict[int, int]:
        result = session.execute(statement, rows)
        return {uid: row_id for row_id, uid in result.all()}

    # Inserted first, looked at only when an id is already there (a redelivery, or an id reused): the
    # SELECT before every INSERT was a statement per polled batch that almost never found anything.
    inserted = insert()
    known = [uid for uid in batch if uid not in inserted]
    if known and _supersede(session, known, prints, now):
        # an old row gave way: the batch is written again after it, so its ids stay in the batch's order
        session.execute(delete(table).where(table.c.id.in_(list(inserted.values()))))
        inserted = insert()
    by_id = {row["update_id"]: row for row in rows}
    return sorted((Stored(row_id, uid, by_id[uid]["lane"], by_id[uid]["priority"], by_id[uid]["payload"])
                   for uid, row_id in inserted.items()), key=lambda r: r.id)


def _supersede(session: Session, update_ids: list[int], prints: dict[int, str], now: dt.datetime) -> bool:
    """Delete the stored rows these ids may replace: older than the window, or finished and different in
    content (the id reused). Returns whether any was deleted; the others are duplicates, dropped."""
    table = InboxUpdate.__table__
    cutoff = now - WINDOW
    superseded: list[int] = []
    for row_id, uid, fp, status, received in session.execute(
            select(table.c.id, table.c.update_id, table.c.fingerprint, table.c.status, table.c.received_at)
            .where(table.c.update_id.in_(update_ids))):
        if aware(received) < cutoff:
            superseded.append(row_id)
            if status != DONE:
                log.warning("update %s unhandled for over %s gives way to a new update with its id", uid, WINDOW)
        elif fp != prints[uid] and status == DONE:
            log.warning("update id %s reused within %s by a different update; handling the new one", uid, WINDOW)
            superseded.append(row_id)
    if superseded:
        session.execute(delete(table).where(table.c.id.in_(superseded)))
    return bool(superseded)


def open_rows(session: Session) -> list[Stored]:
    """Every row not yet finished, in order: what a single-process dispatcher queues when it starts."""
    table = InboxUpdate.__table__
    return [Stored(r.id, r.update_id, r.lane, r.priority, dict(r.payload or {}), r.status, r.attempts,
                   aware(r.not_before) if r.not_before is not None else None)
            for r in session.execute(
                select(table.c.id, table.c.update_id, table.c.lane, table.c.priority, table.c.payload,
                       table.c.status, table.c.attempts, table.c.not_before)
                .where(table.c.status.in_(OPEN)).order_by(table.c.id))]


# Built once: every handled update runs it. Built per call (and run through the Session) it cost 0.35 ms of
# a flow transaction's 4-5 ms, inside SQLite's one write lock; this way 0.07 ms (docs/BENCHMARKS.md).
_table = InboxUpdate.__table__
_CLAIM = (update(_table).where(_table.c.update_id == bindparam("claimed_update"), _table.c.status == PENDING)
          .values(status=APPLIED, applied_at=bindparam("claimed_at")))


def claim_update(session: Session, update_id: int | None, now: dt.datetime | None = None) -> bool:
    """False when this update was already applied. Called by a handler in the transaction that applies the
    update, so the mark and the answer commit (or roll back) together.

    An update that did not come through the inbox (the console, a test calling the application directly)
    gets a row of its own here, so a second call with the same id is refused the same way. Whether an id
    is "the same update" over time is decided where updates arrive (`receive`) and by `prune`, both on the
    product's clock; here a row that exists is always an earlier handling of this update."""
    if update_id is None:
        return True
    table = InboxUpdate.__table__
    moved = session.connection().execute(_CLAIM, {"claimed_update": update_id, "claimed_at": utcnow()})
    if moved.rowcount == 1:
        return True
    if session.execute(select(table.c.id).where(table.c.update_id == update_id)).first() is not None:
        return False
    # done at once: nothing for a worker to hand over (its payload is not stored), only the id to remember
    inserted = session.execute(_insert(session).values(
        update_id=update_id, lane=-1, payload={}, fingerprint="", status=DONE, received_at=now or utcnow(),
        attempts=1, applied_at=utcnow(), finished_at=utcnow()).on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.id))
    return inserted.first() is not None


def claim_next(session: Session, owner: int, lease: dt.timedelta, limit: int = 1,
               live_owners: Iterable[int] | None = None) -> list[Claimed]:
    """Lease the next claimable rows: open (pending, or applied and never confirmed as replied), not
    leased by a live worker, not backing off, and first of their lane among the open rows; of those, the
    higher priority first, then the earlier.

    `live_owners`, on PostgreSQL, are the workers whose process still holds its presence lock: a lease
    of any other owner died with its process and is taken over at once rather than when it runs out."""
    now = utcnow()
    inbox = InboxUpdate.__table__
    earlier = aliased(InboxUpdate)
    lease_free = or_(inbox.c.lease_until.is_(None), inbox.c.lease_until < now)
    if live_owners is not None:
        # `live_owners` is read every few seconds, so a process that started since is missing from it; its
        # lease is taken over only if its presence lock is not held at this moment either (a second handling
        # of a live process's update would show its screen again out of order)
        absent = text(f"inbox.lease_owner NOT IN (SELECT objid::bigint FROM ({PRESENCE_HELD}) AS held)"
                      ).bindparams(ns=NAMESPACE)
        dead = inbox.c.lease_owner.not_in(list(live_owners) or [-1])
        if session.get_bind().dialect.name == "postgresql":
            dead = and_(dead, absent)
        lease_free = or_(lease_free, dead)
    blocked = exists().where(col(earlier.lane) == inbox.c.lane, col(earlier.id) < inbox.c.id,
                             col(earlier.status).in_(OPEN))
    stmt = (select(inbox.c.id, inbox.c.update_id, inbox.c.payload, inbox.c.status, inbox.c.attempts)
            .where(inbox.c.status.in_(OPEN), lease_free,
                   or_(inbox.c.not_before.is_(None), inbox.c.not_before <= now), ~blocked)
            .order_by(inbox.c.priority.desc(), inbox.c.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=inbox)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    session.execute(update(inbox).where(inbox.c.id.in_([r.id for r in rows]))
                    .values(lease_owner=owner, lease_until=now + lease, attempts=inbox.c.attempts + 1))
    return [Claimed(r.id, r.update_id, dict(r.payload or {}), r.status, r.attempts + 1) for r in rows]


def _leased_by(inbox: Any, owner: int | None) -> Any:
    """`owner` None: the single process that holds no leases (SQLite) — its rows are its own."""
    return inbox.c.lease_owner.is_(None) if owner is None else inbox.c.lease_owner == owner


def finish(session: Session, owner: int | None, ids: Sequence[int]) -> None:
    """Handled and answered (or ignored, or failed for good): the lane moves on."""
    if not ids:
        return
    inbox = InboxUpdate.__table__
    session.execute(update(inbox).where(inbox.c.id.in_(list(ids)), _leased_by(inbox, owner))
                    .values(status=DONE, finished_at=utcnow(), lease_owner=None, lease_until=None))


def retry_later(session: Session, owner: int | None, row_id: int, wait: dt.timedelta, error: str) -> None:
    """A failure that was not the user's doing: the row keeps its status (pending stays pending; applied
    stays applied, to be shown again) and is claimable again after `wait`. The lane waits with it."""
    inbox = InboxUpdate.__table__
    session.execute(update(inbox).where(inbox.c.id == row_id, _leased_by(inbox, owner))
                    .values(lease_owner=None, lease_until=None, not_before=utcnow() + wait, error=error[:500]))


def give_up(session: Session, owner: int | None, row_id: int, error: str) -> str | None:
    """A failure that retrying cannot cure (the user was told "internal error"): a pending row is done; an
    applied one (the answer was committed, the reply was not shown) stays open to be shown once more.
    Returns the row's status now (None: not this owner's row)."""
    inbox = InboxUpdate.__table__
    return session.execute(update(inbox).where(inbox.c.id == row_id, _leased_by(inbox, owner))
                           .values(status=_done_unless_applied(inbox), lease_owner=None, lease_until=None,
                                   error=error[:500], finished_at=utcnow())
                           .returning(inbox.c.status)).scalar()


def _done_unless_applied(inbox: Any) -> Any:
    return case((inbox.c.status == APPLIED, APPLIED), else_=DONE)


def renew(session: Session, owner: int, lease: dt.timedelta) -> int:
    """Heartbeat: a live worker's leases do not run out while it is still working on them."""
    inbox = InboxUpdate.__table__
    result = session.execute(update(inbox).where(inbox.c.lease_owner == owner, inbox.c.status.in_(OPEN))
                             .values(lease_until=utcnow() + lease))
    return result.rowcount or 0


def release_all(session: Session) -> int:
    """Single-process start (SQLite, whose file lock we hold): every lease left belongs to a dead process."""
    inbox = InboxUpdate.__table__
    result = session.execute(update(inbox).where(inbox.c.lease_owner.is_not(None))
                             .values(lease_owner=None, lease_until=None))
    return result.rowcount or 0


def prune(session: Session, now: dt.datetime, limit: int = 5000) -> int:
    """Finished rows older than the window: their ids may be reused by new updates."""
    inbox = InboxUpdate.__table__
    old = (select(inbox.c.id).where(inbox.c.status == DONE, inbox.c.received_at < now - WINDOW)
           .order_by(inbox.c.id).limit(limit))
    result = session.execute(delete(inbox).where(inbox.c.id.in_(old.scalar_subquery())))
    return result.rowcount or 0


def backlog(session: Session) -> int:
    inbox = InboxUpdate.__table__
    return len(session.execute(select(inbox.c.id).where(inbox.c.status.in_(OPEN))).all())


def state_of(session: Session, update_id: int) -> str | None:
    inbox = InboxUpdate.__table__
    return session.execute(select(inbox.c.status).where(inbox.c.update_id == update_id)).scalar()

