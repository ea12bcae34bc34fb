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
    engine = make_engine(settings.database_url)
    create_schema(engine)
    policies = load_policies()
    calendar = WorkCalendar()
    wizard = Wizard(policies, calendar, settings.today)
    flow = Flow(engine, policies, wizard, settings)
    flow.casework = OfficerFlow(engine, policies, calendar, settings)
    flow.documents = DocumentFlow(engine, policies, calendar, settings, flow.screens)
    return Runtime(settings, engine, policies, calendar, flow)
