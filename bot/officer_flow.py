"""The officers' side and the applicant's view of a submitted case, independent of the transport.

Like bot/flow.py, every call is one transaction that also claims the Telegram update, so a re-delivered
update is applied once. Every action on a case is checked here for who may take it (role, policy, unit,
level, never on one's own case) and against the case's current state; the procedure itself is checked
by dialogs/procedure.py. Whatever is refused is answered and written to the audit trail with the state
unchanged. Notifications to the applicant are written to the outbox in the same transaction as the
change they report; bot/outbox.py delivers them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.case_view import CaseViews
from bot.config import Settings
from bot.flow import Reply, View, Who
from bot.i18n import gettext, normalise_language, render, t
from dialogs.policy import Policy, ProcAction, ProcField, TimeLimit
from dialogs.procedure import Procedures, parse_value
from dialogs.text import Msg
from scheduler.calendar import WorkCalendar
from storage import access, repo
from storage import caserepo as cr
from storage.casework import CaseDocument, CaseEvent, Membership, PendingForm
from storage.db import session_scope
from storage.models import Case, Upload, User, utcnow

log = logging.getLogger(__name__)
ROLE_OF_KIND = {"officer": "officer", "unit": "unit_reviewer", "group": "determination_group"}
UNIT_ROLE_POLICY = {"unit_reviewer": "zhejiang", "determination_group": "liaoning"}
LEVELS = ("provincial", "prefecture", "county")
INVITATION_LIFETIME = dt.timedelta(days=3)


@dataclass
class CaseReply(Reply):
    """A reply that may also send a stored file back, or set the chat's command menu for a new role."""

    document: str | None = None
    menu: str | None = None


class _Params(dict):
    """Notification templates use only some of an action's fields; a missing one shows as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


class OfficerFlow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], calendar: WorkCalendar,
                 settings: Settings) -> None:
        self.engine = engine
        self.policies = policies
        self.procedures = Procedures(policies)
        self.calendar = calendar
        self.settings = settings
        self.views = CaseViews(policies, self.procedures, calendar, settings)
        self.bot_username: str | None = None

    # -- small helpers ------------------------------------------------------------------------------
    def _user(self, s: Session, who: Who) -> User:
        return repo.get_or_create_user(s, who.user_id, who.first_name, who.username)

    def _lang(self, user: User, who: Who | None = None) -> str:
        code = who.language_code if who else None
        return user.language or normalise_language(code or self.settings.default_language)

    def _now(self) -> dt.datetime:
        return cr.stamp(self.settings.today())

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def _refuse(self, s: Session, who: Who, lang: str, why: Msg, action: str, case: Case | None = None,
                role: str = "", extra: dict[str, Any] | None = None, edit: bool = False) -> CaseReply:
        """Answer the refusal and record it; nothing else in the transaction changes."""
        state = case.state if case is not None else None
        cr.add_event(s, case.id if case else None, who.user_id, role, action, state, state,
                     {"why": why.key, **(extra or {})}, refused=True, at=self._now())
        log.info("refused %s for user %s on case %s: %s", action, who.user_id, case.id if case else None, why.key)
        text = render(why, lang)
        return CaseReply(toast=text, alert=True, view=View(t("off.refused", lang, text=text)), edit=edit)

    def _roles(self, s: Session, user_id: int, case: Case) -> set[str]:
        return access.roles_on(s, user_id, case)  # the same answer the desk and the register get

    # -- admins: invitations and members --------------------------------------------------------------
    def invite(self, who: Who, args: list[str], update_id: int | None = None) -> CaseReply:
        """`/invite officer <policy> [level]`, `/invite unit zhejiang <unit>`, `/invite group liaoning <unit>`."""
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            if not self.is_admin(who.user_id):
                return self._refuse(s, who, lang, Msg("off.err.not_admin"), "invite")
            kind = args[0] if args else ""
            role = ROLE_OF_KIND.get(kind)
            policy_key = args[1] if len(args) > 1 else ""
            rest = " ".join(args[2:]).strip()
            if role is None or policy_key not in self.procedures.policies:
                return CaseReply(view=View(t("off.invite.usage", lang, policies=", ".join(self.procedures.policies),
                                                levels=", ".join(LEVELS))))
            level = unit = None
            if role in UNIT_ROLE_POLICY:
                if UNIT_ROLE_POLICY[role] != policy_key or not rest:
                    return CaseReply(view=View(t("off.invite.unit_usage", lang)))
                unit = rest
            elif policy_key == "yunnan":
                if rest not in LEVELS:
                    return CaseReply(view=View(t("off.invite.level_usage", lang, levels=", ".join(LEVELS))))
                level = rest
            elif rest:
                return CaseReply(view=View(t("off.invite.usage", lang, policies=", ".join(self.procedures.policies),
                                                levels=", ".join(LEVELS))))
            invitation = cr.create_invitation(s, role, policy_key, who.user_id, INVITATION_LIFETIME, level, unit)
            cr.add_event(s, None, who.user_id, "admin", "invite", None, None,
                         {"role": role, "policy": policy_key, "level": level, "unit": unit})
            link = (f"https://t.me/{self.bot_username}?start={invitation.code}" if self.bot_username
                    else f"/start {invitation.code}")
            until = cr.aware(invitation.expires_at).astimezone(cr.SHANGHAI).strftime("%Y-%m-%d %H:%M")
            return CaseReply(view=View(t("off.invite.created", lang, role=t(f"off.role.{role}", lang),
                                         policy=self.policies[policy_key].short_name.get(lang),
                                         scope=level or unit or "—", link=link, code=invitation.code,
                                         until=until)))

    def join(self, who: Who, code: str, update_id: int | None = None) -> CaseReply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            result = cr.redeem_invitation(s, code.strip(), who.user_id)
            if isinstance(result, str):
                return self._refuse(s, who, lang, Msg(f"off.join.{result}"), "join", extra={"code": code[:16]})
            cr.add_event(s, None, who.user_id, result.role, "join", None, None,
                         {"membership": result.id, "policy": result.policy_key, "level": result.level,
                          "unit": result.unit})
            policy = self.policies[result.policy_key]
            text = t("off.join.ok", lang, role=t(f"off.role.{result.role}", lang),
                     policy=policy.short_name.get(lang), scope=result.level or result.unit or "—")
            return CaseReply(view=View(text, [[(t("off.btn.queue", lang), "c:q")]]), menu="staff")

    def members(self, who: Who, update_id: int | None = None) -> CaseReply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            if not self.is_admin(who.user_id):
                return self._refuse(s, who, lang, Msg("off.err.not_admin"), "members")
            return CaseReply(view=self._members_view(s, lang))

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
            buttons.append([(t("off.btn.revoke", lang, id=m.id), f"c:r:{m.id}")])
        return View("\n".join(lines), buttons[:50])

    def _revoke(self, s: Session, who: Who, lang: str, arg: str) -> CaseReply:
        if not self.is_admin(who.user_id):
            return self._refuse(s, who, lang, Msg("off.err.not_admin"), "revoke")
        membership = s.get(Membership, int(arg)) if arg.isdigit() else None
        if membership is None or membership.revoked_at is not None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), "revoke", extra={"membership": arg})
        membership.revoked_at = utcnow()
        cr.clear_form(s, membership.user_id)
        cr.add_event(s, None, who.user_id, "admin", "revoke", None, None,
                     {"membership": membership.id, "user": membership.user_id})
        view = self._members_view(s, lang)
        view.text = t("off.members.revoked", lang, id=membership.id) + "\n\n" + view.text
        return CaseReply(view=view, edit=True, menu=f"reset:{membership.user_id}")

    # -- lists -------------------------------------------------------------------------------------------
    def queue(self, who: Who, update_id: int | None = None, edit: bool = False) -> CaseReply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
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
                return CaseReply(view=View(t("off.queue.empty", lang)), edit=edit)
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
                    buttons.append([(case.number, f"c:o:{case.id}")])
            return CaseReply(view=View("\n".join(lines), buttons), edit=edit)

    def status(self, who: Who, update_id: int | None = None, edit: bool = False) -> CaseReply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            cases = cr.cases_of_applicant(s, who.user_id)
            if not cases:
                return CaseReply(view=View(t("off.status.empty", lang), [[(t("btn.new_application", lang), "g:new")]]),
                                 edit=edit)
            lines = [t("off.status.title", lang)]
            buttons = []
            for case in cases:
                policy = self.policies[case.policy_key]
                lines.append(t("off.status.item", lang, number=case.number, policy=policy.short_name.get(lang),
                               state=self.views.state_label(case, lang)))
                buttons.append([(case.number, f"c:o:{case.id}")])
            return CaseReply(view=View("\n".join(lines), buttons), edit=edit)

    # -- one case ---------------------------------------------------------------------------------------
    def case(self, who: Who, ref: str, update_id: int | None = None) -> CaseReply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            if not ref.strip():
                return CaseReply(view=View(t("off.case.usage", lang)))
            case = cr.find_case(s, ref)
            return self._open(s, who, lang, case, ref)

    def _open(self, s: Session, who: Who, lang: str, case: Case | None, ref: str, notice: str | None = None,
              edit: bool = False) -> CaseReply:
        roles = self._roles(s, who.user_id, case) if case is not None else set()
        if case is None or not roles:
            return self._refuse(s, who, lang, Msg("off.err.no_case"), "open", case, extra={"ref": ref[:32]},
                                edit=edit)
        return CaseReply(view=self.views.case_view(s, case, roles, lang, notice), edit=edit)

    # -- button presses ---------------------------------------------------------------------------------
    def press(self, who: Who, data: str, update_id: int | None = None) -> CaseReply:
        """Callback data `c:<verb>:...`; anything malformed is refused like a forged button."""
        parts = data.split(":")
        verb = parts[1] if len(parts) > 1 else ""
        if verb == "q" and len(parts) == 2:
            return self.queue(who, update_id, edit=True)
        if verb == "st" and len(parts) == 2:
            return self.status(who, update_id, edit=True)
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            args = parts[2:]
            if verb == "r" and len(args) == 1:
                return self._revoke(s, who, lang, args[0])
            if verb == "f" and len(args) == 2:
                return self._send_file(s, who, lang, args[0], args[1])
            case = s.get(Case, int(args[0])) if args and args[0].isdigit() else None
            if verb == "o" and len(args) == 1:
                return self._open(s, who, lang, case, args[0], edit=True)
            if verb == "a" and len(args) == 3 and case is not None:
                return self._start_action(s, who, lang, case, args[1], args[2])
            if verb in ("v", "s", "k", "x") and len(args) in (1, 2) and case is not None:
                return self._form_press(s, who, lang, case, verb, args[1] if len(args) == 2 else "")
            return self._refuse(s, who, lang, Msg("off.err.forged"), "press", case, extra={"data": data[:64]})

    def _send_file(self, s: Session, who: Who, lang: str, kind: str, ident: str) -> CaseReply:
        case: Case | None = None
        file_id = None
        if ident.isdigit() and kind == "u":
            upload = s.get(Upload, int(ident))
            if upload is not None:
                case = s.exec(select(Case).where(Case.draft_id == upload.draft_id)).first()
                file_id = upload.file_id
        elif ident.isdigit() and kind == "d":
            doc = s.get(CaseDocument, int(ident))
            if doc is not None:
                case = s.get(Case, doc.case_id)
                file_id = doc.file_id
        if case is None or file_id is None or not self._roles(s, who.user_id, case):
            return self._refuse(s, who, lang, Msg("off.err.no_case"), "file", case, extra={"file": f"{kind}:{ident}"})
        return CaseReply(document=file_id)

    def _start_action(self, s: Session, who: Who, lang: str, case: Case, state: str, action_id: str) -> CaseReply:
        spec = self.procedures.procedure(case.policy_key).action(action_id)
        refusal = self._may_act(s, who, lang, case, spec, state, action_id)
        if isinstance(refusal, CaseReply):
            return refusal
        assert spec is not None
        cr.clear_form(s, who.user_id)
        form = PendingForm(user_id=who.user_id, case_id=case.id or 0, action=spec.id, role=refusal,
                           state=case.state, values={}, skipped=[])
        s.add(form)
        s.flush()
        return CaseReply(view=self._form_view(case, spec, form, lang), edit=True)

    def _may_act(self, s: Session, who: Who, lang: str, case: Case, spec: ProcAction | None, state: str,
                 action_id: str) -> CaseReply | str:
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
        if state != case.state:
            return self._refuse(s, who, lang, Msg("off.err.stale"), action_id, case, acting, {"pressed_in": state})
        problem = self.procedures.why_not(case.policy_key, self.views.case_file(s, case), spec, {},
                                           self.settings.today(), check_fields=False)
        if problem is not None:
            return self._refuse(s, who, lang, problem, action_id, case, acting)
        return spec.role

    # -- forms: the fields of one action, one message at a time --------------------------------------
    @staticmethod
    def _next_field(spec: ProcAction, form: PendingForm) -> ProcField | None:
        return next((f for f in spec.fields if f.id not in form.values and f.id not in form.skipped), None)

    def _form_view(self, case: Case, spec: ProcAction, form: PendingForm, lang: str,
                   error: str | None = None) -> View:
        field = self._next_field(spec, form)
        head = t("off.form.header", lang, action=spec.label.get(lang), number=case.number,
                 clause=spec.clause or "—")
        cid = case.id
        if field is None:
            summary = "\n".join(f"· {f.label.get(lang)}: {self.views.fmt_value(f, form.values.get(f.id), lang)}"
                                for f in spec.fields) or t("off.form.no_fields", lang)
            text = "\n\n".join([head, t("off.form.confirm", lang, summary=summary)] + ([error] if error else []))
            return View(text, [[(t("off.btn.confirm", lang), f"c:k:{cid}"), (t("off.btn.cancel", lang), f"c:x:{cid}")]])
        n = spec.fields.index(field) + 1
        prompt = t(f"off.form.kind.{field.kind}", lang)
        required = field.required or (field.required_unless_favourable and self._unfavourable(spec, form))
        text = "\n\n".join([head, t("off.form.field", lang, n=n, total=len(spec.fields),
                                     label=field.label.get(lang), prompt=prompt)] + ([error] if error else []))
        buttons = [[(o.label.get(lang), f"c:v:{cid}:{o.id}")] for o in field.options]
        last = [(t("off.btn.cancel", lang), f"c:x:{cid}")]
        if not required:
            last.insert(0, (t("off.btn.skip", lang), f"c:s:{cid}"))
        return View(text, [*buttons, last])

    @staticmethod
    def _unfavourable(spec: ProcAction, form: PendingForm) -> bool:
        for f in spec.fields:
            for o in f.options:
                if o.favourable is False and form.values.get(f.id) == o.id:
                    return True
        return False

    def _form_of(self, s: Session, who: Who, case: Case) -> tuple[PendingForm, ProcAction] | None:
        form = cr.pending_form(s, who.user_id)
        if form is None or form.case_id != case.id:
            return None
        spec = self.procedures.procedure(case.policy_key).action(form.action)
        return (form, spec) if spec is not None else None

    def _form_press(self, s: Session, who: Who, lang: str, case: Case, verb: str, arg: str) -> CaseReply:
        found = self._form_of(s, who, case)
        if found is None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), "form", case)
        form, spec = found
        if verb == "x":
            cr.clear_form(s, who.user_id)
            return self._open(s, who, lang, case, str(case.id), notice=t("off.form.cancelled", lang), edit=True)
        if verb == "k":
            return self._commit(s, who, lang, case, form, spec)
        field = self._next_field(spec, form)
        if field is None:
            return self._refuse(s, who, lang, Msg("off.err.stale"), form.action, case, form.role)
        if verb == "s":
            if field.required or (field.required_unless_favourable and self._unfavourable(spec, form)):
                return self._refuse(s, who, lang, Msg("proc.err.missing", {"field": field.label}), form.action,
                                    case, form.role)
            form.skipped = [*form.skipped, field.id]
        else:
            if field.kind != "choice" or arg not in {o.id for o in field.options}:
                return self._refuse(s, who, lang, Msg("off.err.stale"), form.action, case, form.role)
            form.values = {**form.values, field.id: arg}
        s.add(form)
        return CaseReply(view=self._form_view(case, spec, form, lang), edit=True)

    def form_input(self, who: Who, text: str | None = None, file: dict[str, Any] | None = None,
                   update_id: int | None = None) -> CaseReply | None:
        """Typed text or a document for the field being asked; None when no form is open (the message
        then belongs to the researcher's wizard)."""
        with session_scope(self.engine) as s:
            form = cr.pending_form(s, who.user_id)
            if form is None:
                return None
            if not repo.claim_update(s, update_id):
                return CaseReply(duplicate=True)
            lang = self._lang(self._user(s, who), who)
            case = s.get(Case, form.case_id)
            spec = self.procedures.procedure(case.policy_key).action(form.action) if case else None
            if case is None or spec is None:
                cr.clear_form(s, who.user_id)
                return CaseReply(view=View(t("off.err.stale_form", lang)))
            field = self._next_field(spec, form)
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
            return CaseReply(view=self._form_view(case, spec, form, lang, error=f"⚠ {error}" if error else None))

    def _commit(self, s: Session, who: Who, lang: str, case: Case, form: PendingForm, spec: ProcAction) -> CaseReply:
        cr.clear_form(s, who.user_id)
        acting = self._may_act(s, who, lang, case, spec, form.state, spec.id)
        if isinstance(acting, CaseReply):
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
        for m in cr.members_for_case(s, case, first_roles):
            if m.user_id == case.applicant_id:
                continue
            user = s.get(User, m.user_id)
            lang = (user.language if user else None) or self.settings.default_language
            text = t("note.staff_new_case", lang, number=case.number, policy=policy.short_name.get(lang),
                     state=self.views.state_label(case, lang))
            cr.enqueue(s, m.user_id, "note.staff_new_case", {"number": case.number}, text,
                       f"case:{case.id}:new:{m.user_id}", case.id)
