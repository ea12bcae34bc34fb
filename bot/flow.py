"""The researcher's conversation, independent of the transport.

Every entry point takes the `Act` of bot/actions.py — one transaction in which the Telegram update was
claimed — applies the user's action to the wizard (dialogs/wizard.py), saves the draft in that same
transaction and renders the next screen in the user's language. No Telegram imports here.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.actions import Act
from bot.callbacks import Drafts, Home, Language, Press, WizardPress, encode, encode_wizard
from bot.commands import Command
from bot.config import SHANGHAI, Settings
from bot.i18n import render, t
from bot.limits import TEXT_LIMIT, clip, split, utf16_len
from bot.reply import Reply, View
from dialogs.answers import migrate, steps_for
from dialogs.model import LoadedOnUse, UnitLookup, UnitMatch
from dialogs.policy import Policy
from dialogs.screens import ScreenBuilder
from dialogs.steps import STEP_TITLES
from dialogs.text import Screen, Text, msg
from dialogs.widgets import PICK_MAX
from dialogs.wizard import DraftView, Outcome, UploadInfo, Wizard
from storage import caserepo, repo, units
from storage.db import session_scope
from storage.models import Draft, Upload

log = logging.getLogger(__name__)
_HOME_ACTIONS = {"new": Home.NEW, "drafts": Home.DRAFTS}
BUTTON_LABEL_LIMIT = 40  # a phone shows about this much of a button; the long text is in the message
REMEMBERED_FROM = 20  # the applicant's latest drafts searched for the identity they gave
# Built once (a statement built per call costs about 0.3 ms inside SQLite's write lock; docs/BENCHMARKS.md).
_REMEMBERED = (select(Draft).where(Draft.user_id == bindparam("user"), Draft.id != bindparam("draft"))
               .order_by(col(Draft.updated_at).desc()).limit(REMEMBERED_FROM))


class Flow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], wizard: Wizard, settings: Settings,
                 on_submitted: Callable[[Act, Draft, Reply], Reply]) -> None:
        self.engine = engine
        self.policies = policies
        self.wizard = wizard
        self.screens = ScreenBuilder(wizard)
        self.settings = settings
        # what else a submission does, in its transaction (the officers are told, the .docx attached)
        self.on_submitted = on_submitted

    # -- rendering ----------------------------------------------------------------------------------
    def _render(self, screen: Screen, lang: str, draft: Draft) -> View:
        """The screen in the user's language; one that does not fit one message is split over several
        (measured in UTF-16 units, as Telegram counts), the buttons on the last, never cut."""
        parts = [render(line, lang) for line in screen.lines]
        text = "\n\n".join(p for p in parts if p.strip())
        buttons = [[(clip(render(b.label, lang), BUTTON_LABEL_LIMIT), self._callback(draft, b.action)) for b in row]
                   for row in screen.rows]
        if utf16_len(text) <= TEXT_LIMIT:
            return View(text, buttons)
        pieces = split(text, TEXT_LIMIT)
        return View(pieces[-1], buttons, preface=pieces[:-1])

    @staticmethod
    def _callback(draft: Draft, action: str) -> str:
        if action in _HOME_ACTIONS:
            return encode(_HOME_ACTIONS[action])
        return encode_wizard(draft.id or 0, draft.revision, action)

    def _view_of(self, act: Act, draft: Draft, notice: Text | None = None, error: Text | None = None,
                 uploads: list[UploadInfo] | None = None) -> View:
        # `uploads` from the action's own DraftView saves querying them a second time per update
        draft_view = (self._draft_view(act, draft) if uploads is None
                      else DraftView(draft.state, copy.deepcopy(draft.answers), uploads, draft.revision))
        return self._render(self.screens.build(draft_view, notice=notice, error=error), act.lang, draft)

    def _draft_view(self, act: Act, draft: Draft) -> DraftView:
        session, draft_id = act.session, draft.id or 0
        uploads = LoadedOnUse(lambda: [UploadInfo(u.material_id, u.file_name, u.size, u.file_id, u.file_unique_id,
                                                  u.mime_type, u.id) for u in repo.uploads_for(session, draft_id)])
        remembered = self._remembered(act, draft) if draft.state == "applicant" else {}
        return DraftView(draft.state, copy.deepcopy(draft.answers), uploads, draft.revision, remembered,
                         self._unit_lookup(act, draft))

    def _unit_lookup(self, act: Act, draft: Draft) -> UnitLookup | None:
        """The registry of the draft's policy, as the wizard's unit question asks it (in this update's
        transaction): the unit that answers to the typed name exactly, and the registered or proposed units
        whose names resemble it. None before a policy is chosen."""
        policy = self.policies.get(draft.answers.get("policy", "") if isinstance(draft.answers, dict) else "")
        if policy is None or not any(f.registry for f in policy.project_fields):
            return None
        session, key = act.session, policy.key

        def lookup(text: str) -> UnitMatch:
            if not units.normal(text):
                return UnitMatch(named=False)
            exact = units.by_name(session, key, text)
            similar = [u for u in units.search(session, key, text, PICK_MAX) if u.id is not None
                       and u.status in ("active", "proposed") and u.policy_key == key]
            return UnitMatch(exact=(exact.id, exact.name) if exact is not None and exact.id is not None
                             and exact.status in ("active", "proposed") else None,
                             candidates=tuple((u.id or 0, u.name) for u in similar))
        return lookup

    def _remembered(self, act: Act, draft: Draft) -> dict[str, dict]:
        """The identity the applicant gave in their latest other application, per applicant kind."""
        found: dict[str, dict] = {}
        for other in act.session.execute(_REMEMBERED, {"user": act.who.user_id, "draft": draft.id}).scalars():
            identity, kind = other.answers.get("identity"), other.answers.get("applicant_kind")
            if isinstance(identity, dict) and isinstance(kind, str) and identity.get("name"):
                found.setdefault(kind, identity)
        return found

    def _fit_policy(self, draft: Draft) -> None:
        """A draft started under an older policy file keeps working: answers are fitted on load."""
        policy = self.policies.get(draft.policy_key or "")
        if policy is not None and draft.answers.get("_meta", {}).get("policy_version") != policy.version:
            draft.answers = migrate(copy.deepcopy(draft.answers), policy)

    def _home_buttons(self, lang: str) -> list[list[tuple[str, str]]]:
        return [[(t("btn.new_application", lang), encode(Home.NEW)), (t("btn.my_drafts", lang), encode(Home.DRAFTS))]]

    def _open_draft(self, act: Act) -> Draft | None:
        draft_id = act.user.current_draft_id
        draft = act.session.get(Draft, draft_id) if draft_id else None
        if draft is None or draft.status != "active" or draft.user_id != act.who.user_id:
            return None
        return draft

    # -- screens that are not a step ----------------------------------------------------------------------
    def welcome(self, act: Act) -> Reply:
        """The greeting; in the middle of an application it offers to continue that draft first."""
        draft = self._open_draft(act)
        buttons = self._home_buttons(act.lang)
        text = t("bot.welcome", act.lang)
        if draft is not None:
            text += "\n\n" + t("bot.welcome.open_draft", act.lang, id=draft.id, where=self._where(draft, act.lang))
            buttons.insert(0, [(t("btn.continue_draft", act.lang, id=draft.id), encode(Home.OPEN))])
        return Reply(view=View(text, buttons))

    def _where(self, draft: Draft, lang: str) -> str:
        policy = self.policies.get(draft.policy_key or "")
        steps = steps_for(policy)
        step = t(STEP_TITLES.get(draft.state, STEP_TITLES["policy"]), lang)
        if draft.state in steps:
            step = t("wiz.progress", lang, n=steps.index(draft.state) + 1, total=len(steps), title=step)
        name = policy.short_name.get(lang) if policy else t("bot.drafts.no_policy", lang)
        return t("bot.drafts.where", lang, policy=name, step=step)

    def help(self, act: Act, commands: Sequence[Command]) -> Reply:
        """How to use the assistant, then the commands of the user's own menu, from the registry."""
        lines = [t("bot.help", act.lang)]
        lines += [t("bot.help.command", act.lang, name=c.name, text=t(c.description, act.lang)) for c in commands]
        return Reply(view=View("\n".join(lines)))

    def open_screen(self, act: Act, notice: str | None = None, edit: bool = False) -> Reply:
        """The draft the user is working on, as it stands; without one, the welcome."""
        draft = self._open_draft(act)
        if draft is None:
            reply = self.welcome(act)
        else:
            self._fit_policy(draft)
            reply = Reply(view=self._view_of(act, draft), draft_id=draft.id)
        if notice and reply.view is not None:
            reply.view.text = clip(f"{notice}\n\n{reply.view.text}", TEXT_LIMIT)
        reply.edit = edit
        return reply

    def draft_screen(self, act: Act, draft_id: int) -> Reply:
        """Draft `draft_id` as it stands, if it is the user's: what a re-delivered press on it shows."""
        draft = self._owned_draft(act, draft_id)
        if not isinstance(draft, Draft):
            return Reply(toast=render(draft, act.lang), alert=True)
        self._fit_policy(draft)
        return Reply(view=self._view_of(act, draft), draft_id=draft.id)

    def new_draft(self, act: Act, edit: bool = False) -> Reply:
        draft = Draft(user_id=act.who.user_id, state="policy", answers={})
        act.session.add(draft)
        act.session.flush()
        act.user.current_draft_id = draft.id
        return Reply(view=self._view_of(act, draft), draft_id=draft.id, edit=edit)

    def drafts(self, act: Act, edit: bool = False) -> Reply:
        return Reply(view=self._drafts_view(act), edit=edit)

    def _drafts_view(self, act: Act) -> View:
        lang = act.lang
        drafts = repo.active_drafts(act.session, act.who.user_id)
        if not drafts:
            return View(t("bot.drafts.empty", lang), [[(t("btn.new_application", lang), encode(Home.NEW))]])
        lines = [t("bot.drafts.title", lang)]
        buttons: list[list[tuple[str, str]]] = []
        for d in drafts[:20]:
            policy = self.policies.get(d.policy_key or "")
            stamp = d.updated_at if d.updated_at.tzinfo else d.updated_at.replace(tzinfo=dt.UTC)
            when = stamp.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            steps = steps_for(policy)
            step_name = t(STEP_TITLES.get(d.state, STEP_TITLES["policy"]), lang)
            if d.state in steps:
                step_name = t("wiz.progress", lang, n=steps.index(d.state) + 1, total=len(steps), title=step_name)
            lines.append(t("bot.drafts.item", lang, id=d.id,
                           policy=policy.short_name.get(lang) if policy else t("bot.drafts.no_policy", lang),
                           step=step_name, when=when))
            buttons.append([(t("btn.resume", lang, id=d.id), encode(Drafts.RESUME, d.id or 0)),
                            (t("btn.delete", lang, id=d.id), encode(Drafts.ASK_DELETE, d.id or 0))])
        buttons.append([(t("btn.new_application", lang), encode(Home.NEW))])
        return View(clip("\n".join(lines), TEXT_LIMIT), buttons)

    def language_prompt(self, act: Act) -> Reply:
        buttons = [[(t("btn.lang_zh", act.lang), encode(Language.ZH)), (t("btn.lang_en", act.lang), encode(Language.EN))]]
        return Reply(view=View(t("bot.language.prompt", act.lang), buttons))

    def set_language(self, act: Act, lang: str, edit: bool = False) -> Reply:
        """The new language at once, and back to the screen the user was on."""
        act.user.language = lang
        act.lang = lang
        if self._open_draft(act) is None:
            return Reply(view=View(t("bot.language.set", lang), self._home_buttons(lang)), edit=edit)
        return self.open_screen(act, notice=t("bot.language.set", lang), edit=edit)

    def remember_message(self, draft_id: int, message_id: int) -> None:
        """Which message shows the draft's screen, so a typed answer can edit it in place."""
        with session_scope(self.engine) as s:
            draft = s.get(Draft, draft_id)
            if draft is not None:
                draft.message_id = message_id

    # -- button presses -----------------------------------------------------------------------------------
    def _owned_draft(self, act: Act, draft_id: int) -> Draft | Text:
        draft = act.session.get(Draft, draft_id)
        if draft is None or draft.status == "deleted":
            return msg("err.draft_gone")
        if draft.user_id != act.who.user_id:
            log.warning("refused: user %s pressed a button of draft %s owned by %s", act.who.user_id, draft.id,
                        draft.user_id)
            return msg("err.not_yours")
        return draft

    def drafts_press(self, act: Act, press: Press) -> Reply:
        lang = act.lang
        draft = self._owned_draft(act, press.id())
        if not isinstance(draft, Draft):
            return Reply(toast=render(draft, lang), alert=True)
        if draft.status != "active":  # an old /drafts list: a submitted application is neither resumed nor deleted
            return Reply(toast=t("err.already_submitted", lang), alert=True)
        if press.action is Drafts.RESUME:
            self._fit_policy(draft)
            act.user.current_draft_id = draft.id
            return Reply(view=self._view_of(act, draft), edit=True, draft_id=draft.id)
        if press.action is Drafts.ASK_DELETE:
            buttons = [[(t("btn.confirm_delete", lang, id=draft.id), encode(Drafts.CONFIRM_DELETE, draft.id or 0)),
                        (t("btn.keep", lang), encode(Home.DRAFTS))]]
            return Reply(view=View(t("bot.drafts.confirm_delete", lang, id=draft.id), buttons), edit=True)
        if draft.status == "active":
            draft.status = "deleted"
            repo.touch(draft)
            if act.user.current_draft_id == draft.id:
                act.user.current_draft_id = None
            view = self._drafts_view(act)
            view.text = t("bot.drafts.deleted", lang, id=draft.id) + "\n\n" + view.text
            return Reply(view=view, edit=True)
        return Reply(toast=t("err.stale_button", lang), alert=True)

    def wizard_press(self, act: Act, press: WizardPress) -> Reply:
        lang = act.lang
        draft = self._owned_draft(act, press.draft_id)
        if not isinstance(draft, Draft):
            return Reply(toast=render(draft, lang), alert=True)
        if draft.status == "submitted":
            return Reply(toast=t("err.already_submitted", lang), alert=True)
        if press.revision != draft.revision:
            return Reply(toast=t("err.stale_button", lang), alert=True)
        self._fit_policy(draft)
        act.user.current_draft_id = draft.id
        view = self._draft_view(act, draft)
        outcome = self.wizard.apply(view, press.action)
        if outcome.left:
            act.user.current_draft_id = None
            buttons = [[(t("btn.my_drafts", lang), encode(Home.DRAFTS)), (t("btn.new_application", lang), encode(Home.NEW))]]
            return Reply(view=View(render(outcome.notice or msg("wiz.cancelled"), lang), buttons), edit=True)
        if outcome.changed:
            self._apply_files(act, draft, outcome)
            self._save(act, draft, view, outcome.meta_only)
        reply = Reply(view=self._view_of(act, draft, notice=outcome.notice, error=outcome.error, uploads=view.uploads),
                      edit=True, draft_id=draft.id, shown_message_id=draft.message_id)
        if outcome.error is not None:
            reply.toast = render(outcome.error, lang)
        if outcome.submitted:
            return self.on_submitted(act, draft, reply)
        return reply

    def _apply_files(self, act: Act, draft: Draft, outcome: Outcome) -> None:
        """An upload the wizard accepted is stored; one it removed is deleted (only ever the draft's own)."""
        if outcome.new_upload is not None:
            u = outcome.new_upload
            row = Upload(draft_id=draft.id or 0, material_id=u.material_id, file_id=u.file_id,
                         file_unique_id=u.file_unique_id, file_name=u.file_name, mime_type=u.mime_type, size=u.size)
            act.session.add(row)
            act.session.flush()
            u.upload_id = row.id
        if outcome.removed_upload is not None:
            row = act.session.get(Upload, outcome.removed_upload)
            if row is not None and row.draft_id == draft.id:
                act.session.delete(row)
                act.session.flush()

    def _save(self, act: Act, draft: Draft, view: DraftView, meta_only: bool = False) -> None:
        session = act.session
        policy = self.policies.get(view.answers.get("policy", ""))
        if policy is not None and draft.policy_key != policy.key:
            draft.policy_key = policy.key
            draft.policy_version = policy.version
        draft.answers = copy.deepcopy(view.answers)
        draft.state = view.state
        if meta_only:  # only a widget's bookkeeping changed: the screen's buttons stay valid
            return
        repo.touch(draft)
        if view.state == "submitted" and draft.status == "active" and policy is not None:
            number = repo.next_case_number(session, policy.case_prefix, self.settings.today().year)
            answers = copy.deepcopy(draft.answers)
            answers.setdefault("_meta", {})["case_number"] = number
            draft.answers = answers
            draft.status = "submitted"
            case = repo.create_case(session, draft, number)
            draft.case_id = case.id
            act.user.current_draft_id = None
            caserepo.record_submission(session, case, policy, caserepo.stamp(self.settings.today()))

    # -- typed text and documents -------------------------------------------------------------------------
    def text(self, act: Act, text: str, message_id: int | None = None) -> Reply:
        return self._input(act, lambda view: self.wizard.text(view, text, message_id))

    def edited(self, act: Act, text: str, message_id: int) -> Reply:
        """An edited message: the wizard decides whether it replaces the last answer or only gets a note."""
        return self._input(act, lambda view: self.wizard.edited(view, text, message_id))

    def document(self, act: Act, upload: UploadInfo) -> Reply:
        return self._input(act, lambda view: self.wizard.document(view, upload))

    def _input(self, act: Act, apply: Callable[[DraftView], Outcome]) -> Reply:
        lang = act.lang
        draft = self._open_draft(act)
        if draft is None:
            return Reply(view=View(t("err.no_draft", lang), self._home_buttons(lang)))
        self._fit_policy(draft)
        view = self._draft_view(act, draft)
        outcome = apply(view)
        if outcome.changed:
            self._apply_files(act, draft, outcome)
            self._save(act, draft, view, outcome.meta_only)
        old_message = draft.message_id
        return Reply(view=self._view_of(act, draft, notice=outcome.notice, error=outcome.error, uploads=view.uploads),
                     draft_id=draft.id, screen_message_id=old_message, shown_message_id=old_message)
