"""Reminders and alerts under a controlled clock: the right moments, once each, late after downtime,
recomputed when a holiday year is loaded."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from bot.alerts import OutboxHooks
from bot.config import SHANGHAI, Settings
from dialogs.policy import load_policies
from scheduler.calendar import WorkCalendar
from scheduler.clocksync import ClockSync, install
from scheduler.reminders import ReminderEngine
from storage import caserepo
from storage.casework import Membership, Outbox
from storage.db import create_schema, make_engine
from storage.models import Case, Draft, User

POLICIES = load_policies()
APPLICANT, OFFICER, ADMIN = 100, 200, 300
CLOCK: list[dt.datetime] = []


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture()
def world(database_url, tmp_path):
    engine = make_engine(database_url)
    create_schema(engine)
    settings = Settings(database_url=database_url, admin_ids=[ADMIN], _env_file=None)
    calendar = WorkCalendar(tmp_path)
    reminders = ReminderEngine(POLICIES, calendar, OutboxHooks(settings))
    # clock rows follow every change in its own transaction, computed on the test's clock (the last tick)
    install(engine, ClockSync(reminders, lambda: CLOCK[-1]))
    CLOCK[:] = [at("2026-09-01T09:00")]
    with Session(engine) as s:
        s.add(User(id=APPLICANT, first_name="研究员"))
        s.add(User(id=OFFICER, first_name="科员", language="en"))
        s.add(Membership(user_id=OFFICER, role="officer", policy_key="dongguan"))
        s.commit()
    return engine, reminders, calendar, tmp_path


def tick(world, when: str, kind: str | None = None) -> list[Outbox]:
    """Run the scan at `when`; the new outbox rows (only those whose dedupe key starts with `kind`)."""
    engine, reminders = world[0], world[1]
    CLOCK.append(at(when))
    with Session(engine) as s:
        before = {o.id for o in s.exec(select(Outbox))}
        reminders.tick(s, at(when))
        s.commit()
        return [o for o in s.exec(select(Outbox).order_by(Outbox.id))
                if o.id not in before and (kind is None or o.dedupe_key.startswith(kind))]


def authority_draft(world, start: str, policy: str = "dongguan", updated: str = "2026-09-25T10:00") -> int:
    with Session(world[0]) as s:
        draft = Draft(user_id=APPLICANT, policy_key=policy, policy_version=1, state="conditions",
                      answers={"policy": policy, "origin": "authority", "start_date": start},
                      updated_at=at(updated).astimezone(dt.UTC))
        s.add(draft)
        s.commit()
        return draft.id


def test_filing_window_reminders_at_5_2_1_working_days_and_the_last_day(world):
    authority_draft(world, "2026-09-25")  # due 2026-10-15 (4(1)2), across National Day
    f = "draft:"
    assert tick(world, "2026-09-26T10:00", f) == []
    # 5 working days left on 10/9: 10/9, 10/10 (make-up Saturday), 10/12, 10/13, 10/14 remain before 10/15
    assert tick(world, "2026-10-09T08:59", f) == []
    [five] = tick(world, "2026-10-09T09:00", f)
    assert five.chat_id == APPLICANT and "2026-10-15" in five.text and "还剩 5 个工作日" in five.text
    assert "4(1)2" in five.text
    assert tick(world, "2026-10-09T12:00", f) == []  # never twice
    [two] = tick(world, "2026-10-13T09:00", f)
    assert "还剩 2 个工作日" in two.text
    [one] = tick(world, "2026-10-14T09:00", f)
    assert "还剩 1 个工作日" in one.text
    [last] = tick(world, "2026-10-15T09:00", f)
    assert "今天是最后一天" in last.text
    assert tick(world, "2026-10-20T09:00", f) == []


def test_submitting_stops_the_filing_reminders(world):
    draft_id = authority_draft(world, "2026-09-25")
    tick(world, "2026-09-26T10:00")
    with Session(world[0]) as s:
        draft = s.get(Draft, draft_id)
        draft.status, draft.state = "submitted", "submitted"
        draft.updated_at = at("2026-10-08T10:00").astimezone(dt.UTC)
        s.commit()
    assert tick(world, "2026-10-09T09:00", "draft:") == []
    assert tick(world, "2026-10-15T09:00", "draft:") == []


def test_after_downtime_only_the_latest_reminder_is_sent_once_and_says_it_is_late(world):
    authority_draft(world, "2026-09-25")
    tick(world, "2026-09-26T10:00")
    # the bot was down from 9/26 to 10/14 noon: 5-left and 2-left and 1-left all passed
    fresh = ReminderEngine(POLICIES, world[2], world[1].hooks)  # a new process after restart
    with Session(world[0]) as s:
        fresh.tick(s, at("2026-10-14T12:00"))
        s.commit()
        sent = [o for o in s.exec(select(Outbox)) if o.dedupe_key.startswith("draft:")]
        silence = [o for o in s.exec(select(Outbox)) if o.dedupe_key.startswith("silence:")]
    assert len(sent) == 1 and "还剩 1 个工作日" in sent[0].text and "延迟送达" in sent[0].text
    assert len(silence) == 1 and "延迟送达" in silence[0].text
    assert tick(world, "2026-10-14T12:01") == []


def test_three_days_of_silence_prompt_once(world):
    with Session(world[0]) as s:
        s.add(Draft(user_id=APPLICANT, policy_key="shanwei", policy_version=1, state="facts",
                    answers={"policy": "shanwei"}, updated_at=at("2026-11-02T15:00").astimezone(dt.UTC)))
        s.commit()
    assert tick(world, "2026-11-05T14:59") == []
    assert tick(world, "2026-11-05T15:30") == []  # three days passed, but it waits for 09:00 on a working day
    [prompt] = tick(world, "2026-11-06T09:00")
    assert "3 天没有更新" in prompt.text and "情况说明" in prompt.text
    assert tick(world, "2026-11-10T09:00") == []


def submitted_case(world, filed: str, policy: str = "dongguan") -> Case:
    with Session(world[0], expire_on_commit=False) as s:
        case = Case(number=f"DG-2026-{filed[5:7]}{filed[8:10]}", draft_id=1, applicant_id=APPLICANT,
                    policy_key=policy, policy_version=1, answers={"project": {}})
        s.add(case)
        s.flush()
        caserepo.add_event(s, case.id, APPLICANT, "applicant", "submit", None, "received",
                           event="application_filed", at=at(filed).astimezone(dt.UTC))
        s.commit()
        return case


def test_officer_alerts_half_time_two_left_due_today_overdue_then_daily(world):
    case = submitted_case(world, "2026-11-02T10:00")  # acceptance: 10 working days → 2026-11-16
    tick(world, "2026-11-02T11:00")
    [half] = tick(world, "2026-11-09T09:00")
    assert half.chat_id == OFFICER and "Half the time" in half.text and case.number in half.text
    [two] = tick(world, "2026-11-12T09:00")
    assert "2 working days left" in two.text and "2026-11-16" in two.text
    [today] = tick(world, "2026-11-16T09:00")
    assert "Due today" in today.text
    [overdue] = tick(world, "2026-11-17T00:00")
    assert "Overdue" in overdue.text and "overdue by 1 working day." in overdue.text
    [daily] = tick(world, "2026-11-18T09:00")
    assert "overdue by 2 working days" in daily.text
    assert all(o.chat_id != APPLICANT for o in [half, two, today, overdue, daily])
    with Session(world[0]) as s:  # the acceptance closes the clock: no more alerts
        caserepo.add_event(s, case.id, OFFICER, "officer", "accept", "received", "investigation",
                           event="accepted", at=at("2026-11-18T10:00").astimezone(dt.UTC))
        s.commit()
    assert tick(world, "2026-11-19T09:00") == []


def test_digest_lists_what_falls_due(world):
    submitted_case(world, "2026-11-02T10:00")
    tick(world, "2026-11-02T11:00")
    with Session(world[0]) as s:
        assert world[1].digest(s, at("2026-11-13T09:00")) == 1
        s.commit()
        [digest] = [o for o in s.exec(select(Outbox)) if o.dedupe_key.startswith("digest:")]
    assert digest.chat_id == OFFICER and "2026-11-16" in digest.text


def test_unknown_year_is_provisional_admins_told_once_and_a_loaded_year_moves_dates(world):
    authority_draft(world, "2026-12-15", policy="yunnan", updated="2026-12-15T10:00")  # 20 WD → into 2027
    tick(world, "2026-12-16T10:00")
    with Session(world[0]) as s:  # told in the very transaction that computed the provisional date
        first = [o for o in s.exec(select(Outbox)) if o.dedupe_key.startswith("unknown-year")]
    assert [o.chat_id for o in first] == [ADMIN] and "2027" in first[0].text
    assert tick(world, "2026-12-17T10:00") == []  # admins are alerted once
    (world[3] / "2027.yaml").write_text(
        "year: 2027\nsource: fictitious test arrangement\nholidays:\n  - 2027-01-01..2027-01-05\n"
        "makeup_workdays: []\n", encoding="utf-8")
    world[2].reload()
    moved = tick(world, "2026-12-18T10:00", "moved:")
    assert len(moved) == 1 and moved[0].chat_id == APPLICANT
    assert "2027-01-13" in moved[0].text and "2027-01-15" in moved[0].text  # 元旦 was already counted


def test_officer_alert_points_are_configurable():
    from scheduler.points import AlertPlan, officer_points

    cal = WorkCalendar()
    plan = AlertPlan.parse("5,2,due")
    points = officer_points(cal, dt.date(2026, 11, 2), dt.date(2026, 11, 16), True, dt.date(2026, 11, 20), plan)
    assert [p.name for p in points] == ["left5", "left2", "due_today"]
    assert points[0].fire_at.date() == dt.date(2026, 11, 9)
    with pytest.raises(ValueError, match="soon"):
        AlertPlan.parse("half,soon")


def test_submission_dates_the_filing_at_submission_and_the_start_at_the_start_date(world):
    """The filing clock stops, and the acceptance clock starts, on the day the application was filed."""
    from storage.casework import CaseEvent

    with Session(world[0], expire_on_commit=False) as s:
        case = Case(number="DG-2026-0099", draft_id=1, applicant_id=APPLICANT, policy_key="dongguan",
                    policy_version=1, answers={"origin": "authority", "start_date": "2026-11-02", "project": {}})
        s.add(case)
        s.flush()
        caserepo.record_submission(s, case, POLICIES["dongguan"], at=at("2026-11-10T15:00").astimezone(dt.UTC))
        s.commit()
        events = {e.event: e.at for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    assert events["procedure_started"].astimezone(SHANGHAI).date() == dt.date(2026, 11, 2)
    assert events["application_filed"].astimezone(SHANGHAI).date() == dt.date(2026, 11, 10)


def test_requested_material_is_nudged_3_days_later_then_weekly_until_it_arrives(world):
    case = submitted_case(world, "2026-11-02T10:00")
    with Session(world[0]) as s:
        caserepo.add_event(s, case.id, OFFICER, "officer", "more_material", "received", "received",
                           {"what": "经费审计报告"}, at=at("2026-11-03T10:00").astimezone(dt.UTC))
        s.commit()
    assert tick(world, "2026-11-05T09:00", "nudge:") == []
    [first] = tick(world, "2026-11-06T09:00", "nudge:")  # 3 days after the request
    assert first.chat_id == APPLICANT and "补充材料" in first.text and "2026-11-03" in first.text
    assert "4(2)2" in first.text
    assert tick(world, "2026-11-12T09:00", "nudge:") == []
    [weekly] = tick(world, "2026-11-13T09:00", "nudge:")
    assert weekly.id != first.id
    with Session(world[0]) as s:
        caserepo.add_event(s, case.id, APPLICANT, "applicant", "add_material", "received", "received",
                           {"file": {"file_id": "F"}}, at=at("2026-11-14T10:00").astimezone(dt.UTC))
        s.commit()
    assert tick(world, "2026-11-20T09:00", "nudge:") == []


def test_the_failure_report_is_nudged_while_it_is_due(world):
    with Session(world[0], expire_on_commit=False) as s:
        case = Case(number="YN-2026-0001", draft_id=1, applicant_id=APPLICANT, policy_key="yunnan",
                    policy_version=1, answers={"project": {}}, state="report_due")
        s.add(case)
        s.flush()
        caserepo.add_event(s, case.id, OFFICER, "officer", "feedback", "decided", "report_due",
                           event="feedback_sent", at=at("2026-11-02T10:00").astimezone(dt.UTC))
        s.commit()
    [nudge] = tick(world, "2026-11-05T09:00", "nudge:")
    assert "失败原因分析书面报告" in nudge.text and "第十一条" in nudge.text


def test_an_answer_that_moves_no_clock_writes_no_clock_row(world):
    """Two answers the same morning leave the silence reminder at the same 09:00: the second writes the draft
    and nothing else (its clock rows are read, not updated). An answer days later moves it, and is written."""
    from sqlalchemy import event

    from storage.clocktable import ClockRow

    engine = world[0]
    with Session(engine) as s:
        draft = Draft(user_id=APPLICANT, policy_key="shanwei", policy_version=1, state="facts",
                      answers={"policy": "shanwei"}, updated_at=at("2026-11-02T09:00").astimezone(dt.UTC))
        s.add(draft)
        s.commit()
        draft_id = draft.id
    updates: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement.split()[1].strip('"'))

    def answer(when: str, value: str) -> dt.datetime | None:
        updates.clear()
        CLOCK.append(at(when))
        with Session(engine) as s:
            d = s.get(Draft, draft_id)
            d.answers = {**d.answers, "note": value}
            d.updated_at = at(when).astimezone(dt.UTC)
            s.commit()
            row = s.exec(select(ClockRow).where(ClockRow.owner_id == draft_id, ClockRow.limit_id == "_silence")).one()
            return row.next_fire_at

    event.listen(engine, "before_cursor_execute", seen)
    try:
        first = answer("2026-11-02T10:00", "一")
        second = answer("2026-11-02T11:00", "二")
        assert second == first and updates == ["draft"]
        later = answer("2026-11-04T10:00", "三")
        assert later > first and sorted(updates) == ["clockrow", "draft"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
