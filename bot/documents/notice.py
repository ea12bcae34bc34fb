"""The publicity notice (公示) as a .docx, for the officer to publish on the department's portal.

It says what dialogs/publicity.py's `Notice` says (less the portal address: this is the page put there)
and is laid out as a notice a department posts:
the title centred, the opening and the numbered items as indented prose, the way to object, and the
issuer and the date at the right. The page is docx_layout's (A4, GB/T 9704 margins, CJK fonts named).
Nothing from the case beyond the notice's own items reaches it: the builder is handed the `Notice`, not
the case.
"""

from __future__ import annotations

import re

from bot.documents.docx_layout import FormWriter
from bot.i18n import render
from dialogs.publicity import Notice, numeral
from dialogs.text import Text, msg

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The CJK document fonts have no emoji: printed, they would be boxes (the application does the same).
# With them goes the space typed before them ("制备 🚀" → "制备").
_PICTOGRAPHS = re.compile("\\s*[\U00010000-\U0010FFFF\u2600-\u27BF\uFE0F\u200D]+")


def _clean(text: str) -> str:
    return _PICTOGRAPHS.sub("", text).strip()


def notice_docx(notice: Notice, lang: str) -> bytes:
    """The notice in `lang` as the bytes of a .docx."""
    def r(text: Text) -> str:
        return _clean(render(text, lang))

    page = FormWriter(lang)
    page.title(r(notice.title))
    page.para(r(notice.opening), indent_first=True)
    for i, (label, value) in enumerate(notice.items, 1):
        page.para(r(msg("publicity.notice.item", n=numeral(i), label=label, value=value)), indent_first=True)
    page.para(r(notice.objection), indent_first=True)
    if notice.online is not None:
        page.para(r(notice.online), indent_first=True)
    # the last paragraph goes with the issuer and the date: a page never holds only the signature
    page.para(r(notice.privacy), indent_first=True, keep_next=True)
    page.block([r(notice.issuer), r(notice.dated)], align_right=(0, 1))
    return page.to_bytes()


def notice_file_name(notice: Notice, lang: str) -> str:
    """公示-<published day>.docx: the file name says what it is and which period it carries."""
    return render(msg("publicity.file_name", date=notice.period.published_on.isoformat()), lang)
