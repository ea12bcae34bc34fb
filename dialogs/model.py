"""The draft as the wizard sees it, and the context every step and widget reads it through.

A SQLModel row cannot be a transitions model, so the wizard works on these plain objects; bot/flow.py
copies a stored draft into a `DraftView`, lets the wizard change it, and saves what changed.
"""

from __future__ import annotations

import datetime as dt
from collections import UserList
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dialogs.answers import FILE_STEPS, provided_counts
from dialogs.policy import Policy
from dialogs.text import Text

# Files added in the terminal console carry this prefix in their file id: they are not on Telegram.
CONSOLE_FILE_PREFIX = "console:"


class LoadedOnUse(UserList):  # type: ignore[type-arg]
    """A list read only when something looks at it. Most steps never look at the draft's files, and reading
    them was one SELECT of every answer and press (the capacity profile, docs/BENCHMARKS.md). `load` runs
    at most once, inside the transaction that made the list."""

    def __init__(self, load: Callable[[], Iterable[Any]]) -> None:  # (UserList's own __init__ would load)
        self._load: Callable[[], Iterable[Any]] | None = load
        self._items: list[Any] = []

    @property  # type: ignore[override]
    def data(self) -> list[Any]:
        if self._load is not None:
            load, self._load = self._load, None
            self._items = list(load())
        return self._items

    @data.setter
    def data(self, value: list[Any]) -> None:
        self._load, self._items = None, value



class DueLike(Protocol):
    date: dt.date
    provisional: bool


class CalendarLike(Protocol):
    def add_working_days(self, start: dt.date, n: int) -> DueLike: ...
    def add_calendar_days(self, start: dt.date, n: int) -> DueLike: ...
    def working_days_between(self, start: dt.date, end: dt.date) -> int: ...


@dataclass
class UploadInfo:
    material_id: str
    file_name: str
    size: int
    file_id: str = ""
    file_unique_id: str = ""
    mime_type: str | None = None
    upload_id: int | None = None  # the stored row, once there is one: removal names it

    @property
    def from_console(self) -> bool:
        return self.file_id.startswith(CONSOLE_FILE_PREFIX)


@dataclass(frozen=True)
class UnitMatch:
    """What the unit registry says of a typed unit name: the unit that answers to it exactly (same normal
    form), and the registered or proposed units whose names resemble it, best first, as (id, name).
    `named` is False when the text has nothing a name could be compared by (only punctuation or emoji)."""

    exact: tuple[int, str] | None = None
    candidates: tuple[tuple[int, str], ...] = ()
    named: bool = True


# The registry lookup the bot injects (bot/flow.py): dialogs stay free of the database.
UnitLookup = Callable[[str], UnitMatch]


@dataclass
class DraftView:
    """The parts of a stored draft the wizard reads and changes. `remembered` holds the identities the
    applicant gave in earlier applications, by applicant kind, so they are asked only once. `units` looks
    a typed unit name up in the draft's policy's registry; without it (a wizard with no database) a unit
    is taken as typed."""

    state: str
    answers: dict[str, Any]
    uploads: list[UploadInfo] = field(default_factory=list)
    revision: int = 0
    remembered: dict[str, dict[str, Any]] = field(default_factory=dict)
    units: UnitLookup | None = None


@dataclass
class Outcome:
    changed: bool = False
    error: Text | None = None
    notice: Text | None = None
    new_upload: UploadInfo | None = None
    removed_upload: int | None = None
    submitted: bool = False
    left: bool = False
    trigger: str | None = None  # a machine trigger a widget asks for (submit, edit_<step>)
    meta_only: bool = False  # only the widgets' bookkeeping changed: saved without a new revision


@dataclass(frozen=True)
class Env:
    """What the wizard needs from outside: the policies, the working-day calendar, today's date."""

    policies: dict[str, Policy]
    calendar: CalendarLike
    today: Callable[[], dt.date]


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    provisional: bool
    clause: str
    length: int
    working: bool
    left: int  # days left, in the limit's own unit (working or calendar days)
    rolled_from: dt.date | None = None  # the last day before 民法典第二百零三条 moved it off a rest day


class WizardModel:
    """The machine's model: conditions, callbacks, steps and widgets read the draft through it."""

    def __init__(self, draft: DraftView, env: Env) -> None:
        self.draft = draft
        self.state = draft.state
        self.env = env

    @property
    def policies(self) -> dict[str, Policy]:
        return self.env.policies

    @property
    def policy(self) -> Policy | None:
        return self.env.policies.get(self.draft.answers.get("policy", ""))

    @property
    def answers(self) -> dict[str, Any]:
        return self.draft.answers

    @property
    def meta(self) -> dict[str, Any]:
        return self.draft.answers.setdefault("_meta", {})

    def upload_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for u in self.draft.uploads:
            counts[u.material_id] = counts.get(u.material_id, 0) + 1
        return counts

    def provided(self) -> dict[str, int]:
        """Upload counts, with the generated 申请书 and the typed 情况说明 counted as provided."""
        policy = self.policy
        return provided_counts(policy, self.answers, self.upload_counts()) if policy else self.upload_counts()

    def provided_for(self, step: str) -> dict[str, int]:
        """What `step_problem(step, …)` needs of the files: nothing (and so no read of them, `LoadedOnUse`)
        unless the step is one whose completeness depends on them."""
        return self.provided() if step in FILE_STEPS else {}

    def filing_deadline(self) -> Deadline | None:
        """The applicant's filing window, when the case was started by an authority on a given date."""
        policy = self.policy
        if policy is None:
            return None
        origin = policy.origin(self.answers.get("origin", ""))
        if origin is None or not origin.filing_limit or not self.answers.get("start_date"):
            return None
        limit = policy.time_limit(origin.filing_limit)
        if limit.length is None:
            return None
        start = dt.date.fromisoformat(self.answers["start_date"])
        calendar = self.env.calendar
        working = limit.unit == "working_days"
        due = calendar.add_working_days(start, limit.length) if working else calendar.add_calendar_days(
            start, limit.length)
        today = self.env.today()
        left = calendar.working_days_between(today, due.date) if working else (due.date - today).days
        return Deadline(due.date, due.provisional, limit.clause, limit.length, working, left, due.rolled_from)
