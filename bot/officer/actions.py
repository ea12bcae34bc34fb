"""Acting on a case: who may take a procedure action now, committing it in one transaction (new state,
audit lines with their clock events, documents, the applicant's notifications, the people who must act
next told), and what happens when a clock with an expiry rule runs out.

Every check is made against who pressed (role, policy, unit, level, never one's own case) and the case's
current state; the procedure itself is judged by dialogs/procedure.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from bot.actions import Act
from bot.i18n import t
from bot.officer.case_file import CaseFileView
from bot.officer.desk import Desk
from bot.officer.forms import Forms
from bot.officer.labels import Labels
from bot.officer.notify import Notices
from bot.reply import Reply
from dialogs.policy import ProcAction, TimeLimit
from dialogs.procedure import Result
from dialogs.text import Msg
from storage import access
from storage import caserepo as cr
from storage.casework import CaseEvent, PendingForm
from storage.models import Case

log = logging.getLogger(__name__)


class CaseActions:
    def __init__(self, desk: Desk, labels: Labels, files: CaseFileView, forms: Forms, notices: Notices) -> None:
        self.desk = desk
        self.labels = labels
        self.files = files
        self.forms = forms
        self.notices = notices
        # Told of every action recorded, in its transaction, whoever took it (the publicity in public:
        # bot/publicity/service.py `recorded`); set by the composition root.
        self.on_recorded: Callable[[Session, Case, str, dict[str, Any], int, int | None, dt.datetime], None] | None = None

    def may_act(self, act: Act, case: Case, spec: ProcAction | None, state: str, action_id: str) -> Reply | str:
        """The acting role when the presser may take this action on this case now, else the recorded refusal."""
        roles = self.desk.roles(act.session, act.who.user_id, case)
        if not roles:
            return self.desk.refuse(act, Msg("off.err.no_case"), action_id, case)
        proc_roles = roles - {access.ADMIN}
        acting = spec.role if spec is not None and spec.role in roles else next(iter(sorted(proc_roles or roles)))
        if spec is None:
            return self.desk.refuse(act, Msg("off.err.forged"), action_id, case, acting)
        if spec.role != access.APPLICANT and access.APPLICANT in roles:
            return self.desk.refuse(act, Msg("off.err.own_case"), action_id, case, acting)
        if spec.role not in roles:
            return self.desk.refuse(act, Msg("proc.err.wrong_role"), action_id, case, acting)
        if spec.role == access.OFFICER and not self.desk.officer_may_take(act.session, act.who.user_id, case, spec.id):
            return self.desk.refuse(act, self._other_level(act, case, spec), action_id, case, acting)
        if state != case.state:
            return self.desk.refuse(act, Msg("off.err.stale"), action_id, case, acting, {"pressed_in": state})
        problem = self.desk.procedures.why_not(case.policy_key, self.desk.case_file(act.session, case), spec, {},
                                               self.desk.today(), check_fields=False)
        if problem is not None:
            return self.desk.refuse(act, problem, action_id, case, acting)
        return spec.role

    def _other_level(self, act: Act, case: Case, spec: ProcAction) -> Msg:
        """The refusal of an officer whose level does not take this action on this case, naming the level
        that does and its clause (Zhejiang 三(末段), Yunnan 第六条)."""
        policy = self.desk.policies[case.policy_key]
        routing = policy.routing
        needed = (routing.level(policy.acting_level(access.routing_answers(act.session, case, policy), spec.id))
                  if routing is not None else None)
        return Msg("proc.err.other_level", {"level": needed.label if needed else "—",
                                            "clause": needed.clause if needed else "—"})

    def start(self, act: Act, case: Case, state: str, action_id: str) -> Reply:
        spec = self.desk.procedures.procedure(case.policy_key).action(action_id)
        acting = self.may_act(act, case, spec, state, action_id)
        if isinstance(acting, Reply):
            return acting
        assert spec is not None
        return self.forms.start(act, case, spec, acting)

    def commit(self, act: Act, case: Case, form: PendingForm, spec: ProcAction) -> Reply:
        s, lang = act.session, act.lang
        # the case row locked and read afresh: the reminder scan acting on it waits, or went first and is seen
        s.refresh(case, with_for_update=True)
        state = self.forms.state(s, case, spec, form)
        values, problem = state.values, state.problem
        if problem is not None:  # the form stays open with what is missing
            reply = self.desk.refuse(act, problem, spec.id, case, form.role, {"values": values})
            reply.view = self.forms.view(s, case, spec, form, lang, error=t("off.form.error", lang, text=reply.toast))
            reply.edit = True
            return reply
        cr.clear_form(s, act.who.user_id)
        acting = self.may_act(act, case, spec, form.state, spec.id)
        if isinstance(acting, Reply):
            acting.edit = True
            return acting
        result = self.desk.procedures.apply(case.policy_key, self.desk.case_file(s, case), spec.id, acting, values,
                                            self.desk.today())
        if not result.ok:
            assert result.error is not None
            return self.desk.refuse(act, result.error, spec.id, case, acting, {"values": values}, edit=True)
        main = self.record(s, case, spec, values, result, act.who.user_id, acting, self.desk.now())
        if acting == access.APPLICANT:
            self.notices.applicant_acted(s, case, spec, main.id or 0)
        notice = t("off.form.done", lang, action=self.labels.bare(spec.label.get(lang)),
                   state=self.labels.state_label(case, lang))
        roles = self.desk.roles(s, act.who.user_id, case)
        return Reply(view=self.files.view(s, case, roles, lang, notice, act.who.user_id), edit=True)

    def record(self, s: Session, case: Case, spec: ProcAction, values: dict[str, Any], result: Result,
               actor_id: int | None, actor_role: str, now: dt.datetime) -> CaseEvent:
        """An applied action lands in one go: new state, audit lines with clock events, files, notifications,
        and — when the case entered a state — those who must act next are told (or the admins)."""
        case.state = result.state_after
        s.add(case)
        first = result.events[0] if result.events else None
        main = cr.add_event(s, case.id, actor_id, actor_role, spec.id, result.state_before, result.state_after,
                            {**values, **(first.details if first else {})}, event=first.event if first else None, at=now)
        for extra in result.events[1:]:
            cr.add_event(s, case.id, actor_id, actor_role, spec.id, result.state_before, result.state_after,
                         {**values, **extra.details}, event=extra.event, at=now)
        for f in spec.fields:
            if f.kind == "file" and isinstance(values.get(f.id), dict):
                cr.add_document(s, case.id or 0, spec.id, actor_id or 0, values[f.id])
        self.notices.applicant(s, case, spec, values, result.notify, main.id or 0)
        if result.state_before != result.state_after:
            self.notices.after_change(s, case)
        if self.on_recorded is not None:
            self.on_recorded(s, case, spec.id, values, main.id or 0, actor_id, now)
        return main

    def on_clock_expired(self, s: Session, case: Case, limit: TimeLimit, now: dt.datetime) -> str:
        """A clock with an expiry rule ran out: take the declared action as the system ("done"), or say an
        officer must act first ("needs_officer", e.g. an objection was recorded), or "refused"."""
        rule = limit.on_expiry
        if rule is None or not self.desk.has_procedure(case):
            return "refused"
        spec = self.desk.procedures.procedure(case.policy_key).action(rule.action)
        if spec is None:
            return "refused"
        case_file = self.desk.case_file(s, case)
        if any(r.action in rule.unless_recorded for r in case_file.history):
            return "needs_officer"
        values = dict(rule.values)
        result = self.desk.procedures.apply(case.policy_key, case_file, spec.id, spec.role, values,
                                            cr.shanghai_date(now))
        if not result.ok:
            log.info("expiry of %s on case %s not applied: %s", limit.id, case.number, result.error)
            return "refused"
        self.record(s, case, spec, values, result, None, "system", now)
        return "done"
