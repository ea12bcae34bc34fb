"""Working-day arithmetic for Chinese statutory time limits.

Statutes count "工作日" under the State Council's yearly holiday arrangement, which moves working
days onto weekends (调休) and holidays onto weekdays, and is published only a few weeks before each
year starts. Three sources therefore exist for a year:

* the ``chinese-calendar`` package ("official"), which ships the published arrangements;
* a YAML file an administrator adds once the State Council notice appears ("admin"), so a new year
  does not wait for a package release;
* neither ("provisional"): only Saturdays and Sundays are treated as non-working days, and every
  result touching such a year is flagged, logged and remembered so that nobody mistakes a guess for
  a statutory deadline.

Counting follows the statutory convention: the day of the starting event is not counted; the first
counted day is the day after. All dates are Asia/Shanghai local ``datetime.date`` values; converting
a timestamp to a local date is the caller's job because only the caller knows the event's time zone.
"""

from __future__ import annotations

import calendar as _stdcalendar
import datetime as dt
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import chinese_calendar
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "ENV_DATA_DIR",
    "ArrangementError",
    "Due",
    "HolidayRange",
    "WorkCalendar",
    "YearArrangement",
    "YearStatus",
    "default_data_dir",
    "load_arrangement",
    "save_arrangement",
]

logger = logging.getLogger(__name__)

ENV_DATA_DIR = "HOLIDAY_DATA_DIR"
YearStatus = Literal["official", "admin", "provisional"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR_FILE = re.compile(r"^(\d{4})\.yaml$")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _official_years() -> range:
    """Derive the package's coverage from its data so that upgrading the package extends it."""
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return range(min(years), max(years) + 1)


OFFICIAL_YEARS: range = _official_years()


# --------------------------------------------------------------------------------------------------
# Year arrangement files
# --------------------------------------------------------------------------------------------------


def _as_date(value: object) -> dt.date:
    """Accept only real dates or strict ISO strings.

    Pydantic's lax mode would read an integer such as ``20270101`` as a Unix timestamp and a datetime
    as its date; in a holiday file either is a typo, and a typo must be refused, not reinterpreted.
    """
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} has a time of day; write a plain date YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid date: {exc}") from None
    raise ValueError(f"{value!r} is not a date; write YYYY-MM-DD")


class HolidayRange(BaseModel):
    """An inclusive span of holidays, because notices state holidays as "2月15日至23日放假"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date

    @field_validator("start", "end", mode="before")
    @classmethod
    def _strict_date(cls, value: object) -> dt.date:
        return _as_date(value)

    @model_validator(mode="after")
    def _ordered(self) -> HolidayRange:
        if self.end < self.start:
            raise ValueError(f"range end {self.end} is before its start {self.start}")
        return self

    def dates(self) -> list[dt.date]:
        n = (self.end - self.start).days
        return [self.start + dt.timedelta(days=i) for i in range(n + 1)]


def _holiday_item(index: int, value: object) -> dt.date | HolidayRange:
    """Normalise one ``holidays`` entry, so that errors can say which entry is wrong."""
    try:
        if isinstance(value, str) and ".." in value:
            start, _, end = value.partition("..")
            return HolidayRange(start=_as_date(start), end=_as_date(end))
        if isinstance(value, dict):
            return HolidayRange.model_validate(value)
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"a range needs exactly two dates [start, end], got {len(value)}")
            return HolidayRange(start=_as_date(value[0]), end=_as_date(value[1]))
        if isinstance(value, HolidayRange):
            return value
        return _as_date(value)
    except ValidationError as exc:
        detail = "; ".join(_format_pydantic_error(e, with_loc=True) for e in exc.errors())
        raise ValueError(f"item {index}: {detail}") from None
    except ValueError as exc:
        raise ValueError(f"item {index}: {exc}") from None


class YearArrangement(BaseModel):
    """One year's holiday arrangement as published by the State Council.

    Validation is strict because a wrong file silently shifts every deadline of the year: dates must
    lie in ``year``; a make-up working day (调休上班) must be a Saturday or Sunday, since a weekday is a
    working day anyway and listing one is a sign of a copying mistake; a day cannot be both.
    Holidays may fall on any day, because notices list whole spans including weekends.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(strict=True, ge=1949, le=2199)
    source: str = Field(min_length=1, description="Title/number of the notice, e.g. 国务院办公厅关于…的通知")
    holidays: list[dt.date | HolidayRange] = Field(min_length=1)
    makeup_workdays: list[dt.date]

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the State Council notice the data was copied from")
        return value.strip()

    @field_validator("holidays", mode="before")
    @classmethod
    def _normalise_holidays(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        return [_holiday_item(i, item) for i, item in enumerate(value)]

    @field_validator("makeup_workdays", mode="before")
    @classmethod
    def _normalise_makeup(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_as_date(item))
            except ValueError as exc:
                raise ValueError(f"item {i}: {exc}") from None
        return out

    @field_validator("holidays")
    @classmethod
    def _holidays_in_year(
        cls, value: list[dt.date | HolidayRange], info: ValidationInfo
    ) -> list[dt.date | HolidayRange]:
        year = info.data.get("year")
        if year is None:
            return value
        for i, item in enumerate(value):
            for d in (item.start, item.end) if isinstance(item, HolidayRange) else (item,):
                if d.year != year:
                    raise ValueError(f"item {i}: {d} is outside year {year}")
        return value

    @field_validator("makeup_workdays")
    @classmethod
    def _makeup_valid(cls, value: list[dt.date], info: ValidationInfo) -> list[dt.date]:
        year = info.data.get("year")
        seen: set[dt.date] = set()
        holidays = info.data.get("holidays")
        holiday_set = _expand(holidays) if holidays is not None else frozenset()
        for i, d in enumerate(value):
            if year is not None and d.year != year:
                raise ValueError(f"item {i}: {d} is outside year {year}")
            if d.weekday() < 5:
                raise ValueError(
                    f"item {i}: {d} is a {_WEEKDAY_NAMES[d.weekday()]}; make-up working days must be "
                    "a Saturday or Sunday"
                )
            if d in seen:
                raise ValueError(f"item {i}: {d} is listed twice")
            if d in holiday_set:
                raise ValueError(f"item {i}: {d} is also listed in holidays; a day cannot be both")
            seen.add(d)
        return value

    def holiday_dates(self) -> frozenset[dt.date]:
        return _expand(self.holidays)

    def makeup_dates(self) -> frozenset[dt.date]:
        return frozenset(self.makeup_workdays)


def _expand(items: Iterable[dt.date | HolidayRange]) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for item in items:
        if isinstance(item, HolidayRange):
            out.update(item.dates())
        else:
            out.add(item)
    return frozenset(out)


class ArrangementError(ValueError):
    """A holiday file was refused; the message names the file and the offending field."""

    def __init__(self, path: Path | str, problems: Sequence[tuple[str, str]]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        lines = [f"{self.path}: field '{field}': {message}" for field, message in self.problems]
        super().__init__("invalid holiday arrangement file\n  " + "\n  ".join(lines))


def _format_pydantic_error(err: Any, *, with_loc: bool = False) -> str:
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if with_loc and err.get("loc"):
        return f"{_field_name(err['loc'])}: {msg}"
    return msg


def _field_name(loc: Sequence[Any]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "<file>"


def parse_arrangement(data: object, path: Path | str = "<memory>") -> YearArrangement:
    """Validate already-parsed YAML, reporting errors in the file's own vocabulary."""
    if not isinstance(data, dict):
        raise ArrangementError(path, [("<file>", "expected a mapping with year, source, holidays, makeup_workdays")])
    try:
        return YearArrangement.model_validate(data)
    except ValidationError as exc:
        raise ArrangementError(
            path, [(_field_name(e["loc"]), _format_pydantic_error(e)) for e in exc.errors()]
        ) from None


def load_arrangement(path: str | os.PathLike[str]) -> YearArrangement:
    """Read and validate one ``YYYY.yaml`` file.

    The file name must agree with the ``year`` field because the directory scan trusts the name: a
    2028 notice saved as ``2027.yaml`` would otherwise hide that 2027 is still unknown.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArrangementError(p, [("<file>", f"cannot read: {exc}")]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ArrangementError(p, [("<yaml>", f"not valid YAML: {exc}")]) from None
    arr = parse_arrangement(data, p)
    m = re.fullmatch(r"\d{4}", p.stem)
    if m and int(p.stem) != arr.year:
        raise ArrangementError(p, [("year", f"is {arr.year} but the file is named {p.name}")])
    return arr


def _dump(arr: YearArrangement) -> str:
    holidays: list[Any] = [
        {"start": h.start, "end": h.end} if isinstance(h, HolidayRange) else h for h in arr.holidays
    ]
    doc = {
        "year": arr.year,
        "source": arr.source,
        "holidays": holidays,
        "makeup_workdays": list(arr.makeup_workdays),
    }
    header = f"# Holiday arrangement for {arr.year}. Format: see scheduler/holidays/README.md\n"
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None)


def save_arrangement(
    arr: YearArrangement,
    directory: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``<directory>/<year>.yaml`` for the admin "add a year" command.

    Refuses to replace an existing year unless ``overwrite`` is set, because replacing a year changes
    deadlines already shown to applicants and should be a deliberate act. The write is atomic (temp
    file + rename) so a running calendar never reads half a file, and the result is read back so a
    file that could not be loaded is never left behind. Call ``WorkCalendar.reload()`` afterwards.
    """
    target_dir = Path(directory) if directory is not None else default_data_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{arr.year}.yaml"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{arr.year}.", suffix=".tmp", dir=target_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_dump(arr))
        check = load_arrangement(tmp)  # the temp name is not YYYY.yaml, so no name check applies
        if check != arr:
            raise ArrangementError(target, [("<file>", "written file does not read back identically")])
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def default_data_dir() -> Path:
    """``$HOLIDAY_DATA_DIR`` if set, else the ``holidays`` folder next to this module.

    Deployments should set the variable to a persistent, writable volume: the package folder is
    replaced on every upgrade, which would silently drop years added by an administrator.
    """
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "holidays"


def _scan(directory: Path, *, required: bool) -> dict[int, YearArrangement]:
    """Load every year file; any malformed or misnamed file aborts the whole load.

    All-or-nothing because a half-loaded directory would make some years quietly provisional.
    """
    if not directory.exists():
        if required:
            raise FileNotFoundError(f"holiday data directory {directory} does not exist")
        return {}
    if not directory.is_dir():
        raise NotADirectoryError(f"holiday data directory {directory} is not a directory")
    out: dict[int, YearArrangement] = {}
    for p in sorted(directory.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in (".yaml", ".yml"):
            continue
        if not _YEAR_FILE.match(p.name):
            raise ArrangementError(p, [("<file name>", "year files must be named YYYY.yaml, e.g. 2027.yaml")])
        arr = load_arrangement(p)
        out[arr.year] = arr
    return out


# --------------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A computed deadline.

    ``provisional`` is True when a counted day fell in a year with no arrangement, so the date may
    move once the State Council publishes that year; ``unknown_years`` says which years to add.
    """

    date: dt.date
    provisional: bool = False
    unknown_years: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _YearTable:
    """Precomputed year: flags per day-of-year, working-day ordinals, and prefix counts.

    Prefix counts turn "n-th working day after" and "working days between" into index look-ups, so
    the hot path never iterates days or calls into chinese-calendar.
    """

    year: int
    status: YearStatus
    first: int  # ordinal of 1 January
    flags: bytes  # 1 = working day, indexed by ordinal - first
    workdays: tuple[int, ...]  # ordinals of working days, ascending
    cum: tuple[int, ...]  # cum[i] = working days among the first i days of the year

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"


def _check_date(value: object, name: str) -> int:
    # datetime is a date subclass; its "date" depends on a time zone we cannot know here.
    if type(value) is not dt.date:
        raise TypeError(f"{name} must be a datetime.date (Asia/Shanghai local date), got {type(value).__name__}")
    return value.toordinal()


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


class WorkCalendar:
    """Working-day calendar: chinese-calendar data, plus admin year files, plus flagged guesses.

    Precedence: **an admin file for a year wins over the package's data for that year.** Chinese
    holiday arrangements have been changed after publication (e.g. the 2020 Spring Festival extension
    was announced days before it took effect) and a package release may lag or contain a mistake; a
    file is a deliberate, reviewable act by an administrator and is the only way to correct the
    calendar without a deployment. So that a stale file does not linger unnoticed after the package
    catches up, every file overriding a year the package knows is logged, with a warning if the two
    disagree, and ``year_status`` reports such a year as "admin".

    Instances are thread-safe: tables are built under a lock and ``reload`` swaps state atomically.
    """

    def __init__(self, extra_dir: str | os.PathLike[str] | None = None) -> None:
        explicit = extra_dir is not None or bool(os.environ.get(ENV_DATA_DIR))
        self._dir = Path(extra_dir) if extra_dir is not None else default_data_dir()
        # A configured directory that is missing is a deployment error worth stopping for; the
        # default folder may legitimately be absent from an installed wheel.
        self._dir_required = explicit
        self._lock = threading.RLock()
        self._arrangements: dict[int, YearArrangement] = {}
        self._tables: dict[int, _YearTable] = {}
        self._unknown_seen: set[int] = set()
        self.reload()

    # -- configuration ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._dir

    def reload(self) -> None:
        """Re-read the data directory after an admin added or changed a year.

        Raises ``ArrangementError`` on a bad file and keeps the previous state, so a typo made while
        the bot runs cannot blank out a year that was working a moment ago.
        """
        arrangements = _scan(self._dir, required=self._dir_required)
        for year, arr in arrangements.items():
            if year in OFFICIAL_YEARS:
                diff = self._diff_with_package(arr)
                if diff:
                    logger.warning(
                        "holiday file %s/%d.yaml overrides chinese-calendar for %d and differs on %d day(s), "
                        "first %s; remove the file if the package is now correct",
                        self._dir, year, year, len(diff), min(diff),
                    )
                else:
                    logger.info("holiday file %s/%d.yaml overrides chinese-calendar for %d (identical)",
                                self._dir, year, year)
        with self._lock:
            self._arrangements = arrangements
            self._tables = {}
            self._unknown_seen = {y for y in self._unknown_seen if self.year_status(y) == "provisional"}
        if arrangements:
            logger.info("loaded holiday files for %s from %s", sorted(arrangements), self._dir)

    @staticmethod
    def _diff_with_package(arr: YearArrangement) -> list[dt.date]:
        hol, mk = arr.holiday_dates(), arr.makeup_dates()
        start = dt.date(arr.year, 1, 1)
        days = 366 if _stdcalendar.isleap(arr.year) else 365
        out = []
        for i in range(days):
            d = start + dt.timedelta(days=i)
            mine = d in mk or (d.weekday() < 5 and d not in hol)
            if mine != chinese_calendar.is_workday(d):
                out.append(d)
        return out

    def year_status(self, year: int) -> YearStatus:
        """Where the year's arrangement comes from; has no side effects (unlike counting)."""
        if year in self._arrangements:
            return "admin"
        if year in OFFICIAL_YEARS:
            return "official"
        return "provisional"

    def unknown_years_seen(self) -> tuple[int, ...]:
        """Years without an arrangement that a computation has used since start (or the last reload
        that still could not resolve them): the app alerts admins once per year from this."""
        with self._lock:
            return tuple(sorted(self._unknown_seen))

    # -- tables ----------------------------------------------------------------------------------

    def _table(self, year: int) -> _YearTable:
        t = self._tables.get(year)
        if t is not None:
            return t
        with self._lock:
            t = self._tables.get(year)
            if t is None:
                t = self._build(year)
                self._tables[year] = t
            return t

    def _build(self, year: int) -> _YearTable:
        status = self.year_status(year)
        first_day = dt.date(year, 1, 1)
        first = first_day.toordinal()
        ndays = 366 if _stdcalendar.isleap(year) else 365
        days = [first_day + dt.timedelta(days=i) for i in range(ndays)]
        if status == "admin":
            arr = self._arrangements[year]
            hol, mk = arr.holiday_dates(), arr.makeup_dates()
            flags = [d in mk or (d.weekday() < 5 and d not in hol) for d in days]
        elif status == "official":
            flags = [chinese_calendar.is_workday(d) for d in days]
        else:
            flags = [d.weekday() < 5 for d in days]
        cum = [0]
        for f in flags:
            cum.append(cum[-1] + f)
        workdays = tuple(first + i for i, f in enumerate(flags) if f)
        return _YearTable(year, status, first, bytes(flags), workdays, tuple(cum))

    def _note_unknown(self, years: Iterable[int]) -> None:
        for y in years:
            if y in self._unknown_seen:
                continue
            with self._lock:
                if y in self._unknown_seen:
                    continue
                self._unknown_seen.add(y)
            logger.warning(
                "no holiday arrangement for %d: only weekends are treated as rest days and deadlines "
                "touching %d are PROVISIONAL; add %d.yaml to %s once the State Council notice is out",
                y, y, y, self._dir,
            )

    def _unknown_in(self, after_ord: int, through_ord: int) -> tuple[int, ...]:
        """Unknown years among the days (after_ord, through_ord] — the days a count looked at."""
        if through_ord <= after_ord:
            return ()
        y0 = dt.date.fromordinal(after_ord + 1).year
        y1 = dt.date.fromordinal(through_ord).year
        unknown = tuple(y for y in range(y0, y1 + 1) if self._table(y).provisional)
        if unknown:
            self._note_unknown(unknown)
        return unknown

    def _nth_after(self, start_ord: int, n: int) -> int:
        """Ordinal of the n-th working day strictly after start_ord (n >= 1)."""
        year = dt.date.fromordinal(start_ord).year
        t = self._table(year)
        done = t.cum[start_ord - t.first + 1]  # working days on or before the start, this year
        remaining = n
        while True:
            avail = len(t.workdays) - done
            if remaining <= avail:
                return t.workdays[done + remaining - 1]
            remaining -= avail
            year += 1
            t = self._table(year)
            done = 0

    def _count(self, after_ord: int, through_ord: int) -> int:
        """Working days in (after_ord, through_ord]; 0 if the span is empty."""
        if through_ord <= after_ord:
            return 0
        lo_ord, hi_ord = after_ord + 1, through_ord
        total = 0
        for y in range(dt.date.fromordinal(lo_ord).year, dt.date.fromordinal(hi_ord).year + 1):
            t = self._table(y)
            lo = max(lo_ord, t.first) - t.first
            hi = min(hi_ord, t.first + len(t.flags) - 1) - t.first
            total += t.cum[hi + 1] - t.cum[lo]
        return total

    # -- public queries --------------------------------------------------------------------------

    def is_workday(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day; a guess for unknown years is recorded, never silent."""
        o = _check_date(d, "d")
        t = self._table(d.year)
        if t.provisional:
            self._note_unknown((d.year,))
        return bool(t.flags[o - t.first])

    def add_working_days(self, start: dt.date, n: int) -> Due:
        """The n-th working day after ``start``; ``start`` itself never counts, even if it is a working day.

        This is deliberately not ``chinese_calendar.find_workday(n, start)``: that treats ``start`` as
        the 0-th working day when it is one and otherwise counts the next working day as the 0-th, so
        it is one day late whenever the event happens on a rest day (find_workday(10, 2026-09-25)
        gives 10-16; the statutory answer is 10-15). ``n == 0`` returns ``start``.
        """
        s = _check_date(start, "start")
        if _check_n(n) == 0:
            return Due(start)
        o = self._nth_after(s, n)
        unknown = self._unknown_in(s, o)
        return Due(dt.date.fromordinal(o), bool(unknown), unknown)

    def add_calendar_days(self, start: dt.date, n: int, *, roll_to_workday: bool = False) -> Due:
        """``start + n`` days, for limits stated in 日/天.

        Without ``roll_to_workday`` the result does not depend on any holiday arrangement, so it is
        never provisional even in unknown years. ``roll_to_workday=True`` applies the rule found in
        procedural law (e.g. 民事诉讼法 第八十五条: a period whose last day is a 法定休假日 ends on the
        first day after it) by moving the date to the next working day; then holiday data matters and
        the result is provisional if an unknown year was consulted.
        """
        s = _check_date(start, "start")
        o = s + _check_n(n)
        if not roll_to_workday:
            return Due(dt.date.fromordinal(o))
        first = o
        while True:
            t = self._table(dt.date.fromordinal(o).year)
            if t.flags[o - t.first]:
                break
            o += 1
        unknown = self._unknown_in(first - 1, o)
        return Due(dt.date.fromordinal(o), bool(unknown), unknown)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end] — "working days left" when start is today and end the due date.

        If ``end`` is before ``start`` the result is minus the working days in (end, start], so an
        overdue deadline reads as negative rather than as zero days left. Days in unknown years are
        counted as weekdays and recorded in ``unknown_years_seen``.
        """
        a = _check_date(start, "start")
        b = _check_date(end, "end")
        if b >= a:
            self._unknown_in(a, b)
            return self._count(a, b)
        self._unknown_in(b, a)
        return -self._count(b, a)

    def add_working_days_with_pauses(
        self,
        start: dt.date,
        n: int,
        pauses: Sequence[tuple[dt.date, dt.date | None]],
    ) -> Due | None:
        """The n-th working day after ``start`` with the clock stopped during pauses (e.g. 补正材料,
        专家评审 time that "不计入期限").

        Convention, mirroring the rule that an event's own day is not counted: a pause
        ``(p_start, p_end)`` is triggered by an event on ``p_start``, so ``p_start`` itself still
        counts (if it is a working day); the days ``p_start + 1 .. p_end`` inclusive are not
        counted; counting resumes on ``p_end + 1``. ``p_end == p_start`` pauses nothing. Overlapping
        pauses are merged; a pause beginning before ``start`` only matters for the days after
        ``start`` it covers.

        An open pause ``(p_start, None)`` makes the due date unknown and returns ``None`` — unless
        the deadline is reached on or before ``p_start``, in which case the pause came too late to
        stop the clock and the (already reached) due date is returned.

        Example (no holidays in the span): start 2026-03-02 (Mon), n = 10, pause
        (2026-03-04, 2026-03-10): 03-03 = 1, 03-04 = 2 (the pause day counts), 03-05..03-10 are
        paused, 03-11 = 3, 03-12 = 4, 03-13 = 5, 03-16 = 6 … 03-20 = 10 → 2026-03-20 (without the
        pause: 2026-03-16).
        """
        s = _check_date(start, "start")
        _check_n(n)
        closed: list[tuple[int, int]] = []  # excluded ordinals, inclusive
        open_starts: list[int] = []
        for i, pause in enumerate(pauses):
            try:
                p_start, p_end = pause
            except (TypeError, ValueError):
                raise TypeError(f"pauses[{i}] must be a (start, end-or-None) pair") from None
            ps = _check_date(p_start, f"pauses[{i}] start")
            if p_end is None:
                open_starts.append(ps)
                continue
            pe = _check_date(p_end, f"pauses[{i}] end")
            if pe < ps:
                raise ValueError(f"pauses[{i}] ends ({p_end}) before it starts ({p_start})")
            if pe > ps:
                closed.append((ps + 1, pe))
        if n == 0:
            return Due(start)
        # Sorted by start, overlapping or adjacent spans need no merging: a span that begins at or
        # before the resume point just pushes the resume point further.
        closed.sort()
        cur, remaining = s, n
        unknown: set[int] = set()
        for a, b in closed:
            if b <= cur:
                continue
            if a <= cur + 1:
                cur = b
                continue
            avail = self._count(cur, a - 1)
            if avail >= remaining:
                break
            remaining -= avail
            unknown.update(self._unknown_in(cur, a - 1))
            cur = b
        due = self._nth_after(cur, remaining)
        if any(p < due for p in open_starts):
            return None
        unknown.update(self._unknown_in(cur, due))
        years = tuple(sorted(unknown))
        return Due(dt.date.fromordinal(due), bool(years), years)
