"""Who may see which case, and with which roles: one answer for the chat, the console, the web desk and
the reminders, so a role that reaches a case in one of them reaches it in all, and one that does not
reaches it nowhere.

A membership reaches a case of its policy. An officer reaches it through the policy's routing
(dialogs/policy.py `Policy.routing`): Yunnan's officers by the level of the funds (第六条), Zhejiang's
基础公益 cases the fund office's officers for what that office does and the department's for the decision
(三(末段)); without routing, by the level the membership names, if any. The unit roles reach a case
when they were invited for the unit the case belongs to in the registry (storage/units.py): names are
compared in their normal form, renames and merges are followed, and a case an admin moved goes to its new
unit. A case's level is the funds' level the applicant gave, else its registry unit's level. Pure reads:
nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from dialogs.policy import Policy, load_policies
from storage import units
from storage.casework import Membership
from storage.models import Case

STAFF_ROLES = frozenset({"officer", "unit_reviewer", "determination_group"})
UNIT_ROLES = frozenset({"unit_reviewer", "determination_group"})
ADMIN = "admin"
APPLICANT = "applicant"
OFFICER = "officer"


def memberships_of(session: Session, user_id: int) -> list[Membership]:
    stmt = select(Membership).where(Membership.user_id == user_id, col(Membership.revoked_at).is_(None))
    return list(session.exec(stmt.order_by(col(Membership.id))))


def all_memberships(session: Session, policy_key: str | None = None) -> list[Membership]:
    stmt = select(Membership).where(col(Membership.revoked_at).is_(None))
    if policy_key is not None:
        stmt = stmt.where(Membership.policy_key == policy_key)
    return list(session.exec(stmt.order_by(col(Membership.id))))


def project_of(case: Case) -> dict:
    answers = case.answers if isinstance(case.answers, dict) else {}
    project = answers.get("project", {})
    return project if isinstance(project, dict) else {}


def case_level(session: Session, case: Case) -> str | None:
    """The level a case is handled at: the funds' level the applicant gave, else its unit's level."""
    level = project_of(case).get("funding_level")
    if isinstance(level, str) and level:
        return level
    unit = units.case_unit(session, case)
    return unit.level if unit is not None else None


def routing_answers(session: Session, case: Case, policy: Policy) -> dict[str, Any]:
    """The case's answers as the routing reads them: the routing field (the funds' level) filled from the
    case's registry unit when the applicant gave none, so a case reaches the officers of its unit's level."""
    answers = case.answers if isinstance(case.answers, dict) else {}
    if policy.routing is None or policy.case_level(answers) is not None:
        return answers
    level = case_level(session, case)
    if level is None:
        return answers
    return {**answers, "project": {**project_of(case), policy.routing.field: level}}


def covers(session: Session, membership: Membership, case: Case) -> bool:
    """Whether `membership` reaches `case` (same policy; routing or level; unit)."""
    if membership.revoked_at is not None or membership.policy_key != case.policy_key:
        return False
    policy = load_policies().get(case.policy_key)
    if membership.role == OFFICER and policy is not None and policy.routing is not None:
        return policy.officer_reaches(membership.level, routing_answers(session, case, policy))
    if membership.level and case_level(session, case) != membership.level:
        return False
    if membership.role not in UNIT_ROLES and not membership.unit:
        return True
    mine = units.membership_unit(session, membership.id, membership.policy_key, membership.unit)
    theirs = units.case_unit(session, case)
    if mine is not None or theirs is not None:
        return mine is not None and theirs is not None and mine.id == theirs.id
    # neither name is in the registry (roles given before it existed): the names themselves must agree
    return bool(membership.unit) and units.normal(membership.unit) == units.normal(project_of(case).get("unit"))


def roles_on(session: Session, user_id: int, case: Case, admin_ids: Iterable[int] = ()) -> set[str]:
    """The roles `user_id` holds on `case`: every membership that reaches it, "applicant" for their own,
    "admin" for an administrator (who sees every case to route it, and acts on none). Empty: the case does
    not exist for them."""
    roles = {m.role for m in memberships_of(session, user_id) if covers(session, m, case)}
    if case.applicant_id == user_id:
        roles.add(APPLICANT)
    if user_id in set(admin_ids):
        roles.add(ADMIN)
    return roles


def may_see(session: Session, user_id: int, case: Case, admin_ids: Iterable[int] = ()) -> bool:
    return bool(roles_on(session, user_id, case, admin_ids))


def members_for_case(session: Session, case: Case, roles: Iterable[str]) -> list[Membership]:
    wanted = set(roles)
    return [m for m in all_memberships(session, case.policy_key) if m.role in wanted and covers(session, m, case)]


def visible_cases(session: Session, user_id: int, admin_ids: Iterable[int] = ()) -> list[Case]:
    """Every case `user_id` may see through a role or as its applicant, by id: the cases `roles_on`
    gives a role on, so a list (the desk's table, the register) never shows a case its page would refuse.
    An administrator sees every case, as `roles_on` says."""
    if user_id in set(admin_ids):
        return list(session.exec(select(Case).order_by(col(Case.id))))
    seen: dict[int, Case] = {c.id or 0: c for c in session.exec(select(Case).where(Case.applicant_id == user_id))}
    memberships = memberships_of(session, user_id)
    for key in sorted({m.policy_key for m in memberships}):
        for case in session.exec(select(Case).where(Case.policy_key == key).order_by(col(Case.id))):
            if any(covers(session, m, case) for m in memberships):
                seen[case.id or 0] = case
    return [seen[k] for k in sorted(seen)]
