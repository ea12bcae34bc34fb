"""What the reminders say about a calendar-day clock whose last day was moved (民法典 第二百零三条), and
that days left name their unit. Uses the controlled clock of tests/test_reminders.py."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from bot.alerts import OutboxHooks
from bot.config import Settings
from scheduler.calendar import WorkCalendar
from scheduler.reminders import ReminderEngine
from storage import caserepo
from storage.casework import Membership, Outbox
from storage.db import create_schema, make_engine
from storage.models import Case, User
from tests.test_reminders import ADMIN, APPLICANT, OFFICER, POLICIES, at, submitted_case, tick


@pytest.fixture()
def world(database_url, tmp_path):
    """The world of tests/test_reminders.py, with the officer also in Zhejiang."""
    engine = make_engine(database_url)
    create_schema(engine)
    calendar = WorkCalendar(tmp_path)
    reminders = ReminderEngine(POLICIES, calendar, OutboxHooks(Settings(database_url=database_url,
                                                                        admin_ids=[ADMIN], _env_file=None)))
    with Session(engine) as s:
        s.add(User(id=APPLICANT, first_name="研究员"))
        s.add(User(id=OFFICER, first_name="科员", language="en"))
        s.add(Membership(user_id=OFFICER, role="officer", policy_key="dongguan"))
        s.add(Membership(user_id=OFFICER, role="officer", policy_key="zhejiang"))
        s.commit()
    return engine, reminders, calendar, tmp_path


def _publicity_case(world, started: str) -> Case:
    with Session(world[0], expire_on_commit=False) as s:
        case = Case(number="ZJ-2026-0001", draft_id=1, applicant_id=APPLICANT, policy_key="zhejiang",
                    policy_version=1, answers={"project": {}})
        s.add(case)
        s.flush()
        caserepo.add_event(s, case.id, OFFICER, "officer", "publicity_start", "decided", "publicity",
                           event="publicity_started", at=at(started).astimezone(dt.UTC))
        s.commit()
        return case


def test_civil_code_203_note_in_the_officers_alert(world):
    # Zhejiang 三(五): 7 日 from 09-30 would end 10-07, the last day of National Day → due 10-08.
    _publicity_case(world, "2026-09-30T10:00")
    tick(world, "2026-09-30T11:00")
    sent = tick(world, "2026-10-08T09:00", "case:")
    assert sent and all(o.chat_id == OFFICER for o in sent)
    text = sent[-1].text
    assert "2026-10-08" in text and "2026-10-07" in text and "Civil Code Art. 203" in text
    assert "calendar days left" in text and "working days left" not in text  # the clock's own unit


def test_working_day_alerts_carry_no_roll_note(world):
    submitted_case(world, "2026-11-02T10:00")  # Dongguan acceptance, 10 working days → 11-16
    tick(world, "2026-11-02T11:00")
    [two] = tick(world, "2026-11-12T09:00")
    assert "2 working days left" in two.text and "203" not in two.text


def test_a_year_loaded_before_a_restart_moves_provisional_dates_and_tells_the_applicant(world):
    # Yunnan filing, 20 working days from 2026-12-15: 2027-01-13 provisional (元旦 already counted).
    from tests.test_reminders import authority_draft

    authority_draft(world, "2026-12-15", policy="yunnan", updated="2026-12-15T10:00")
    tick(world, "2026-12-16T10:00")
    (world[3] / "2027.yaml").write_text(
        "year: 2027\nsource: fictitious test arrangement\nholidays:\n  - 2027-01-01..2027-01-05\n"
        "makeup_workdays: []\n", encoding="utf-8")
    # a new process: it reads the holiday files when it starts; the scan's mark lives in the database
    restarted = ReminderEngine(POLICIES, WorkCalendar(world[3]), world[1].hooks)
    with Session(world[0]) as s:
        report = restarted.tick(s, at("2026-12-18T10:00"))
        s.commit()
        moved = [o for o in s.exec(select(Outbox)) if o.dedupe_key.startswith("moved:")]
    assert report.moved == 1 and [o.chat_id for o in moved] == [APPLICANT]
    assert "2027-01-13" in moved[0].text and "2027-01-15" in moved[0].text
