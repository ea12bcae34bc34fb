"""Shared by the clause-by-clause tests (tests/test_rules_*.py): the policies, an engine on the real
calendar, a way to fire actions the way the officer flow does, and a complete application per policy
at the level the wizard validates it (dialogs/answers.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dialogs.answers
from dialogs.policy import Policy, load_policies
from dialogs.procedure import CaseFile, Procedures, Record, Result
from scheduler.calendar import WorkCalendar

POLICIES = load_policies()
CAL = WorkCalendar()
PROCS = Procedures(POLICIES, CAL)
TODAY = dt.date(2026, 11, 20)
FILE = {"file_id": "F-1", "file_unique_id": "U-1", "file_name": "report.pdf", "size": 1000}
MEETING = {"meeting": "2026年第5次局长办公会", "meeting_date": "2026-11-18", "participants": "张三、李四、王五"}
"""The record every collective decision asks for (its meeting, date and who took part): given here for the
actions that declare it, so that each clause's test names only what that clause requires; the fields
themselves are tested in tests/test_procedure.py and tests/test_officer_flow.py."""


def fire(key: str, case: CaseFile, role: str, action: str, values: dict[str, Any] | None = None,
         today: dt.date = TODAY) -> Result:
    """Apply like bot/officer/actions.py does, and record the action on the case when it passed."""
    spec = PROCS.procedure(key).action(action)
    declared = {f.id for f in spec.fields} if spec is not None else set()
    values = {**{k: v for k, v in MEETING.items() if k in declared}, **(values or {})}
    result = PROCS.apply(key, case, action, role, values, today)
    if result.ok:
        case.history.append(Record(action, today, values, tuple(e.event for e in result.events)))
    return result


def officer(key: str, case: CaseFile, action: str, values: dict[str, Any] | None = None,
            today: dt.date = TODAY) -> Result:
    return fire(key, case, "officer", action, values, today)


def complete_answers(policy: Policy, role: str | None = None) -> dict[str, Any]:
    """A complete application: every step answered so that nothing bars it (what tests/scenario.py
    presses, as the answers it leaves)."""
    role = role or (policy.roles[-1].id if policy.roles else None)
    answers: dict[str, Any] = {"policy": policy.key, "applicant_kind": policy.applicant_kinds[-1].id}
    if role:
        answers["role"] = role
    answers["project"] = {f.id: (f.options[0].id if f.kind == "choice" else 12.5 if f.kind == "number"
                                 else f"测试-{f.id}") for f in policy.project_fields}
    answers["origin"] = dialogs.answers.origins_offered(policy)[0].id
    answers["gates"] = {g.id: not (g.bars_if if g.bars_if is not None else g.warns_if) for g in policy.gates}
    if policy.conditions is not None:
        offered = policy.conditions.for_role(role)
        if policy.conditions.mode == "grouped":
            ids = []
            for group in policy.conditions.groups:
                members = [i.id for i in offered if i.id in group.items]
                ids += members if group.mode == "all" else members[:1]
            answers["conditions"] = ids
        elif policy.conditions.mode == "all":
            answers["conditions"] = [i.id for i in offered]
        else:
            answers["conditions"] = [offered[0].id]
    answers["grounds"] = [policy.grounds.for_role(role)[0].id]
    if policy.negative is not None:
        answers["negative"] = {i.id: False for i in policy.negative.for_role(role)}
    answers["facts"] = "项目因技术路线选择失误未能完成目标，原始记录齐全，已主动报告。"
    answers["materials_later"] = []
    answers["_meta"] = {"policy_version": policy.version}
    return answers


def uploads_for(policy: Policy) -> dict[str, int]:
    return {m.id: 1 for m in policy.materials if m.required}


def problem(policy: Policy, answers: dict[str, Any], step: str = "summary",
            uploads: dict[str, int] | None = None, today: dt.date | None = None) -> Any:
    return dialogs.answers.step_problem(step, policy, answers, uploads_for(policy) if uploads is None else uploads, today)
