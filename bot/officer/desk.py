"""What every part of the officers' side shares: the policies and their procedures, the calendar, the
settings, who holds which role on a case, and how a refusal is answered and recorded.

A refusal is answered in the user's language and changes nothing else. Where it is written depends on who
was refused: someone with a role on the case (the wrong role, their own case, a stale button) goes into
the case's audit trail, where the officers read it; a stranger (no role on the case, no role at all, a bad
invitation code) goes to the security log (storage/securitylog.py), counted, so nobody can flood a case
file by pressing forged buttons.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlmodel import Session

from bot.actions import Act
from bot.config import Settings
from bot.i18n import render, t
from bot.ids import parse_case_ref
from bot.reply import Reply, View
from dialogs.policy import Policy
from dialogs.procedure import CaseFile, Procedures, Record
from dialogs.text import Msg
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events
from scheduler.clocks import Clock, clocks_for
from storage import access, securitylog
from storage import caserepo as cr
from storage.casework import CaseEvent
from storage.models import Case, User

log = logging.getLogger(__name__)
# Refusals that say the person has no business here at all: they go to the security log, not a case's trail.
STRANGER_REASONS = frozenset({"off.err.no_case", "off.err.not_admin", "off.err.not_staff", "off.err.forged"})


class Params(dict):
    """Templates use only some of the values at hand; a missing one shows as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


class Desk:
    """The shared services; one instance, handed to every part of the package."""

    def __init__(self, policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings) -> None:
        self.policies = policies
        self.procedures = Procedures(policies, calendar)
        self.calendar = calendar
        self.settings = settings
        self.bot_username: str | None = None

    # -- time, people, roles ---------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return cr.stamp(self.settings.today())

    def today(self) -> dt.date:
        return self.settings.today()

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def roles(self, s: Session, user_id: int, case: Case) -> set[str]:
        """The one access rule (storage/access.py), with this deployment's administrators."""
        return access.roles_on(s, user_id, case, self.settings.admin_ids)

    def language_of(self, s: Session, user_id: int) -> str:
        user = s.get(User, user_id)
        return (user.language if user and user.language else None) or self.settings.default_language

    def name_of(self, s: Session, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        user = s.get(User, user_id)
        return (user.first_name if user and user.first_name else "") or str(user_id)

    def find_case(self, s: Session, ref: str) -> Case | None:
        """A case as people name it (`12`, `DG-2026-0001`); anything else is no case."""
        parsed = parse_case_ref(ref)
        if isinstance(parsed, int):
            return s.get(Case, parsed)
        return cr.find_case(s, parsed) if isinstance(parsed, str) else None

    def has_procedure(self, case: Case) -> bool:
        return case.policy_key in self.procedures.policies

    # -- the case as the procedure and the clocks read it ----------------------------------------------
    def case_file(self, s: Session, case: Case) -> CaseFile:
        """The trail as the procedure reads it, with the case's answers (fields and routing that depend on
        the application: a funding level, the project's kind)."""
        records = [Record(e.action, cr.shanghai_date(e.at), dict(e.details), (e.event,) if e.event else ())
                   for e in cr.history(s, case.id or 0) if not e.refused]
        return CaseFile(case.state, records, case.answers if isinstance(case.answers, dict) else {})

    def clocks(self, s: Session, case: Case) -> list[Clock]:
        """The case's clocks from the one derivation of its clock events (scheduler/clockevents.py)."""
        return clocks_for(self.policies[case.policy_key], case_clock_events(s, case), self.calendar, self.today())

    def officer_levels(self, s: Session, user_id: int, case: Case) -> set[str | None]:
        """The levels of the user's officer memberships that reach the case (Policy.routing): what the
        procedure needs to offer an officer only the actions their level takes."""
        return {m.level for m in access.memberships_of(s, user_id)
                if m.role == access.OFFICER and access.covers(s, m, case)}

    def officer_may_take(self, s: Session, user_id: int, case: Case, action_id: str) -> bool:
        """Whether one of the user's officer memberships takes this action on this case (Zhejiang 三(末段):
        the fund office receives 基础公益 cases, the department decides; Yunnan: the level of the funds)."""
        policy = self.policies[case.policy_key]
        answers = access.routing_answers(s, case, policy)
        return any(policy.officer_may_take(level, answers, action_id)
                   for level in self.officer_levels(s, user_id, case))

    def is_final(self, case: Case) -> bool:
        return not self.has_procedure(case) or self.procedures.is_final(case.policy_key, case.state)

    def entry_event(self, s: Session, case: Case) -> CaseEvent | None:
        """The line of the trail that brought the case into its current state (its submission at first)."""
        for e in reversed(cr.history(s, case.id or 0)):
            if e.refused:
                continue
            if e.state_after == case.state and (e.state_before != e.state_after or e.action == "submit"):
                return e
        return None

    # -- refusals ----------------------------------------------------------------------------------------
    def refuse(self, act: Act, why: Msg, action: str, case: Case | None = None, role: str = "",
               extra: dict[str, Any] | None = None, edit: bool = False) -> Reply:
        """Answer the refusal and record it (case trail or security log); nothing else changes."""
        s, who = act.session, act.who
        stranger = why.key in STRANGER_REASONS and (case is None or not self.roles(s, who.user_id, case))
        if why.key.startswith("off.join."):
            stranger = True
        if stranger:
            detail = "; ".join(f"{k}={v}" for k, v in (extra or {}).items())
            securitylog.record(s, who.user_id, case.id if case else None, action, why.key, detail, at=self.now())
        else:
            state = case.state if case is not None else None
            cr.add_event(s, case.id if case else None, who.user_id, role, action, state, state,
                         {"why": why.key, **(extra or {})}, refused=True, at=self.now())
        log.info("refused %s for user %s on case %s: %s", action, who.user_id, case.id if case else None, why.key)
        text = render(why, act.lang)
        return Reply(toast=text, alert=True, view=View(t("off.refused", act.lang, text=text)), edit=edit)

    def admin_only(self, act: Act, action: str) -> Reply | None:
        """The refusal when the user is not an administrator, else None."""
        if self.is_admin(act.who.user_id):
            return None
        return self.refuse(act, Msg("off.err.not_admin"), action)
