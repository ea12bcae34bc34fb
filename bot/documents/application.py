"""The application (容错免责认定申请书) as a .docx, written from a draft's or a case's answers.

It is the paper the applicant signs and their unit seals, so it reads as a filed document and not as
the wizard: it is addressed to one body by name; it states who applies and what they declare
("本人确认……", "不存在……的情形。") instead of repeating the questions they were asked; it lists each
material as provided (with its files) or not; it carries the policy's status in words; and it has no
countdown, no prompt, no internal id and nothing about the assistant that wrote it. A draft exported
before submission says so at the top and in every page's header, so it cannot pass for a filed one.

The page itself (A4, GB/T 9704 margins, fonts, keeping headings with their text) is docx_layout's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.documents.docx_layout import FormWriter
from bot.documents.statements import declare
from bot.i18n import render, t
from dialogs.answers import items_for, role_of
from dialogs.policy import Item, ItemGroup, ItemList, Material, Policy
from dialogs.screens import ScreenBuilder
from dialogs.status import status_lines
from dialogs.text import Msg, Text
from dialogs.wizard import DraftView, UploadInfo

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Emoji and pictographs have no glyph in the CJK document fonts: printed, they would be boxes.
_PICTOGRAPHS = re.compile("[\U00010000-\U0010FFFF\u2600-\u27BF\uFE0F\u200D]")
# Materials the applicant does not upload: this document itself, and the statement typed into it.
THIS_DOCUMENT, TYPED_STATEMENT = "application", "statement"
IDENTITY_FIELDS = {"person": ("name", "title", "phone"), "unit": ("name", "responsible", "title", "phone")}


def _clean(text: str) -> str:
    return _PICTOGRAPHS.sub("", text).strip()


def date_text(day: dt.date, lang: str) -> str:
    """A written date (2026年12月2日, 2 December 2026): the form a signed paper carries."""
    month = t("app.months", lang).split(",")[day.month - 1]
    return t("app.date", lang, y=day.year, d=day.day, month=month)


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class _Application:
    """One document being written: the policy, the answers and the running section number."""

    def __init__(self, policy: Policy, draft: DraftView, lang: str, filed: bool) -> None:
        self.policy, self.draft, self.lang, self.filed = policy, draft, lang, filed
        self.answers: dict[str, Any] = draft.answers
        self.numerals = t("app.numerals", lang).split(",")
        self.count = 0
        self.w = FormWriter(lang, draft_mark=None if filed else t("app.draft_header", lang))
        kind = self.answers.get("applicant_kind")
        self.kind = kind if kind in IDENTITY_FIELDS else "person"
        self.subject = t(f"app.subject.{self.kind}", lang)
        # The texts name what is asked for: 尽职免责 (Liaoning's Guidelines) or 容错免责 (the others).
        self.term = "due_diligence" if "尽职免责" in policy.document.zh and "容错" not in policy.document.zh \
            else "tolerance"

    # -- helpers -------------------------------------------------------------------------------------
    def s(self, message_key: str, /, **params: object) -> str:
        return _clean(render(Msg(message_key, dict(params)), self.lang))

    def r(self, text: Text) -> str:
        return _clean(render(text, self.lang))

    def numeral(self, n: int) -> str:
        return self.numerals[n - 1] if n <= len(self.numerals) else str(n)

    def section(self, title_key: str) -> int:
        self.count += 1
        self.w.heading(self.s("app.section", n=self.numeral(self.count), title=self.s(title_key)))
        return self.count

    def kv(self, key: str, value: str) -> None:
        self.w.para(self.s("app.kv", key=key, value=value or self.s("app.fill")))

    def items(self, lines: list[str]) -> None:
        for n, line in enumerate(lines, 1):
            self.w.para(self.s("app.item", n=n, text=line), hanging=True)

    def claused(self, text: str, clause: str) -> str:
        """"text（clause）。": a sentence ending with the clause it rests on."""
        return self.s("app.sentence", text=self.s("app.with_clause", text=text.rstrip("。.；;"), clause=clause))

    def item_text(self, item: Item) -> str:
        return self.claused(self.r(item.text), item.clause)

    # -- the parts, in order -------------------------------------------------------------------------
    def head(self, case_number: str | None, filed_on: dt.date, today: dt.date) -> None:
        self.w.title(self.s(f"app.title.{self.term}"))
        if case_number:
            self.w.centred(self.s("app.case_line", number=case_number, date=date_text(filed_on, self.lang)))
        else:
            self.w.centred(self.s("app.draft_line", date=date_text(today, self.lang)), bold=True)
        body = self.policy.decider_short.name_for(self.answers.get("project", {}), self.lang)
        self.w.para(self.s("app.to", body=_clean(body)), space_before=10)
        self.w.para(self.s("app.lead", subject=self.subject, document=self.r(self.policy.document),
                           request=self.s(f"app.request.{self.term}")), indent_first=True)

    def basis(self, on: dt.date) -> None:
        """The policy and its status on `on`: the filing day for a filed application (a document that
        lapses later did not lapse for it), today for a draft."""
        p = self.policy
        self.section("app.sec.basis")
        self.kv(self.s("app.key.document"), self.s("app.quoted", text=self.r(p.document)))
        self.kv(self.s("app.key.issuer"), self.r(p.issuer))
        # The status in full, as the policy choice and the case file show it (one source: dialogs.status):
        # stage, document number, dates of effect and validity, and the policy file's own status note.
        for line in status_lines(p, on):
            self.w.para(self.r(line))
        self.kv(self.s("app.key.scope", clause=p.scope.clause), self.r(p.scope.text))

    def applicant(self) -> None:
        p, a = self.policy, self.answers
        self.section("app.sec.applicant")
        kind = next((o.label for o in p.applicant_kinds if o.id == a.get("applicant_kind")), None)
        self.kv(self.s("app.key.kind"), self.r(kind) if kind else "")
        if p.roles:
            role = next((o.label for o in p.roles if o.id == role_of(a)), None)
            self.kv(self.s("app.key.role"), self.r(role) if role else "")
        identity = a.get("identity") if isinstance(a.get("identity"), dict) else {}
        for key in IDENTITY_FIELDS[self.kind]:
            value = identity.get(key)
            self.kv(self.s(f"app.id.{self.kind}.{key}"), _clean(str(value)) if value else "")

    def project(self) -> None:
        self.section("app.sec.project")
        given = self.answers.get("project", {})
        for f in self.policy.project_fields:
            value = given.get(f.id)
            if value is None or value == "":
                shown = "" if f.required else self.s("app.not_given")
            elif f.kind == "choice":
                shown = next((self.r(o.label) for o in f.options if o.id == value), _fmt_value(value))
            else:
                shown = _clean(_fmt_value(value))
            self.kv(self.r(f.label), shown)

    def origin(self) -> None:
        p, a = self.policy, self.answers
        self.section("app.sec.origin")
        origin = p.origin(a.get("origin", ""))
        if origin is None:
            self.kv(self.s("app.key.origin"), "")
        else:
            self.kv(self.s("app.key.origin"), self.claused(self.r(origin.label), origin.clause))
            if origin.asks_start_date:
                self.kv(self.s("app.key.start_date"), self._date_answer(a.get("start_date")))
        for gate in p.gates:
            answer = a.get("gates", {}).get(gate.id)
            self.w.para(self.declaration_line(gate.question.get(self.lang), answer, gate.clause, confirm=True))

    def _date_answer(self, value: object) -> str:
        """A stored ISO date written out; anything else (an old draft's stray value) as it was typed."""
        if not value:
            return ""
        try:
            return date_text(dt.date.fromisoformat(str(value)), self.lang)
        except ValueError:
            return _clean(str(value))

    def declaration_line(self, question: str, answer: bool | None, clause: str, *, confirm: bool) -> str:
        """A yes/no answer as the sentence the applicant signs; unanswered (a draft) it stays a
        question marked as not yet declared."""
        if answer is None:
            return self.s("app.pending_question", question=_clean(question), clause=clause)
        stated = declare(question, answer, self.lang)
        if stated is None:  # a question form statements.py does not know: print it with its answer
            stated = self.s("app.answered", question=_clean(question),
                            answer=self.s("app.yes" if answer else "app.no"))
        stated = self.claused(_clean(stated), clause)
        return self.s("app.confirm", subject=self.subject, text=stated) if confirm else stated

    def chosen_list(self, name: str, item_list: ItemList, intro_key: str) -> None:
        chosen = set(self.answers.get(name, []))
        offered = items_for(item_list, self.answers)
        self.w.para(self.s(intro_key, subject=self.subject, clause=item_list.clause), keep_next=True)
        picked = [self.item_text(i) for i in offered if i.id in chosen]
        self.items(picked or [self.s("app.none_chosen")])
        rest = [self.item_text(i) for i in offered if i.id not in chosen]
        if rest and not self.filed and (name == "conditions" and item_list.mode == "all"):
            self.w.para(self.s("app.pending"), keep_next=True)
            self.items(rest)

    def conditions(self) -> None:
        item_list = self.policy.conditions
        if item_list is None:
            return
        self.section("app.sec.conditions")
        if item_list.mode == "grouped":
            for n, group in enumerate(item_list.groups):
                self.condition_group(item_list, group, space_before=6 if n else 0)
            return
        key = "app.conditions.all" if item_list.mode == "all" else "app.conditions.some"
        self.chosen_list("conditions", item_list, key)

    def condition_group(self, item_list: ItemList, group: ItemGroup, space_before: float = 0) -> None:
        """One group of a grouped list under its own rule and clause (Yunnan 第四条: (一)–(四) all met,
        of (五)/(六) at least one): an all-group is confirmed as a whole, an at-least-one group names the
        items that apply. A draft shows what is still open, as for an all-list."""
        offered = [i for i in items_for(item_list, self.answers) if i.id in group.items]
        if not offered:
            return
        chosen = set(self.answers.get("conditions", []))
        key = "app.conditions.all" if group.mode == "all" else "app.conditions.one_of"
        self.w.para(self.s(key, subject=self.subject, clause=group.clause), keep_next=True, space_before=space_before)
        picked = [self.item_text(i) for i in offered if i.id in chosen]
        self.items(picked or [self.s("app.none_chosen")])
        rest = [self.item_text(i) for i in offered if i.id not in chosen]
        if rest and not self.filed and group.mode == "all":
            self.w.para(self.s("app.pending"), keep_next=True)
            self.items(rest)

    def grounds(self) -> None:
        self.section("app.sec.grounds")
        self.chosen_list("grounds", self.policy.grounds, "app.grounds")

    def negative(self) -> None:
        item_list = self.policy.negative
        if item_list is None:
            return
        self.section("app.sec.negative")
        given = self.answers.get("negative", {})
        self.w.para(self.s("app.negative", subject=self.subject, clause=item_list.clause), keep_next=True)
        self.items([self.declaration_line(i.text.get(self.lang), given.get(i.id), i.clause, confirm=False)
                    for i in items_for(item_list, self.answers)])

    def facts(self) -> tuple[int, str]:
        number = self.section("app.sec.facts")
        text = self.answers.get("facts")
        if text:
            for line in str(text).splitlines():
                if line.strip():
                    self.w.para(_clean(line), indent_first=True)
        else:
            self.w.para(self.s("app.fill"))
        return number, self.s("app.sec.facts")

    def materials(self, facts_section: tuple[int, str]) -> None:
        self.section("app.sec.materials")
        files = self._files()
        sep = t("app.list_sep", self.lang)
        for n, mat in enumerate(self.policy.materials, 1):
            names = sep.join(files.get(mat.id, []))
            self.w.para(self.s("app.material", n=n, label=self.r(mat.label), state=self._state(mat, names,
                                                                                            facts_section)),
                        hanging=True)

    def _state(self, mat: Material, names: str, facts_section: tuple[int, str]) -> str:
        if mat.id == THIS_DOCUMENT:
            return self.s("app.mat.this")
        if mat.id == TYPED_STATEMENT:
            number, title = facts_section
            seen = self.s("app.mat.statement", section=self.numeral(number), title=title)
            return self.s("app.mat.also", text=seen, files=names) if names else seen
        if names:
            return self.s("app.mat.given", files=names)
        later = mat.id in self.answers.get("materials_later", [])
        return self.s("app.mat.later") if later else self.s("app.mat.missing")

    def _files(self) -> dict[str, list[str]]:
        """File names per material, each file once (the same file sent twice is one file)."""
        out: dict[str, list[str]] = {}
        seen: set[tuple[str, str]] = set()
        for u in self.draft.uploads:
            key = (u.material_id, u.file_unique_id or u.file_name)
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(u.material_id, []).append(_clean(_upload_name(u)))
        return out

    def review_action(self) -> tuple[str, str] | None:
        """(clause, unit) when the procedure has the undertaking unit review the application first."""
        proc = self.policy.procedure
        review = next((a for a in proc.actions if a.role == "unit_reviewer"), None) if proc else None
        if proc is None or review is None:
            return None
        unit = self.answers.get("project", {}).get("unit")
        return review.clause or proc.clause, _clean(str(unit)) if unit else ""

    def declaration_and_signatures(self) -> None:
        p = self.policy
        self.section("app.sec.declaration")
        text = self.r(p.declaration.text)
        if p.declaration.clause not in text:
            text = self.claused(text, p.declaration.clause)
        self.w.para(text, indent_first=True, keep_next=True)
        if self.filed:
            said = "app.declared"
        else:
            said = "app.declared_draft" if self.answers.get("declared") else "app.not_declared"
        self.w.para(self.s(said), keep_next=True)
        if self.kind == "unit":
            lines = [self.s("app.sign.unit_seal"), self.s("app.sign.responsible"), self.s("app.sign.date")]
        elif self.review_action() is not None:  # the unit signs and seals its review opinion below
            lines = [self.s("app.sign.person"), self.s("app.sign.date")]
        else:
            lines = [self.s("app.sign.person"), self.s("app.sign.date"), "", self.s("app.sign.own_unit"),
                     self.s("app.sign.date")]
        self.w.block(["", *lines])

    def unit_review_box(self) -> None:
        """Where the undertaking unit reviews the application before it is filed (Zhejiang 三(一)):
        the procedure gives that step to a unit reviewer, so the paper has room for its opinion."""
        found = self.review_action()
        if found is None:
            return
        clause, unit = found
        self.w.spacer()
        self.w.opinion_box(self.s("app.review.title", clause=clause),
                           [self.s("app.kv", key=self.s("app.review.unit"), value=unit or self.s("app.fill"))],
                           [self.s("app.review.sign"), self.s("app.sign.date")])


def _upload_name(u: UploadInfo) -> str:
    return u.file_name or u.file_unique_id or "—"


def application_docx(policy: Policy, draft: DraftView, screens: ScreenBuilder | None, lang: str, *,
                     today: dt.date, case_number: str | None = None, submitted_on: dt.date | None = None) -> bytes:
    """The application as .docx bytes, in `lang` ("zh" or "en"): filed when `case_number` is given
    (then dated `submitted_on`), else a draft marked as such. `screens` is no longer read (the
    document states its own sections); it stays in the signature for the callers."""
    del screens
    doc = _Application(policy, draft, lang, filed=case_number is not None)
    doc.head(case_number, submitted_on or today, today)
    doc.basis(submitted_on or today if case_number else today)
    doc.applicant()
    doc.project()
    doc.origin()
    doc.conditions()
    doc.grounds()
    doc.negative()
    facts = doc.facts()
    doc.materials(facts)
    doc.declaration_and_signatures()
    doc.unit_review_box()
    return doc.w.to_bytes()
