"""The message catalogue: gettext .po files read with Babel, and the renderer of dialog texts.

Every domain file of a locale (messages.po, officer.po, documents.po, …) is read with Babel and merged —
a key defined twice is an error, not a silent override — then compiled in memory to a gettext catalogue,
so `ngettext` chooses plural forms by each file's Plural-Forms rule (Chinese has one form, English two).
Keys are the msgids (`wiz.deadline`): Babel's extractor finds them in the code (babel.cfg), and
`python -m bot.i18n_tools check|update` keeps the catalogues and the code in step (CONTRIBUTING.md).
Chinese is the first language and the fallback; English the second.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from dialogs.policy import LText
from dialogs.text import Join, Msg, Plain, Text

LOCALE_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"


def domain_files(lang: str) -> list[Path]:
    locale = LANGUAGES.get(lang, LANGUAGES[DEFAULT_LANGUAGE])
    return sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))


def key_of(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


@cache
def merged_catalog(lang: str) -> Catalog:
    """All gettext domains of a locale as one Babel catalog; a key in two files raises KeyError."""
    locale = LANGUAGES.get(lang, LANGUAGES[DEFAULT_LANGUAGE])
    merged = Catalog(locale=locale, fuzzy=False)
    for path in domain_files(lang):
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=locale)
        for m in cat:
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            if not m.id or not any(strings):
                continue
            if key_of(m.id) in merged:
                raise KeyError(f"{path.name}: message {key_of(m.id)!r} is defined in another domain too")
            merged.add(m.id, m.string, flags=[f for f in m.flags if f != "fuzzy"])
    return merged


@cache
def _translations(lang: str) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, merged_catalog(lang))
    buffer.seek(0)
    return Translations(fp=buffer)


@cache
def _keys(lang: str) -> frozenset[str]:
    return frozenset(key_of(m.id) for m in merged_catalog(lang) if m.id)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Key → text (for an entry with plural forms, its last form, which carries every placeholder)."""
    out: dict[str, str] = {}
    for m in merged_catalog(lang):
        if m.id:
            out[key_of(m.id)] = m.string[-1] if isinstance(m.string, tuple) else m.string
    return out


def normalise_language(code: str | None) -> str:
    """Telegram's language_code (e.g. 'en-US', 'zh-hans') to one of ours; Chinese unless clearly English."""
    if code and code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def _source(key: str, lang: str) -> str:
    if key in _keys(lang):
        return lang
    if key in _keys(DEFAULT_LANGUAGE):
        return DEFAULT_LANGUAGE
    raise KeyError(f"message {key!r} is missing from the catalogue")


@cache
def _plural_forms(lang: str) -> dict[str, tuple[str, ...]]:
    return {key_of(m.id): tuple(m.string) for m in merged_catalog(lang) if m.id and isinstance(m.string, tuple)}


def _read(lang: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]], Callable[[int], int]]:
    """Key → text, key → plural forms (entries with msgid_plural only), and the locale's plural rule."""
    return catalogue(lang), _plural_forms(lang), _translations(lang).plural


def gettext(key: str, lang: str) -> str:
    return _translations(_source(key, lang)).gettext(key)


def ngettext(key: str, count: int, lang: str) -> str:
    """The form of `key` for `count`; a key without plural forms is its one text."""
    source = _source(key, lang)
    if key not in _plural_forms(source):
        return gettext(key, source)
    return _translations(source).ngettext(key, key, abs(count))


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
        count = text.count
        if count is None and isinstance(text.params.get("n"), int) and not isinstance(text.params["n"], bool):
            count = text.params["n"]  # `msg(key, n=3)` on an entry with plural forms picks the form for 3
        template = gettext(text.key, lang) if count is None else ngettext(text.key, count, lang)
        return template.format(**params)
    raise TypeError(f"cannot render {text!r}")


def t(key: str, lang: str, **params: object) -> str:
    return render(Msg(key, dict(params)), lang)


def tn(key: str, count: int, lang: str, **params: object) -> str:
    """A message with plural forms, for `count` (available to the template as {n})."""
    return render(Msg(key, {"n": count, **params}, count), lang)
