"""A case's deadlines as an iCalendar (.ics) file, for the researcher's or the officer's own calendar.

Each deadline is an all-day event with two reminders. Its UID is stable (case number and time-limit id),
and its SEQUENCE grows with the case's event log, so importing a newer file moves an event rather than
adding a second one when a pause, an extension or an officer-set length changes the date. Dates that
rest on a year without a loaded holiday arrangement are marked provisional in the title and the notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from icalendar import Alarm, Calendar, Event

from bot.i18n import t
from dialogs.policy import Policy
from scheduler.calendar import WorkCalendar
from scheduler.clocks import Clock, ClockEvent, clocks_for

ICS_MIME = "text/calendar"
UID_DOMAIN = "rcmz"
# 09:00 Beijing time three days and one day before the (all-day) due date.
ALARMS = (dt.timedelta(days=-3, hours=9), dt.timedelta(days=-1, hours=9))


class HasNumber(Protocol):
    number: str


@dataclass(frozen=True)
class IcsEntry:
    """One deadline as it goes into the file; `done` entries stay (same UID) so a calendar updates them."""

    uid: str
    due: dt.date
    summary: str
    description: str
    provisional: bool
    done: bool
    sequence: int


def _entry(case: HasNumber, policy: Policy, clock: Clock, sequence: int, lang: str) -> IcsEntry | None:
    if clock.due is None or clock.started_on is None:
        return None
    label = clock.limit.label.get(lang)
    done = clock.status == "stopped"
    if done:
        summary = t("doc.ics.summary_done", lang, number=case.number, label=label)
    else:
        summary = t("doc.ics.summary", lang, number=case.number, label=label,
                    provisional=t("doc.ics.provisional", lang) if clock.provisional else "")
    description = t("doc.ics.description", lang, number=case.number, policy=policy.short_name.get(lang),
                    label=label, length=clock.length, unit=t(f"doc.unit.{clock.limit.unit}", lang),
                    clause=clock.limit.clause, start=clock.started_on.isoformat(),
                    party=t(f"doc.ics.party.{clock.limit.party}", lang))
    if clock.provisional:
        description += "\n" + t("doc.ics.provisional_note", lang)
    return IcsEntry(f"{case.number}-{clock.limit.id}@{UID_DOMAIN}", clock.due.date, summary, description,
                    clock.provisional, done, sequence)


def ics_entries(items: Iterable[tuple[HasNumber, list[ClockEvent], Policy]], calendar: WorkCalendar,
                today: dt.date, lang: str) -> list[IcsEntry]:
    """The deadlines of several cases, in case order then the policy's order of time limits."""
    entries: list[IcsEntry] = []
    for case, events, policy in items:
        for clock in clocks_for(policy, events, calendar, today):
            entry = _entry(case, policy, clock, len(events), lang)
            if entry is not None:
                entries.append(entry)
    return entries


def entries_to_ics(entries: list[IcsEntry], lang: str, now: dt.datetime | None = None) -> bytes:
    stamp = now or dt.datetime.now(dt.UTC)
    cal = Calendar()
    cal.add("prodid", f"-//{UID_DOMAIN}//rongcuo-mianze-bot//{lang.upper()}")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", t("doc.ics.calname", lang))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for e in entries:
        event = Event()
        event.add("uid", e.uid)
        event.add("dtstamp", stamp)
        event.add("sequence", e.sequence)
        event.add("summary", e.summary)
        event.add("description", e.description)
        event.add("dtstart", e.due)
        event.add("dtend", e.due + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        event.add("status", "TENTATIVE" if e.provisional else "CONFIRMED")
        if not e.done:
            for trigger in ALARMS:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", e.summary)
                alarm.add("trigger", trigger)
                event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()


def cases_ics(items: Iterable[tuple[HasNumber, list[ClockEvent], Policy]], calendar: WorkCalendar,
              today: dt.date, lang: str, now: dt.datetime | None = None) -> bytes:
    """One .ics with the deadlines of all given cases (an officer's case load, or one researcher's)."""
    return entries_to_ics(ics_entries(items, calendar, today, lang), lang, now)


def case_ics(case: HasNumber, events: list[ClockEvent], policy: Policy, calendar: WorkCalendar,
             today: dt.date, lang: str, now: dt.datetime | None = None) -> bytes:
    return cases_ics([(case, events, policy)], calendar, today, lang, now)
