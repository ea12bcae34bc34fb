"""Words for what the case file stores: state and action labels, field values as their option labels,
clock lines, and each line of the audit trail read out in the reader's language.

The trail stores ids (`kind=technical; innovative=good`, `clock_set`, `off.err.no_case`); nothing here ever
shows one. A field's value is shown under its label from the policy file, a choice as its option's label,
an event by what happened, a refusal by its reason.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlmodel import Session

from bot.i18n import gettext, render, t
from bot.officer.desk import Desk, Params
from dialogs.policy import ProcAction, ProcField
from dialogs.text import N_
from scheduler.clocks import Clock, left_text
from storage import caserepo as cr
from storage.casework import CaseEvent
from storage.models import Case

ROLE_LABELS = {"officer": N_("off.role.officer"), "unit_reviewer": N_("off.role.unit_reviewer"),
               "determination_group": N_("off.role.determination_group"), "admin": N_("off.role.admin"),
               "applicant": N_("off.role.applicant"), "system": N_("off.role.system")}
# what the trail records besides the procedure's own actions
FLOW_ACTIONS = {"submit": N_("off.audit.submit"), "join": N_("off.audit.join"), "invite": N_("off.audit.invite"),
                "revoke": N_("off.audit.revoke"), "open": N_("off.audit.open"), "file": N_("off.audit.file"),
                "form": N_("off.audit.form"), "move_unit": N_("off.audit.move_unit"), "units": N_("off.audit.units")}
SHOWN_CHARS = 80
DETAILS_CHARS = 240  # one line of the trail; the full values stay in the trail itself


def short(text: str, limit: int = SHOWN_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Labels:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # -- labels of the procedure -------------------------------------------------------------------------
    def state_label(self, case: Case, lang: str, state: str | None = None) -> str:
        state = case.state if state is None else state
        if not state:
            return "—"
        if not self.desk.has_procedure(case):
            return state
        spec = self.desk.procedures.procedure(case.policy_key).state(state)
        return spec.label.get(lang) if spec else state

    def action_spec(self, case: Case, action_id: str) -> ProcAction | None:
        if not self.desk.has_procedure(case):
            return None
        return self.desk.procedures.procedure(case.policy_key).action(action_id)

    def action_label(self, case: Case, action_id: str, lang: str) -> str:
        spec = self.action_spec(case, action_id)
        if spec is not None:
            return spec.label.get(lang)
        return t(FLOW_ACTIONS[action_id], lang) if action_id in FLOW_ACTIONS else t("off.audit.other", lang)

    @staticmethod
    def bare(label: str) -> str:
        """A label without its leading pictogram ("✅ 受理" → "受理"), for a sentence that has its own."""
        head, _, rest = label.partition(" ")
        return rest if rest and head and all(unicodedata.category(c).startswith("S") or c in "\ufe0f\u200d"
                                             for c in head) else label

    def role_label(self, role: str | None, lang: str) -> str:
        return t(ROLE_LABELS[role], lang) if role in ROLE_LABELS else "—"

    @staticmethod
    def fmt_value(spec: ProcField | None, value: Any, lang: str) -> str:
        if value is None or value == "":
            return "—"
        if spec is not None and spec.kind == "choice":
            option = next((o for o in spec.options if o.id == value), None)
            return option.label.get(lang) if option else str(value)
        if isinstance(value, dict):
            return str(value.get("file_name") or t("off.value.file", lang))
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    @staticmethod
    def project_value(spec: Any, value: Any, lang: str) -> str:
        if spec.kind == "choice":
            option = next((o for o in spec.options if o.id == value), None)
            return option.label.get(lang) if option else str(value or "—")
        return "—" if value is None or value == "" else str(value)

    def limit_label(self, case: Case, limit_id: Any, lang: str) -> str:
        policy = self.desk.policies[case.policy_key]
        limit = next((x for x in policy.time_limits if x.id == limit_id), None)
        return limit.label.get(lang) if limit else "—"

    # -- clocks ----------------------------------------------------------------------------------------------
    def clock_line(self, clock: Clock, lang: str) -> str | None:
        label = clock.limit.label.get(lang)
        if clock.status == "running" and clock.due is not None:
            key = "off.clock.overdue" if clock.overdue else "off.clock.running"
            line = t(key, lang, label=label, due=clock.due.date.isoformat(),
                     left_text=render(left_text(clock.days_left or 0, clock.working), lang),  # plural-correct
                     provisional=t("rem.digest.provisional", lang) if clock.provisional else "",
                     clause=clock.limit.clause)
            if clock.rolled_from is not None:  # 民法典第二百零三条: the last day fell on a rest day
                line = t("cal.with_note", lang, text=line, note=t("cal.rolled", lang, rolled_from=clock.rolled_from
                                                                   .isoformat(), date=clock.due.date.isoformat()))
            return line
        if clock.status == "paused":
            return t("off.clock.paused", lang, label=label, clause=clock.limit.clause)
        if clock.status == "unset":
            return t("off.clock.unset", lang, label=label, clause=clock.limit.clause)
        return None

    # -- the audit trail, readable -----------------------------------------------------------------------
    def fields_text(self, spec: ProcAction, values: dict[str, Any], lang: str) -> str:
        parts = [t("off.audit.field", lang, label=f.label.get(lang), value=short(self.fmt_value(f, values.get(f.id), lang)))
                 for f in spec.fields if values.get(f.id) not in (None, "")]
        return t("off.audit.sep", lang).join(parts)

    def details_text(self, s: Session, case: Case, e: CaseEvent, lang: str) -> str:
        d = e.details or {}
        if e.refused:
            why = str(d.get("why") or "")
            try:
                reason = gettext(why, lang).format_map(Params()) if why else "—"
            except KeyError:
                reason = "—"
            return t("off.audit.why", lang, reason=reason)
        spec = self.action_spec(case, e.action)
        if spec is not None:
            text = self.fields_text(spec, d, lang)
            if e.event == "extension_granted" and "time_limit" in d and "time_limit" not in {f.id for f in spec.fields}:
                extra = t("off.audit.extended", lang, limit=self.limit_label(case, d.get("time_limit"), lang))
                text = t("off.audit.sep", lang).join(p for p in (text, extra) if p)
            return text
        if e.action == "submit":
            if e.event == "procedure_started":
                return t("off.audit.started_on", lang, date=d.get("start_date") or "—")
            return ""
        if e.action == "move_unit":
            return t("off.audit.moved", lang, before=d.get("from") or "—", after=d.get("to") or "—")
        return ""

    def action_text(self, case: Case, e: CaseEvent, lang: str) -> str:
        if e.action == "submit":
            return t("off.audit.started", lang) if e.event == "procedure_started" else t("off.audit.submit", lang)
        return self.action_label(case, e.action, lang)

    def audit_line(self, s: Session, case: Case, e: CaseEvent, lang: str, staff: bool) -> str:
        when = cr.aware(e.at).astimezone(cr.SHANGHAI).strftime("%m-%d %H:%M")
        action = self.action_text(case, e, lang)
        after = self.state_label(case, lang, e.state_after) if e.state_after else "—"
        if not staff:
            return t("off.audit.public", lang, when=when, action=action, state=after)
        details = self.details_text(s, case, e, lang)
        who = t("off.audit.who", lang, role=self.role_label(e.actor_role or None, lang),
                name=self.desk.name_of(s, e.actor_id) if e.actor_id else "")
        if e.refused:
            return t("off.audit.refused", lang, when=when, who=who, action=action, details=details)
        moved = e.state_before != e.state_after and e.state_after is not None
        return t("off.audit.line", lang, when=when, who=who, action=action,
                 details=t("off.audit.details", lang, text=short(details, DETAILS_CHARS)) if details else "",
                 state=t("off.audit.to_state", lang, state=after) if moved else "")

    def trail(self, s: Session, case: Case, staff: bool) -> list[CaseEvent]:
        """The lines worth reading: refusals only for staff, and one line per action (an action that emitted
        several clock events is one thing that happened)."""
        rows: list[CaseEvent] = []
        for e in cr.history(s, case.id or 0):
            if e.refused and not staff:
                continue
            last = rows[-1] if rows else None
            if last is not None and not e.refused and not last.refused and last.action == e.action \
                    and last.actor_id == e.actor_id and last.at == e.at and e.action != "submit":
                continue
            rows.append(e)
        return rows

    # -- outcomes, as the applicant reads them -------------------------------------------------------------
    def outcome_lines(self, s: Session, case: Case, lang: str) -> list[str]:
        """Every decision on the case with the reasons given: actions that choose an outcome (an option
        marked favourable or not) or that close the case."""
        if not self.desk.has_procedure(case):
            return []
        proc = self.desk.procedures.procedure(case.policy_key)
        final = {st.id for st in proc.states if st.final}
        lines = []
        for e in self.trail(s, case, staff=False):
            spec = proc.action(e.action)
            if spec is None:
                continue
            decides = any(o.favourable is not None for f in spec.fields for o in f.options)
            closes = e.state_after in final and e.state_before != e.state_after
            if not (decides or closes):
                continue
            when = cr.aware(e.at).astimezone(cr.SHANGHAI).strftime("%Y-%m-%d")
            lines.append(t("off.file.outcome", lang, when=when, action=spec.label.get(lang),
                           details=self.fields_text(spec, e.details or {}, lang) or "—"))
        return lines
