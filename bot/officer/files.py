"""A case's files, independent of the transport: the application .docx (on submission and on demand),
/timeline and /ics, for the applicant and for the staff the case reaches. Every entry point takes the `Act`
of bot/actions.py (the update claimed in the same transaction), checks with storage/access.py that the user
may see what they ask for, and answers bad input in their language. The documents themselves are built by
bot/documents/.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions import Act
from bot.callbacks import Files, Press
from bot.config import Settings
from bot.documents.application import DOCX_MIME, application_docx
from bot.documents.calendar_file import ICS_MIME, entries_to_ics, ics_entries
from bot.documents.timeline import timeline_png
from bot.i18n import t
from bot.ids import parse_case_ref
from bot.limits import CAPTION_LIMIT, clip
from bot.reply import OutFile, Reply, View, Who
from dialogs.policy import Policy
from dialogs.screens import ScreenBuilder
from dialogs.wizard import DraftView, UploadInfo
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events as clock_events
from scheduler.clockevents import local_date
from storage import access, caserepo, repo
from storage.models import Case, Draft

log = logging.getLogger(__name__)


class DocumentFlow:
    def __init__(self, engine: Engine, policies: dict[str, Policy], calendar: WorkCalendar, settings: Settings,
                 screens: ScreenBuilder) -> None:
        self.engine = engine
        self.policies = policies
        self.calendar = calendar
        self.settings = settings
        self.screens = screens

    # -- the application document -------------------------------------------------------------------
    def application_file(self, s: Session, draft: Draft, lang: str) -> OutFile:
        """The .docx of a draft or of the case it became (then with the case number and filing day)."""
        policy = self.policies[draft.policy_key or ""]
        uploads = [UploadInfo(u.material_id, u.file_name, u.size, u.file_id, u.file_unique_id, u.mime_type)
                   for u in repo.uploads_for(s, draft.id or 0)]
        case = s.get(Case, draft.case_id) if draft.case_id else None
        number = case.number if case else None
        # built after the transaction commits (OutFile): only what was read here goes into it
        content = functools.partial(application_docx, policy,
                                    DraftView(draft.state, copy.deepcopy(draft.answers), uploads), self.screens,
                                    lang, today=self.settings.today(), case_number=number,
                                    submitted_on=local_date(case.submitted_at) if case else None)
        ref = number or f"draft-{draft.id}"
        return OutFile("document", f"{ref}-application.docx", content, DOCX_MIME,
                       clip(t("doc.caption.application", lang, ref=ref), CAPTION_LIMIT))

    def with_application(self, s: Session, draft: Draft, lang: str, reply: Reply) -> Reply:
        """The submission's reply, carrying the document the researcher now has to sign."""
        reply.files.append(self.application_file(s, draft, lang))
        return reply

    def docx(self, act: Act, draft_id: int) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        draft = s.get(Draft, draft_id)
        if draft is None or draft.status == "deleted" or draft.user_id != who.user_id \
                or draft.policy_key not in self.policies:
            return Reply(toast=t("doc.err.no_draft", lang), alert=True)
        return Reply(files=[self.application_file(s, draft, lang)])

    def press(self, act: Act, press: Press) -> Reply:
        """The case's timeline picture or calendar file from its buttons; access as for /timeline N, /ics N."""
        make = self.timeline if press.action is Files.TIMELINE else self.ics
        return make(act, [str(press.id())])

    # -- cases: /timeline and /ics ------------------------------------------------------------------------
    def _may_see(self, s: Session, user_id: int, case: Case) -> bool:
        return access.may_see(s, user_id, case, self.settings.admin_ids)

    def _case(self, s: Session, who: Who, args: list[str], lang: str) -> Case | str:
        """The case named in `args` (number or id), else the user's latest; or the message saying why not."""
        if args:
            ref = " ".join(args).strip()
            parsed = parse_case_ref(ref)
            case = (s.get(Case, parsed) if isinstance(parsed, int)
                    else caserepo.find_case(s, parsed) if isinstance(parsed, str) else None)
            if case is None or not self._may_see(s, who.user_id, case):
                return t("doc.err.no_case", lang, ref=ref[:40])
            return case
        latest = s.exec(select(Case).where(Case.applicant_id == who.user_id)
                        .order_by(col(Case.submitted_at).desc(), col(Case.id).desc())).first()
        return latest if latest is not None else t("doc.err.no_cases", lang)

    def timeline(self, act: Act, args: list[str]) -> Reply:
        s, who, lang = act.session, act.who, act.lang
        case = self._case(s, who, args, lang)
        if isinstance(case, str):
            return Reply(view=View(case))
        today = self.settings.today()
        png = timeline_png(case, clock_events(s, case), self.policies[case.policy_key], self.calendar,
                           today, lang)
        caption = clip(t("doc.tl.caption", lang, number=case.number, date=today.isoformat()), CAPTION_LIMIT)
        return Reply(files=[OutFile("photo", f"{case.number}-timeline.png", png, "image/png", caption)])

    def ics(self, act: Act, args: list[str]) -> Reply:
        """One case; with no argument, an officer gets every case their roles reach, a researcher their own."""
        s, who, lang = act.session, act.who, act.lang
        if args:
            found = self._case(s, who, args, lang)
            if isinstance(found, str):
                return Reply(view=View(found))
            cases = [found]
            name = found.number
        else:
            cases = self._all_cases(s, who.user_id)
            if not cases:
                return Reply(view=View(t("doc.err.no_cases", lang)))
            name = cases[0].number if len(cases) == 1 else f"cases-{self.settings.today().isoformat()}"
        items = [(c, clock_events(s, c), self.policies[c.policy_key]) for c in cases
                 if c.policy_key in self.policies]
        entries = ics_entries(items, self.calendar, self.settings.today(), lang)
        if not entries:
            return Reply(view=View(t("doc.ics.none", lang)))
        content = entries_to_ics(entries, lang, dt.datetime.now(dt.UTC))
        caption = clip(t("doc.ics.caption", lang, n=len(entries)), CAPTION_LIMIT)
        return Reply(files=[OutFile("document", f"{name}-deadlines.ics", content, ICS_MIME, caption)])

    @staticmethod
    def _all_cases(s: Session, user_id: int) -> list[Case]:
        """The applicant's own cases first, then every case their roles reach."""
        visible = access.visible_cases(s, user_id)
        return [c for c in visible if c.applicant_id == user_id] + [c for c in visible if c.applicant_id != user_id]
