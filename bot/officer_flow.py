"""The officers' side and the applicant's view of a submitted case, independent of the transport.

Every entry point takes the `Act` of bot/actions.py (one transaction that also claimed the Telegram
update, the user and their language), so a re-delivered update is applied once. Every action on a case is checked here for who may take it (role, policy, unit,
level, never on one's own case) and against the case's current state; the procedure itself is checked
by dialogs/procedure.py. Whatever is refused is answered and written to the audit trail with the state
unchanged. Notifications to the applicant are written to the outbox in the same transaction as the
change they report; bot/outbox.py delivers them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.actions import Act
from bot.callbacks import CaseAction, FileKind, Home, Press, encode
from bot.case_view import CaseViews
from bot.config import Settings
from bot.i18n import gettext, render, t
from bot.ids import parse_case_ref
from bot.reply import Menu, MenuChange, Reply, View, Who
from dialogs.policy import Policy, ProcAction, ProcField, TimeLimit
from dialogs.procedure import CaseFile, Procedures, parse_value
from dialogs.text import Msg
from scheduler.calendar import WorkCalendar
from storage import caserepo as cr
from storage.casework import CaseDocument, CaseEvent, Membership, PendingForm
from storage.models import Case, Upload, User, utcnow

log = logging.getLogger(__name__)
ROLE_OF_KIND = {"officer": "officer", "unit": "unit_reviewer", "group": "determination_group"}
UNIT_ROLE_POLICY = {"unit_reviewer": "zhejiang", "determination_group": "liaoning"}
INVITATION_LIFETIME = dt.timedelta(days=3)


class _Params(dict):
    """Notification templates use only some of an action's fields; a missing one shows as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


class OfficerFlow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], calendar: WorkCalendar,
                 settings: Settings) -> None:
        self.engine = engine
        self.policies = policies
        self.procedures = Procedures(policies, calendar)
        self.calendar = calendar
        self.settings = settings
        self.views = CaseViews(policies, self.procedures, calendar, settings)
        self.bot_username: str | None = None

    # -- small helpers ------------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return cr.stamp(self.settings.today())

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def is_staff(self, act: Act) -> bool:
        return bool(cr.memberships_of(act.session, act.who.user_id))

    def _refuse(self, s: Session, who: Who, lang: str, why: Msg, action: str, case: Case | None = None,
                role: str = "", extra: dict[str, Any] | None = None, edit: bool = False) -> Reply:
        """Answer the refusal and record it; nothing else in the transaction changes."""
        state = case.state if case is not None else None
        cr.add_event(s, case.id if case else None, who.user_id, role, action, state, state,
                     {"why": why.key, **(extra or {})}, refused=True, at=self._now())
        log.info("refused %s for user %s on case %s: %s", action, who.user_id, case.id if case else None, why.key)
        text = render(why, lang)
        return Reply(toast=text, alert=True, view=View(t("off.refused", lang, text=text)), edit=edit)

    def _roles(self, s: Session, user_id: int, case: Case) -> set[str]:
        roles = {m.role for m in cr.memberships_of(s, user_id) if cr.covers(m, case)}
        if case.applicant_id == user_id:
            roles.add("applicant")
        return roles

    def _all_levels(self) -> str:
        return ", ".join(f"{key}: {'/'.join(lv.id for lv in p.routing.levels)}" for key, p in self.policies.items()
                         if p.routing is not None)

    def _officer_levels(self, s: Session, user_id: int, case: Case) -> set[str | None]:
        """The levels of the user's officer memberships that reach the case (routing, dialogs/policy.py)."""
        return {m.level for m in cr.memberships_of(s, user_id) if m.role == "officer" and cr.covers(m, case)}

    # -- admins: invitations and members --------------------------------------------------------------
    def invite(self, act: Act, args: list[str]) -> Reply:
        """`/invite officer <policy> [level]`, `/invite unit zhejiang <unit>`, `/invite group liaoning <unit>`."""
        s, who, lang = act.session, act.who, act.lang
        if not self.is_admin(who.user_id):
            return self._refuse(s, who, lang, Msg("off.err.not_admin"), "invite")
        kind = args[0] if args else ""
        role = ROLE_OF_KIND.get(kind)
        policy_key = args[1] if len(args) > 1 else ""
        rest = " ".join(args[2:]).strip()
        if role is None or policy_key not in self.procedures.policies:
            return Reply(view=View(t("off.invite.usage", lang, policies=", ".join(self.procedures.policies),
                                            levels=self._all_levels())))
        level = unit = None
        if role in UNIT_ROLE_POLICY:
            if UNIT_ROLE_POLICY[role] != policy_key or not rest:
                return Reply(view=View(t("off.invite.unit_usage", lang)))
            unit = rest
        elif (routing := self.policies[policy_key].routing) is not None and (rest or routing.required):
            if rest not in [lv.id for lv in routing.levels]:
                return Reply(view=View(t("rules.invite.level_usage", lang,
                                         policy=self.policies[policy_key].short_name.get(lang),
                                         levels="; ".join(f"{lv.id} = {lv.label.get(lang)}"
                                                          for lv in routing.levels))))
            level = rest
        elif rest:
            return Reply(view=View(t("off.invite.usage", lang, policies=", ".join(self.procedures.policies),
                                            levels=self._all_levels())))
        invitation = cr.create_invitation(s, role, policy_key, who.user_id, INVITATION_LIFETIME, level, unit)
        cr.add_event(s, None, who.user_id, "admin", "invite", None, None,
                     {"role": role, "policy": policy_key, "level": level, "unit": unit})
        link = (f"https://t.me/{self.bot_username}?start={invitation.code}" if self.bot_username
                else f"/start {invitation.code}")
        until = cr.aware(invitation.expires_at).astimezone(cr.SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return Reply(view=View(t("off.invite.created", lang, role=t(f"off.role.{role}", lang),
                                     policy=self.policies[policy_key].short_name.get(lang),
                                     scope=level or unit or "—", link=link, code=invitation.code,
                                     until=until)))

    def join(self, act: Act, code: str) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        result = cr.redeem_invitation(s, code.strip(), who.user_id)
        if isinstance(result, str):
            return self._refuse(s, who, lang, Msg(f"off.join.{result}"), "join", extra={"code": code[:16]})
        cr.add_event(s, None, who.user_id, result.role, "join", None, None,
                     {"membership": result.id, "policy": result.policy_key, "level": result.level,
                      "unit": result.unit})
        policy = self.policies[result.policy_key]
        text = t("off.join.ok", lang, role=t(f"off.role.{result.role}", lang),
                 policy=policy.short_name.get(lang), scope=result.level or result.unit or "—")
        return Reply(view=View(text, [[(t("off.btn.queue", lang), encode(CaseAction.QUEUE))]]),
                     menu=MenuChange(Menu.STAFF))

    def members(self, act: Act) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        if not self.is_admin(who.user_id):
            return self._refuse(s, who, lang, Msg("off.err.not_admin"), "members")
        return Reply(view=self._members_view(s, lang))

    def _members_view(self, s: Session, lang: str) -> View:
        rows = cr.all_memberships(s)
        if not rows:
            return View(t("off.members.empty", lang))
        lines = [t("off.members.title", lang)]
        buttons = []
        for m in rows:
            user = s.get(User, m.user_id)
            lines.append(t("off.members.item", lang, id=m.id, name=(user.first_name if user else "") or m.user_id,
                           user=m.user_id, role=t(f"off.role.{m.role}", lang),
                           policy=self.policies[m.policy_key].short_name.get(lang), scope=m.level or m.unit or "—"))
            buttons.append([(t("off.btn.revoke", lang, id=m.id), encode(CaseAction.REVOKE_MEMBER, m.id or 0))])
        return View("\n".join(lines), buttons[:50])

    def _revoke(self, s: Session, who: Who, lang: str, membership_id: int) -> Reply:
        if not self.is_admin(who.user_id):
            return self._refuse(s, who, lang, Msg("off.err.not_admin"), "revoke")
        membership = s.get(Membership, membership_id)
        if membership is None or membership.revoked_at is not None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), "revoke", extra={"membership": membership_id})
        membership.revoked_at = utcnow()
        cr.clear_form(s, membership.user_id)
        cr.add_event(s, None, who.user_id, "admin", "revoke", None, None,
                     {"membership": membership.id, "user": membership.user_id})
        view = self._members_view(s, lang)
        view.text = t("off.members.revoked", lang, id=membership.id) + "\n\n" + view.text
        return Reply(view=view, edit=True, menu=MenuChange(Menu.USER, membership.user_id))

    # -- lists -------------------------------------------------------------------------------------------
    def queue(self, act: Act, edit: bool = False) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        memberships = cr.memberships_of(s, who.user_id)
        if not memberships:
            return self._refuse(s, who, lang, Msg("off.err.not_staff"), "queue", edit=edit)
        seen: dict[int, Case] = {}
        for m in memberships:
            for case in cr.cases_of_policy(s, m.policy_key):
                if cr.covers(m, case):
                    seen[case.id or 0] = case
        entries = []
        for case in seen.values():
            final = self.procedures.is_final(case.policy_key, case.state)
            dues = [c for c in self.views.clocks(s, case) if c.status == "running" and c.due is not None]
            nearest = min(dues, key=lambda c: c.due.date) if dues else None  # type: ignore[union-attr]
            entries.append((final, nearest.due.date if nearest else dt.date.max, case, nearest))
        if not entries:
            return Reply(view=View(t("off.queue.empty", lang)), edit=edit)
        entries.sort(key=lambda e: (e[0], e[1], e[2].id))
        lines = [t("off.queue.title", lang)]
        buttons = []
        for final, _due, case, nearest in entries[:40]:
            due_text = (t("off.queue.due", lang, due=nearest.due.date.isoformat(), label=nearest.limit.label.get(lang))
                        if nearest and nearest.due else t("off.queue.no_due", lang))
            own = t("off.queue.own", lang) if case.applicant_id == who.user_id else ""
            lines.append(t("off.queue.item", lang, number=case.number, state=self.views.state_label(case, lang),
                           due=due_text, own=own))
            if not final:
                buttons.append([(case.number, encode(CaseAction.OPEN, case.id or 0))])
        return Reply(view=View("\n".join(lines), buttons), edit=edit)

    def status(self, act: Act, edit: bool = False) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        cases = cr.cases_of_applicant(s, who.user_id)
        if not cases:
            return Reply(view=View(t("off.status.empty", lang), [[(t("btn.new_application", lang), encode(Home.NEW))]]),
                             edit=edit)
        lines = [t("off.status.title", lang)]
        buttons = []
        for case in cases:
            policy = self.policies[case.policy_key]
            lines.append(t("off.status.item", lang, number=case.number, policy=policy.short_name.get(lang),
                           state=self.views.state_label(case, lang)))
            buttons.append([(case.number, encode(CaseAction.OPEN, case.id or 0))])
        return Reply(view=View("\n".join(lines), buttons), edit=edit)

    # -- one case ---------------------------------------------------------------------------------------
    def case(self, act: Act, ref: str) -> Reply:
        """`/case 12` or `/case DG-2026-0001`; anything that is neither is refused like an unknown case."""
        s, who, lang = act.session, act.who, act.lang
        if not ref.strip():
            return Reply(view=View(t("off.case.usage", lang)))
        parsed = parse_case_ref(ref)
        case = (s.get(Case, parsed) if isinstance(parsed, int)
                else cr.find_case(s, parsed) if isinstance(parsed, str) else None)
        return self._open(s, who, lang, case, ref)

    def case_screen(self, act: Act, case_id: int) -> Reply:
        """The case as its viewer sees it now: what a re-delivered press on it shows."""
        case = act.session.get(Case, case_id)
        found = self._form_of(act.session, act.who, case) if case is not None else None
        if case is not None and found is not None and self._roles(act.session, act.who.user_id, case):
            form, spec = found
            return Reply(view=self._form_view(case, spec, form, act.lang))
        roles = self._roles(act.session, act.who.user_id, case) if case is not None else set()
        if case is None or not roles:
            return Reply(toast=t("off.err.no_case", act.lang), alert=True)
        return Reply(view=self.views.case_view(act.session, case, roles, act.lang, None,
                                               self._officer_levels(act.session, act.who.user_id, case)))

    def _open(self, s: Session, who: Who, lang: str, case: Case | None, ref: str, notice: str | None = None,
              edit: bool = False) -> Reply:
        roles = self._roles(s, who.user_id, case) if case is not None else set()
        if case is None or not roles:
            return self._refuse(s, who, lang, Msg("off.err.no_case"), "open", case, extra={"ref": ref[:32]},
                                edit=edit)
        return Reply(view=self.views.case_view(s, case, roles, lang, notice,
                                               self._officer_levels(s, who.user_id, case)), edit=edit)

    # -- button presses ---------------------------------------------------------------------------------
    def press(self, act: Act, press: Press) -> Reply:
        """A decoded `c:` button; its arguments were parsed by the codec (bot/callbacks.py)."""
        s, who, lang = act.session, act.who, act.lang
        action = press.action
        if action is CaseAction.QUEUE:
            return self.queue(act, edit=True)
        if action is CaseAction.STATUS:
            return self.status(act, edit=True)
        if action is CaseAction.REVOKE_MEMBER:
            return self._revoke(s, who, lang, press.id())
        if action is CaseAction.SEND_FILE:
            return self._send_file(s, who, lang, FileKind(press.args[0]), press.id(1))
        case = s.get(Case, press.id())
        if action is CaseAction.OPEN:
            return self._open(s, who, lang, case, str(press.id()), edit=True)
        if case is None:
            return self._refuse(s, who, lang, Msg("off.err.forged"), "press", None,
                                extra={"data": encode(action, *press.args)})
        if action is CaseAction.START_ACTION:
            return self._start_action(s, who, lang, case, str(press.args[1]), str(press.args[2]))
        return self._form_press(s, who, lang, case, action, str(press.args[1]) if len(press.args) > 1 else "")

    def forged(self, act: Act, data: str) -> Reply:
        """Malformed `c:` data (an unknown verb, a bad id): refused and audited like a forged button."""
        return self._refuse(act.session, act.who, act.lang, Msg("off.err.forged"), "press", None,
                            extra={"data": data[:64]})

    def _send_file(self, s: Session, who: Who, lang: str, kind: FileKind, ident: int) -> Reply:
        case: Case | None = None
        file_id = None
        if kind is FileKind.UPLOAD:
            upload = s.get(Upload, ident)
            if upload is not None:
                case = s.exec(select(Case).where(Case.draft_id == upload.draft_id)).first()
                file_id = upload.file_id
        else:
            doc = s.get(CaseDocument, ident)
            if doc is not None:
                case = s.get(Case, doc.case_id)
                file_id = doc.file_id
        if case is None or file_id is None or not self._roles(s, who.user_id, case):
            return self._refuse(s, who, lang, Msg("off.err.no_case"), "file", case,
                                extra={"file": f"{kind.value}:{ident}"})
        return Reply(document=file_id)

    def _start_action(self, s: Session, who: Who, lang: str, case: Case, state: str, action_id: str) -> Reply:
        spec = self.procedures.procedure(case.policy_key).action(action_id)
        refusal = self._may_act(s, who, lang, case, spec, state, action_id)
        if isinstance(refusal, Reply):
            return refusal
        assert spec is not None
        cr.clear_form(s, who.user_id)
        form = PendingForm(user_id=who.user_id, case_id=case.id or 0, action=spec.id, role=refusal,
                           state=case.state, values={}, skipped=[])
        s.add(form)
        s.flush()
        return Reply(view=self._form_view(case, spec, form, lang), edit=True)

    def _may_act(self, s: Session, who: Who, lang: str, case: Case, spec: ProcAction | None, state: str,
                 action_id: str) -> Reply | str:
        """The acting role when `who` may take this action on this case now, else the recorded refusal."""
        roles = self._roles(s, who.user_id, case)
        if not roles:
            return self._refuse(s, who, lang, Msg("off.err.no_case"), action_id, case)
        acting = spec.role if spec is not None and spec.role in roles else next(iter(sorted(roles)))
        if spec is None:
            return self._refuse(s, who, lang, Msg("off.err.forged"), action_id, case, acting)
        if spec.role != "applicant" and "applicant" in roles:
            return self._refuse(s, who, lang, Msg("off.err.own_case"), action_id, case, acting)
        if spec.role not in roles:
            return self._refuse(s, who, lang, Msg("proc.err.wrong_role"), action_id, case, acting)
        policy = self.policies[case.policy_key]
        if spec.role == "officer" and not any(policy.officer_may_take(level, case.answers, spec.id)
                                              for level in self._officer_levels(s, who.user_id, case)):
            needed = policy.routing.level(policy.acting_level(case.answers, spec.id)) if policy.routing else None
            return self._refuse(s, who, lang, Msg("proc.err.other_level", {
                "level": needed.label if needed else "—", "clause": needed.clause if needed else "—"}),
                action_id, case, acting)
        if state != case.state:
            return self._refuse(s, who, lang, Msg("off.err.stale"), action_id, case, acting, {"pressed_in": state})
        problem = self.procedures.why_not(case.policy_key, self.views.case_file(s, case), spec, {},
                                           self.settings.today(), check_fields=False)
        if problem is not None:
            return self._refuse(s, who, lang, problem, action_id, case, acting)
        return spec.role

    # -- forms: the fields of one action, one message at a time --------------------------------------
    def _next_field(self, case: Case, spec: ProcAction, form: PendingForm) -> ProcField | None:
        """The next field the procedure asks (a field that does not apply, e.g. the correction decision on
        a case not recognised, is never asked)."""
        values = {k: v for k, v in form.values.items() if k not in form.skipped}
        file = CaseFile(case.state, answers=case.answers)
        return next((f for f in spec.fields if f.id not in form.values and f.id not in form.skipped
                     and self.procedures.asks(case.policy_key, file, spec, f, values, self.settings.today())), None)

    def _required(self, case: Case, spec: ProcAction, form: PendingForm, field: ProcField) -> bool:
        values = {k: v for k, v in form.values.items() if k not in form.skipped}
        return self.procedures.field_required(case.policy_key, CaseFile(case.state, answers=case.answers), spec,
                                              field, values, self.settings.today())

    def _form_view(self, case: Case, spec: ProcAction, form: PendingForm, lang: str,
                   error: str | None = None) -> View:
        field = self._next_field(case, spec, form)
        head = t("off.form.header", lang, action=spec.label.get(lang), number=case.number,
                 clause=spec.clause or "—")
        cid = case.id or 0
        if field is None:
            summary = "\n".join(f"· {f.label.get(lang)}: {self.views.fmt_value(f, form.values.get(f.id), lang)}"
                                for f in spec.fields) or t("off.form.no_fields", lang)
            text = "\n\n".join([head, t("off.form.confirm", lang, summary=summary)] + ([error] if error else []))
            return View(text, [[(t("off.btn.confirm", lang), encode(CaseAction.CONFIRM, cid)),
                                (t("off.btn.cancel", lang), encode(CaseAction.CANCEL, cid))]])
        n = spec.fields.index(field) + 1
        prompt = t(f"off.form.kind.{field.kind}", lang)
        required = self._required(case, spec, form, field)
        text = "\n\n".join([head, t("off.form.field", lang, n=n, total=len(spec.fields),
                                     label=field.label.get(lang), prompt=prompt)] + ([error] if error else []))
        buttons = [[(o.label.get(lang), encode(CaseAction.CHOOSE, cid, o.id))] for o in field.options]
        last = [(t("off.btn.cancel", lang), encode(CaseAction.CANCEL, cid))]
        if not required:
            last.insert(0, (t("off.btn.skip", lang), encode(CaseAction.SKIP, cid)))
        return View(text, [*buttons, last])

    def _form_of(self, s: Session, who: Who, case: Case) -> tuple[PendingForm, ProcAction] | None:
        form = cr.pending_form(s, who.user_id)
        if form is None or form.case_id != case.id:
            return None
        spec = self.procedures.procedure(case.policy_key).action(form.action)
        return (form, spec) if spec is not None else None

    def _form_press(self, s: Session, who: Who, lang: str, case: Case, verb: CaseAction, arg: str) -> Reply:
        found = self._form_of(s, who, case)
        if found is None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), "form", case)
        form, spec = found
        if verb is CaseAction.CANCEL:
            cr.clear_form(s, who.user_id)
            return self._open(s, who, lang, case, str(case.id), notice=t("off.form.cancelled", lang), edit=True)
        if verb is CaseAction.CONFIRM:
            return self._commit(s, who, lang, case, form, spec)
        field = self._next_field(case, spec, form)
        if field is None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), form.action, case, form.role)
        if verb is CaseAction.SKIP:
            if self._required(case, spec, form, field):
                return self._refuse(s, who, lang, Msg("proc.err.missing", {"field": field.label}), form.action,
                                    case, form.role)
            form.skipped = [*form.skipped, field.id]
        else:
            if field.kind != "choice" or arg not in {o.id for o in field.options}:
                return self._refuse(s, who, lang, Msg("off.err.stale"), form.action, case, form.role)
            form.values = {**form.values, field.id: arg}
        s.add(form)
        return Reply(view=self._form_view(case, spec, form, lang), edit=True)

    def form_open(self, act: Act) -> bool:
        """Whether the user has a form open: typed text and files then answer it, not the wizard."""
        return cr.pending_form(act.session, act.who.user_id) is not None

    def form_screen(self, act: Act) -> Reply:
        """The open form's current question, as a re-delivered update shows it."""
        form = cr.pending_form(act.session, act.who.user_id)
        case = act.session.get(Case, form.case_id) if form is not None else None
        if case is None:
            return Reply(view=View(t("off.err.stale_form", act.lang)))
        return self.case_screen(act, case.id or 0)

    def form_input(self, act: Act, text: str | None = None, file: dict[str, Any] | None = None) -> Reply:
        """Typed text or a document for the field being asked (the caller checked `form_open`)."""
        s, who, lang = act.session, act.who, act.lang
        form = cr.pending_form(s, who.user_id)
        if form is None:
            return Reply(view=View(t("off.err.stale_form", lang)))
        case = s.get(Case, form.case_id)
        spec = self.procedures.procedure(case.policy_key).action(form.action) if case else None
        if case is None or spec is None:
            cr.clear_form(s, who.user_id)
            return Reply(view=View(t("off.err.stale_form", lang)))
        field = self._next_field(case, spec, form)
        error: str | None = None
        if field is None:
            error = t("off.form.use_buttons", lang)
        elif field.kind == "file":
            if file is None:
                error = t("off.form.kind.file", lang)
            else:
                form.values = {**form.values, field.id: file}
        elif file is not None or field.kind == "choice":
            error = t("off.form.use_buttons", lang) if field.kind == "choice" else t(f"off.form.kind.{field.kind}", lang)
        else:
            value, problem = parse_value(field, text or "")
            if problem is not None:
                error = render(problem, lang)
            else:
                form.values = {**form.values, field.id: value}
        s.add(form)
        return Reply(view=self._form_view(case, spec, form, lang, error=f"⚠ {error}" if error else None))

    def _commit(self, s: Session, who: Who, lang: str, case: Case, form: PendingForm, spec: ProcAction) -> Reply:
        # the case row locked and read afresh: the reminder scan acting on it waits, or went first and is seen
        s.refresh(case, with_for_update=True)
        cr.clear_form(s, who.user_id)
        acting = self._may_act(s, who, lang, case, spec, form.state, spec.id)
        if isinstance(acting, Reply):
            acting.edit = True
            return acting
        values = {k: v for k, v in form.values.items() if k not in form.skipped}
        case_file = self.views.case_file(s, case)
        result = self.procedures.apply(case.policy_key, case_file, spec.id, acting, values, self.settings.today())
        if not result.ok:
            assert result.error is not None
            return self._refuse(s, who, lang, result.error, spec.id, case, acting, {"values": values}, edit=True)
        main = self._record(s, case, spec, values, result, who.user_id, acting, self._now())
        if acting == "applicant":
            self._tell_staff(s, case, spec, main.id or 0)
        return self._open(s, who, lang, case, str(case.id), edit=True,
                          notice=t("off.form.done", lang, action=spec.label.get(lang),
                                   state=self.views.state_label(case, lang)))

    def _record(self, s: Session, case: Case, spec: ProcAction, values: dict[str, Any], result: Any,
                actor_id: int | None, actor_role: str, now: dt.datetime) -> CaseEvent:
        """An applied action lands in one go: new state, audit rows with clock events, files, notifications."""
        case.state = result.state_after
        s.add(case)
        first = result.events[0] if result.events else None
        main = cr.add_event(s, case.id, actor_id, actor_role, spec.id, result.state_before, result.state_after,
                            {**values, **(first.details if first else {})}, event=first.event if first else None,
                            at=now)
        for extra in result.events[1:]:
            cr.add_event(s, case.id, actor_id, actor_role, spec.id, result.state_before, result.state_after,
                         {**values, **extra.details}, event=extra.event, at=now)
        for f in spec.fields:
            if f.kind == "file" and isinstance(values.get(f.id), dict):
                cr.add_document(s, case.id or 0, spec.id, actor_id or 0, values[f.id])
        self._notify(s, case, spec, values, result.notify, main.id or 0)
        return main

    def on_clock_expired(self, s: Session, case: Case, limit: TimeLimit, now: dt.datetime) -> str:
        """A clock with an expiry rule ran out: take the declared action as the system ("done"), or say an
        officer must act first ("needs_officer", e.g. an objection was recorded), or "refused"."""
        rule = limit.on_expiry
        if rule is None or case.policy_key not in self.procedures.policies:
            return "refused"
        spec = self.procedures.procedure(case.policy_key).action(rule.action)
        if spec is None:
            return "refused"
        case_file = self.views.case_file(s, case)
        if any(r.action in rule.unless_recorded for r in case_file.history):
            return "needs_officer"
        values = dict(rule.values)
        result = self.procedures.apply(case.policy_key, case_file, spec.id, spec.role, values,
                                       cr.shanghai_date(now))
        if not result.ok:
            log.info("expiry of %s on case %s not applied: %s", limit.id, case.number, result.error)
            return "refused"
        self._record(s, case, spec, values, result, None, "system", now)
        return "done"

    # -- notifications -------------------------------------------------------------------------------
    def _notify(self, s: Session, case: Case, spec: ProcAction, values: dict[str, Any], keys: list[str],
                event_id: int) -> None:
        """One outbox row per notification, rendered in the applicant's language, written now."""
        applicant = s.get(User, case.applicant_id)
        if applicant is None or not keys:
            return
        lang = applicant.language or self.settings.default_language
        policy = self.policies[case.policy_key]
        params = _Params({f.id: self.views.fmt_value(f, values.get(f.id), lang) for f in spec.fields})
        params.update(number=case.number, policy=policy.short_name.get(lang), state=self.views.state_label(case, lang))
        for key in keys:
            body = gettext(key, lang).format_map(params)
            text = t("note.envelope", lang, number=case.number, policy=policy.short_name.get(lang), body=body,
                     clause=spec.clause or "—")
            cr.enqueue(s, case.applicant_id, key, dict(params), text, f"ev:{event_id}:{key}", case.id)

    def _tell_staff(self, s: Session, case: Case, spec: ProcAction, event_id: int) -> None:
        """The deciding body hears of what the applicant did (a report, new material, a review request)."""
        for m in cr.members_for_case(s, case, {"officer", "unit_reviewer", "determination_group"}):
            if m.user_id == case.applicant_id:
                continue
            user = s.get(User, m.user_id)
            lang = (user.language if user else None) or self.settings.default_language
            text = t("note.staff_applicant_acted", lang, number=case.number, action=spec.label.get(lang),
                     state=self.views.state_label(case, lang))
            cr.enqueue(s, m.user_id, "note.staff_applicant_acted", {"number": case.number}, text,
                       f"ev:{event_id}:staff:{m.user_id}", case.id)

    def announce_new_case(self, s: Session, case: Case) -> None:
        """Called in the submission's transaction: the first role that must act on the case is told."""
        policy = self.policies.get(case.policy_key)
        if policy is None or policy.procedure is None:
            return
        first_roles = {a.role for a in policy.procedure.actions
                       if case.state in a.source and a.role != "applicant"}
        first_actions = [a.id for a in policy.procedure.actions if case.state in a.source and a.role == "officer"]
        for m in cr.members_for_case(s, case, first_roles):
            if m.user_id == case.applicant_id:
                continue
            if m.role == "officer" and not any(policy.officer_may_take(m.level, case.answers, a)
                                               for a in first_actions):
                continue  # routed elsewhere (Zhejiang 三(末段): 基础公益 cases go to the fund office first)
            user = s.get(User, m.user_id)
            lang = (user.language if user else None) or self.settings.default_language
            text = t("note.staff_new_case", lang, number=case.number, policy=policy.short_name.get(lang),
                     state=self.views.state_label(case, lang))
            cr.enqueue(s, m.user_id, "note.staff_new_case", {"number": case.number}, text,
                       f"case:{case.id}:new:{m.user_id}", case.id)
