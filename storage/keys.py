"""What a primary key can be when it arrives as text: the one check beside the tables, so a lookup in
storage/ and the bot's own parser (bot/ids.py) refuse the same things.

`"²".isdigit()` and `"１".isdigit()` are true but `int()` refuses the first, and a 20-digit number overflows
PostgreSQL's INTEGER keys ("integer out of range") and a 25-digit one SQLite's, so a key is 1–10 ASCII
digits within 2³¹−1.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every primary key in storage/
_ID = re.compile(r"[0-9]{1,10}")


def parse_id(text: object) -> int | None:
    """An id from ASCII digits within the database's integer range, else None."""
    if not isinstance(text, str) or _ID.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= MAX_ID else None
