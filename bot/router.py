"""Where each update goes: one table for button presses (by callback namespace), commands, typed text,
files and edited messages, used by the Telegram edge and the console alike.

Every entry here runs inside the action context (bot/actions.py) with the screen a re-delivered update
shows, so each flow only does its own work. Typed text and files go to the officer's open form when there
is one (bot/officer/forms.py keeps forms), else to the researcher's open draft: the one decision about which
screen is open is made here, not inside either flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.actions import Act, Actions
from bot.callbacks import (
    DOCX,
    CaseAction,
    Drafts,
    Home,
    Namespace,
    Press,
    WizardPress,
    decode,
)
from bot.commands import ADMIN_MENU, STAFF_MENUS, Command, Commands
from bot.flow import Flow
from bot.i18n import t
from bot.ids import parse_code
from bot.officer import DocumentFlow, OfficerFlow
from bot.publicity.dialog import PublicityDialog
from bot.register_flow import RegisterFlow
from bot.reply import Menu, Reply, View, Who
from dialogs.wizard import UploadInfo
from storage.exofficio import is_claim_code

Decoded = Press | WizardPress
PUBLICITY_LINK = "gs-"  # storage.publicity.PAYLOAD_PREFIX: a start parameter naming a publicity
Handler = Callable[[Act, Decoded], Reply]


_ID_COMMANDS = frozenset({"start", "case", "timeline", "ics"})  # their arguments are ids, numbers or codes


def _no_nul(text: str) -> str:
    """PostgreSQL refuses a NUL in a text column (SQLite keeps it), and nobody types one: it goes at the
    edge, before anything reaches a query, so both databases store the same thing."""
    return text.replace("\x00", "")


def _clean(who: Who) -> Who:
    """The sender as stored (their name and username are saved with their user row)."""
    if "\x00" not in who.first_name + (who.username or "") + (who.language_code or ""):
        return who
    return replace(who, first_name=_no_nul(who.first_name), username=_no_nul(who.username or "") or None,
                   language_code=_no_nul(who.language_code or "") or None)


@dataclass(frozen=True)
class Route:
    run: Handler
    current: Handler | None = None  # None: `run` is read-only and simply runs again on a re-delivery


class Router:
    def __init__(self, actions: Actions, researcher: Flow, officers: OfficerFlow, documents: DocumentFlow,
                 publicity: PublicityDialog | None = None) -> None:
        self.actions = actions
        self.researcher = researcher
        self.officers = officers
        self.documents = documents
        self.publicity = publicity
        self.routes: dict[Namespace, Route] = {
            Namespace.HOME: Route(self._home, self._home_current),
            Namespace.LANGUAGE: Route(lambda act, p: researcher.set_language(act, str(p.action), edit=True),
                                      lambda act, _p: self.open_screen(act)),
            Namespace.DRAFTS: Route(lambda act, p: researcher.drafts_press(act, p), self._drafts_current),
            Namespace.WIZARD: Route(self._wizard, self._wizard_current),
            Namespace.CASE: Route(lambda act, p: officers.press(act, p), self._case_current),
            Namespace.FILES: Route(lambda act, p: documents.press(act, p)),
            Namespace.ADMIN: Route(lambda act, p: officers.admin_press(act, p),
                                   lambda act, p: officers.admin_current(act, p)),
        }
        self.register = RegisterFlow(officers)  # /register and the desk's register button
        if publicity is not None:
            self.routes[Namespace.PUBLICITY] = Route(self._publicity_press, self._publicity_current)
        self.commands = Commands(actions, self._command_table(), self._unknown_command)

    # -- commands ---------------------------------------------------------------------------------------
    def _command_table(self) -> list[Command]:
        r, o, d = self.researcher, self.officers, self.documents
        return [
            Command("start", "cmd.start", self._start, lambda act, _a: self.open_screen(act), menus=frozenset()),
            Command("new", "cmd.new", lambda act, _a: r.new_draft(act), lambda act, _a: self.open_screen(act)),
            Command("drafts", "cmd.drafts", lambda act, _a: r.drafts(act), quick=True),
            Command("status", "off.cmd.status", lambda act, _a: o.status(act), quick=True),
            Command("timeline", "doc.cmd.timeline", lambda act, a: d.timeline(act, a)),
            Command("ics", "doc.cmd.ics", lambda act, a: d.ics(act, a)),
            Command("register", "desk.cmd.register", lambda act, a: self.register.register(act, a)),
            Command("language", "cmd.language", lambda act, _a: r.language_prompt(act), quick=True),
            Command("help", "cmd.help", lambda act, _a: r.help(act, self.commands.menu(self._menu_of(act))),
                    quick=True),
            Command("queue", "off.cmd.queue", lambda act, _a: o.queue(act), menus=STAFF_MENUS),
            Command("case", "off.cmd.case", lambda act, a: o.case(act, " ".join(a)), menus=STAFF_MENUS),
            Command("invite", "off.cmd.invite", lambda act, a: o.invite(act, a),
                    lambda act, _a: o.members(act), menus=ADMIN_MENU),
            Command("officers", "off.cmd.officers", lambda act, _a: o.members(act), menus=ADMIN_MENU),
            Command("units", "off.cmd.units", lambda act, a: o.units_command(act, a), menus=ADMIN_MENU),
            Command("exofficio", "exo.cmd", lambda act, a: o.ex_officio(act, a), menus=STAFF_MENUS),
            *self._publicity_commands(),
        ]

    def _publicity_commands(self) -> list[Command]:
        p = self.publicity
        if p is None:
            return []
        return [Command("follow", "publicity.cmd.follow", p.follow, lambda act, _a: self.open_screen(act)),
                Command("unfollow", "publicity.cmd.unfollow", p.unfollow, lambda act, _a: self.open_screen(act))]

    def _publicity_press(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, Press) and self.publicity is not None
        return self.publicity.press(act, press.action, press.args)  # type: ignore[arg-type]

    def _publicity_current(self, act: Act, press: Decoded) -> Reply:
        assert self.publicity is not None
        return self.publicity.screen(act)

    def _menu_of(self, act: Act) -> Menu:
        if self.officers.is_admin(act.who.user_id):
            return Menu.ADMIN
        return Menu.STAFF if self.officers.is_staff(act) else Menu.USER

    def _start(self, act: Act, args: list[str]) -> Reply:
        if args and self.publicity is not None and args[0].startswith(PUBLICITY_LINK):
            return self.publicity.start(act, args[0])  # a deep link from a publicity notice: an objection
        if args:  # a deep link: an officer's invitation code
            code = parse_code(args[0])
            if code is None:
                return Reply(toast=t("off.join.unknown", act.lang), alert=True,
                             view=View(t("off.join.unknown", act.lang)))
            if is_claim_code(code):  # a case opened ex officio, handed to the person concerned
                return self.officers.claim(act, code)
            return self.officers.join(act, code)
        return self.researcher.welcome(act)

    def _unknown_command(self, act: Act, words: list[str]) -> Reply:
        name = words[0][:32] if words else ""
        return self.researcher.open_screen(act, notice=t("err.unknown_command", act.lang, command=f"/{name}"))

    def command(self, who: Who, name: str, args: list[str] | None = None, update_id: int | None = None,
                peek: bool = False) -> Reply | None:
        # an id or code with a NUL is refused by its parser (bot/ids.py), not repaired; free text (a unit's
        # name in /units, /invite) loses it like typed text
        kept = list(args or []) if name in _ID_COMMANDS else [_no_nul(a) for a in args or []]
        return self.commands.run(_clean(who), name, kept, update_id, peek)

    # -- button presses ---------------------------------------------------------------------------------
    def press(self, who: Who, data: str, update_id: int | None = None, namespace: Namespace | None = None) -> Reply:
        """A button press; `namespace` is the one PTB routed it by (its pattern), which the data must match."""
        who = _clean(who)
        decoded = decode(data)
        if decoded is not None and namespace is not None and decoded.namespace is not namespace:
            decoded = None
        if decoded is None:
            if data.startswith(f"{Namespace.CASE.value}:"):
                return self.actions.run(who, update_id, lambda act: self.officers.forged(act, data))
            return self.actions.run(who, update_id, self._unknown_press)
        route = self.routes[decoded.namespace]
        current = route.current
        return self.actions.run(who, update_id, lambda act: route.run(act, decoded),
                                (lambda act: current(act, decoded)) if current else None)

    @staticmethod
    def _unknown_press(act: Act) -> Reply:
        return Reply(toast=t("err.unknown_action", act.lang), alert=True)

    def _home(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, Press)
        if press.action is Home.NEW:
            return self.researcher.new_draft(act, edit=True)
        if press.action is Home.DRAFTS:
            return self.researcher.drafts(act, edit=True)
        return self.open_screen(act, edit=True)

    def _home_current(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, Press)
        if press.action is Home.DRAFTS:
            return self.researcher.drafts(act, edit=True)
        return self.open_screen(act)

    def _drafts_current(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, Press)
        if press.action is Drafts.RESUME:
            return self.researcher.draft_screen(act, press.id())
        return self.researcher.drafts(act, edit=True)

    def _wizard(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, WizardPress)
        if press.action == DOCX:  # read-only: valid on a screen of any revision
            return self.documents.docx(act, press.draft_id)
        return self.researcher.wizard_press(act, press)

    def _wizard_current(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, WizardPress)
        if press.action == DOCX:
            return self.documents.docx(act, press.draft_id)
        return self.researcher.draft_screen(act, press.draft_id)

    def _case_current(self, act: Act, press: Decoded) -> Reply:
        assert isinstance(press, Press)
        if press.action in (CaseAction.QUEUE, CaseAction.STATUS, CaseAction.OPEN, CaseAction.SEND_FILE):
            return self.officers.press(act, press)  # read-only
        if press.action is CaseAction.REVOKE_MEMBER:
            return self.officers.members(act)
        return self.officers.case_screen(act, press.id())

    # -- typed text, files, edits --------------------------------------------------------------------------
    def open_screen(self, act: Act, notice: str | None = None, edit: bool = False) -> Reply:
        """Whatever the user is in the middle of: an officer's form, else their draft, else the welcome."""
        if self.officers.form_open(act):
            return self.officers.form_screen(act)
        if self.publicity is not None and self.publicity.has_draft(act):
            return self.publicity.screen(act, notice=notice)
        return self.researcher.open_screen(act, notice=notice, edit=edit)

    def text(self, who: Who, text: str, update_id: int | None = None, message_id: int | None = None) -> Reply:
        who, text = _clean(who), _no_nul(text)

        def body(act: Act) -> Reply:
            if self.officers.form_open(act):
                return self.officers.form_input(act, text=text)
            if self.publicity is not None and self.publicity.has_draft(act):
                return self.publicity.text(act, text)
            return self.researcher.text(act, text, message_id)
        return self.actions.run(who, update_id, body, self.open_screen)

    def edited(self, who: Who, text: str, message_id: int, update_id: int | None = None) -> Reply:
        who, text = _clean(who), _no_nul(text)
        return self.actions.run(who, update_id, lambda act: self.researcher.edited(act, text, message_id),
                                self.open_screen)

    def document(self, who: Who, upload: UploadInfo, update_id: int | None = None) -> Reply:
        who = _clean(who)
        upload = replace(upload, file_name=_no_nul(upload.file_name), file_id=_no_nul(upload.file_id),
                         file_unique_id=_no_nul(upload.file_unique_id),
                         mime_type=_no_nul(upload.mime_type) if upload.mime_type is not None else None)

        def body(act: Act) -> Reply:
            if self.officers.form_open(act):
                return self.officers.form_input(act, file=vars(upload).copy())
            if self.publicity is not None and self.publicity.has_draft(act):
                return self.publicity.document(act, upload)
            return self.researcher.document(act, upload)
        return self.actions.run(who, update_id, body, self.open_screen)
