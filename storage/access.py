"""Who may see which case: one answer for the chat, the desk and the register.

The officers' chat (bot/officer_flow.py), the researcher's files (bot/document_flow.py), the web desk
(bot/web/) and the case register (bot/register_flow.py) all ask the same two questions; answering them
in one place means a role that reaches a case in chat reaches it on the desk and in the .xlsx, and a
role that does not reaches it nowhere.
"""

from __future__ import annotations

from sqlmodel import Session

from storage import caserepo as cr
from storage.models import Case


def roles_on(session: Session, user_id: int, case: Case) -> set[str]:
    """The roles `user_id` holds on `case`: every membership that covers it, and "applicant" for their own.
    Empty means the case does not exist for them."""
    roles = {m.role for m in cr.memberships_of(session, user_id) if cr.covers(m, case)}
    if case.applicant_id == user_id:
        roles.add("applicant")
    return roles


def visible_cases(session: Session, user_id: int) -> list[Case]:
    """Every case `user_id` may see, by id: their own applications and whatever their roles reach."""
    seen: dict[int, Case] = {c.id or 0: c for c in cr.cases_of_applicant(session, user_id)}
    memberships = cr.memberships_of(session, user_id)
    for key in sorted({m.policy_key for m in memberships}):
        for case in cr.cases_of_policy(session, key):
            if any(cr.covers(m, case) for m in memberships):
                seen[case.id or 0] = case
    return [seen[k] for k in sorted(seen)]
