"""Keep the message catalogues and the code in step, with Babel's own extractor and updater.

    python -m bot.i18n_tools check    # every key the code uses is in both catalogues, and no other
    python -m bot.i18n_tools update   # add the keys the code uses that a catalogue lacks (empty, to translate)

Keys are found by Babel's Python extractor (keywords below: `msg`, `plural`, `N_`, `t`, `tn`, `Msg`,
`Command`, and bot/documents/application.py's `s` and `section`) and, for the notifications a procedure sends, by `extract_policy_keys` over the policy files'
`notify:` entries. The same extraction runs as `pybabel extract -F babel.cfg` with the keywords of
CONTRIBUTING.md. `update` puts a new key in the domain whose keys share its first part (`desk.*` →
desk.po), else in messages.po; it never deletes (`check` lists keys no longer used).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import LANGUAGES, LOCALE_DIR, key_of
from bot.message_keys import EXTRACTOR_ARTIFACTS

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS: dict[str, Any] = {"msg": None, "plural": (1, 1), "N_": None, "t": None, "tn": (1, 1), "Msg": None,
                            "gettext": None, "Command": (2,),
                            "s": None, "section": None}  # the 申请书 writer's self.s(key), self.section(key)
SOURCES = ("bot", "dialogs", "scheduler", "storage")
METHODS = [("**.py", "python")]
_NOTIFY = re.compile(r"^\s*notify:\s*([a-z_]+\.[a-z_.]+)\s*$")


def extract_policy_keys(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                        options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extractor for dialogs/policies/*.yaml: the message key each procedure action notifies."""
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), start=1):
        found = _NOTIFY.match(line)
        if found:
            yield lineno, None, found.group(1), []  # type: ignore[misc]


def extract() -> dict[str, bool]:
    """Every key the code and the policy files use → whether it has plural forms."""
    keys: dict[str, bool] = {}
    # Babel notes every f-string in a keyword call on stderr; those are the computed keys that
    # bot/message_keys.py declares, so the notes are kept out of the check's output.
    with contextlib.redirect_stderr(io.StringIO()):
        for folder in SOURCES:
            for _file, _line, message, _comments, _context in extract_from_dir(
                    ROOT / folder, METHODS, {}, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=False):
                key = key_of(message)
                if key in EXTRACTOR_ARTIFACTS:
                    continue
                keys[key] = keys.get(key, False) or isinstance(message, tuple)
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "dialogs" / "policies", [("*.yaml", extract_policy_keys)], {}, keywords={}):
        keys.setdefault(str(message), False)
    return keys


def _read(path: Path) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh)


def catalogue_keys(locale: str) -> dict[str, str]:
    """Every key of a locale → the domain file (stem) that holds it."""
    found: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        for m in _read(path):
            if m.id:
                found[key_of(m.id)] = path.stem
    return found


def check() -> list[str]:
    """What is out of step; empty when the catalogues hold exactly the keys the code uses."""
    used = extract()
    problems = []
    for lang, locale in LANGUAGES.items():
        held = catalogue_keys(locale)
        problems += [f"{lang}: {k} is used in the code but missing from the catalogue" for k in sorted(set(used) - set(held))]
        problems += [f"{lang}: {k} is in {held[k]}.po but never used in the code" for k in sorted(set(held) - set(used))]
    return problems


def _domain_for(key: str, held: dict[str, str]) -> str:
    prefix = key.split(".", 1)[0] + "."
    domains = {domain for k, domain in held.items() if k.startswith(prefix)}
    return domains.pop() if len(domains) == 1 else "messages"


def update() -> None:
    """Add every key the code uses and a domain file lacks, untranslated, to the domain it belongs to.

    Keys no longer used are left where they are and listed by `check`: a key only a helper or a test reads
    would otherwise be deleted with its translations, so removing one is a person's decision."""
    used = extract()
    for locale in LANGUAGES.values():
        held = catalogue_keys(locale)
        missing = {key: plural for key, plural in used.items() if key not in held}
        for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
            new = [(key, plural) for key, plural in sorted(missing.items()) if _domain_for(key, held) == path.stem]
            if not new:
                continue
            catalog = _read(path)
            for key, plural in new:
                catalog.add((key, key) if plural else key, ("", "") if plural else "")
            with open(path, "wb") as fh:
                write_po(fh, catalog, width=0)


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    if command == "update":
        update()
    problems = check()
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
