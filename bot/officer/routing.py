"""Who can act on a case now, and which cases nobody can act on.

A case *needs* the staff roles that take an action from its current state. Those members who reach the
case (storage/access.py) and whose role has an action the procedure allows now are the ones *who can act*:
only they are told that work reached them, and only they get the reminders of its clocks. A case in a
state that needs staff but reached by no member of those roles is *stranded* (a unit nobody reviews, a
policy or level without an officer): it goes before the admins at once and stays on their /queue until
someone covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.officer.desk import Desk
from dialogs.policy import ProcAction
from storage import access, units
from storage.casework import Membership
from storage.models import Case


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

    def actions_now(self, s: Session, case: Case) -> list[ProcAction]:
        """The staff actions the procedure allows on the case today."""
        if self.desk.is_final(case):
            return []
        return [a for a in self.desk.procedures.available(case.policy_key, self.desk.case_file(s, case),
                                                          set(access.STAFF_ROLES), self.desk.today())]

    def who_can_act(self, s: Session, case: Case) -> list[Membership]:
        """Members (never the applicant) whose role has an action allowed now; one row per person and role."""
        roles = {a.role for a in self.actions_now(s, case)}
        return [m for m in access.members_for_case(s, case, roles) if m.user_id != case.applicant_id]

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
        members = [m for m in access.members_for_case(s, case, needed) if m.user_id != case.applicant_id]
        if members:
            return None
        project = access.project_of(case)
        typed = project.get("unit") if isinstance(project.get("unit"), str) else None
        unit = units.case_unit(s, case)
        if needed & access.UNIT_ROLES:
            reason = "off.stranded.no_unit" if unit is None else "off.stranded.no_reviewer"
        else:
            reason = "off.stranded.no_officer"
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
