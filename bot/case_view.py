"""What a case file looks like: the answers, materials, clocks and audit trail of one case, rendered
for the person looking (officers see everything, the applicant the public steps of their own case).

Read-only helpers split from bot/officer_flow.py so that the flow keeps to checking and recording.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.callbacks import CaseAction, FileKind, Files, encode
from bot.config import Settings
from bot.i18n import render, t
from bot.limits import TEXT_LIMIT, clip
from bot.reply import View
from dialogs.policy import Policy, ProcField
from dialogs.procedure import CaseFile, Procedures, Record
from dialogs.screens import status_text
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events
from scheduler.clocks import Clock, clocks_for
from storage import caserepo as cr
from storage import repo
from storage.casework import CaseEvent
from storage.models import Case, User

AUDIT_SHOWN = 15
KNOWN_ROLES = {"officer", "unit_reviewer", "determination_group", "admin", "applicant"}
FLOW_ACTIONS = ("submit", "join", "invite", "revoke", "open", "file", "form")


class CaseViews:
    def __init__(self, policies: dict[str, Policy], procedures: Procedures, calendar: WorkCalendar,
                 settings: Settings) -> None:
        self.policies = policies
        self.procedures = procedures
        self.calendar = calendar
        self.settings = settings

    def case_file(self, s: Session, case: Case) -> CaseFile:
        records = [Record(e.action, cr.shanghai_date(e.at), dict(e.details), (e.event,) if e.event else ())
                   for e in cr.history(s, case.id or 0) if not e.refused]
        return CaseFile(case.state, records, case.answers if isinstance(case.answers, dict) else {})

    def state_label(self, case: Case, lang: str) -> str:
        spec = self.procedures.procedure(case.policy_key).state(case.state)
        return spec.label.get(lang) if spec else case.state

    def action_label(self, policy_key: str, action_id: str, lang: str) -> str:
        if policy_key in self.procedures.policies:
            spec = self.procedures.procedure(policy_key).action(action_id)
            if spec is not None:
                return spec.label.get(lang)
        return t(f"off.audit.{action_id}", lang) if action_id in FLOW_ACTIONS else action_id

    def clocks(self, s: Session, case: Case) -> list[Clock]:
        return clocks_for(self.policies[case.policy_key], case_clock_events(s, case), self.calendar,
                          self.settings.today())

    def clock_line(self, clock: Clock, lang: str) -> str | None:
        label = clock.limit.label.get(lang)
        if clock.status == "running" and clock.due is not None:
            key = "off.clock.overdue" if clock.overdue else "off.clock.running"
            return t(key, lang, label=label, due=clock.due.date.isoformat(), left=abs(clock.days_left or 0),
                     unit=t("rem.unit_wd" if clock.working else "rem.unit_days", lang),
                     provisional=t("rem.digest.provisional", lang) if clock.provisional else "",
                     clause=clock.limit.clause)
        if clock.status == "paused":
            return t("off.clock.paused", lang, label=label, clause=clock.limit.clause)
        if clock.status == "unset":
            return t("off.clock.unset", lang, label=label, clause=clock.limit.clause)
        return None

    def fmt_value(self, spec: ProcField | None, value: Any, lang: str) -> str:
        if value is None or value == "":
            return "—"
        if spec is not None and spec.kind == "choice":
            option = next((o for o in spec.options if o.id == value), None)
            return option.label.get(lang) if option else str(value)
        if isinstance(value, dict):
            return str(value.get("file_name") or value.get("file_id", ""))
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def case_view(self, s: Session, case: Case, roles: set[str], lang: str, notice: str | None,
                  officer_levels: set[str | None] | None = None) -> View:
        policy = self.policies[case.policy_key]
        staff = roles - {"applicant"}
        answers = case.answers
        applicant = s.get(User, case.applicant_id)
        lines = [t("off.case.header", lang, number=case.number, policy=policy.short_name.get(lang),
                   document=policy.document.get(lang), state=self.state_label(case, lang),
                   status=render(status_text(policy, self.settings.today()), lang))]
        if staff:
            project = answers.get("project", {})
            fields = "\n".join(f"· {f.label.get(lang)}: {self.project_value(f, project.get(f.id), lang)}"
                               for f in policy.project_fields)
            grounds = "\n".join(f"· {i.text.get(lang)[:120]} ({i.clause})" for i in policy.grounds.items
                                if i.id in answers.get("grounds", []))
            kind = next((o.label.get(lang) for o in policy.applicant_kinds if o.id == answers.get("applicant_kind")),
                        "—")
            role = next((o.label.get(lang) for o in policy.roles if o.id == answers.get("role")), "—")
            origin = policy.origin(str(answers.get("origin", "")))
            lines.append(t("off.case.answers", lang,
                           applicant=(applicant.first_name if applicant else "") or case.applicant_id,
                           user=case.applicant_id, kind=kind, role=role,
                           origin=origin.label.get(lang) if origin else "—",
                           start=answers.get("start_date") or "—", project=fields, grounds=grounds or "—",
                           facts=str(answers.get("facts", "—"))[:800]))
        buttons: list[list[tuple[str, str]]] = []
        uploads = repo.uploads_for(s, case.draft_id)
        docs = cr.documents(s, case.id or 0)
        if uploads or docs:
            items = [f"· {u.material_id}: {u.file_name}" for u in uploads]
            items += [f"· {self.action_label(case.policy_key, d.kind, lang)}: {d.file_name}" for d in docs]
            lines.append(t("off.case.materials", lang, items="\n".join(items)))
            file_buttons = [(f"📄 {u.file_name[:24]}", encode(CaseAction.SEND_FILE, FileKind.UPLOAD, u.id or 0))
                            for u in uploads]
            file_buttons += [(f"📄 {d.file_name[:24]}", encode(CaseAction.SEND_FILE, FileKind.DOCUMENT, d.id or 0))
                             for d in docs]
            buttons += [file_buttons[i:i + 2] for i in range(0, min(len(file_buttons), 12), 2)]
        clock_lines = [line for c in self.clocks(s, case) if (line := self.clock_line(c, lang))]
        if clock_lines:
            lines.append(t("off.case.clocks", lang, items="\n".join(clock_lines)))
        trail = [e for e in cr.history(s, case.id or 0) if staff or not e.refused]
        if trail:
            lines.append(t("off.case.audit", lang, items="\n".join(self.audit_line(case, e, lang, bool(staff))
                                                                   for e in trail[-AUDIT_SHOWN:])))
        if notice:
            lines.append(notice)
        for action in self.procedures.available(case.policy_key, self.case_file(s, case), roles,
                                                self.settings.today(), officer_levels):
            if action.role != "applicant" and "applicant" in roles:
                continue  # nobody acts on their own case
            buttons.append([(action.label.get(lang),
                             encode(CaseAction.START_ACTION, case.id or 0, case.state, action.id))])
        # the case's clocks as a picture and as calendar entries, for officers and the applicant alike
        buttons.append([(t("doc.btn.timeline", lang), encode(Files.TIMELINE, case.id or 0)),
                        (t("doc.btn.ics", lang), encode(Files.ICS, case.id or 0))])
        buttons.append([(t("off.btn.queue", lang), encode(CaseAction.QUEUE))] if staff
                       else [(t("off.btn.status", lang), encode(CaseAction.STATUS))])
        return View(clip("\n\n".join(lines), TEXT_LIMIT), buttons)

    def project_value(self, spec: Any, value: Any, lang: str) -> str:
        if spec.kind == "choice":
            option = next((o for o in spec.options if o.id == value), None)
            return option.label.get(lang) if option else str(value or "—")
        return "—" if value is None else str(value)

    def audit_line(self, case: Case, e: CaseEvent, lang: str, staff: bool) -> str:
        when = cr.aware(e.at).astimezone(cr.SHANGHAI).strftime("%m-%d %H:%M")
        label = self.action_label(case.policy_key, e.action, lang)
        before = self.state_name(case, e.state_before, lang)
        after = self.state_name(case, e.state_after, lang)
        if not staff:
            return t("off.audit.public", lang, when=when, action=label, state=after)
        detail = "; ".join(f"{k}={self.short(v)}" for k, v in e.details.items() if v not in (None, ""))
        key = "off.audit.refused" if e.refused else "off.audit.line"
        role = t(f"off.role.{e.actor_role}", lang) if e.actor_role in KNOWN_ROLES else (e.actor_role or "—")
        return t(key, lang, when=when, actor=e.actor_id or "—", role=role, action=label,
                 before=before, after=after, event=e.event or "", details=detail[:200])

    @staticmethod
    def short(value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("file_name") or value.get("file_id") or value)
        text = str(value)
        return text if len(text) <= 60 else text[:59] + "…"

    def state_name(self, case: Case, state: str | None, lang: str) -> str:
        if not state:
            return "—"
        spec = self.procedures.procedure(case.policy_key).state(state)
        return spec.label.get(lang) if spec else state
