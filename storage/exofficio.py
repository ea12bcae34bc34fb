"""Cases the deciding body opens itself, and how the person concerned takes one up.

Yunnan 第六条(二): "问责机关在启动问责程序前和责任追究调查过程中，认为符合条件的，应当主动启动容错免责程序".
The officer records who and why (the policy's `procedure.ex_officio` fields, checked by
dialogs.procedure.Procedures.start_ex_officio); the case is created in the state the policy names, with
its clock events, and with nobody as applicant yet (`applicant_id` 0). The officer hands the person a
single-use claim code (a deep link `/start exo_<case>_<token>`); whoever redeems it becomes the case's
applicant, is told, and completes the case through the applicant actions of that state (Yunnan: give
their account and material). No new table: the code's hash and expiry live in the case's answers, which
for such a case are the officer's record rather than an application.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlmodel import Session

from dialogs.policy import Policy
from dialogs.procedure import Result
from storage import caserepo as cr
from storage import repo
from storage.keys import parse_id
from storage.models import Case

CLAIM_LIFETIME = dt.timedelta(days=30)
CLAIM_PREFIX = "exo_"
UNCLAIMED = 0
"""`Case.applicant_id` of a case opened ex officio that nobody has taken up yet (no Telegram user is 0)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_case(session: Session, policy: Policy, officer_id: int, level: str | None, values: dict[str, Any],
              result: Result, now: dt.datetime) -> tuple[Case, str]:
    """Create the case and its first audit line; returns the case and the claim code for the person."""
    assert policy.procedure is not None and policy.procedure.ex_officio is not None and result.ok
    spec = policy.procedure.ex_officio
    year = now.astimezone(cr.SHANGHAI).year
    number = repo.next_case_number(session, policy.case_prefix, year)
    token = secrets.token_urlsafe(12)
    kind = str(values.get(spec.subject_kind_field, ""))
    project: dict[str, Any] = {"name": values.get(spec.project_field, "")}
    if kind == "unit":
        project["unit"] = values.get(spec.subject_field, "")
    if policy.routing is not None and level is not None:
        project[policy.routing.field] = level
    answers = {
        "policy": policy.key, "origin": "ex_officio", "applicant_kind": kind, "project": project,
        "ex_officio": {**values, "opened_by": officer_id, "claim_sha256": _digest(token),
                       "claim_until": (now + CLAIM_LIFETIME).isoformat()},
        "_meta": {"policy_version": policy.version},
    }
    case = Case(number=number, draft_id=0, applicant_id=UNCLAIMED, policy_key=policy.key,
                policy_version=policy.version, state=result.state_after, answers=answers, submitted_at=now)
    session.add(case)
    session.flush()
    events = result.events or []
    first = events[0].event if events else None
    cr.add_event(session, case.id, officer_id, "officer", "ex_officio", None, case.state, dict(values),
                 event=first, at=now)
    for extra in events[1:]:
        cr.add_event(session, case.id, officer_id, "officer", "ex_officio", None, case.state, dict(values),
                     event=extra.event, at=now)
    return case, f"{CLAIM_PREFIX}{case.id}_{token}"


def is_claim_code(code: str) -> bool:
    return code.startswith(CLAIM_PREFIX)


def claim(session: Session, code: str, user_id: int, now: dt.datetime) -> Case | str:
    """The case, now with `user_id` as its applicant, or why not: "unknown", "used", "expired", "own"
    (the officer who opened it cannot be the person concerned). Redeeming one's own code again is fine."""
    body = code.removeprefix(CLAIM_PREFIX)
    ident, _, token = body.partition("_")
    key = parse_id(ident)
    case = session.get(Case, key, with_for_update=True) if key is not None else None
    record = case.answers.get("ex_officio") if case is not None and isinstance(case.answers, dict) else None
    if case is None or not isinstance(record, dict) or not token or \
            not hmac.compare_digest(str(record.get("claim_sha256", "")), _digest(token)):
        return "unknown"
    if case.applicant_id == user_id:
        return case
    if case.applicant_id != UNCLAIMED:
        return "used"
    if dt.datetime.fromisoformat(str(record["claim_until"])) < now:
        return "expired"
    if record.get("opened_by") == user_id:
        return "own"
    case.applicant_id = user_id
    case.answers = {**case.answers, "ex_officio": {**record, "claimed_at": now.isoformat()}}
    session.add(case)
    cr.add_event(session, case.id, user_id, "applicant", "claim", case.state, case.state, {}, at=now)
    session.flush()
    return case
