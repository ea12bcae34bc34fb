"""The objection dialog a stranger opens from a publicity's deep link (Zhejiang 三(五) "对公示有异议的"), and
the commands and buttons around the publicity: /follow, /unfollow, the notice's .docx, an objection's
evidence for the officers.

The dialog asks one thing at a time — the objector's name and contact (a notice takes objections under a
real name), the grounds, evidence files — then shows a summary to confirm; the answers wait in
`ObjectionDraft`, so a restart loses nothing. The deep link is checked before anything is asked and again
when the objection is sent (`PublicityService.submit`, with the case row locked): a forged link, a case of a
policy without public publicity, a publicity not yet recorded, ended or past its last day is refused with
the dates. Who objected is shown to the case's officers only.
"""

from __future__ import annotations

from typing import Any

from bot.actions import Act
from bot.callbacks import Publicity as P_
from bot.callbacks import encode
from bot.documents.notice import DOCX_MIME, notice_docx, notice_file_name
from bot.i18n import render, t
from bot.publicity import notices as nt
from bot.publicity.service import (
    CONTACT_LIMIT,
    EVIDENCE_LIMIT,
    GROUNDS_LIMIT,
    NAME_LIMIT,
    PublicityService,
    Refusal,
    files_text,
)
from bot.reply import OutFile, Reply, View
from dialogs.model import UploadInfo
from dialogs.publicity import written_date
from dialogs.text import N_
from storage import caserepo as cr
from storage import publicity as pub
from storage.models import Case, utcnow

STEPS = ("name", "contact", "grounds", "files", "confirm")
# keys built from the step or chosen by a variable, declared for Babel's extractor (bot/message_keys.py)
KEYS = (N_("publicity.obj.ask.name"), N_("publicity.obj.ask.contact"), N_("publicity.obj.ask.grounds"),
        N_("publicity.obj.receipt"), N_("publicity.obj.merged"))
LIMITS = {"name": NAME_LIMIT, "contact": CONTACT_LIMIT, "grounds": GROUNDS_LIMIT}
FILE_LIMIT = 20 * 1024 * 1024  # what a bot can fetch back from Telegram


class PublicityDialog:
    def __init__(self, service: PublicityService, now: Any) -> None:
        self.service = service
        self.now = now  # Settings.now: the bot's clock (a time-machine test moves it)

    # -- the deep link ---------------------------------------------------------------------------------------
    def start(self, act: Act, payload: str) -> Reply:
        s = act.session
        opened = self.service.open_publicity(s, payload, act.who.user_id, cr.shanghai_date(self.now()))
        if isinstance(opened, Refusal):
            text = render(opened.message, act.lang)
            return Reply(view=View(text))
        publicity, case, _steps, period = opened
        pub.start_draft(s, act.who.user_id, publicity.id or 0)
        head = t("publicity.obj.intro", act.lang, project=nt.project_name(case),
                 first=render(written_date(period.first_day), act.lang),
                 last=render(written_date(period.last_day), act.lang))
        return Reply(view=View(f"{head}\n\n{t('publicity.obj.ask.name', act.lang)}", self._cancel_row(act)))

    def has_draft(self, act: Act) -> bool:
        return pub.draft_of(act.session, act.who.user_id) is not None

    # -- typed answers and files ------------------------------------------------------------------------------
    def text(self, act: Act, text: str) -> Reply:
        s, lang = act.session, act.lang
        draft = pub.draft_of(s, act.who.user_id)
        assert draft is not None
        if draft.step not in LIMITS:
            return self.screen(act, notice=t("publicity.obj.err.not_text", lang))
        value = " ".join(text.split()) if draft.step != "grounds" else text.strip()
        if not value:
            return self.screen(act, notice=t("publicity.obj.err.empty", lang))
        if len(value) > LIMITS[draft.step]:
            return self.screen(act, notice=t("publicity.obj.err.too_long", lang, limit=LIMITS[draft.step]))
        draft.values = {**draft.values, draft.step: value}
        draft.step = STEPS[STEPS.index(draft.step) + 1]
        draft.updated_at = utcnow()
        s.add(draft)
        s.flush()
        return self.screen(act)

    def document(self, act: Act, upload: UploadInfo) -> Reply:
        s, lang = act.session, act.lang
        draft = pub.draft_of(s, act.who.user_id)
        assert draft is not None
        if draft.step != "files":
            return self.screen(act, notice=t("publicity.obj.err.not_file", lang))
        if len(draft.evidence) >= EVIDENCE_LIMIT:
            return self.screen(act, notice=t("publicity.obj.err.files_full", lang, limit=EVIDENCE_LIMIT))
        if upload.size > FILE_LIMIT:
            return self.screen(act, notice=t("publicity.obj.err.file_big", lang))
        entry = {"file_id": upload.file_id, "file_unique_id": upload.file_unique_id,
                 "file_name": upload.file_name, "size": upload.size, "mime_type": upload.mime_type}
        draft.evidence = [*draft.evidence, entry]
        draft.updated_at = utcnow()
        s.add(draft)
        s.flush()
        return self.screen(act)

    # -- the screens -----------------------------------------------------------------------------------------
    def screen(self, act: Act, notice: str | None = None) -> Reply:
        """The question the draft is at (or the summary), with what went wrong above it."""
        s, lang = act.session, act.lang
        draft = pub.draft_of(s, act.who.user_id)
        if draft is None:
            return Reply(view=View(t("publicity.obj.none", lang)))
        lead = f"⚠ {notice}\n\n" if notice else ""
        if draft.step == "files":
            text = t("publicity.obj.ask.files", lang, files=files_text(draft.evidence, lang), limit=EVIDENCE_LIMIT)
            rows = [[(t("publicity.btn.files_done", lang), encode(P_.FILES_DONE))], *self._cancel_row(act)]
            return Reply(view=View(lead + text, rows))
        if draft.step == "confirm":
            v = draft.values
            text = t("publicity.obj.summary", lang, name=v.get("name", ""), contact=v.get("contact", ""),
                     grounds=v.get("grounds", ""), files=files_text(draft.evidence, lang))
            rows = [[(t("publicity.btn.send", lang), encode(P_.CONFIRM))], *self._cancel_row(act)]
            return Reply(view=View(lead + text, rows))
        return Reply(view=View(lead + t(f"publicity.obj.ask.{draft.step}", lang), self._cancel_row(act)))

    def _cancel_row(self, act: Act) -> list[list[tuple[str, str]]]:
        return [[(t("publicity.btn.cancel", act.lang), encode(P_.CANCEL))]]

    # -- the buttons -----------------------------------------------------------------------------------------
    def press(self, act: Act, action: P_, args: tuple[int | str, ...]) -> Reply:
        if action is P_.NOTICE_DOCX:
            return self.docx(act, int(args[0]))
        if action is P_.EVIDENCE:
            return self.evidence(act, int(args[0]))
        s, lang = act.session, act.lang
        draft = pub.draft_of(s, act.who.user_id)
        if draft is None:
            return Reply(toast=t("publicity.obj.none", lang), alert=True)
        if action is P_.CANCEL:
            pub.drop_draft(s, act.who.user_id)
            return Reply(view=View(t("publicity.obj.cancelled", lang)), edit=True)
        if action is P_.FILES_DONE:
            if draft.step != "files":
                return self.screen(act)
            draft.step = "confirm"
            s.add(draft)
            s.flush()
            reply = self.screen(act)
            reply.edit = True
            return reply
        assert action is P_.CONFIRM
        if draft.step != "confirm":
            return self.screen(act)
        return self._submit(act, draft)

    def _submit(self, act: Act, draft: pub.ObjectionDraft) -> Reply:
        s, lang = act.session, act.lang
        publicity = s.get(pub.Publicity, draft.publicity_id)
        if publicity is None:
            pub.drop_draft(s, act.who.user_id)
            return Reply(view=View(t("publicity.obj.err.unknown", lang)), edit=True)
        v = draft.values
        result = self.service.submit(s, publicity.payload, act.who.user_id, str(v.get("name", "")),
                                     str(v.get("contact", "")), str(v.get("grounds", "")), list(draft.evidence),
                                     self.now())
        pub.drop_draft(s, act.who.user_id)  # refused or sent, the draft is done with (the refusal says why)
        if isinstance(result, Refusal):
            return Reply(view=View(render(result.message, lang)), edit=True)
        objection, merged = result
        case = s.get(Case, objection.case_id)
        project = nt.project_name(case) if case is not None else "—"
        key = "publicity.obj.merged" if merged else "publicity.obj.receipt"
        return Reply(view=View(t(key, lang, reference=objection.reference, project=project)), edit=True)

    # -- the officers' buttons -------------------------------------------------------------------------------
    def _officer_of(self, act: Act, case: Case) -> bool:
        return act.who.user_id in self.service.members(act.session, case, {"officer"})

    def docx(self, act: Act, case_id: int) -> Reply:
        """The notice as a .docx, for the officers who publish it; its dates are the clock's (or, before the
        publication is recorded, those of a publication today)."""
        s, lang = act.session, act.lang
        case = s.get(Case, case_id)
        if case is None or not self._officer_of(act, case) or not nt.has_publicity(self.service.policies.get(case.policy_key)):
            return Reply(toast=t("off.err.no_case", lang), alert=True)
        publicity = pub.ensure_publicity(s, case)
        notice = self.service.notice(s, case, publicity, cr.shanghai_date(self.now()))
        if notice is None:
            return Reply(toast=t("publicity.err.no_decision", lang), alert=True)
        out = OutFile("document", notice_file_name(notice, lang), notice_docx(notice, lang), DOCX_MIME)
        return Reply(toast=t("publicity.docx.sent", lang), files=[out])

    def evidence(self, act: Act, objection_id: int) -> Reply:
        """An objection's evidence, listed for an officer of the case with its first file sent back (only the
        case's officers see who objected and what they sent)."""
        s, lang = act.session, act.lang
        objection = s.get(pub.Objection, objection_id)
        case = s.get(Case, objection.case_id) if objection is not None else None
        if objection is None or case is None or not self._officer_of(act, case):
            return Reply(toast=t("off.err.no_case", lang), alert=True)
        files = [*objection.evidence, *(f for e in objection.supplements for f in e.get("evidence", []))]
        if not files:
            return Reply(toast=t("publicity.files.none", lang), alert=True)
        text = t("publicity.evidence.list", lang, reference=objection.reference, files=files_text(files, lang))
        return Reply(view=View(text), document=str(files[0].get("file_id") or ""))

    # -- following -------------------------------------------------------------------------------------------
    def follow(self, act: Act, args: list[str]) -> Reply:
        lang = act.lang
        keys = self._publicised_policies()
        if not args:
            return Reply(view=View(t("publicity.follow.usage", lang, keys=", ".join(keys))))
        key = args[0].strip().lower()
        if key not in keys:
            return Reply(view=View(t("publicity.follow.unknown", lang, name=key[:32], keys=", ".join(keys))))
        policy = self.service.policies[key]
        added = pub.follow(act.session, act.who.user_id, key)
        name = policy.short_name.get(lang)
        text = (t("publicity.follow.done", lang, policy=name, name=key) if added
                else t("publicity.follow.already", lang, policy=name, name=key))
        return Reply(view=View(text))

    def unfollow(self, act: Act, args: list[str]) -> Reply:
        lang = act.lang
        key = args[0].strip().lower() if args else None
        stopped = pub.unfollow(act.session, act.who.user_id, key)
        if not stopped:
            return Reply(view=View(t("publicity.unfollow.none", lang)))
        names = t("publicity.files.sep", lang).join(self.service.policies[k].short_name.get(lang) for k in stopped
                         if k in self.service.policies) or ", ".join(stopped)
        return Reply(view=View(t("publicity.unfollow.done", lang, policies=names)))

    def _publicised_policies(self) -> list[str]:
        return sorted(k for k, p in self.service.policies.items() if nt.has_publicity(p))
