"""The officers' side as the router sees it: one object whose entry points take the `Act` of
bot/actions.py and hand each request to the part that does that job (membership, units, lists, the case
file, forms, actions, notices). Opening a case and every press on it are checked here against who made
them, through the one access rule of storage/access.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from bot.actions import Act
from bot.callbacks import Admin, CaseAction, FileKind, Press, encode
from bot.config import Settings
from bot.i18n import t
from bot.officer.actions import CaseActions
from bot.officer.case_file import CaseFileView
from bot.officer.desk import Desk
from bot.officer.exofficio import ExOfficioDesk
from bot.officer.forms import Forms
from bot.officer.labels import Labels
from bot.officer.membership import Members
from bot.officer.notify import Notices
from bot.officer.queue import Lists
from bot.officer.routing import Routing
from bot.officer.units import UnitDesk
from bot.reply import Reply, View
from dialogs.policy import Policy, TimeLimit
from dialogs.text import Msg
from scheduler.calendar import WorkCalendar
from storage import access
from storage import caserepo as cr
from storage.casework import CaseDocument
from storage.models import Case, Upload


class OfficerFlow:
    def __init__(self, policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings) -> None:
        self.desk = Desk(policies, calendar, settings)
        self.labels = Labels(self.desk)
        self.routing = Routing(self.desk)
        self.notices = Notices(self.desk, self.labels, self.routing)
        self.files = CaseFileView(self.desk, self.labels, self.routing)
        self.forms = Forms(self.desk, self.labels, self.files)
        self.actions = CaseActions(self.desk, self.labels, self.files, self.forms, self.notices)
        self.membership = Members(self.desk, self.labels, self.notices)
        self.units = UnitDesk(self.desk, self.labels, self.notices)
        self.lists = Lists(self.desk, self.labels, self.routing, self.notices)
        self.exofficio = ExOfficioDesk(self.desk, self.labels, self.notices)

    @property
    def bot_username(self) -> str | None:
        return self.desk.bot_username

    @bot_username.setter
    def bot_username(self, value: str | None) -> None:
        self.desk.bot_username = value

    # -- who -----------------------------------------------------------------------------------------------
    def is_admin(self, user_id: int) -> bool:
        return self.desk.is_admin(user_id)

    def is_staff(self, act: Act) -> bool:
        return bool(access.memberships_of(act.session, act.who.user_id))

    # -- commands -----------------------------------------------------------------------------------------
    def invite(self, act: Act, args: list[str]) -> Reply:
        return self.membership.invite(act, args)

    def join(self, act: Act, code: str) -> Reply:
        return self.membership.join(act, code)

    def ex_officio(self, act: Act, args: list[str]) -> Reply:
        """`/exofficio yunnan …`: the accountability organ opens a case itself (Yunnan 第六条(二))."""
        return self.exofficio.command(act, args)

    def claim(self, act: Act, code: str) -> Reply:
        """`/start exo_…`: the person concerned takes up a case opened ex officio."""
        return self.exofficio.claim(act, code)

    def members(self, act: Act) -> Reply:
        return self.membership.members(act)

    def units_command(self, act: Act, args: list[str]) -> Reply:
        return self.units.command(act, args)

    def queue(self, act: Act, edit: bool = False) -> Reply:
        return self.lists.queue(act, edit)

    def status(self, act: Act, edit: bool = False) -> Reply:
        return self.lists.status(act, edit)

    def case(self, act: Act, ref: str) -> Reply:
        """`/case 12` or `/case DG-2026-0001`; anything that is neither is refused like an unknown case."""
        if not ref.strip():
            return Reply(view=View(t("off.case.usage", act.lang)))
        return self.open(act, self.desk.find_case(act.session, ref), ref)

    def open(self, act: Act, case: Case | None, ref: str, notice: str | None = None, edit: bool = False) -> Reply:
        roles = self.desk.roles(act.session, act.who.user_id, case) if case is not None else set()
        if case is None or not roles:
            return self.desk.refuse(act, Msg("off.err.no_case"), "open", case, extra={"ref": ref[:32]}, edit=edit)
        return Reply(view=self.files.view(act.session, case, roles, act.lang, notice, act.who.user_id), edit=edit)

    def case_screen(self, act: Act, case_id: int) -> Reply:
        """The case as its viewer sees it now (or their open form on it): what a re-delivered press shows."""
        case = act.session.get(Case, case_id)
        roles = self.desk.roles(act.session, act.who.user_id, case) if case is not None else set()
        if case is None or not roles:
            return Reply(toast=t("off.err.no_case", act.lang), alert=True)
        found = self.forms.form_of(act.session, act.who.user_id, case)
        if found is not None:
            form, spec = found
            return Reply(view=self.forms.view(act.session, case, spec, form, act.lang))
        return Reply(view=self.files.view(act.session, case, roles, act.lang, viewer=act.who.user_id))

    # -- presses ------------------------------------------------------------------------------------------
    def press(self, act: Act, press: Press) -> Reply:
        """A decoded `c:` button; its arguments were parsed by the codec (bot/callbacks.py)."""
        action = press.action
        if action is CaseAction.QUEUE:
            return self.queue(act, edit=True)
        if action is CaseAction.STATUS:
            return self.status(act, edit=True)
        if action is CaseAction.REVOKE_MEMBER:
            return self.membership.revoke(act, press.id())
        if action is CaseAction.SEND_FILE:
            return self._send_file(act, FileKind(press.args[0]), press.id(1))
        case = act.session.get(Case, press.id())
        if action is CaseAction.OPEN:
            return self.open(act, case, str(press.id()), edit=True)
        if case is None:
            return self.desk.refuse(act, Msg("off.err.forged"), "press", None,
                                    extra={"data": encode(action, *press.args)})
        if action is CaseAction.START_ACTION:
            return self.actions.start(act, case, str(press.args[1]), str(press.args[2]))
        return self._form_press(act, case, press)

    def admin_press(self, act: Act, press: Press) -> Reply:
        """A decoded `adm:` button; every one is for administrators only."""
        action = press.action
        if action is Admin.CONFIRM_JOIN:
            return self.membership.confirm(act, press.id(), accept=True)
        if action is Admin.DECLINE_JOIN:
            return self.membership.confirm(act, press.id(), accept=False)
        if action is Admin.REVOKE_INVITATION:
            return self.membership.revoke_invitation(act, press.id())
        if action is Admin.CONFIRM_UNIT:
            return self.units.confirm_press(act, press.id())
        return self.units.move_press(act, press.id(0), press.id(1))

    def admin_current(self, act: Act, press: Press) -> Reply:
        """What a re-delivered admin press shows: the members list, or the registry of the unit's policy."""
        if press.action is Admin.MOVE_CASE:
            return self.case_screen(act, press.id(0))
        return self.members(act)

    def forged(self, act: Act, data: str) -> Reply:
        """Malformed `c:` data (an unknown verb, a bad id): refused and recorded like a forged button."""
        return self.desk.refuse(act, Msg("off.err.forged"), "press", None, extra={"data": data[:64]})

    def _send_file(self, act: Act, kind: FileKind, ident: int) -> Reply:
        s = act.session
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
        if case is None or file_id is None or not self.desk.roles(s, act.who.user_id, case):
            return self.desk.refuse(act, Msg("off.err.no_case"), "file", case, extra={"file": f"{kind.value}:{ident}"})
        return Reply(document=file_id)

    def _form_press(self, act: Act, case: Case, press: Press) -> Reply:
        found = self.forms.form_of(act.session, act.who.user_id, case)
        if found is None:
            return self.desk.refuse(act, Msg("off.err.stale"), "form", case)
        form, spec = found
        verb = press.action
        if verb is CaseAction.CANCEL:
            cr.clear_form(act.session, act.who.user_id)
            return self.open(act, case, str(case.id), notice=t("off.form.cancelled", act.lang), edit=True)
        if verb is CaseAction.CONFIRM:
            return self.actions.commit(act, case, form, spec)
        if verb is CaseAction.SKIP:
            result = self.forms.skip(act, case, form, spec)
            return result if isinstance(result, Reply) else self.desk.refuse(act, result, form.action, case, form.role)
        field_id = str(press.args[1]) if verb is CaseAction.PICK else None
        option = str(press.args[-1])
        reply = self.forms.pick(act, case, form, spec, field_id, option)
        return reply if reply is not None else self.desk.refuse(act, Msg("off.err.stale"), form.action, case, form.role)

    # -- typed input while a form is open -----------------------------------------------------------------
    def form_open(self, act: Act) -> bool:
        """Whether the user has a form open: typed text and files then answer it, not the wizard."""
        return cr.pending_form(act.session, act.who.user_id) is not None

    def form_screen(self, act: Act) -> Reply:
        form = cr.pending_form(act.session, act.who.user_id)
        case = act.session.get(Case, form.case_id) if form is not None else None
        if case is None:
            return Reply(view=View(t("off.err.stale_form", act.lang)))
        return self.case_screen(act, case.id or 0)

    def form_input(self, act: Act, text: str | None = None, file: dict[str, Any] | None = None) -> Reply:
        """Typed text or a document for the field being asked (the caller checked `form_open`)."""
        s = act.session
        form = cr.pending_form(s, act.who.user_id)
        case = s.get(Case, form.case_id) if form is not None else None
        found = self.forms.form_of(s, act.who.user_id, case) if case is not None else None
        if found is None or case is None:
            cr.clear_form(s, act.who.user_id)
            return Reply(view=View(t("off.err.stale_form", act.lang)))
        form, spec = found
        if not self.desk.roles(s, act.who.user_id, case):  # the role was revoked meanwhile
            cr.clear_form(s, act.who.user_id)
            return Reply(view=View(t("off.err.stale_form", act.lang)))
        return self.forms.typed(act, case, form, spec, text, file)

    # -- called by the rest of the bot -----------------------------------------------------------------
    def announce_new_case(self, s: Session, case: Case) -> None:
        """In the submission's transaction: whoever must act first is told, or the admins if nobody can."""
        self.notices.after_change(s, case)

    def on_clock_expired(self, s: Session, case: Case, limit: TimeLimit, now: dt.datetime) -> str:
        return self.actions.on_clock_expired(s, case, limit, now)

    def alert_recipients(self, s: Session, case: Case) -> list[int]:
        """Who gets a case's clock alerts: those who can act on it (bot/alerts.py)."""
        return self.routing.alert_recipients(s, case)
