"""Who can act on a case now, and which cases nobody can act on.

A case *needs* the staff roles that take an action from its current state. Those members who reach the
case (storage/access.py) and whose role has an action the procedure allows now are the ones *who can act*:
only they are told that work reached them, and only they get the reminders of its clocks. Where the
policy routes officers by level (`Policy.routing`), an officer takes only the actions of their level
(Zhejiang 三(末段): the fund office receives and reviews 基础公益 cases, the department decides them). A
case in a state that needs staff but that no member can take an action of is *stranded* (a unit nobody
reviews, a policy or level without an officer): it goes before the admins at once and stays on their
/queue until someone covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.officer.desk import Desk
from dialogs.policy import ProcAction
from dialogs.text import N_
from storage import access, units
from storage.casework import Membership
from storage.models import Case

# what fixes each reason (bot/officer/notify.py shows `<reason>.fix` beside it)
FIXES = (N_("off.stranded.no_unit.fix"), N_("off.stranded.no_reviewer.fix"), N_("off.stranded.no_officer.fix"),
         N_("unitpick.stranded.proposed_unit.fix"))


@dataclass(frozen=True)
class Stranded:
    """Why nobody can act: `reason` is a message key; `unit` the case's unit as the registry knows it."""

    case: Case
    roles: frozenset[str]
    reason: str
    unit: str | None = None
    typed_unit: str | None = None
    level: str | None = None


class Routing:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def needed_roles(self, case: Case) -> set[str]:
        """Staff roles with an action from the case's state (whatever its guards say today)."""
        if self.desk.is_final(case):
            return set()
        proc = self.desk.procedures.procedure(case.policy_key)
        return {a.role for a in proc.actions if case.state in a.source and a.role != access.APPLICANT}

    def state_actions(self, case: Case) -> list[ProcAction]:
        """The staff actions from the case's state (whatever their guards say today)."""
        if self.desk.is_final(case):
            return []
        proc = self.desk.procedures.procedure(case.policy_key)
        return [a for a in proc.actions if case.state in a.source and a.role != access.APPLICANT]

    def takes(self, s: Session, case: Case, membership: Membership, action: ProcAction) -> bool:
        """Whether this membership takes this action on this case: its role, and an officer's level."""
        if membership.role != action.role:
            return False
        if membership.role != access.OFFICER:
            return True
        policy = self.desk.policies[case.policy_key]
        return policy.officer_may_take(membership.level, access.routing_answers(s, case, policy), action.id)

    def actions_now(self, s: Session, case: Case) -> list[ProcAction]:
        """The staff actions the procedure allows on the case today."""
        if self.desk.is_final(case):
            return []
        return [a for a in self.desk.procedures.available(case.policy_key, self.desk.case_file(s, case),
                                                          set(access.STAFF_ROLES), self.desk.today())]

    def who_can_act(self, s: Session, case: Case) -> list[Membership]:
        """Members (never the applicant) whose role has an action allowed now; one row per person and role."""
        actions = self.actions_now(s, case)
        roles = {a.role for a in actions}
        return [m for m in access.members_for_case(s, case, roles) if m.user_id != case.applicant_id
                and any(self.takes(s, case, m, a) for a in actions)]

    def alert_recipients(self, s: Session, case: Case) -> list[int]:
        """Who hears of a case's clocks: those who can act; when nobody can act right now (the case waits for
        the applicant), the officers who reach it, never a unit reviewer with nothing to do."""
        people = {m.user_id for m in self.who_can_act(s, case)}
        if not people:
            people = {m.user_id for m in access.members_for_case(s, case, {"officer"})}
        people.discard(case.applicant_id)
        return sorted(people)

    def stranded(self, s: Session, case: Case) -> Stranded | None:
        needed = self.needed_roles(case)
        if not needed:
            return None
        actions = self.state_actions(case)
        members = [m for m in access.members_for_case(s, case, needed) if m.user_id != case.applicant_id
                   and any(self.takes(s, case, m, a) for a in actions)]
        if members:
            return None
        project = access.project_of(case)
        typed = project.get("unit") if isinstance(project.get("unit"), str) else None
        unit = units.case_unit(s, case)
        if needed & access.UNIT_ROLES:
            # a unit a researcher proposed takes no reviewer until an admin confirms it (or merges it away)
            reason = (N_("off.stranded.no_unit") if unit is None else N_("unitpick.stranded.proposed_unit")
                      if unit.status == "proposed" else N_("off.stranded.no_reviewer"))
        else:
            reason = N_("off.stranded.no_officer")
        return Stranded(case, frozenset(needed), reason, unit.name if unit else None, typed,
                        access.case_level(s, case))

    def stranded_cases(self, s: Session, policy_key: str | None = None) -> list[Stranded]:
        stmt = select(Case).order_by(col(Case.id))
        if policy_key is not None:
            stmt = stmt.where(Case.policy_key == policy_key)
        out = []
        for case in s.exec(stmt):
            found = self.stranded(s, case)
            if found is not None:
                out.append(found)
        return out

    def open_cases(self, s: Session, policy_key: str) -> list[Case]:
        stmt = select(Case).where(Case.policy_key == policy_key).order_by(col(Case.id))
        return [c for c in s.exec(stmt) if not self.desk.is_final(c)]
