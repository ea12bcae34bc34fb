"""The case register a bureau reports from: which cases, which dates, what counts — from the database,
for one member, in their language. bot/documents/register.py turns the sheets into an .xlsx.

Everything is derived from the append-only audit trail (storage.casework.CaseEvent), the same source
the clocks are computed from, so the register agrees with the chat, the desk and the reminders:

- one sheet per policy with one row per case the member may see (storage.access, as in chat):
  number, applicant, unit, project, the date of every event that starts or stops one of the policy's
  clocks (its first occurrence, which is the one the clock counts from), each clock's due date and
  whether it was met, the outcome and its reason;
- a statistics sheet per year and policy, over the same cases: received (`application_filed`),
  accepted, refused (not accepted), decided by outcome (the last recorded outcome, in the year it
  was recorded), the median days of each step (start to end in the clock's own unit, pauses
  included) for steps that ended in the year, and the share of clocks met among those judged in the
  year (ended in the year, or still running past a due date in the year);
- for Yunnan, the failure-analysis reports (第十一条) due and received for the year: every case that
  entered "report due" in the year, or earlier and was not received before the year began; the
  prefectures and counties forward them to the province by 31 December.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.actions import Act
from bot.documents.register import XLSX_MIME, Cell, Column, Sheet, register_xlsx
from bot.i18n import t
from bot.officer import OfficerFlow
from bot.officer.labels import Labels
from bot.reply import OutFile, Reply, View
from bot.web.caseload import applicant_name
from dialogs.policy import Policy
from dialogs.text import N_
from scheduler.clocks import Clock
from storage import access
from storage import caserepo as cr
from storage.casework import CaseEvent
from storage.models import Case

# the column title of each clock event (`reg.event.<event>`, built in case_sheet), declared for the extractor
EVENT_TITLES = (
    N_("reg.event.accepted"), N_("reg.event.application_filed"), N_("reg.event.clock_set"),
    N_("reg.event.conclusion_confirmed"), N_("reg.event.conclusion_sent"), N_("reg.event.correction_notice_sent"),
    N_("reg.event.correction_started"), N_("reg.event.evaluation_ended"), N_("reg.event.evaluation_started"),
    N_("reg.event.expert_review_done"), N_("reg.event.extension_granted"), N_("reg.event.feedback_sent"),
    N_("reg.event.hearing_ended"), N_("reg.event.hearing_started"), N_("reg.event.interview_held"),
    N_("reg.event.procedure_started"), N_("reg.event.publicity_ended"), N_("reg.event.publicity_started"),
    N_("reg.event.rectification_done"), N_("reg.event.refused"), N_("reg.event.review_done"),
    N_("reg.event.review_requested"), N_("reg.event.unit_approved"),
)
YUNNAN = "yunnan"
REPORT_STATE = "report_due"
REPORT_ACTION = "report"


@dataclass(frozen=True)
class Outcome:
    id: str
    label: str
    on: dt.date
    reason: str


def clock_events_of(policy: Policy) -> list[str]:
    """The events that start or stop one of the policy's clocks, in the order the clocks are declared."""
    names: list[str] = []
    for limit in policy.time_limits:
        for name in (limit.starts_on, *limit.ends_on):
            if name not in names:
                names.append(name)
    return names


def outcome_options(policy: Policy, lang: str) -> list[tuple[str, str]]:
    """Every outcome the procedure can record: the options marked favourable or not (exempt, lighter,
    not recognised; Liaoning's three levels), else the actions that record a decision (Shanwei)."""
    options: dict[str, str] = {}
    procedure = policy.procedure
    if procedure is None:
        return []
    for action in procedure.actions:
        for f in action.fields:
            for o in f.options:
                if o.favourable is not None:
                    options.setdefault(o.id, o.label.get(lang))
    if not options:
        for action in procedure.actions:
            if "decided" in action.events:
                options.setdefault(action.id, action.label.get(lang))
    return list(options.items())


def case_outcome(policy: Policy, rows: list[CaseEvent], lang: str) -> Outcome | None:
    """The last outcome recorded on the case (a review or the publicity's end overrides the first)."""
    procedure = policy.procedure
    if procedure is None:
        return None
    found: Outcome | None = None
    for row in rows:
        spec = procedure.action(row.action)
        if spec is None:
            continue
        details = row.details or {}
        for f in spec.fields:
            option = next((o for o in f.options if o.favourable is not None and o.id == details.get(f.id)), None)
            if option is not None:
                found = Outcome(option.id, option.label.get(lang), cr.shanghai_date(row.at),
                                str(details.get("reason") or ""))
        if row.event == "decided" and not any(o.favourable is not None for f in spec.fields for o in f.options):
            found = Outcome(spec.id, spec.label.get(lang), cr.shanghai_date(row.at), str(details.get("reason") or ""))
    return found


def first_dates(rows: list[CaseEvent]) -> dict[str, dt.date]:
    out: dict[str, dt.date] = {}
    for row in sorted(rows, key=lambda r: (cr.aware(r.at), r.id or 0)):
        if row.event and row.event not in out:
            out[row.event] = cr.shanghai_date(row.at)
    return out


def met_label(clock: Clock, lang: str) -> str:
    if clock.status == "stopped" and clock.due is not None and clock.stopped_on is not None:
        return t("reg.met.yes", lang) if clock.stopped_on <= clock.due.date else t("reg.met.no", lang)
    if clock.status == "running" and clock.due is not None:
        return t("reg.met.overdue", lang) if clock.overdue else t("reg.met.running", lang)
    if clock.status in ("paused", "unset"):
        return t(f"desk.clock.{clock.status}", lang)
    return ""


def judged(clock: Clock) -> tuple[dt.date, bool] | None:
    """When a clock was settled and whether it was met: on its end, or on its due date once missed."""
    if clock.due is None:
        return None
    if clock.status == "stopped" and clock.stopped_on is not None:
        return clock.stopped_on, clock.stopped_on <= clock.due.date
    if clock.status == "running" and clock.overdue:
        return clock.due.date, False
    return None


@dataclass
class CaseFacts:
    case: Case
    rows: list[CaseEvent]
    dates: dict[str, dt.date]
    clocks: list[Clock]
    outcome: Outcome | None


class RegisterFlow:
    """Built on the officers' flow, so the register uses its policies, procedures, calendar, labels, clocks
    and access rule: the same as the chat and the desk."""

    def __init__(self, officers: OfficerFlow) -> None:
        self.desk = officers.desk
        self.labels = officers.labels
        self.procedures = officers.desk.procedures
        self.calendar = officers.desk.calendar
        self.settings = officers.desk.settings
        self.policies = officers.desk.policies

    # -- the command --------------------------------------------------------------------------------
    def register(self, act: Act, args: list[str]) -> Reply:
        """`/register` (the Yunnan report sheet for this year) or `/register 2025`; read-only, so a
        re-delivered update simply builds it again."""
        s, lang = act.session, act.lang
        today = self.settings.today()
        year = today.year
        if args:
            text = args[0].strip()
            if not (text.isdigit() and len(text) == 4 and 2000 <= int(text) <= today.year + 1):
                return Reply(view=View(t("reg.usage", lang, year=today.year)))
            year = int(text)
        sheets, count = self.sheets(s, act.who.user_id, lang, year)
        if count == 0:
            return Reply(view=View(t("reg.empty", lang)))
        content = register_xlsx(sheets)
        name = f"register-{today.isoformat()}.xlsx"
        return Reply(files=[OutFile("document", name, content, XLSX_MIME,
                                    t("reg.caption", lang, n=count, date=today.isoformat(), year=year))])

    # -- the sheets ---------------------------------------------------------------------------------
    def facts(self, s: Session, case: Case, lang: str) -> CaseFacts:
        rows = [r for r in cr.history(s, case.id or 0) if not r.refused]
        policy = self.policies[case.policy_key]
        return CaseFacts(case, rows, first_dates(rows), self.desk.clocks(s, case),
                         case_outcome(policy, rows, lang))

    def sheets(self, s: Session, user_id: int, lang: str, year: int) -> tuple[list[Sheet], int]:
        cases = [c for c in access.visible_cases(s, user_id, self.settings.admin_ids) if c.policy_key in self.policies]
        by_policy: dict[str, list[CaseFacts]] = {}
        for case in cases:
            by_policy.setdefault(case.policy_key, []).append(self.facts(s, case, lang))
        keys = [k for k in self.policies if k in by_policy]
        sheets = [self.case_sheet(s, self.policies[k], by_policy[k], lang) for k in keys]
        sheets.append(self.statistics_sheet({k: by_policy[k] for k in keys}, lang))
        if YUNNAN in by_policy:
            sheets.append(self.yunnan_sheet(s, by_policy[YUNNAN], lang, year))
        return sheets, len(cases)

    def case_sheet(self, s: Session, policy: Policy, facts: list[CaseFacts], lang: str) -> Sheet:
        events = clock_events_of(policy)
        columns = [Column(t("reg.col.number", lang)), Column(t("reg.col.policy", lang)),
                   Column(t("reg.col.applicant", lang)), Column(t("reg.col.unit", lang)),
                   Column(t("reg.col.project", lang)), Column(t("reg.col.level", lang)),
                   Column(t("reg.col.submitted", lang), "date"), Column(t("reg.col.state", lang))]
        columns += [Column(t("reg.col.event", lang, event=t(f"reg.event.{e}", lang)), "date") for e in events]
        for limit in policy.time_limits:
            label = limit.label.get(lang)
            columns += [Column(t("reg.col.due", lang, clock=label, clause=limit.clause), "date"),
                        Column(t("reg.col.met", lang, clock=label))]
        columns += [Column(t("reg.col.outcome", lang)), Column(t("reg.col.outcome_date", lang), "date"),
                    Column(t("reg.col.reason", lang))]
        level_field = next((f for f in policy.project_fields if f.id == "funding_level"), None)
        rows = []
        for f in facts:
            case = f.case
            project = case.answers.get("project", {}) if isinstance(case.answers, dict) else {}
            level = Labels.project_value(level_field, project.get("funding_level"), lang) if level_field else ""
            outcome = f.outcome
            final = self.procedures.is_final(case.policy_key, case.state)
            row: list[Any] = [case.number, policy.short_name.get(lang), applicant_name(s, case),
                              str(project.get("unit") or ""), str(project.get("name") or ""),
                              "" if level == "—" else level,
                              f.dates.get("application_filed") or cr.shanghai_date(case.submitted_at),
                              self.labels.state_label(case, lang)]
            row += [f.dates.get(e) for e in events]
            clocks = {c.limit.id: c for c in f.clocks}
            for limit in policy.time_limits:
                clock = clocks[limit.id]
                row += [clock.due.date if clock.due else None, met_label(clock, lang)]
            outcome_label = outcome.label if outcome else (self.labels.state_label(case, lang) if final else "")
            reason = (outcome.reason if outcome and outcome.reason else
                      next((str(r.details["reason"]) for r in reversed(f.rows) if (r.details or {}).get("reason")), ""))
            row += [outcome_label, outcome.on if outcome else None, reason]
            rows.append(row)
        return Sheet(t("reg.sheet.cases", lang, policy=policy.short_name.get(lang)), columns, rows)

    def statistics_sheet(self, by_policy: dict[str, list[CaseFacts]], lang: str) -> Sheet:
        columns = [Column(t("reg.col.year", lang), "number"), Column(t("reg.col.policy", lang)),
                   Column(t("reg.col.measure", lang)), Column(t("reg.col.value", lang), "number"),
                   Column(t("reg.col.code", lang))]
        rows: list[list[Any]] = []
        for key, facts in by_policy.items():
            policy = self.policies[key]
            name = policy.short_name.get(lang)
            years = sorted({d.year for f in facts for d in f.dates.values()}
                           | {cr.shanghai_date(f.case.submitted_at).year for f in facts})
            for year in years:
                for measure, code, value in self._measures(policy, facts, year, lang):
                    rows.append([year, name, measure, value, code])
        sheet = Sheet(t("reg.sheet.stats", lang), columns, rows)
        sheet.notes = [[t("reg.stats.note", lang)]]
        return sheet

    def _measures(self, policy: Policy, facts: list[CaseFacts], year: int, lang: str) -> list[tuple[str, str, Any]]:
        def count(event: str) -> int:
            return sum(1 for f in facts if (d := f.dates.get(event)) is not None and d.year == year)

        out: list[tuple[str, str, Any]] = [
            (t("reg.stat.received", lang), "received", count("application_filed")),
            (t("reg.stat.accepted", lang), "accepted", count("accepted")),
            (t("reg.stat.refused", lang), "refused", count("refused")),
        ]
        decided = [f.outcome for f in facts if f.outcome is not None and f.outcome.on.year == year]
        out.append((t("reg.stat.decided", lang), "decided", len(decided)))
        for option_id, label in outcome_options(policy, lang):
            out.append((t("reg.stat.outcome", lang, outcome=label), f"outcome:{option_id}",
                        sum(1 for o in decided if o.id == option_id)))
        met = total = 0
        for limit in policy.time_limits:
            days = []
            for f in facts:
                clock = next(c for c in f.clocks if c.limit.id == limit.id)
                if clock.status == "stopped" and clock.started_on and clock.stopped_on \
                        and clock.stopped_on.year == year:
                    days.append(self.calendar.working_days_between(clock.started_on, clock.stopped_on)
                                if clock.working else (clock.stopped_on - clock.started_on).days)
                settled = judged(clock)
                if settled is not None and settled[0].year == year:
                    total += 1
                    met += settled[1]
            unit = t("rem.unit_wd", lang) if limit.unit == "working_days" else t("rem.unit_days", lang)
            out.append((t("reg.stat.median", lang, step=limit.label.get(lang), unit=unit), f"median:{limit.id}",
                        float(statistics.median(days)) if days else None))
        out.append((t("reg.stat.judged", lang), "clocks_judged", total))
        out.append((t("reg.stat.met_share", lang), "met_share", Cell(met / total if total else None, "percent")))
        return out

    def yunnan_sheet(self, s: Session, facts: list[CaseFacts], lang: str, year: int) -> Sheet:
        policy = self.policies[YUNNAN]
        level_field = next((f for f in policy.project_fields if f.id == "funding_level"), None)
        columns = [Column(t("reg.col.number", lang)), Column(t("reg.col.level", lang)),
                   Column(t("reg.col.unit", lang)), Column(t("reg.col.applicant", lang)),
                   Column(t("reg.col.project", lang)), Column(t("reg.col.outcome", lang)),
                   Column(t("reg.col.event", lang, event=t("reg.event.decided", lang)), "date"),
                   Column(t("reg.col.report_due", lang), "date"), Column(t("reg.col.report_received", lang), "date"),
                   Column(t("reg.col.report_file", lang)), Column(t("reg.col.report_status", lang)),
                   Column(t("reg.col.forward_by", lang), "date")]
        forward_by = dt.date(year, 12, 31)
        rows: list[list[Any]] = []
        for f in facts:
            entered = next((r for r in f.rows if r.state_after == REPORT_STATE and r.state_before != REPORT_STATE), None)
            if entered is None:
                continue
            due_since = cr.shanghai_date(entered.at)
            report = next((r for r in f.rows if r.action == REPORT_ACTION), None)
            received = cr.shanghai_date(report.at) if report else None
            if due_since.year > year or (due_since.year < year and received is not None and received.year < year):
                continue
            project = f.case.answers.get("project", {}) if isinstance(f.case.answers, dict) else {}
            level = Labels.project_value(level_field, project.get("funding_level"), lang) if level_field else ""
            outcome = f.outcome
            file = (report.details or {}).get("file") if report else None
            file_name = str(file.get("file_name") or "") if isinstance(file, dict) else ""
            status = (N_("reg.report.outstanding") if received is None else
                      N_("reg.report.received") if received <= forward_by else N_("reg.report.late"))
            rows.append([f.case.number, level, str(project.get("unit") or ""), applicant_name(s, f.case),
                         str(project.get("name") or ""), outcome.label if outcome else "", f.dates.get("decided"),
                         due_since, received, file_name,
                         t(status, lang), forward_by])
        sheet = Sheet(t("reg.sheet.yunnan", lang, year=year), columns, rows)
        got = sum(1 for r in rows if r[8] is not None and r[8] <= forward_by)
        sheet.notes = [[t("reg.report.summary", lang, year=year, due=len(rows), received=got,
                          outstanding=len(rows) - got)],
                       [t("reg.report.clause", lang, date=forward_by.isoformat())]]
        return sheet
