"""Clock rows refreshed with the events that move them, in the same transaction.

A scan that looks for "what changed since last time" needs a high-water mark, and a mark over ids or
timestamps skips a row committed out of order (PostgreSQL hands out ids at insert, not at commit): a
deadline could then run with no reminder at all. Instead, every transaction that appends to a case's audit
trail or changes a draft recomputes that case's or draft's clock rows just before it commits. The rows and
the change they follow from are committed together, or neither is.

It works through two SQLAlchemy session events, so no caller has to remember it: `before_flush` notes the
cases and drafts a transaction touched, `before_commit` refreshes their rows. It is installed per engine
(`install`), because only the composition root knows the policies and the calendar.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from scheduler.reminders import ReminderEngine
from storage.casework import CaseEvent
from storage.models import Case, Draft

_KEY = "clock_sync_dirty"
# what a draft's clocks are computed from: a change of only its screen message moves nothing
_DRAFT_FIELDS = ("updated_at", "status", "state", "answers", "policy_key")


class ClockSync:
    def __init__(self, reminders: ReminderEngine, now: Callable[[], dt.datetime]) -> None:
        self.reminders = reminders
        self.now = now

    def refresh(self, session: Session, cases: set[int], drafts: list[Draft]) -> None:
        now = self.now()
        for case_id in sorted(cases):
            case = session.get(Case, case_id)
            if case is not None:
                self.reminders.refresh_case(session, case, now)  # type: ignore[arg-type]
        for draft in drafts:
            if draft.id is not None:
                self.reminders.refresh_draft(session, draft, now)  # type: ignore[arg-type]
        self.reminders.alert_unknown_years(session)  # type: ignore[arg-type]


_installed: weakref.WeakKeyDictionary[Engine, ClockSync] = weakref.WeakKeyDictionary()


def install(engine: Engine, sync: ClockSync) -> ClockSync:
    """From now on every session on `engine` keeps the clock rows of what it changes up to date."""
    _installed[engine] = sync
    return sync


def uninstall(engine: Engine) -> None:
    _installed.pop(engine, None)


def _sync_of(session: Session) -> ClockSync | None:
    bind = session.bind
    engine = getattr(bind, "engine", bind)
    engine = getattr(engine, "_proxied", engine)  # engine.execution_options(...) proxies the engine installed
    return _installed.get(engine) if engine is not None else None  # type: ignore[arg-type]


def _dirty(session: Session) -> dict[str, Any]:
    return session.info.setdefault(_KEY, {"cases": set(), "drafts": {}})


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: object, _instances: object) -> None:
    if _sync_of(session) is None:
        return
    dirty = _dirty(session)
    for obj in session.new:
        if isinstance(obj, CaseEvent) and obj.case_id is not None and not obj.refused:
            dirty["cases"].add(obj.case_id)
        elif isinstance(obj, Draft):
            dirty["drafts"][id(obj)] = obj
    for obj in session.dirty:
        if isinstance(obj, Draft):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _DRAFT_FIELDS):
                dirty["drafts"][id(obj)] = obj


@event.listens_for(Session, "before_commit")
def _refresh_clocks(session: Session) -> None:
    sync = _sync_of(session)
    if sync is None:
        return
    session.flush()
    for _round in range(5):  # a refresh writes clock rows only, so one round settles it
        dirty = session.info.pop(_KEY, None)
        if not dirty or (not dirty["cases"] and not dirty["drafts"]):
            return
        sync.refresh(session, dirty["cases"], list(dirty["drafts"].values()))
        session.flush()


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
