"""The researcher's conversation, independent of the transport.

The Telegram handlers and the terminal console both call this: it checks who is acting, applies the
action to the wizard, saves the draft in the same transaction that records the update as processed,
and renders the next screen in the user's language. No Telegram imports here.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.config import SHANGHAI, Settings
from bot.i18n import normalise_language, render, t
from dialogs import answers as A
from dialogs.answers import migrate
from dialogs.policy import Policy
from dialogs.screens import ScreenBuilder
from dialogs.text import Screen, Text, msg
from dialogs.wizard import DraftView, UploadInfo, Wizard
from storage import caserepo, repo
from storage.db import session_scope
from storage.models import Draft, Upload, User

if TYPE_CHECKING:
    from bot.document_flow import DocumentFlow
    from bot.officer_flow import OfficerFlow

log = logging.getLogger(__name__)
TELEGRAM_TEXT_LIMIT = 4096


def _small_id(text: str) -> bool:
    """Callback data is client-supplied: "²".isdigit() holds but int() refuses it, and a 40-digit id
    overflows the database's integer; both are refused before they reach a query."""
    return text.isascii() and text.isdigit() and len(text) <= 18


@dataclass(frozen=True)
class Who:
    user_id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass
class View:
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)


@dataclass
class Reply:
    """What the transport should do: show `view` (editing the pressed message when `edit`), answer
    the button press with `toast`, and remember which message now shows draft `draft_id`."""

    view: View | None = None
    edit: bool = False
    toast: str | None = None
    alert: bool = False
    draft_id: int | None = None
    # The draft's screen message: a typed answer edits it in place rather than sending a new screen.
    screen_message_id: int | None = None
    duplicate: bool = False
    # The message the draft is already recorded on: editing that one needs no second transaction.
    shown_message_id: int | None = None


class Flow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], wizard: Wizard, settings: Settings) -> None:
        self.engine = engine
        self.policies = policies
        self.wizard = wizard
        self.screens = ScreenBuilder(wizard)
        self.settings = settings
        self.casework: OfficerFlow | None = None  # the officers' side; set by bot.runtime
        self.documents: DocumentFlow | None = None  # the .docx, /timeline and /ics; set by bot.runtime

    # -- helpers ----------------------------------------------------------------------------------
    def _lang(self, user: User, who: Who) -> str:
        return user.language or normalise_language(who.language_code or self.settings.default_language)

    def _render(self, screen: Screen, lang: str, prefix: str) -> View:
        parts = [render(line, lang) for line in screen.lines]
        text = "\n\n".join(p for p in parts if p.strip())
        if len(text) > TELEGRAM_TEXT_LIMIT:
            text = text[: TELEGRAM_TEXT_LIMIT - 1] + "…"
        buttons = [[(render(b.label, lang), self._callback(prefix, b.action)) for b in row] for row in screen.rows]
        return View(text, buttons)

    @staticmethod
    def _callback(prefix: str, action: str) -> str:
        if action in ("new", "drafts"):
            return f"g:{action}"
        return f"{prefix}:{action}"

    def _view_of(self, session: object, draft: Draft, lang: str, notice: Text | None = None,
                 error: Text | None = None, uploads: list[UploadInfo] | None = None) -> View:
        # `uploads` from the action's own DraftView saves querying them a second time per update
        draft_view = (self._draft_view(session, draft) if uploads is None
                      else DraftView(draft.state, copy.deepcopy(draft.answers), list(uploads)))
        screen = self.screens.build(draft_view, notice=notice, error=error)
        return self._render(screen, lang, f"w:{draft.id}:{draft.revision}")

    def _draft_view(self, session: object, draft: Draft) -> DraftView:
        uploads = [UploadInfo(u.material_id, u.file_name, u.size, u.file_id, u.file_unique_id, u.mime_type)
                   for u in repo.uploads_for(session, draft.id or 0)]  # type: ignore[arg-type]
        return DraftView(draft.state, copy.deepcopy(draft.answers), uploads)

    def _fit_policy(self, draft: Draft) -> None:
        """A draft started under an older policy file keeps working: answers are fitted on load."""
        policy = self.policies.get(draft.policy_key or "")
        if policy is not None and draft.answers.get("_meta", {}).get("policy_version") != policy.version:
            draft.answers = migrate(copy.deepcopy(draft.answers), policy)

    def _user(self, session: object, who: Who) -> User:
        return repo.get_or_create_user(session, who.user_id, who.first_name, who.username)  # type: ignore[arg-type]

    def _simple(self, text: str, buttons: list[list[tuple[str, str]]] | None = None) -> View:
        return View(text, buttons or [])

    # -- commands --------------------------------------------------------------------------------
    def start(self, who: Who, update_id: int | None = None, payload: str | None = None) -> Reply:
        if payload and self.casework is not None:  # a deep link: an officer's invitation code
            return self.casework.join(who, payload, update_id)
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            lang = self._lang(user, who)
            buttons = [[(t("btn.new_application", lang), "g:new"), (t("btn.my_drafts", lang), "g:drafts")]]
            return Reply(view=self._simple(t("bot.welcome", lang), buttons))

    def help(self, who: Who, update_id: int | None = None) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            return Reply(view=self._simple(t("bot.help", self._lang(user, who))))

    def new_draft(self, who: Who, update_id: int | None = None, edit: bool = False) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            draft = Draft(user_id=who.user_id, state="policy", answers={})
            s.add(draft)
            s.flush()
            user.current_draft_id = draft.id
            return Reply(view=self._view_of(s, draft, self._lang(user, who)), draft_id=draft.id, edit=edit)

    def drafts(self, who: Who, update_id: int | None = None, edit: bool = False) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            return Reply(view=self._drafts_view(s, user, self._lang(user, who)), edit=edit)

    def _drafts_view(self, session: object, user: User, lang: str) -> View:
        drafts = repo.active_drafts(session, user.id)  # type: ignore[arg-type]
        if not drafts:
            return View(t("bot.drafts.empty", lang), [[(t("btn.new_application", lang), "g:new")]])
        lines = [t("bot.drafts.title", lang)]
        buttons: list[list[tuple[str, str]]] = []
        for d in drafts[:20]:
            policy = self.policies.get(d.policy_key or "")
            stamp = d.updated_at if d.updated_at.tzinfo else d.updated_at.replace(tzinfo=dt.UTC)
            when = stamp.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            steps = A.steps_for(policy)
            step_name = t(f"step.{d.state}", lang)
            if d.state in steps:
                step_name = t("wiz.progress", lang, n=steps.index(d.state) + 1, total=len(steps), title=step_name)
            lines.append(t("bot.drafts.item", lang, id=d.id,
                           policy=policy.short_name.get(lang) if policy else t("bot.drafts.no_policy", lang),
                           step=step_name, when=when))
            buttons.append([(t("btn.resume", lang, id=d.id), f"dr:r:{d.id}"),
                            (t("btn.delete", lang, id=d.id), f"dr:d:{d.id}")])
        buttons.append([(t("btn.new_application", lang), "g:new")])
        return View("\n".join(lines), buttons)

    def set_language(self, who: Who, lang: str | None, update_id: int | None = None, edit: bool = False) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            if lang in ("zh", "en"):
                user.language = lang
                buttons = [[(t("btn.new_application", lang), "g:new"), (t("btn.my_drafts", lang), "g:drafts")]]
                return Reply(view=self._simple(t("bot.language.set", lang), buttons), edit=edit)
            current = self._lang(user, who)
            buttons = [[(t("btn.lang_zh", current), "lang:zh"), (t("btn.lang_en", current), "lang:en")]]
            return Reply(view=self._simple(t("bot.language.prompt", current), buttons))

    def language_of(self, who: Who) -> str:
        with session_scope(self.engine) as s:
            return self._lang(self._user(s, who), who)

    def remember_message(self, draft_id: int, message_id: int) -> None:
        with session_scope(self.engine) as s:
            draft = s.get(Draft, draft_id)
            if draft is not None:
                draft.message_id = message_id

    # -- button presses ---------------------------------------------------------------------------
    def press(self, who: Who, data: str, update_id: int | None = None) -> Reply:
        kind, _, rest = data.partition(":")
        if kind == "g" and rest == "new":
            return self.new_draft(who, update_id, edit=True)
        if kind == "g" and rest == "drafts":
            return self.drafts(who, update_id, edit=True)
        if kind == "lang":
            return self.set_language(who, rest, update_id, edit=True)
        if kind == "dr":
            return self._drafts_action(who, rest, update_id)
        if kind == "w" and rest.endswith(":docx") and self.documents is not None:
            return self.documents.docx(who, rest.partition(":")[0], update_id)  # read-only: any revision
        if kind == "w":
            return self._wizard_press(who, rest, update_id)
        if kind == "c" and self.casework is not None:
            return self.casework.press(who, data, update_id)
        if kind == "f" and self.documents is not None and rest[:2] in ("t:", "i:"):
            # the case's timeline picture or calendar file; access is checked as for /timeline N and /ics N
            make = self.documents.timeline if rest[0] == "t" else self.documents.ics
            return make(who, [rest[2:]], update_id)
        return self._refuse(who, update_id, msg("err.unknown_action"))

    def _refuse(self, who: Who, update_id: int | None, text: Text) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            return Reply(toast=render(text, self._lang(user, who)), alert=True)

    def _owned_draft(self, session: object, who: Who, draft_id_text: str) -> Draft | Text:
        if not _small_id(draft_id_text):
            return msg("err.unknown_action")
        draft = session.get(Draft, int(draft_id_text))  # type: ignore[attr-defined]
        if draft is None or draft.status == "deleted":
            return msg("err.draft_gone")
        if draft.user_id != who.user_id:
            log.warning("refused: user %s pressed a button of draft %s owned by %s", who.user_id, draft.id,
                        draft.user_id)
            return msg("err.not_yours")
        return draft

    def _drafts_action(self, who: Who, rest: str, update_id: int | None) -> Reply:
        verb, _, draft_id = rest.partition(":")
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            lang = self._lang(user, who)
            draft = self._owned_draft(s, who, draft_id)
            if not isinstance(draft, Draft):
                return Reply(toast=render(draft, lang), alert=True)
            if verb == "r":
                if draft.status != "active":
                    return Reply(toast=t("err.already_submitted", lang), alert=True)
                self._fit_policy(draft)
                user.current_draft_id = draft.id
                return Reply(view=self._view_of(s, draft, lang), edit=True, draft_id=draft.id)
            if verb == "d":
                buttons = [[(t("btn.confirm_delete", lang, id=draft.id), f"dr:x:{draft.id}"),
                            (t("btn.keep", lang), "g:drafts")]]
                return Reply(view=View(t("bot.drafts.confirm_delete", lang, id=draft.id), buttons), edit=True)
            if verb == "x" and draft.status == "active":
                draft.status = "deleted"
                repo.touch(draft)
                if user.current_draft_id == draft.id:
                    user.current_draft_id = None
                view = self._drafts_view(s, user, lang)
                view.text = t("bot.drafts.deleted", lang, id=draft.id) + "\n\n" + view.text
                return Reply(view=view, edit=True)
            return Reply(toast=t("err.stale_button", lang), alert=True)

    def _wizard_press(self, who: Who, rest: str, update_id: int | None) -> Reply:
        draft_id, _, rest = rest.partition(":")
        revision, _, action = rest.partition(":")
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            lang = self._lang(user, who)
            draft = self._owned_draft(s, who, draft_id)
            if not isinstance(draft, Draft):
                return Reply(toast=render(draft, lang), alert=True)
            if draft.status == "submitted":
                return Reply(toast=t("err.already_submitted", lang), alert=True)
            if not _small_id(revision) or int(revision) != draft.revision:
                return Reply(toast=t("err.stale_button", lang), alert=True)
            self._fit_policy(draft)
            user.current_draft_id = draft.id
            view = self._draft_view(s, draft)
            outcome = self.wizard.apply(view, action)
            if outcome.left:
                user.current_draft_id = None
                buttons = [[(t("btn.my_drafts", lang), "g:drafts"), (t("btn.new_application", lang), "g:new")]]
                return Reply(view=View(render(outcome.notice or msg("wiz.cancelled"), lang), buttons), edit=True)
            if outcome.changed:
                self._save(s, draft, view, user)
            reply = Reply(view=self._view_of(s, draft, lang, notice=outcome.notice, error=outcome.error,
                                             uploads=view.uploads),
                          edit=True, draft_id=draft.id, shown_message_id=draft.message_id)
            if outcome.error is not None:
                reply.toast = render(outcome.error, lang)
            if outcome.submitted and self.documents is not None:
                return self.documents.with_application(s, draft, lang, reply)
            return reply

    def _save(self, session: object, draft: Draft, view: DraftView, user: User) -> None:
        policy = self.policies.get(view.answers.get("policy", ""))
        if policy is not None and draft.policy_key != policy.key:
            draft.policy_key = policy.key
            draft.policy_version = policy.version
        draft.answers = copy.deepcopy(view.answers)
        draft.state = view.state
        repo.touch(draft)
        if view.state == "submitted" and draft.status == "active" and policy is not None:
            number = repo.next_case_number(session, policy.case_prefix, self.settings.today().year)  # type: ignore[arg-type]
            answers = copy.deepcopy(draft.answers)
            answers.setdefault("_meta", {})["case_number"] = number
            draft.answers = answers
            draft.status = "submitted"
            case = repo.create_case(session, draft, number)  # type: ignore[arg-type]
            draft.case_id = case.id
            user.current_draft_id = None
            caserepo.record_submission(session, case, policy, caserepo.stamp(self.settings.today()))  # type: ignore[arg-type]
            if self.casework is not None:
                self.casework.announce_new_case(session, case)  # type: ignore[arg-type]

    # -- typed text and documents --------------------------------------------------------------
    def text(self, who: Who, text: str, update_id: int | None = None) -> Reply:
        if self.casework is not None and (form := self.casework.form_input(who, text=text, update_id=update_id)):
            return form
        return self._input(who, update_id, lambda view: self.wizard.text(view, text))

    def document(self, who: Who, upload: UploadInfo, update_id: int | None = None) -> Reply:
        if self.casework is not None and (form := self.casework.form_input(who, file=vars(upload).copy(),
                                                                           update_id=update_id)):
            return form
        def apply(view: DraftView) -> object:
            return self.wizard.document(view, upload)
        return self._input(who, update_id, apply)

    def _input(self, who: Who, update_id: int | None, apply: object) -> Reply:
        with session_scope(self.engine) as s:
            if not repo.claim_update(s, update_id):
                return Reply(duplicate=True)
            user = self._user(s, who)
            lang = self._lang(user, who)
            draft = s.get(Draft, user.current_draft_id) if user.current_draft_id else None
            if draft is None or draft.status != "active" or draft.user_id != who.user_id:
                return Reply(view=View(t("err.no_draft", lang), [[(t("btn.new_application", lang), "g:new"),
                                                                  (t("btn.my_drafts", lang), "g:drafts")]]))
            self._fit_policy(draft)
            view = self._draft_view(s, draft)
            outcome = apply(view)  # type: ignore[operator]
            if outcome.changed:
                if outcome.new_upload is not None:
                    u = outcome.new_upload
                    s.add(Upload(draft_id=draft.id or 0, material_id=u.material_id, file_id=u.file_id,
                                 file_unique_id=u.file_unique_id, file_name=u.file_name, mime_type=u.mime_type,
                                 size=u.size))
                    s.flush()
                self._save(s, draft, view, user)
            old_message = draft.message_id
            return Reply(view=self._view_of(s, draft, lang, notice=outcome.notice, error=outcome.error,
                                            uploads=view.uploads),
                         draft_id=draft.id, screen_message_id=old_message)
