"""The message catalogue: gettext .po files read with Babel, and the renderer of dialog texts.

The catalogue is read straight from the .po files (no compiled .mo to keep in step), once per
process. Chinese is the first language; English the second.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from dialogs.policy import LText
from dialogs.text import Join, Msg, Plain, Text

LOCALE_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All gettext domains of a locale merged (messages.po, officer.po, …): one file per part of the
    product keeps catalogues small; a key defined twice is an error, not a silent override."""
    locale = LANGUAGES.get(lang, LANGUAGES[DEFAULT_LANGUAGE])
    merged: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=locale)
        for m in cat:
            if m.id and m.string:
                if str(m.id) in merged:
                    raise KeyError(f"{path.name}: message {m.id!r} is defined in another domain too")
                merged[str(m.id)] = str(m.string)
    return merged


def normalise_language(code: str | None) -> str:
    """Telegram's language_code (e.g. 'en-US', 'zh-hans') to one of ours; Chinese unless clearly English."""
    if code and code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def gettext(key: str, lang: str) -> str:
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise KeyError(f"message {key!r} is missing from the catalogue")
    return text


def render(text: Text, lang: str) -> str:
    if isinstance(text, Plain):
        return text.text
    if isinstance(text, LText):
        return text.get(lang)
    if isinstance(text, Join):
        return text.sep.join(render(p, lang) for p in text.parts)
    if isinstance(text, Msg):
        params = {k: render(v, lang) if isinstance(v, Msg | Plain | LText | Join) else v
                  for k, v in text.params.items()}
        return gettext(text.key, lang).format(**params)
    raise TypeError(f"cannot render {text!r}")


def t(key: str, lang: str, **params: object) -> str:
    return render(Msg(key, dict(params)), lang)
