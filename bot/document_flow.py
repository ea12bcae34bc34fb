"""The researcher's files, independent of the transport: the application .docx (on submission and on
demand), /timeline and /ics. Like bot/flow.py every call claims its Telegram update in the same
transaction, checks that the user may see what they ask for, and answers bad input in their language.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.documents.application import DOCX_MIME, application_docx
from bot.documents.calendar_file import ICS_MIME, entries_to_ics, ics_entries
from bot.documents.timeline import timeline_png
from bot.flow import Reply, View, Who
from bot.i18n import normalise_language, t
from dialogs.policy import Policy
from dialogs.screens import ScreenBuilder
from dialogs.wizard import DraftView, UploadInfo
from scheduler.calendar import WorkCalendar
from storage import access, caserepo, repo
from storage.clockevents import clock_events, local_date
from storage.db import session_scope
from storage.models import Case, Draft, User

log = logging.getLogger(__name__)
COMMANDS = ["timeline", "ics"]


@dataclass(frozen=True)
class OutFile:
    """A file for the transport to send after the reply's text: a document or a photo."""

    kind: Literal["document", "photo"]
    name: str
    content: bytes
    mime_type: str
    caption: str | None = None


@dataclass
class FileReply(Reply):
    files: list[OutFile] = field(default_factory=list)


class DocumentFlow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings,
                 screens: ScreenBuilder) -> None:
        self.engine = engine
        self.policies = policies
        self.calendar = calendar
        self.settings = settings
        self.screens = screens

    def _lang(self, user: User, who: Who) -> str:
        return user.language or normalise_language(who.language_code or self.settings.default_language)

    def _begin(self, s: Session, who: Who, update_id: int | None) -> tuple[User, str] | None:
        if not repo.claim_update(s, update_id):
            return None
        user = repo.get_or_create_user(s, who.user_id, who.first_name, who.username)
        return user, self._lang(user, who)

    # -- the application document -------------------------------------------------------------------
    def application_file(self, s: Session, draft: Draft, lang: str) -> OutFile:
        """The .docx of a draft or of the case it became (then with the case number and filing day)."""
        policy = self.policies[draft.policy_key or ""]
        uploads = [UploadInfo(u.material_id, u.file_name, u.size, u.file_id, u.file_unique_id, u.mime_type)
                   for u in repo.uploads_for(s, draft.id or 0)]
        case = s.get(Case, draft.case_id) if draft.case_id else None
        number = case.number if case else None
        content = application_docx(policy, DraftView(draft.state, dict(draft.answers), uploads), self.screens, lang,
                                   today=self.settings.today(), case_number=number,
                                   submitted_on=local_date(case.submitted_at) if case else None)
        ref = number or f"draft-{draft.id}"
        return OutFile("document", f"{ref}-application.docx", content, DOCX_MIME,
                       t("doc.caption.application", lang, ref=ref))

    def with_application(self, s: Session, draft: Draft, lang: str, reply: Reply) -> FileReply:
        """The submission's reply, carrying the document the researcher now has to sign."""
        return FileReply(**vars(reply), files=[self.application_file(s, draft, lang)])

    def docx(self, who: Who, draft_id: str, update_id: int | None = None) -> FileReply:
        with session_scope(self.engine) as s:
            begun = self._begin(s, who, update_id)
            if begun is None:
                return FileReply(duplicate=True)
            _user, lang = begun
            draft = s.get(Draft, int(draft_id)) if draft_id.isdigit() else None
            if draft is None or draft.status == "deleted" or draft.user_id != who.user_id \
                    or draft.policy_key not in self.policies:
                return FileReply(toast=t("doc.err.no_draft", lang), alert=True)
            return FileReply(files=[self.application_file(s, draft, lang)])

    # -- cases: /timeline and /ics ------------------------------------------------------------------------
    def _may_see(self, s: Session, user_id: int, case: Case) -> bool:
        return bool(access.roles_on(s, user_id, case))  # the same answer the desk and the register get

    def _case(self, s: Session, who: Who, args: list[str], lang: str) -> Case | str:
        """The case named in `args` (number or id), else the user's latest; or the message saying why not."""
        if args:
            ref = " ".join(args).strip()
            case = caserepo.find_case(s, ref)
            if case is None or not self._may_see(s, who.user_id, case):
                return t("doc.err.no_case", lang, ref=ref[:40])
            return case
        latest = s.exec(select(Case).where(Case.applicant_id == who.user_id)
                        .order_by(col(Case.submitted_at).desc(), col(Case.id).desc())).first()
        return latest if latest is not None else t("doc.err.no_cases", lang)

    def timeline(self, who: Who, args: list[str], update_id: int | None = None) -> FileReply:
        with session_scope(self.engine) as s:
            begun = self._begin(s, who, update_id)
            if begun is None:
                return FileReply(duplicate=True)
            _user, lang = begun
            case = self._case(s, who, args, lang)
            if isinstance(case, str):
                return FileReply(view=View(case))
            today = self.settings.today()
            png = timeline_png(case, clock_events(s, case), self.policies[case.policy_key], self.calendar,
                               today, lang)
            caption = t("doc.tl.caption", lang, number=case.number, date=today.isoformat())
            return FileReply(files=[OutFile("photo", f"{case.number}-timeline.png", png, "image/png", caption)])

    def ics(self, who: Who, args: list[str], update_id: int | None = None) -> FileReply:
        """One case; with no argument, an officer gets every case their roles reach, a researcher their own."""
        with session_scope(self.engine) as s:
            begun = self._begin(s, who, update_id)
            if begun is None:
                return FileReply(duplicate=True)
            _user, lang = begun
            if args:
                found = self._case(s, who, args, lang)
                if isinstance(found, str):
                    return FileReply(view=View(found))
                cases = [found]
                name = found.number
            else:
                cases = self._all_cases(s, who.user_id)
                if not cases:
                    return FileReply(view=View(t("doc.err.no_cases", lang)))
                name = cases[0].number if len(cases) == 1 else f"cases-{self.settings.today().isoformat()}"
            items = [(c, clock_events(s, c), self.policies[c.policy_key]) for c in cases
                     if c.policy_key in self.policies]
            entries = ics_entries(items, self.calendar, self.settings.today(), lang)
            if not entries:
                return FileReply(view=View(t("doc.ics.none", lang)))
            content = entries_to_ics(entries, lang, dt.datetime.now(dt.UTC))
            caption = t("doc.ics.caption", lang, n=len(entries))
            return FileReply(files=[OutFile("document", f"{name}-deadlines.ics", content, ICS_MIME, caption)])

    def _all_cases(self, s: Session, user_id: int) -> list[Case]:
        own = list(s.exec(select(Case).where(Case.applicant_id == user_id).order_by(col(Case.id))))
        memberships = caserepo.memberships_of(s, user_id)
        if not memberships:
            return own
        keys = {m.policy_key for m in memberships}
        seen = {c.id for c in own}
        reached = [c for key in sorted(keys) for c in caserepo.cases_of_policy(s, key)
                   if c.id not in seen and any(caserepo.covers(m, c) for m in memberships)]
        return own + reached
