"""The one parser for every identifier that arrives from outside: callback data and command arguments.

`"²".isdigit()` and `"１".isdigit()` are true but `int()` refuses the first, a 20-digit number overflows
PostgreSQL's INTEGER keys ("integer out of range") and a 25-digit one SQLite's, so an id is accepted only
as 1–10 ASCII digits within 2³¹−1 (storage/keys.py, which storage's own lookups use too). Anything else
is `None`, which every caller turns into a refusal in the user's language rather than a traceback.
"""

from __future__ import annotations

import re

from storage.keys import MAX_ID, parse_id

__all__ = ["MAX_ID", "parse_case_ref", "parse_code", "parse_id"]

_CASE_NUMBER = re.compile(r"[A-Z]{2,4}-[0-9]{4}-[0-9]{4,6}")
_CODE = re.compile(r"[A-Za-z0-9_-]{8,64}")  # secrets.token_urlsafe: what an invitation code can be


def parse_case_ref(text: str) -> int | str | None:
    """A case as users name it: its id (`12`) or its number (`DG-2026-0001`, any case); else None."""
    ref = text.strip()
    ident = parse_id(ref)
    if ident is not None:
        return ident
    number = ref.upper()
    return number if _CASE_NUMBER.fullmatch(number) else None


def parse_code(text: str) -> str | None:
    """An invitation code as the bot issues them (URL-safe base64), else None — before any query, since
    PostgreSQL refuses a NUL in a text parameter outright."""
    code = text.strip()
    return code if _CODE.fullmatch(code) else None
