"""The composition root: settings, database, policies, calendar and wizard, and the three flows built
side by side — the researcher's (bot/flow.py), the officers' (bot/officer/) and the documents
(bot/officer/files.py) — with the router (bot/router.py) that the Telegram edge and the console share."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.actions import Act, Actions
from bot.config import Settings
from bot.flow import Flow
from bot.officer import DocumentFlow, OfficerFlow
from bot.publicity.wiring import publicity_for
from bot.reply import Reply
from bot.router import Router
from dialogs.policy import Policy, load_policies
from dialogs.screens import ScreenBuilder
from dialogs.wizard import Wizard
from scheduler.calendar import WorkCalendar
from scheduler.clocksync import ClockSync, install
from storage.db import create_schema, make_engine
from storage.models import Case, Draft


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    policies: dict[str, Policy]
    calendar: WorkCalendar
    actions: Actions
    flow: Flow
    officers: OfficerFlow
    documents: DocumentFlow
    router: Router


def build_runtime(settings: Settings | None = None, migrate: bool = True) -> Runtime:
    """`migrate` False: a flow process (bot/flowprocess.py), started by a process that already migrated."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url, settings.db_lock_timeout)
    if migrate:
        create_schema(engine)
    policies = load_policies()
    calendar = WorkCalendar()
    actions = Actions(engine, settings)
    wizard = Wizard(policies, calendar, settings.today)
    officers = OfficerFlow(policies, calendar, settings)
    documents = DocumentFlow(engine, policies, calendar, settings, ScreenBuilder(wizard))

    def on_submitted(act: Act, draft: Draft, reply: Reply) -> Reply:
        """In the submission's own transaction: the case gets its registry unit (the one picked, or the one
        proposed), the first role to act is told, and the .docx goes along."""
        case = act.session.get(Case, draft.case_id) if draft.case_id else None
        if case is not None:
            officers.units.settle_case(act.session, case)
            officers.announce_new_case(act.session, case)
        return documents.with_application(act.session, draft, act.lang, reply)

    flow = Flow(engine, policies, wizard, settings, on_submitted)
    router = Router(actions, flow, officers, documents, publicity_for(policies, calendar, settings, officers))
    # clock rows are refreshed in the transaction that changes a case or a draft (scheduler/clocksync.py)
    from bot.alerts import reminder_engine

    install(engine, ClockSync(reminder_engine(policies, calendar, settings, officers), settings.now))
    return Runtime(settings, engine, policies, calendar, actions, flow, officers, documents, router)
