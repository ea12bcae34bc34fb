"""Where the CJK fonts come from, for the .docx and the timeline picture.

Chinese text in a chart or a document needs a font that has the glyphs; Debian's `fonts-noto-cjk`
provides Noto Sans/Serif CJK. test.sh installs it; a machine without it gets a clear warning and a
picture drawn with English labels instead of boxes where characters should be.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

# Names written into the .docx (w:eastAsia). Word and LibreOffice resolve them through the system's
# fonts; on a machine without them Word substitutes its own East Asian default, which still renders.
DOCX_BODY_FONT = "Noto Serif CJK SC"
DOCX_HEADING_FONT = "Noto Sans CJK SC"
DOCX_LATIN_FONT = "Times New Roman"
_PREFERRED = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Serif CJK SC",
              "WenQuanYi Zen Hei", "Source Han Sans SC")
INSTALL_HINT = "apt-get install fonts-noto-cjk"


@cache
def cjk_font_path() -> Path | None:
    """A CJK font file matplotlib can use, or None. The font list is scanned again when matplotlib's
    cached list predates the font's installation (its cache is not refreshed by apt)."""
    from matplotlib import font_manager

    def known() -> Path | None:
        names = {f.name: f.fname for f in font_manager.fontManager.ttflist}
        for name in _PREFERRED:
            if name in names:
                return Path(names[name])
        return None

    found = known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if "CJK" in Path(path).name or "wqy" in Path(path).name.lower():
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError):  # an unreadable font file: skip it
                    continue
        found = known()
    if found is None:
        log.warning("no CJK font found; timelines are drawn with English labels (%s)", INSTALL_HINT)
    return found
