"""A case's publicity notice, read from the case: which decision it announces, the period by the case's own
clock, the notice in words (dialogs/publicity.py), and the notice as text in a language.

The period comes from scheduler/clocks.py: once the publication is recorded, from the case's publicity
clock (derived from its audit trail, the publication day carried by the event); before that, from the same
`limit_due` for a publication on the day asked about. So the notice, the countdown on the case screen, the
reminders and the procedure's "is the publicity over" guard count the same days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from bot.i18n import render
from dialogs.policy import LText, Policy, ProcOption, TimeLimit
from dialogs.publicity import Decision, Notice, Period, build_notice, project_of
from dialogs.text import Text
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events, event_day
from scheduler.clocks import clock_for, limit_due
from storage.casework import CaseEvent
from storage.models import Case
from storage.publicity import Publicity

START_EVENT, END_EVENT = "publicity_started", "publicity_ended"
TEXT_LIMIT = 4096  # Telegram's message limit, in UTF-16 code units


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def publicity_limit(policy: Policy) -> TimeLimit | None:
    """The policy's publicity period: the time limit its publication event starts (Zhejiang 三(五))."""
    return next((t for t in policy.time_limits if t.starts_on == START_EVENT and t.length), None)


def has_publicity(policy: Policy | None) -> bool:
    return policy is not None and policy.procedure is not None and publicity_limit(policy) is not None


def _applied(session: Session, case_id: int, action: str) -> list[CaseEvent]:
    stmt = (select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == action,
                                    col(CaseEvent.refused).is_(False)).order_by(col(CaseEvent.id)))
    return list(session.exec(stmt))


def outcome_option(policy: Policy, action_id: str, values: dict[str, Any]) -> ProcOption | None:
    """The outcome option an action's values chose (its choice field whose options carry `favourable`)."""
    assert policy.procedure is not None
    spec = policy.procedure.action(action_id)
    if spec is None:
        return None
    for f in spec.fields:
        for option in f.options:
            if option.favourable is not None and values.get(f.id) == option.id:
                return option
    return None


def decision_of(session: Session, policy: Policy, case: Case) -> Decision | None:
    """The latest decision recorded on the case (the collective decision, 三(四)), as the notice states it."""
    for row in reversed(_applied(session, case.id or 0, "decide")):
        option = outcome_option(policy, "decide", dict(row.details or {}))
        if option is not None:
            return Decision(option.label, event_day(row))
    return None


def objection_count(session: Session, case_id: int) -> int:
    """Objections on the case, whoever recorded them (an officer or the public): the procedure counts the
    same audit lines (dialogs/procedure.py `objections`)."""
    return len(_applied(session, case_id, "objection"))


def period_of(session: Session, policy: Policy, case: Case, calendar: WorkCalendar, today: dt.date) -> Period | None:
    """The case's publicity period by its own clock, once the publication is recorded; else None."""
    limit = publicity_limit(policy)
    if limit is None or limit.length is None:
        return None
    clock = clock_for(limit, case_clock_events(session, case), calendar, today)
    if clock.started_on is None or clock.due is None:
        return None
    return Period.of(clock.started_on, clock.length or limit.length, clock.due)


def period_if_published(policy: Policy, day: dt.date, calendar: WorkCalendar) -> Period | None:
    """The period a notice published on `day` would run for, by the same function the clocks use."""
    limit = publicity_limit(policy)
    if limit is None or limit.length is None:
        return None
    due = limit_due(limit, day, calendar)
    assert due is not None  # no pauses: always a date
    return Period.of(day, limit.length, due)


def deep_link(bot_username: str | None, publicity: Publicity) -> str | None:
    """https://t.me/<bot>?start=<payload>: opens the objection dialog in a private chat with the bot."""
    return f"https://t.me/{bot_username}?start={publicity.payload}" if bot_username else None


def notice_for(session: Session, policy: Policy, case: Case, publicity: Publicity, calendar: WorkCalendar,
               today: dt.date, bot_username: str | None) -> Notice | None:
    """The case's notice: with the recorded publication's period and address once there is one, else as
    prepared for publication today."""
    limit = publicity_limit(policy)
    decision = decision_of(session, policy, case)
    if limit is None or decision is None:
        return None
    period = period_of(session, policy, case, calendar, today)
    prepared = period is None
    if period is None:
        period = period_if_published(policy, today, calendar)
    assert period is not None
    return build_notice(policy, case.answers, decision, period, limit.clause,
                        link=deep_link(bot_username, publicity), prepared=prepared,
                        portal_url=None if prepared else publicity.published_url)


def project_name(case: Case) -> str:
    """The project as a notice names it (what the public may read of the case)."""
    return project_of(case.answers).get("name", "—")


def text_of(lines: list[Text], lang: str) -> str:
    return "\n".join(render(line, lang) for line in lines)


def outcome_label(policy: Policy, values: dict[str, Any]) -> LText | None:
    option = outcome_option(policy, "publicity_end", values)
    return option.label if option is not None else None
