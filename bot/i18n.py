"""The message catalogue: gettext .po files read with Babel, and the renderer of dialog texts.

The catalogue is read straight from the .po files (no compiled .mo to keep in step), once per
process. Chinese is the first language; English the second.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from gettext import c2py
from pathlib import Path

from babel.messages.pofile import read_po

from dialogs.policy import LText
from dialogs.text import Join, Msg, Plain, Text

LOCALE_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"


@cache
def _read(lang: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]], Callable[[int], int]]:
    """All gettext domains of a locale merged (messages.po, officer.po, …): one file per part of the
    product keeps catalogues small; a key defined twice is an error, not a silent override. Entries
    with ``msgid_plural`` keep every form, chosen by the locale's ``Plural-Forms`` header."""
    locale = LANGUAGES.get(lang, LANGUAGES[DEFAULT_LANGUAGE])
    merged: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    plural_expr = "0"
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=locale)
        plural_expr = cat.plural_expr
        for m in cat:
            key = str(m.id[0] if m.pluralizable else m.id)
            forms = tuple(str(f) for f in m.string) if m.pluralizable else (str(m.string),)
            if key and all(forms):
                if key in merged:
                    raise KeyError(f"{path.name}: message {key!r} is defined in another domain too")
                merged[key] = forms[-1]
                if m.pluralizable:
                    plurals[key] = forms
    return merged, plurals, c2py(plural_expr)


def catalogue(lang: str) -> dict[str, str]:
    """Every key of a locale; a plural entry appears with its last (most general) form."""
    return _read(lang)[0]


def ngettext(key: str, n: int, lang: str) -> str:
    """The form of a plural entry for the count ``n`` ("1 working day left", "2 working days left")."""
    _, plurals, plural = _read(lang)
    forms = plurals.get(key)
    if forms is None:
        return gettext(key, lang)
    return forms[min(plural(abs(n)), len(forms) - 1)]


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
        count = text.params.get("n")
        template = ngettext(text.key, count, lang) if isinstance(count, int) else gettext(text.key, lang)
        return template.format(**params)
    raise TypeError(f"cannot render {text!r}")


def t(key: str, lang: str, **params: object) -> str:
    return render(Msg(key, dict(params)), lang)
