"""Reminders and officer alerts, driven by a periodic scan of the clocks table.

Why a scan and not one APScheduler job per reminder: due dates move (pauses, the extension, a holiday
year loaded later), PTB's jobs cannot be pickled into a job store, and APScheduler advances a job
before it runs, so a crash mid-run would lose it. Here the clocks table is recomputed from events in the
transaction that writes them (scheduler/clocksync.py: no high-water mark that a commit out of order could
skip), each reminder is written to the outbox under a dedupe key in the same transaction that advances its
row, and the scan after a restart delivers whatever fell due meanwhile — once, marked late.

The scan and a handler acting on the same case serialise on the case row: the scan handles one owner (a
case or a draft) at a time and locks that row before its clock rows (`SELECT … FOR UPDATE` on
PostgreSQL; on SQLite every transaction holds the write lock from its BEGIN IMMEDIATE). Handlers take the
same locks in the same order (the case or draft row when they change it, then its clock rows), so the
two never deadlock, and the case's version column (storage/models.py) refuses an action decided on a
stale reading of the case.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from dialogs.answers import steps_for
from dialogs.policy import Nudge, Policy, TimeLimit
from dialogs.text import Join, Msg, msg
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events, clock_events_of, local_date, trail
from scheduler.clocks import Clock, ClockEvent, clock_for, clocks_for, left_text, rolled_text
from scheduler.points import (
    DEFAULT_PLAN,
    SHANGHAI,
    AlertPlan,
    Point,
    applicant_points,
    at_nine,
    next_working_nine,
    officer_points,
)
from storage.casework import CaseEvent
from storage.clocktable import ClockRow, SchedulerState
from storage.models import Case, Draft, utcnow

log = logging.getLogger(__name__)
LATE_AFTER = dt.timedelta(minutes=10)
SILENCE = dt.timedelta(days=3)
FILING_LEFTS = (5, 2, 1)
APPLICANT_LEFTS = (2,)
CLOSED_DRAFT = {"submitted", "deleted"}
DIGEST_AT = dt.time(9, 0)
_ROWS = "clock_rows_read"  # Session.info: the clock rows read in this transaction, by owner
Owner = tuple[str, int]  # ("case" | "draft", id)


class Hooks(Protocol):
    """What the engine needs from the bot: who the officers of a case are, and a way to queue a message."""

    def send(self, session: Session, chat_id: int, text: Msg, dedupe_key: str, case_id: int | None) -> None: ...
    def clock_expired(self, session: Session, case: Case, limit: TimeLimit, now: dt.datetime) -> str: ...
    def staff_for(self, session: Session, case: Case) -> list[int]: ...
    def staff_of_policy(self, session: Session, policy_key: str) -> list[int]: ...
    def admins(self) -> list[int]: ...


@dataclass
class TickReport:
    refreshed: int = 0
    fired: int = 0
    late: int = 0
    moved: int = 0
    messages: list[str] = field(default_factory=list)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_rows(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_ROWS, None)


def _touched(session: Session, row: ClockRow) -> None:
    """`updated_at` says when the row last changed. Stamped on every refresh, it made an UPDATE of the clock
    row with every answer of a draft (the silence reminder's next firing moves only once a day): a statement
    a typed answer did not need, inside SQLite's one write lock (docs/BENCHMARKS.md, statements per update)."""
    if row.id is None or session.is_modified(row):
        row.updated_at = utcnow()


def _locked(session: Session, model: type[Any], ident: int) -> Any:
    """The row, read afresh and locked for this transaction (a no-op lock on SQLite, where the whole
    transaction already holds the write lock)."""
    return session.get(model, ident, with_for_update=True, populate_existing=True)


# Built once: every draft answer refreshes its clocks through it. Built per call the statement cost about
# 0.35 ms of a 4-5 ms flow transaction, inside SQLite's one write lock (docs/BENCHMARKS.md).
_CLOCK_ROWS = select(ClockRow).where(ClockRow.scope == bindparam("scope"), ClockRow.owner_id == bindparam("owner"))


class ReminderEngine:
    def __init__(self, policies: dict[str, Policy], calendar: WorkCalendar, hooks: Hooks,
                 plan: AlertPlan = DEFAULT_PLAN) -> None:
        self.policies = policies
        self.calendar = calendar
        self.hooks = hooks
        self.plan = plan
        self._years_told: set[int] = set()

    # -- remembered facts -------------------------------------------------------------------------
    @staticmethod
    def _state(session: Session, name: str) -> SchedulerState:
        state = session.get(SchedulerState, name)
        if state is None:
            state = SchedulerState(name=name, value="")
            session.add(state)
        return state

    def _calendar_signature(self, today: dt.date) -> str:
        return ",".join(f"{y}:{self.calendar.year_status(y)}" for y in range(today.year - 1, today.year + 3))

    # -- the scan -------------------------------------------------------------------------------
    def tick(self, session: Session, now: dt.datetime) -> TickReport:
        """The whole scan in the caller's transaction: the calendar first (a clock recomputed for another
        reason must not hide that its date moved), then every reminder that has fallen due. The running
        bot does the same one owner per transaction (bot/alerts.py), so a handler waits for one case at most."""
        report = TickReport()
        self.refresh_calendar(session, now, report)
        self.alert_unknown_years(session)
        for owner in self.due_owners(session, now):
            self.fire_owner(session, owner, now, report)
        return report

    def due_owners(self, session: Session, now: dt.datetime, limit: int = 500) -> list[Owner]:
        """Cases and drafts with a reminder due, read without locks (each is locked when it is handled)."""
        stmt = (select(ClockRow.scope, ClockRow.owner_id)
                .where(col(ClockRow.next_fire_at).is_not(None), col(ClockRow.next_fire_at) <= now)
                .order_by(col(ClockRow.next_fire_at)).limit(limit))
        seen: dict[Owner, None] = {}
        for scope, owner_id in session.exec(stmt).all():
            seen.setdefault((scope, owner_id), None)
        return list(seen)

    def fire_owner(self, session: Session, owner: Owner, now: dt.datetime, report: TickReport) -> None:
        """Send what is due on one case or draft: its row is locked first, then its clock rows, the order
        a handler changing it takes them in."""
        scope, owner_id = owner
        _locked(session, Case if scope == "case" else Draft, owner_id)
        stmt = (select(ClockRow).where(ClockRow.scope == scope, ClockRow.owner_id == owner_id,
                                       col(ClockRow.next_fire_at).is_not(None), col(ClockRow.next_fire_at) <= now)
                .order_by(col(ClockRow.next_fire_at)).with_for_update()
                .execution_options(populate_existing=True))
        for row in session.exec(stmt).all():
            self._fire_row(session, row, now, report)
        session.flush()

    def refresh_calendar(self, session: Session, now: dt.datetime, report: TickReport) -> None:
        """A holiday year loaded later: recompute provisional clocks and tell people whose date moved."""
        state = self._state(session, "calendar")
        signature = self._calendar_signature(local_date(now))
        if state.value == signature:
            return
        first_run = state.value == ""
        state.value = signature
        if first_run:
            return
        for row in session.exec(select(ClockRow).where(col(ClockRow.provisional).is_(True))).all():
            old_due = row.due_date
            if row.scope == "case":
                case = session.get(Case, row.owner_id)
                if case is not None:
                    self.refresh_case(session, case, now)
            else:
                draft = session.get(Draft, row.owner_id)
                if draft is not None:
                    self.refresh_draft(session, draft, now)
            if old_due is not None and row.due_date is not None and row.due_date != old_due:
                report.moved += 1
                self._tell_moved(session, row, old_due)

    def _tell_moved(self, session: Session, row: ClockRow, old_due: dt.date) -> None:
        policy = self.policies[row.policy_key]
        limit = policy.time_limit(row.limit_id)
        text = msg("rem.moved", label=limit.label, clause=limit.clause, old=old_due.isoformat(),
                   new=(row.due_date or old_due).isoformat())
        key = f"moved:{row.scope}:{row.owner_id}:{row.limit_id}:{old_due}:{row.due_date}"
        for chat_id in self._recipients(session, row):
            self.hooks.send(session, chat_id, text, f"{key}:{chat_id}", row.owner_id if row.scope == "case" else None)

    def alert_unknown_years(self, session: Session) -> None:
        """Admins hear once of a year the calendar does not know, from whichever process met it first
        (clock rows are computed by every process; the outbox's dedupe key keeps it to one message)."""
        for year in sorted(set(self.calendar.unknown_years_seen()) - self._years_told):
            for admin in self.hooks.admins():
                self.hooks.send(session, admin, msg("rem.unknown_year", year=year), f"unknown-year:{year}:{admin}",
                                None)
            self._years_told.add(year)

    # -- recomputing rows ---------------------------------------------------------------------
    def refresh_case(self, session: Session, case: Case, now: dt.datetime) -> None:
        policy = self.policies.get(case.policy_key)
        if policy is None:
            return
        rows = trail(session, case.id or 0)
        events = clock_events_of(rows)
        self._refresh_nudges(session, case, policy, rows, now)
        for clock in clocks_for(policy, events, self.calendar, local_date(now)):
            if clock.status == "not_started":
                continue
            audience = "applicant" if clock.limit.party == "applicant" else "officer"
            self._upsert(session, "case", case.id or 0, clock, audience,
                         case.applicant_id if audience == "applicant" else None, policy.key, now)

    def _refresh_nudges(self, session: Session, case: Case, policy: Policy, rows: list[CaseEvent],
                        now: dt.datetime) -> None:
        """What the applicant owes (requested material, the report) runs as a clock without a due date."""
        for nudge in policy.procedure.nudges if policy.procedure else []:
            start: dt.datetime | None = None
            if nudge.after_action is not None:
                asked = [e for e in rows if e.action == nudge.after_action]
                if asked and not any(e.action == nudge.until_action and (e.id or 0) > (asked[-1].id or 0)
                                     for e in rows):
                    start = asked[-1].at
            elif case.state == nudge.in_state:
                entered = [e for e in rows if e.state_after == nudge.in_state and e.state_before != nudge.in_state]
                start = entered[-1].at if entered else None
            limit_id = f"_nudge:{nudge.id}"
            row = self._row(session, "case", case.id or 0, limit_id)
            if start is None:
                if row is not None:
                    row.status, row.next_fire_at = "stopped", None
                continue
            if row is None:
                row = self._add(session, ClockRow(scope="case", owner_id=case.id or 0, limit_id=limit_id,
                                                  audience="applicant", policy_key=policy.key, working=False,
                                                  status="running"))
            row.recipient_id = case.applicant_id
            row.status, row.started_on, row.due_date, row.provisional = "running", local_date(start), None, False
            row.next_fire_at = self._next_fire(row, now)
            _touched(session, row)

    def _nudge(self, row: ClockRow) -> Nudge | None:
        policy = self.policies.get(row.policy_key)
        nudge_id = row.limit_id.removeprefix("_nudge:")
        if policy is None or policy.procedure is None:
            return None
        return next((n for n in policy.procedure.nudges if n.id == nudge_id), None)

    def refresh_draft(self, session: Session, draft: Draft, now: dt.datetime) -> None:
        policy = self.policies.get(draft.policy_key or "")
        closed = draft.status in CLOSED_DRAFT or policy is None
        origin = policy.origin(str(draft.answers.get("origin", ""))) if policy else None
        start = draft.answers.get("start_date")
        if policy is not None and origin is not None and origin.filing_limit and isinstance(start, str):
            limit = policy.time_limit(origin.filing_limit)
            events = [ClockEvent(limit.starts_on, dt.date.fromisoformat(start))]
            if closed:
                events.append(ClockEvent(limit.ends_on[0], local_date(draft.updated_at)))
            clock = clock_for(limit, events, self.calendar, local_date(now))
            self._upsert(session, "draft", draft.id or 0, clock, "applicant", draft.user_id, policy.key, now)
        else:
            self._stop(session, "draft", draft.id or 0, "filing")
        self._silence_row(session, draft, closed, now)

    def _silence_row(self, session: Session, draft: Draft, closed: bool, now: dt.datetime) -> None:
        row = self._row(session, "draft", draft.id or 0, "_silence")
        if closed or draft.state in ("submitted", "barred"):
            if row is not None:
                row.status, row.next_fire_at = "stopped", None
            return
        if row is None:
            row = self._add(session, ClockRow(scope="draft", owner_id=draft.id or 0, limit_id="_silence",
                                              audience="applicant", recipient_id=draft.user_id,
                                              policy_key=draft.policy_key or "", working=False, status="running"))
        changed = draft.updated_at or now
        row.status = "running"
        row.policy_key = draft.policy_key or ""
        row.started_on = local_date(changed)
        row.due_date = None
        fire = next_working_nine(self.calendar, changed + SILENCE)
        fired = row.fired_through
        row.next_fire_at = None if fired is not None and fired >= fire else fire
        _touched(session, row)

    @staticmethod
    def _rows(session: Session, scope: str, owner_id: int) -> dict[str, ClockRow]:
        """All clock rows of one case or draft, read once per transaction (a refresh looks at each)."""
        cache: dict[tuple[str, int], dict[str, ClockRow]] = session.info.setdefault(_ROWS, {})
        if (scope, owner_id) not in cache:
            cache[(scope, owner_id)] = {r.limit_id: r for r in session.execute(
                _CLOCK_ROWS, {"scope": scope, "owner": owner_id}).scalars()}
        return cache[(scope, owner_id)]

    def _row(self, session: Session, scope: str, owner_id: int, limit_id: str) -> ClockRow | None:
        return self._rows(session, scope, owner_id).get(limit_id)

    def _add(self, session: Session, row: ClockRow) -> ClockRow:
        session.add(row)
        self._rows(session, row.scope, row.owner_id)[row.limit_id] = row
        return row

    def _stop(self, session: Session, scope: str, owner_id: int, limit_id: str) -> None:
        row = self._row(session, scope, owner_id, limit_id)
        if row is not None:
            row.status, row.next_fire_at = "stopped", None

    def _upsert(self, session: Session, scope: str, owner_id: int, clock: Clock, audience: str,
                recipient: int | None, policy_key: str, now: dt.datetime) -> None:
        row = self._row(session, scope, owner_id, clock.limit.id)
        if row is None:
            row = self._add(session, ClockRow(scope=scope, owner_id=owner_id, limit_id=clock.limit.id,
                                              audience=audience, policy_key=policy_key, status=clock.status))
        row.audience, row.recipient_id, row.working = audience, recipient, clock.working
        row.status = clock.status
        row.started_on = clock.started_on
        row.due_date = clock.due.date if clock.due else None
        row.provisional = clock.provisional
        row.next_fire_at = self._next_fire(row, now)
        _touched(session, row)

    # -- points and firing ----------------------------------------------------------------------
    def _points(self, row: ClockRow, now: dt.datetime) -> list[Point]:
        if row.limit_id == "_silence":
            fire = row.next_fire_at
            return [Point("silence", fire or now, False, 0)] if fire else []
        if row.limit_id.startswith("_nudge:"):
            nudge = self._nudge(row)
            if nudge is None or row.status != "running" or row.started_on is None:
                return []
            points = []
            day = row.started_on + dt.timedelta(days=nudge.first_after_days)
            horizon = local_date(now) + dt.timedelta(days=nudge.every_days + 1)
            fired = row.fired_through
            # up to the horizon, and always the next one not yet sent: a row refreshed long before its first
            # nudge (in the transaction of the request) must still know when that nudge is due
            while day <= horizon or not points or (fired is not None and points[-1].fire_at <= fired):
                points.append(Point(f"nudge_{day.isoformat()}", next_working_nine(self.calendar, at_nine(day)),
                                    False, 0))
                day += dt.timedelta(days=nudge.every_days)
            return points
        if row.status != "running" or row.due_date is None or row.started_on is None:
            return []
        if row.audience == "applicant":
            lefts = FILING_LEFTS if row.scope == "draft" else APPLICANT_LEFTS
            return applicant_points(self.calendar, row.due_date, lefts) if row.working else \
                [Point("last_day", dt.datetime.combine(row.due_date, dt.time(9), SHANGHAI), True, 0)]
        until = local_date(now) + dt.timedelta(days=2)
        return officer_points(self.calendar, row.started_on, row.due_date, row.working, until, self.plan)

    def _next_fire(self, row: ClockRow, now: dt.datetime) -> dt.datetime | None:
        fired = row.fired_through
        pending = [p for p in self._points(row, now) if fired is None or p.fire_at > fired]
        return min((p.fire_at for p in pending), default=None)

    def _fire_row(self, session: Session, row: ClockRow, now: dt.datetime, report: TickReport) -> None:
        fired = row.fired_through
        due_points = [p for p in self._points(row, now) if p.fire_at <= now and (fired is None or p.fire_at > fired)]
        if due_points and self._expired(session, row, due_points, now, report):
            return
        if due_points:
            latest = max(due_points, key=lambda p: p.fire_at)
            late = now - latest.fire_at > LATE_AFTER
            self._send_point(session, row, latest, late)
            report.fired += 1
            report.late += int(late)
            report.messages.append(f"{row.scope}:{row.owner_id}:{row.limit_id}:{latest.name}")
        row.fired_through = now
        row.next_fire_at = self._next_fire(row, now)

    def _expired(self, session: Session, row: ClockRow, due_points: list[Point], now: dt.datetime,
                 report: TickReport) -> bool:
        """A clock whose policy declares what happens when it runs out (Zhejiang's publicity): the first
        time it is overdue, the system takes that action, or alerts the officers when one of them must."""
        if row.scope != "case" or not any(p.name == "overdue" for p in due_points):
            return False
        limit = self.policies[row.policy_key].time_limit(row.limit_id)
        case = session.get(Case, row.owner_id)  # locked by fire_owner, read afresh in this transaction
        if limit.on_expiry is None or case is None:
            return False
        outcome = self.hooks.clock_expired(session, case, limit, now)
        report.messages.append(f"expiry:{case.number}:{limit.id}:{outcome}")
        if outcome == "done":
            self.refresh_case(session, case, now)
            row.fired_through = now
            return True
        if outcome == "needs_officer":
            text = msg("rem.expiry_needs_officer", subject=case.number, policy=self.policies[row.policy_key].short_name,
                       label=limit.label, clause=limit.clause, due=row.due_date.isoformat() if row.due_date else "—")
            for chat_id in self._recipients(session, row):
                self.hooks.send(session, chat_id, text, f"expiry:{case.id}:{limit.id}:{row.due_date}:{chat_id}",
                                case.id)
            row.fired_through = now
            row.next_fire_at = self._next_fire(row, now)
            report.fired += 1
            return True
        return False

    def _recipients(self, session: Session, row: ClockRow) -> list[int]:
        if row.audience == "applicant":
            return [row.recipient_id] if row.recipient_id else []
        case = session.get(Case, row.owner_id) if row.scope == "case" else None
        return self.hooks.staff_for(session, case) if case is not None else []

    def _send_point(self, session: Session, row: ClockRow, point: Point, late: bool) -> None:
        policy = self.policies[row.policy_key] if row.policy_key in self.policies else None
        if row.limit_id == "_silence":
            draft = session.get(Draft, row.owner_id)
            if draft is None:
                return
            steps = steps_for(policy)
            step_no = steps.index(draft.state) + 1 if draft.state in steps else len(steps)
            text = msg("rem.silence", draft=draft.id, step=msg(f"step.{draft.state}"), n=step_no, total=len(steps),
                       policy=policy.short_name if policy else msg("bot.drafts.no_policy"))
            key = f"silence:{draft.id}:{row.started_on}:{point.fire_at.isoformat()}"
        elif row.limit_id.startswith("_nudge:"):
            nudge, case = self._nudge(row), session.get(Case, row.owner_id)
            if nudge is None or case is None or policy is None:
                return
            text = msg("rem.nudge", subject=case.number, policy=policy.short_name, label=nudge.label,
                       clause=nudge.clause, since=(row.started_on or local_date(point.fire_at)).isoformat())
            key = f"nudge:{case.id}:{nudge.id}:{row.started_on}:{point.name}"
        else:
            assert policy is not None
            limit = policy.time_limit(row.limit_id)
            case = session.get(Case, row.owner_id) if row.scope == "case" else None
            subject = case.number if case is not None else msg("rem.draft_subject", id=row.owner_id)
            unit = msg("rem.unit_wd") if row.working else msg("rem.unit_days")
            left = (self.calendar.working_days_between(local_date(point.fire_at), row.due_date) if row.working
                    else (row.due_date - local_date(point.fire_at)).days) if row.due_date else 0
            if row.audience == "applicant":
                kind = "last_day" if point.name == "last_day" else "left"
            else:
                kind = "overdue" if point.name.startswith("overdue") else \
                    "left" if point.name.startswith("left") else point.name
            text = msg(f"rem.{row.audience}.{kind}",
                       subject=subject, policy=policy.short_name, label=limit.label, clause=limit.clause,
                       due=row.due_date.isoformat() if row.due_date else "—", left=left, unit=unit,
                       overdue=-(left) if left < 0 else 0, left_text=left_text(left, row.working))
            key = f"{row.scope}:{row.owner_id}:{row.limit_id}:{row.due_date}:{point.name}"
            rolled = self._rolled(session, row, limit, case)
            if rolled is not None:
                text = msg("cal.with_note", text=text, note=rolled)
        if row.provisional:
            text = msg("rem.with_provisional", text=text)
        if late:
            text = msg("rem.with_late", text=text,
                       when=point.fire_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
        for chat_id in self._recipients(session, row):
            self.hooks.send(session, chat_id, text, f"{key}:{chat_id}", row.owner_id if row.scope == "case" else None)

    def _rolled(self, session: Session, row: ClockRow, limit: TimeLimit, case: Case | None) -> Msg | None:
        """The 第二百零三条 note when a calendar-day clock's last day was moved; recomputed from the case's
        events because the clocks table keeps only the due date."""
        if row.working or case is None or row.started_on is None:
            return None
        clock = clock_for(limit, case_clock_events(session, case), self.calendar, row.started_on)
        return rolled_text(clock.due) if clock.due and clock.due.date == row.due_date else None

    # -- the 09:00 digest and the December reminder ------------------------------------------
    def digest_due(self, session: Session, now: dt.datetime) -> bool:
        """Whether today's 09:00 digest is still owed: a working day, past 09:00, and not sent yet — so a
        bot that was down at 09:00 sends it when it starts later that day, and only once."""
        local = now.astimezone(SHANGHAI)
        return (self.calendar.is_workday(local.date()) and local.time() >= DIGEST_AT
                and session.get(SchedulerState, f"digest:{local.date().isoformat()}") is None)

    def digest(self, session: Session, now: dt.datetime, horizon_working_days: int = 3) -> int:
        """One message per officer listing what falls due within the horizon, and what is overdue; at
        most once a day (the day's record is written in the same transaction as the messages)."""
        today = local_date(now)
        if not self.calendar.is_workday(today):
            return 0
        if session.get(SchedulerState, f"digest:{today.isoformat()}") is not None:
            return 0
        session.add(SchedulerState(name=f"digest:{today.isoformat()}", value=utcnow().isoformat()))
        try:
            session.flush()
        except IntegrityError:  # another scheduler wrote it first (a leader taking over mid-run)
            raise DigestAlreadySent(today) from None
        limit_day = self.calendar.add_working_days(today, horizon_working_days).date
        rows = session.exec(select(ClockRow).where(ClockRow.scope == "case", ClockRow.audience == "officer",
                                                   ClockRow.status == "running",
                                                   col(ClockRow.due_date) <= limit_day)
                            .order_by(col(ClockRow.due_date))).all()
        per_officer: dict[int, list[Any]] = {}
        for row in rows:
            case = session.get(Case, row.owner_id)
            if case is None:
                continue
            limit = self.policies[row.policy_key].time_limit(row.limit_id)
            line = msg("rem.digest.item", subject=case.number, label=limit.label, clause=limit.clause,
                       due=row.due_date.isoformat() if row.due_date else "—",
                       flag=msg("rem.digest.overdue") if row.due_date and row.due_date < today
                       else msg("rem.digest.provisional") if row.provisional else "")
            for officer in self.hooks.staff_for(session, case):
                per_officer.setdefault(officer, []).append(line)
        for officer, lines in per_officer.items():
            items = _join(lines)
            self.hooks.send(session, officer, msg("rem.digest", date=today.isoformat(), items=items),
                            f"digest:{officer}:{today}", None)
        return len(per_officer)

    def december(self, session: Session, now: dt.datetime) -> int:
        """Yunnan 第十一条: reports are compiled by 31 December; remind its officers in early December."""
        today = local_date(now)
        if today.month != 12 or "yunnan" not in self.policies or not self.calendar.is_workday(today):
            return 0
        sent = 0
        for officer in self.hooks.staff_of_policy(session, "yunnan"):
            self.hooks.send(session, officer, msg("rem.yunnan_december", year=today.year),
                            f"yunnan-december:{today.year}:{officer}", None)
            sent += 1
        return sent


class DigestAlreadySent(RuntimeError):
    """Today's digest was recorded by another transaction; this one must roll back."""


def _join(lines: Iterable[Any]) -> Join:
    return Join(tuple(lines), "\n")
