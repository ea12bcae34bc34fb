"""The page of a Chinese application form, for python-docx: A4 with the margins of GB/T 9704, CJK
fonts named on every style and run, numbered headings kept with their text, a boxed opinion table
that does not split, page numbers, and a "draft" mark on every page of an unsubmitted export.

application.py says what the application says; this module only says how a page holding it looks,
so the content can be read (and tested) without any layout detail in the way.

Why these choices:
- GB/T 9704-2012 (党政机关公文格式) is what a Chinese unit's office prints on: A4, 天头 37 mm, 订口
  28 mm, 版心 156 × 225 mm; hence top 37, bottom 297 − 37 − 225 = 35, left 28, right 210 − 28 − 156 = 26.
- python-docx's template leaves East Asian faces to the theme, and a viewer without the theme font
  shows Chinese in a Latin face or as boxes, so w:eastAsia is set explicitly (and theme attributes
  removed) on the styles and on every run that sets its own size.
- Headings and the lines that must not be orphaned (the declaration and the signature block) carry
  keep-with-next, so a heading never ends a page and a seal line never stands alone on one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.enum.table import WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from bot.documents.fonts import DOCX_BODY_FONT, DOCX_HEADING_FONT, DOCX_LATIN_FONT

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
# Body text: 四号 (14 pt) for Chinese, 12 pt for English, whose words run wider; the title 二号 (22 pt),
# or 18 pt for the longer English title.
BODY_PT = {"zh": 14.0, "en": 12.0}
TITLE_PT = {"zh": 22.0, "en": 18.0}
LINE_RATIO = 1.85  # exact line pitch over the font size: room for CJK ascenders, no uneven lines


def _east_asian(rpr: OxmlElement, face: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), DOCX_LATIN_FONT)
    fonts.set(qn("w:hAnsi"), DOCX_LATIN_FONT)
    fonts.set(qn("w:eastAsia"), face)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


class FormWriter:
    """Appends paragraphs to one A4 document; every method returns nothing the caller must keep."""

    def __init__(self, lang: str, *, draft_mark: str | None = None) -> None:
        self.doc = Document()
        self.body_pt = BODY_PT.get(lang, BODY_PT["zh"])
        self.title_pt = TITLE_PT.get(lang, TITLE_PT["zh"])
        self._styles()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
        section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        section.header_distance, section.footer_distance = Mm(20), Mm(21)
        self._page_numbers(section.footer.paragraphs[0])
        if draft_mark:
            head = section.header.paragraphs[0]
            head.alignment = WD_ALIGN_PARAGRAPH.CENTER
            self._run(head, draft_mark, size=10.5, bold=True, face=DOCX_HEADING_FONT)

    def _styles(self) -> None:
        for name, face, bold in (("Normal", DOCX_BODY_FONT, False), ("Heading 1", DOCX_HEADING_FONT, True)):
            size = self.body_pt
            style = self.doc.styles[name]
            font = style.font  # type: ignore[attr-defined]
            font.name, font.size, font.bold, font.italic = DOCX_LATIN_FONT, Pt(size), bold, False
            font.color.rgb = RGBColor(0, 0, 0)
            _east_asian(style.element.get_or_add_rPr(), face)
            fmt = style.paragraph_format  # type: ignore[attr-defined]
            fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(round(size * LINE_RATIO))
            fmt.space_before, fmt.space_after = Pt(8 if bold else 0), Pt(4 if bold else 0)
            fmt.widow_control = True
            # no punctuation hanging into the margin (Word's w:overflowPunct, on by default for Chinese):
            # the text block stays 156 mm wide
            ppr = style.element.get_or_add_pPr()
            hang = OxmlElement("w:overflowPunct")
            hang.set(qn("w:val"), "0")
            ppr.insert_element_before(hang, "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                                      "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:jc",
                                      "w:outlineLvl", "w:rPr")
            if bold:
                fmt.keep_with_next = True

    @staticmethod
    def _run(p: Paragraph, text: str, *, size: float | None = None, bold: bool = False,
             face: str | None = None) -> None:
        run = p.add_run(text)
        run.bold = bold or None
        if size is not None:
            run.font.size = Pt(size)
        if face is not None:
            _east_asian(run._r.get_or_add_rPr(), face)

    @staticmethod
    def _page_numbers(p: Paragraph) -> None:
        """"— 3 —" centred under the text block, as GB/T 9704 places page numbers."""
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run("— ")
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        field.append(run)
        p._p.append(field)
        p.add_run(" —")

    # -- content -------------------------------------------------------------------------------------
    def title(self, text: str) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fmt = p.paragraph_format
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(round(self.title_pt * 1.6))
        fmt.space_after, fmt.keep_with_next = Pt(6), True
        self._run(p, text, size=self.title_pt, bold=True, face=DOCX_HEADING_FONT)

    def centred(self, text: str, *, bold: bool = False) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True
        self._run(p, text, bold=bold, size=self.body_pt - 2)

    def heading(self, text: str) -> None:
        self.doc.add_paragraph(text, style="Heading 1")

    def para(self, text: str, *, indent_first: bool = False, hanging: bool = False, bold: bool = False,
             keep_next: bool = False, space_before: float = 0) -> None:
        """One paragraph per line of `text`. `indent_first`: the two-character indent of Chinese prose;
        `hanging`: a numbered item whose wrapped lines align after its number."""
        for line in text.split("\n"):
            p = self.doc.add_paragraph()
            fmt = p.paragraph_format
            if indent_first:
                fmt.first_line_indent = Pt(2 * self.body_pt)
            if hanging:
                fmt.left_indent, fmt.first_line_indent = Pt(2 * self.body_pt), Pt(-1.5 * self.body_pt)
            if keep_next:
                fmt.keep_with_next = fmt.keep_together = True
            if space_before:
                fmt.space_before = Pt(space_before)
            self._run(p, line, bold=bold)

    def block(self, lines: Sequence[str], *, align_right: Sequence[int] = ()) -> None:
        """Lines that must stay on one page together (the signature and seal places)."""
        for i, line in enumerate(lines):
            p = self.doc.add_paragraph()
            fmt = p.paragraph_format
            fmt.keep_together = True
            fmt.keep_with_next = i < len(lines) - 1
            fmt.space_before = Pt(10) if line else Pt(0)
            if i in align_right:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            self._run(p, line)

    def opinion_box(self, title: str, above: Sequence[str], below: Sequence[str], *, height_mm: int = 45) -> None:
        """A bordered box for someone else's opinion: a title row, `above` (who), a blank area to write
        in, and `below` (signature, seal, date). Rows do not split and the box stays on one page."""
        table = self.doc.add_table(rows=3, cols=1)
        table.style = self.doc.styles["Table Grid"]
        texts = [[title, *above], [""], list(below)]
        for r, (row, lines) in enumerate(zip(table.rows, texts, strict=True)):
            trpr = row._tr.get_or_add_trPr()
            trpr.append(OxmlElement("w:cantSplit"))
            if r == 1:
                row.height, row.height_rule = Mm(height_mm), WD_ROW_HEIGHT_RULE.AT_LEAST
            cell = row.cells[0]
            for k, line in enumerate(lines):
                p = cell.paragraphs[0] if k == 0 else cell.add_paragraph()
                p.paragraph_format.keep_with_next = r < 2 or k < len(lines) - 1
                if r == 2 and k == len(lines) - 1:
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                self._run(p, line, bold=(r == 0 and k == 0),
                          face=DOCX_HEADING_FONT if (r == 0 and k == 0) else None)

    def spacer(self) -> None:
        self.doc.add_paragraph()

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()
