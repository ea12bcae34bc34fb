"""The application document (容错免责认定申请书) as a .docx, built from a draft's or a case's answers.

The researcher needs a paper they can print, sign and have their unit seal: the wizard collects the
content, this module lays it out. The sections are the wizard's own (ScreenBuilder.summary_lines), so
the document can never say something the summary screen did not. East Asian fonts are set explicitly
(w:eastAsia) on every style used, because python-docx's template leaves them to the theme, and a viewer
without a matching theme font shows Chinese in a Latin face or as boxes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.styles.style import BaseStyle

from bot.documents.fonts import DOCX_BODY_FONT, DOCX_HEADING_FONT, DOCX_LATIN_FONT
from bot.i18n import render, t
from dialogs.policy import ItemList, Policy
from dialogs.screens import ScreenBuilder, status_text
from dialogs.text import Msg, Plain, Text, msg
from dialogs.wizard import DraftView

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Emoji and pictographs on screens (📅, ⚠) have no glyph in the CJK document fonts: printed, they are boxes.
_PICTOGRAPHS = re.compile("[\U00010000-\U0010FFFF\u26A0\uFE0F]")


def _clean(text: str) -> str:
    return _PICTOGRAPHS.sub("", text).strip()


def _set_fonts(style: BaseStyle, east_asia: str, size: float | None = None, bold: bool | None = None) -> None:
    """Latin and East Asian faces on a style; the theme attributes would otherwise win over both."""
    font = style.font  # type: ignore[attr-defined]
    font.name = DOCX_LATIN_FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:eastAsia"), east_asia)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _date_text(day: dt.date, lang: str) -> str:
    return t("doc.date", lang, y=f"{day.year:04d}", m=f"{day.month:02d}", d=f"{day.day:02d}")


class _Writer:
    """Numbered sections in the reader's language: 一、二、… in Chinese, 1. 2. … in English."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.doc = Document()
        self.numerals = t("doc.numerals", lang).split(",")
        self.count = 0
        styles = self.doc.styles
        _set_fonts(styles["Normal"], DOCX_BODY_FONT, size=12)
        _set_fonts(styles["Title"], DOCX_HEADING_FONT, size=20, bold=True)
        _set_fonts(styles["Heading 1"], DOCX_HEADING_FONT, size=14, bold=True)
        for section in self.doc.sections:
            section.left_margin = section.right_margin = Pt(72)

    def text(self, value: Text) -> str:
        return _clean(render(value, self.lang))

    def title(self, value: Text) -> None:
        p = self.doc.add_paragraph(self.text(value), style="Title")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def section(self, title: Text) -> None:
        numeral = self.numerals[self.count] if self.count < len(self.numerals) else str(self.count + 1)
        self.count += 1
        self.doc.add_heading(t("doc.section", self.lang, n=numeral, title=self.text(title)), level=1)

    def para(self, value: Text | str, *, bold: bool = False, indent: bool = False,
             align: WD_ALIGN_PARAGRAPH | None = None) -> None:
        content = value if isinstance(value, str) else self.text(value)
        if not content:
            return
        for line in content.split("\n"):
            p = self.doc.add_paragraph()
            run = p.add_run(line)
            run.bold = bold
            if indent:
                p.paragraph_format.left_indent = Pt(24)
            if align is not None:
                p.alignment = align

    def lines(self, values: Iterable[Text], indent: bool = False) -> None:
        for value in values:
            self.para(value, indent=indent)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _list_intro(w: _Writer, item_list: ItemList | None) -> None:
    if item_list is not None:
        w.para(item_list.intro)
        w.para(msg("wiz.clause", clause=item_list.clause))


def application_docx(policy: Policy, draft: DraftView, screens: ScreenBuilder, lang: str, *, today: dt.date,
                     case_number: str | None = None, submitted_on: dt.date | None = None) -> bytes:
    """The filled-in application as .docx bytes, in `lang` ("zh" or "en"). A draft not yet submitted
    says so at the top, so a printed draft cannot pass for a filed application."""
    w = _Writer(lang)
    w.title(msg("doc.title"))
    if case_number:
        w.para(msg("doc.case_line", number=case_number, date=_date_text(submitted_on or today, lang)),
               align=WD_ALIGN_PARAGRAPH.CENTER)
    else:
        w.para(msg("doc.draft_line", date=_date_text(today, lang)), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    w.para(msg("doc.to", decider=policy.decider))

    w.section(msg("doc.sec.policy"))
    w.para(msg("doc.policy.document", document=policy.document))
    if policy.doc_number:
        w.para(msg("doc.policy.number", number=policy.doc_number))
    w.para(msg("doc.policy.issuer", issuer=policy.issuer))
    w.para(msg("doc.policy.status", status=status_text(policy, today), clause=policy.status_clause))
    w.para(msg("doc.policy.scope", text=policy.scope.text, clause=policy.scope.clause))

    lists: dict[str, ItemList | None] = {"conditions": policy.conditions, "grounds": policy.grounds,
                                         "negative": policy.negative}
    for step, lines in screens.summary_lines(draft, policy):
        w.section(msg(f"step.{step}"))
        if step == "project":
            w.para(msg("wiz.clause", clause=policy.project_clause))
        elif step == "origin":
            w.para(msg("wiz.clause", clause=policy.origin_clause))
        elif step in lists:
            _list_intro(w, lists[step])
            if step == "negative":
                w.para(msg("doc.negative.declare"))
        elif step == "facts":
            w.para(msg("wiz.clause", clause=policy.facts_clause))
        elif step == "materials" and policy.materials_clause:
            w.para(msg("wiz.clause", clause=policy.materials_clause))
        if step == "materials":
            _materials(w, policy, draft, lines)
        else:
            w.lines(lines, indent=step != "facts")

    w.section(msg("step.declaration"))
    w.para(policy.declaration.text)
    w.para(msg("wiz.clause", clause=policy.declaration.clause))
    w.para(msg("doc.declared" if draft.answers.get("declared") or case_number else "doc.not_declared"))

    w.doc.add_paragraph()
    w.para(msg("doc.sign.applicant"))
    w.para(msg("doc.sign.date"))
    w.doc.add_paragraph()
    w.para(msg("doc.sign.unit"))
    w.para(msg("doc.sign.date"))
    w.doc.add_paragraph()
    w.para(msg("doc.generated", document=policy.document))
    return w.to_bytes()


def _materials(w: _Writer, policy: Policy, draft: DraftView, lines: list[Text]) -> None:
    """Each checklist line, then the names of the files uploaded for it (the bytes stay with Telegram)."""
    for material, line in zip(policy.materials, lines, strict=True):
        w.para(line, indent=True)
        for upload in draft.uploads:
            if upload.material_id == material.id:
                w.para(Msg("doc.materials.file", {"name": Plain(upload.file_name or "—")}), indent=True)
