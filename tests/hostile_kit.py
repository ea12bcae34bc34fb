"""What a hostile client sends, and how to tell whether the bot took it well: shared by tests/test_hostile.py
(the real bot process over HTTP) and tests/test_fuzz.py (hypothesis, in process).

Why format-agnostic: the callback-data vocabulary is being redesigned (named actions, one id parser), so
nothing here knows today's prefixes beyond a seed list. Mutations work on any string: every run of ASCII
digits is an id to corrupt, every punctuation character a separator to add, drop or double, every prefix
ending in one a place to append junk. Fed with the callback_data the bot really sent, they hit whatever
vocabulary the bot has on the day.

The row snapshot says who owns each row of the tables a user's actions touch, so a test can assert that an
input changed nobody else's rows (the acting user's own rows may change: that is what actions are for).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from storage.casework import CaseDocument, CaseEvent, Invitation, Membership, Outbox, PendingForm
from storage.clocktable import ClockRow
from storage.models import Case, Draft, Upload, User

# Today's callback vocabulary, only as a seed: the harvested data is what counts.
SEED_DATA = ["g:new", "g:drafts", "lang:zh", "lang:en", "dr:r:1", "dr:d:1", "dr:x:1", "w:1:0:next", "w:1:docx",
             "c:q", "c:st", "c:o:1", "c:a:1:submitted:accept", "c:v:1:x", "c:s:1", "c:k:1", "c:x:1", "c:r:1",
             "c:f:u:1", "c:f:d:1", "f:t:1", "f:i:1"]

_DIGITS = "0123456789"
# Unicode digits int() accepts (Nd) and one set it refuses (superscripts are No): each must be refused as an id.
EQUIVALENT_DIGITS = {
    "fullwidth": "０１２３４５６７８９",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
}
ASTRAL_DIGITS = "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"  # mathematical bold, Nd as well: two UTF-16 units each
SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"
INT32_OVER = str(2**31)
INT64_OVER = str(2**63)
TWENTY_DIGITS = "9" * 20


def translate_digits(value: str, digits: str) -> str:
    return value.translate(str.maketrans(_DIGITS, digits))


def id_replacements(value: str, others: Iterable[str] = (), *, equivalents: bool = True) -> list[tuple[str, str]]:
    """(why, replacement) for one id taken from callback data or a command: what a forged client puts
    where the bot expects an id. ``equivalents=False`` leaves out the Unicode digits of the same value
    (see ``equivalent_pairs``, which presses them next to a control)."""
    out = [(f"{name} digits", translate_digits(value, digits)) for name, digits in EQUIVALENT_DIGITS.items()
           if equivalents]
    out += [
        ("astral (mathematical bold) digits", translate_digits(value, ASTRAL_DIGITS)),
        ("superscript digit", translate_digits(value, SUPERSCRIPT)),
        ("20-digit number", TWENTY_DIGITS),
        ("2^31 (over int32)", INT32_OVER),
        ("2^63 (over int64)", INT64_OVER),
        ("negative", f"-{value}"),
        ("empty", ""),
        ("NUL after the id", f"{value}\x00"),
        ("leading plus", f"+{value}"),
    ]
    out += [(f"another user's id {o}", o) for o in others if o != value]
    return out


def digit_runs(data: str) -> list[re.Match[str]]:
    return list(re.finditer(r"[0-9]+", data))


def separators(data: str) -> list[str]:
    return [c for c in dict.fromkeys(data) if not c.isalnum() and c.isascii() and c not in "_-."]


def shape(data: str) -> str:
    """Data with its ids masked: ``w:1:7:next`` and ``w:2:9:next`` have one shape."""
    return re.sub(r"[0-9]+", "#", data)


def family(data: str) -> str:
    """Data with its ids masked and anything after the last id dropped: one representative per family is
    enough (``w:1:7:next`` and ``w:1:8:back`` are the same family ``w:#:#``)."""
    runs = digit_runs(data)
    head = data[: runs[-1].end()] if runs else data
    return re.sub(r"[0-9]+", "#", head)


_LAST_ID = {"superscript digit", "20-digit number", "2^63 (over int64)", "negative", "empty"}


def mutations(data: str, others: Iterable[str] = (), *, equivalents: bool = True) -> list[tuple[str, str]]:
    """(label, mutated data) for one real callback_data: its ids corrupted, its parts added to, emptied,
    or padded, NUL and 1,000 characters. ``others`` are ids of other users' rows, to forge. The first id
    gets every corruption, a last one (a revision, say) the main ones."""
    out: list[tuple[str, str]] = []
    runs = digit_runs(data)
    chosen = runs[:1] + (runs[-1:] if len(runs) > 1 else [])
    for i, run in enumerate(chosen):
        where = "first id" if i == 0 else "last id"
        for why, repl in id_replacements(run.group(0), others if i == 0 else (), equivalents=equivalents):
            if i == 0 or why in _LAST_ID:
                out.append((f"{where} → {why}", data[: run.start()] + repl + data[run.end():]))
    sep = (separators(data) or [":"])[0]
    out += [
        ("extra part", f"{data}{sep}x"),
        ("empty last part", f"{data}{sep}"),
        ("NUL appended", f"{data}\x00"),
        ("1,000 characters", (data + "9" * 1000)[:1000]),
    ]
    if sep in data:
        out.append(("empty middle part", data.replace(sep, sep + sep, 1)))
        head, _, tail = data.rpartition(sep)
        out.append(("last part dropped", head))
    if len(runs) > 1:
        out.append(("every id superscript", re.sub(r"[0-9]+", "²", data)))
    unique: dict[str, str] = {}
    for label, m in out:
        if m != data:
            unique.setdefault(m, label)
    return [(label, m) for m, label in unique.items()]


def equivalent_pairs(data: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The control (the first id replaced by "x") and (label, data with that id in Unicode digits of the
    same value): a bot with one ASCII-only id parser answers them all the same way, a refusal."""
    runs = digit_runs(data)
    if not runs:
        return None
    run = runs[0]
    control = data[: run.start()] + "x" + data[run.end():]
    return control, [(f"first id → {name} digits (same value)", data[: run.start()]
                      + translate_digits(run.group(0), digits) + data[run.end():])
                     for name, digits in EQUIVALENT_DIGITS.items()]


JUNK = ["", "x", "²", "\x00", "9" * 1000]


def prefixes(data: str) -> list[str]:
    """Every proper prefix of ``data`` that ends with a separator (``c:``, ``c:f:``, ``c:f:u:``)."""
    return [data[: i + 1] for i, c in enumerate(data[:-1]) if not c.isalnum() and c.isascii() and c not in "_-."]


def prefix_junk(datas: Iterable[str]) -> list[tuple[str, str]]:
    """Every prefix the bot's data has (one per shape: ``w:1:7:`` and ``w:1:8:`` are one), with junk
    after it."""
    seen: dict[str, str] = {}
    for d in datas:
        for p in prefixes(d):
            seen.setdefault(re.sub(r"[0-9]+", "#", p), p)
    return [(f"prefix {p!r} + junk {j[:12]!r}", p + j) for p in seen.values() for j in JUNK]


# -- Unicode text at Telegram's limits ----------------------------------------------------------------

ASTRAL = "😀"  # one character, two UTF-16 units
ASTRAL_HAN = "\U00020000"  # 𠀀, CJK Extension B: a letter (str.isalnum) that also takes two UTF-16 units


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


HOSTILE_TEXTS: list[tuple[str, str]] = [
    ("4096 UTF-16 units of astral text", ASTRAL * 2048),
    ("4096 CJK characters", "容" * 4096),
    ("astral text of 4095 units + one BMP", ASTRAL * 2047 + "容"),
    ("format string braces", "{0}{1}{policy}{__class__}{x[0]}"),
    ("printf format", "%s%s%n%d%(name)s"),
    ("NUL inside", "项目\x00名称"),
    ("only NUL", "\x00"),
    ("RTL override", "\u202eabc\u202c测试"),
    ("zero-width joiners", "\u200b\u200c\u200d\ufeff"),
    ("combining marks", "a" + "\u0301" * 300),
    ("SQL", "'; DROP TABLE draft; --"),
    ("HTML and Markdown", "<b>x</b> *y* `z` [a](tg://user?id=1)"),
    ("template injection", "${jndi:ldap://x} {{7*7}}"),
    ("tab and ideographic space inside", "项\t目\u3000名"),
    ("number overflow", "1e309"),
    ("negative zero", "-0"),
    ("fullwidth number", "１２０.５"),
    ("NaN", "NaN"),
    ("date out of range", "9999-12-31"),
    ("date zero", "0000-00-00"),
    ("impossible date", "2026-02-30"),
    ("fullwidth date", "２０２６-０２-１２"),
    ("1,000 digits", "9" * 1000),
    ("emoji flags and ZWJ", "🇨🇳👩‍🔬" * 50),
]


# -- rows and their owners -------------------------------------------------------------------------------

# Columns that change on their own (delivery bookkeeping, clock recomputation stamps), not by a user's input.
_VOLATILE = {"outbox": {"attempts", "next_attempt_at", "delivered_at", "message_id", "status", "last_error"},
             "clockrow": {"updated_at", "fired_through", "next_fire_at"}}
_TABLES: list[type[SQLModel]] = [User, Draft, Upload, Case, CaseEvent, Membership, Invitation, PendingForm,
                                 Outbox, CaseDocument, ClockRow]

Rows = dict[tuple[str, str], tuple[int | None, str]]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


class Snapshots:
    """Snapshots of every row of the user-owned tables: (table, key) → (owner's user id, row as JSON).

    The audit trail is append-only (storage/casework.py refuses updates and deletes), and every refused
    input adds a line to it, so its rows are read once and then only the new ones: thousands of inputs
    would otherwise make each snapshot slower than the input it checks."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._events: Rows = {}
        self._last_event = 0

    def take(self) -> Rows:
        rows: Rows = {}
        with Session(self.engine) as s:
            drafts = {d.id: d.user_id for d in s.exec(select(Draft))}
            cases = {c.id: c.applicant_id for c in s.exec(select(Case))}
            for model in _TABLES:
                name = model.__tablename__  # type: ignore[attr-defined]
                skip = _VOLATILE.get(name, set())
                query = select(model)
                if model is CaseEvent:
                    query = query.where(CaseEvent.id > self._last_event)  # type: ignore[operator]
                for row in s.exec(query):
                    data = {k: _plain(v) for k, v in row.model_dump().items() if k not in skip}
                    entry = (_owner(name, data, drafts, cases), json.dumps(data, sort_keys=True, ensure_ascii=False))
                    if model is CaseEvent:
                        self._events[(name, _key(name, data))] = entry
                        self._last_event = max(self._last_event, int(data["id"]))
                    else:
                        rows[(name, _key(name, data))] = entry
        rows.update(self._events)
        return rows


def snapshot(engine: Engine) -> Rows:
    """One full snapshot (see ``Snapshots``)."""
    return Snapshots(engine).take()


def _key(name: str, row: dict[str, Any]) -> str:
    if name == "invitation":
        return str(row["code"])
    if name == "pendingform":
        return str(row["user_id"])
    return str(row["id"])


def _owner(name: str, row: dict[str, Any], drafts: dict[Any, int], cases: dict[Any, int]) -> int | None:
    if name == "user":
        return row["id"]
    if name in ("draft", "membership", "pendingform"):
        return row["user_id"]
    if name == "upload":
        return drafts.get(row["draft_id"])
    if name == "case":
        return row["applicant_id"]
    if name == "caseevent":
        return row["actor_id"]
    if name == "invitation":
        return row["created_by"]
    if name == "outbox":
        return row["chat_id"]
    if name == "casedocument":
        return row["uploaded_by"]
    if name == "clockrow":
        return cases.get(row["owner_id"]) if row["scope"] == "case" else drafts.get(row["owner_id"])
    return None


def changed_rows(before: Rows, after: Rows, actor: int | None, own_may_change: bool = True) -> list[str]:
    """Rows added, changed or removed that belong to someone other than ``actor`` (or to anyone, when the
    input should have changed nothing at all)."""
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        owner = (new or old)[0]  # type: ignore[index]
        if own_may_change and owner == actor and (old is None or old[0] == actor):
            continue
        what = "added" if old is None else "removed" if new is None else "changed"
        detail = (new or old)[1][:160]  # type: ignore[index]
        out.append(f"{key[0]} row {key[1]} of user {owner} {what}: {detail}")
    return out


def error_lines(log: str) -> list[str]:
    """ERROR records and tracebacks in a bot log (the exception line after each traceback included)."""
    lines = log.splitlines()
    found = []
    for i, line in enumerate(lines):
        if " ERROR " in line or line.startswith("Traceback"):
            tail = next((lines[j] for j in range(i + 1, min(i + 60, len(lines)))
                         if lines[j] and not lines[j].startswith((" ", "Traceback"))), "")
            found.append(line.strip()[:200] + (f" … {tail.strip()[:200]}" if tail and line.startswith("Traceback") else ""))
    return found


HAN = re.compile(r"[\u3400-\u9fff]")
