"""Reminders and alerts in the running bot: APScheduler wakes the reminder scan, the 09:00 digest and
the December reminder; messages go out through the outbox like every other notification.

The scheduler holds no state worth persisting (the clocks table is the state), so its in-memory job
store is the right one: after a restart the scan runs at once and sends, late and once, whatever fell
due while the bot was down, and a digest missed while the bot was down is sent when it starts later that
day (once: the day's record is written with the messages). Job options: stable ids, replace_existing, no
misfire grace limit (a late scan must still run), coalesce (one run for many missed), one instance at a
time. Exactly one process runs this (bot/services.py elects it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from concurrent.futures import Executor
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from bot.config import SHANGHAI, Settings
from bot.i18n import normalise_language, render
from bot.officer import OfficerFlow
from dialogs.policy import Policy, TimeLimit
from dialogs.text import Msg
from scheduler.calendar import WorkCalendar
from scheduler.points import AlertPlan
from scheduler.reminders import DigestAlreadySent, ReminderEngine, TickReport
from storage import caserepo
from storage.db import session_scope
from storage.models import Case, User

log = logging.getLogger(__name__)
STAFF_ROLES = {"officer", "unit_reviewer", "determination_group"}


class OutboxHooks:
    """Renders each reminder in its recipient's language and queues it in the outbox."""

    def __init__(self, settings: Settings, casework: OfficerFlow | None = None) -> None:
        self.settings = settings
        self.casework = casework

    def clock_expired(self, session: Session, case: Case, limit: TimeLimit, now: dt.datetime) -> str:
        if self.casework is None:
            return "refused"
        return self.casework.on_clock_expired(session, case, limit, now)

    def send(self, session: Session, chat_id: int, text: Msg, dedupe_key: str, case_id: int | None) -> None:
        user = session.get(User, chat_id)
        lang = (user.language if user and user.language else
                normalise_language(self.settings.default_language))
        caserepo.enqueue(session, chat_id, text.key, {}, render(text, lang), dedupe_key, case_id)

    def staff_for(self, session: Session, case: Case) -> list[int]:
        """Those who can act on the case now (bot/officer/routing.py) — never the applicant themself, and
        never a unit reviewer whose part is done."""
        if self.casework is not None:
            return self.casework.alert_recipients(session, case)
        ids = {m.user_id for m in caserepo.members_for_case(session, case, STAFF_ROLES)}
        ids.discard(case.applicant_id)
        return sorted(ids)

    def staff_of_policy(self, session: Session, policy_key: str) -> list[int]:
        return sorted({m.user_id for m in caserepo.all_memberships(session)
                       if m.policy_key == policy_key and m.role == "officer"})

    def admins(self) -> list[int]:
        return list(self.settings.admin_ids)


def reminder_engine(policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings,
                    casework: OfficerFlow | None = None) -> ReminderEngine:
    return ReminderEngine(policies, calendar, OutboxHooks(settings, casework), AlertPlan.parse(settings.officer_alerts))


class ReminderService:
    """The scheduler's three jobs. The scan handles one case or draft per transaction, so a handler waiting
    for that row waits for one owner's reminders, not for the whole scan."""

    def __init__(self, engine: Engine, policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings,
                 casework: OfficerFlow | None = None, executor: Executor | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.reminders = reminder_engine(policies, calendar, settings, casework)
        self.scheduler: AsyncIOScheduler | None = None
        self.executor = executor
        self._lock = asyncio.Lock()

    def scan(self) -> TickReport:
        report = TickReport()
        now = self.settings.now()
        with session_scope(self.engine) as session:
            self.reminders.refresh_calendar(session, now, report)
            self.reminders.alert_unknown_years(session)
            owners = self.reminders.due_owners(session, now)
        for owner in owners:
            try:
                with session_scope(self.engine) as session:
                    self.reminders.fire_owner(session, owner, now, report)
            except StaleDataError:  # a handler changed this case meanwhile: its rows are fresh next time
                log.info("reminders of %s:%s deferred: changed by a concurrent action", *owner)
        if report.fired or report.moved:
            log.info("reminders: %s fired (%s late), %s moved", report.fired, report.late, report.moved)
        return report

    def digest(self) -> int:
        """The 09:00 digest; also run when the scheduler starts, so one missed while the bot was down (or
        while no process held the scheduler) is sent later that day — at most once a day."""
        now = self.settings.now()
        with session_scope(self.engine) as session:
            if not self.reminders.digest_due(session, now):
                return 0
        self.scan()
        try:
            with session_scope(self.engine) as session:
                return self.reminders.digest(session, now)
        except DigestAlreadySent:
            return 0

    def december(self) -> int:
        with session_scope(self.engine) as session:
            return self.reminders.december(session, self.settings.now())

    async def _run(self, job: str) -> None:
        async with self._lock:  # the scan and the digest never overlap
            try:
                await asyncio.get_running_loop().run_in_executor(self.executor, getattr(self, job))
            except DBAPIError as exc:
                log.warning("reminder job %s could not reach the database (%s); it runs again at its next time",
                            job, type(exc).__name__)
            except Exception:
                log.exception("reminder job %s failed; it runs again at its next time", job)

    def start(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        common: dict[str, Any] = {"replace_existing": True, "misfire_grace_time": None, "coalesce": True,
                                  "max_instances": 1}
        now = dt.datetime.now(SHANGHAI)
        scheduler.add_job(self._run, "interval", args=["scan"], id="reminder-scan",
                          seconds=self.settings.reminder_scan_seconds,
                          # the scheduler runs on real time even when NOW_OVERRIDE shifts the reminders' clock
                          next_run_time=now, **common)
        scheduler.add_job(self._run, "cron", args=["digest"], id="officer-digest", hour=9, minute=0, **common)
        # a digest missed while no scheduler ran: sent now if today's is still owed (digest() checks)
        scheduler.add_job(self._run, "date", args=["digest"], id="officer-digest-catch-up",
                          run_date=now + dt.timedelta(seconds=1), **common)
        scheduler.add_job(self._run, "cron", args=["december"], id="yunnan-december", month=12, hour=9, minute=5,
                          **common)
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

