"""The composition root: one place wires settings, database, policies, calendar, wizard and flow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.document_flow import DocumentFlow
from bot.flow import Flow
from bot.officer_flow import OfficerFlow
from dialogs.policy import Policy, load_policies
from dialogs.wizard import Wizard
from scheduler.calendar import WorkCalendar
from scheduler.clocksync import ClockSync, install
from storage.db import create_schema, make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    policies: dict[str, Policy]
    calendar: WorkCalendar
    flow: Flow


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, settings.db_lock_timeout)
    create_schema(engine)
    policies = load_policies()
    calendar = WorkCalendar()
    wizard = Wizard(policies, calendar, settings.today)
    flow = Flow(engine, policies, wizard, settings)
    flow.casework = OfficerFlow(engine, policies, calendar, settings)
    flow.documents = DocumentFlow(engine, policies, calendar, settings, flow.screens)
    # clock rows are refreshed in the transaction that changes a case or a draft (scheduler/clocksync.py)
    from bot.alerts import reminder_engine

    install(engine, ClockSync(reminder_engine(policies, calendar, settings, flow.casework), settings.now))
    return Runtime(settings, engine, policies, calendar, flow)
