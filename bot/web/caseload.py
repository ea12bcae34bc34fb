"""What the desk shows, as plain data: the caseload table and one case's page, for one member.

No HTTP here (bot/web/desk.py serves it) and no rule of its own: who sees a case is storage.access
(through the officers' desk, with this deployment's administrators), clocks are the officers' own
derivation from the case's events, the case file text is the chat's own rendering (bot/officer/case_file.py),
and the actions offered are exactly the buttons the chat's case screen shows the same person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlmodel import Session

from bot.i18n import t
from bot.officer import OfficerFlow
from scheduler.calendar import WorkCalendar
from scheduler.clocks import Clock
from storage import access, repo
from storage import caserepo as cr
from storage.models import Case, User

Light = Literal["red", "yellow", "green", "grey", "none"]
SOON_WORKING_DAYS = 2


def light(clock: Clock | None, calendar: WorkCalendar, today: dt.date) -> Light:
    """The 电子监察 light of a running clock: red once overdue; grey while its date is provisional (a
    year the calendar does not know yet, so "soon" cannot be judged); yellow within 2 working days of
    its due date or once half its days are used (the officers' "half" alert); green otherwise. A case
    with no running, dated clock has no light ("none")."""
    if clock is None or clock.status != "running" or clock.due is None or clock.days_left is None:
        return "none"
    if clock.overdue:
        return "red"
    if clock.provisional:
        return "grey"
    working_left = clock.days_left if clock.working else calendar.working_days_between(today, clock.due.date)
    if working_left <= SOON_WORKING_DAYS or (clock.length and clock.days_left * 2 <= clock.length):
        return "yellow"
    return "green"


def next_clock(clocks: list[Clock]) -> Clock | None:
    """The running clock whose due date comes first: the one the table sorts and lights by."""
    dated = [c for c in clocks if c.status == "running" and c.due is not None]
    return min(dated, key=lambda c: c.due.date) if dated else None  # type: ignore[union-attr]


@dataclass
class Row:
    id: int
    number: str
    policy: str
    policy_name: str
    applicant: str
    unit: str
    project: str
    state: str
    state_label: str
    final: bool
    own: bool
    light: Light
    due: str | None
    days_left: int | None
    days_unit: str
    clock: str
    clause: str
    provisional: bool
    note: str


class Caseload:
    def __init__(self, officers: OfficerFlow) -> None:
        self.officers = officers
        self.desk = officers.desk
        self.labels = officers.labels
        self.procedures = officers.desk.procedures
        self.calendar = officers.desk.calendar

    @property
    def today(self) -> dt.date:
        return self.desk.today()

    # -- the table -----------------------------------------------------------------------------------
    def rows(self, s: Session, user_id: int, lang: str) -> list[dict[str, Any]]:
        """Every case the member may see, the next due date first; cases with nothing running after,
        closed cases last."""
        rows = [self._row(s, case, user_id, lang) for case in access.visible_cases(s, user_id, self.desk.settings.admin_ids)
                if case.policy_key in self.procedures.policies]
        rows.sort(key=lambda r: (r.final, r.due is None, r.due or "", r.id))
        return [asdict(r) for r in rows]

    def _row(self, s: Session, case: Case, user_id: int, lang: str) -> Row:
        policy = self.desk.policies[case.policy_key]
        clocks = self.desk.clocks(s, case)
        clock = next_clock(clocks)
        final = self.procedures.is_final(case.policy_key, case.state)
        project = case.answers.get("project", {}) if isinstance(case.answers, dict) else {}
        return Row(
            id=case.id or 0, number=case.number, policy=case.policy_key, policy_name=policy.short_name.get(lang),
            applicant=applicant_name(s, case), unit=str(project.get("unit") or ""),
            project=str(project.get("name") or ""), state=case.state, state_label=self.labels.state_label(case, lang),
            final=final, own=case.applicant_id == user_id, light=light(clock, self.calendar, self.today),
            due=clock.due.date.isoformat() if clock and clock.due else None,
            days_left=clock.days_left if clock else None,
            days_unit=(t("rem.unit_wd", lang) if clock.working else t("rem.unit_days", lang)) if clock else "",
            clock=clock.limit.label.get(lang) if clock else "", clause=clock.limit.clause if clock else "",
            provisional=bool(clock and clock.provisional), note=self._note(clocks, final, lang) if clock is None else "")

    @staticmethod
    def _note(clocks: list[Clock], final: bool, lang: str) -> str:
        """Why a case has no light: closed, a clock held by a pause, or a period still to be set."""
        if final:
            return t("desk.note.final", lang)
        if any(c.status == "paused" for c in clocks):
            return t("desk.note.paused", lang)
        if any(c.status == "unset" for c in clocks):
            return t("desk.note.unset", lang)
        return t("desk.note.none", lang)

    # -- one case ------------------------------------------------------------------------------------
    def page(self, s: Session, user_id: int, case_id: int, lang: str) -> dict[str, Any] | None:
        """The case page, or None when the case does not exist for this member (the caller answers 404
        either way, so an id reveals nothing)."""
        case = s.get(Case, case_id)
        if case is None or case.policy_key not in self.procedures.policies:
            return None
        roles = self.desk.roles(s, user_id, case)
        if not roles:
            return None
        staff = bool(roles - {access.APPLICANT})
        row = self._row(s, case, user_id, lang)
        clocks = [self._clock(c, lang) for c in self.desk.clocks(s, case) if c.status != "not_started"]
        uploads = repo.uploads_for(s, case.draft_id)
        docs = cr.documents(s, case.id or 0)
        documents = [{"ref": f"u/{u.id}", "label": u.material_id, "name": u.file_name} for u in uploads]
        documents += [{"ref": f"d/{d.id}", "label": self.labels.action_label(case, d.kind, lang),
                       "name": d.file_name} for d in docs]
        log = [self.labels.audit_line(s, case, e, lang, staff) for e in self.labels.trail(s, case, staff)]
        # the buttons the chat's case screen shows this person now (the same filter: roles, own case, routing)
        actions = [{"label": a.label.get(lang), "clause": a.clause or ""}
                   for a in self.officers.files.action_buttons(s, case, roles, user_id)]
        text = "\n\n".join(self.officers.files.text_blocks(s, case, roles, lang))  # the chat's case file
        return {"case": asdict(row), "text": text,
                "roles": sorted(t(f"off.role.{r}", lang) for r in roles), "clocks": clocks,
                "documents": documents, "log": log, "actions": actions}

    def _clock(self, clock: Clock, lang: str) -> dict[str, Any]:
        met = None
        if clock.status == "stopped" and clock.due is not None and clock.stopped_on is not None:
            met = clock.stopped_on <= clock.due.date
        return {"label": clock.limit.label.get(lang), "clause": clock.limit.clause, "status": clock.status,
                "status_label": t(f"desk.clock.{clock.status}", lang),
                "started": clock.started_on.isoformat() if clock.started_on else None,
                "due": clock.due.date.isoformat() if clock.due else None, "days_left": clock.days_left,
                "days_unit": (t("rem.unit_wd", lang) if clock.working else t("rem.unit_days", lang)),
                "stopped": clock.stopped_on.isoformat() if clock.stopped_on else None,
                "provisional": clock.provisional, "met": met, "light": light(clock, self.calendar, self.today)}


def applicant_name(s: Session, case: Case) -> str:
    user = s.get(User, case.applicant_id)
    return (user.first_name if user else "") or str(case.applicant_id)
