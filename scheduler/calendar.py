"""Working-day arithmetic for Chinese statutory time limits.

Statutes count "工作日" under the State Council's yearly holiday arrangement, which moves working
days onto weekends (调休) and holidays onto weekdays, and is published only a few weeks before each
year starts. Three sources therefore exist for a year:

* the ``chinese-calendar`` package ("official"), which ships the published arrangements;
* a YAML file an administrator adds once the State Council notice appears ("admin"; the file format
  is ``scheduler.holiday_file``), so a new year does not wait for a package release;
* neither ("provisional"): Saturdays, Sundays and the statutory holidays that the law itself fixes
  (``scheduler.statutory``: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 and their 补假) are rest days;
  only the 调休 is unknown. Every result touching such a year is flagged, logged and remembered so
  that nobody mistakes it for a statutory deadline, and becomes exact when the year is loaded.

Counting follows the statutory convention (民法典 第二百零一条): the day of the starting event is not
counted; the first counted day is the day after. A period counted in calendar days whose last day is a
rest day ends on the first working day after it (民法典 第二百零三条); a make-up working day (调休上班)
is a working day, so a period ending on one is not moved. All dates are Asia/Shanghai local
``datetime.date`` values; converting a timestamp to a local date is the caller's job because only the
caller knows the event's time zone.
"""

from __future__ import annotations

import calendar as _stdcalendar
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import chinese_calendar

from scheduler.holiday_file import ENV_DATA_DIR, YearArrangement, default_data_dir, scan_directory
from scheduler.statutory import FIRST_YEAR as STATUTE_FIRST_YEAR
from scheduler.statutory import statutory_rest_days

__all__ = ["OFFICIAL_YEARS", "Due", "Pause", "WorkCalendar", "YearStatus"]

logger = logging.getLogger(__name__)

YearStatus = Literal["official", "admin", "provisional"]
Pause = tuple[dt.date, dt.date | None]


def _official_years() -> range:
    """Derive the package's coverage from its data so that upgrading the package extends it."""
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return range(min(years), max(years) + 1)


OFFICIAL_YEARS: range = _official_years()


@dataclass(frozen=True, slots=True)
class Due:
    """A computed deadline.

    ``provisional`` is True when a counted day fell in a year with no arrangement, so the date may
    move once the State Council publishes that year; ``unknown_years`` says which years to add.
    ``rolled_from`` is set when a calendar-day period's last day was a rest day and the period was
    extended to the first working day after it (民法典 第二百零三条): it is that last day, so a screen
    can say "期末逢休息日顺延" and from which day.
    """

    date: dt.date
    provisional: bool = False
    unknown_years: tuple[int, ...] = ()
    rolled_from: dt.date | None = None

    @property
    def rolled(self) -> bool:
        return self.rolled_from is not None


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


def _parse_pauses(pauses: Sequence[Pause]) -> tuple[list[tuple[int, int]], list[int]]:
    """Closed pauses as sorted spans of excluded ordinals (inclusive), and the starts of open ones.

    Sorted by start, overlapping or adjacent spans need no merging by the callers: a span that begins
    at or before the resume point just pushes the resume point further.
    """
    closed: list[tuple[int, int]] = []
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
    return sorted(closed), open_starts


class WorkCalendar:
    """Working-day calendar: chinese-calendar data, plus admin year files, plus flagged provisional years.

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
        arrangements = scan_directory(self._dir, required=self._dir_required)
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
            rest = statutory_rest_days(year) if year >= STATUTE_FIRST_YEAR else frozenset()
            flags = [d.weekday() < 5 and d not in rest for d in days]
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
                "no holiday arrangement for %d: weekends and the statutory holidays of the 放假办法 are "
                "treated as rest days (the 调休 is unknown) and deadlines touching %d are PROVISIONAL; "
                "add %d.yaml to %s once the State Council notice is out",
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

    def add_calendar_days(self, start: dt.date, n: int) -> Due:
        """The last day of a period of ``n`` 日 after ``start``, moved per 民法典 第二百零三条.

        The day after ``start`` is the first day (第二百零一条), so the period ends on ``start + n``;
        if that day is a rest day (a weekend or a holiday under the arrangement; a make-up working
        day is not one), the period ends on the first working day after it and ``rolled_from`` says
        which day it would have been. Every calendar-day limit of the policies is of this kind, so
        there is no switch to turn the rule off. Only the roll consults holiday data: the result is
        provisional when the natural last day, or a day the roll crossed, is in an unknown year.
        ``n == 0`` returns ``start`` (a period of no days has no last day to move).
        """
        s = _check_date(start, "start")
        if _check_n(n) == 0:
            return Due(start)
        return self._roll(s + n)

    def add_calendar_days_with_pauses(self, start: dt.date, n: int, pauses: Sequence[Pause]) -> Due | None:
        """``add_calendar_days`` with the clock stopped during pauses, by the convention of
        ``add_working_days_with_pauses`` (the pause's own day counts, ``p_start + 1 .. p_end`` do
        not; overlapping pauses are merged); the last day is then moved per 第二百零三条. An open
        pause makes the due date unknown (``None``) unless the period ended before it began.
        """
        s = _check_date(start, "start")
        _check_n(n)
        closed, open_starts = _parse_pauses(pauses)
        if n == 0:
            return Due(start)
        cur, remaining = s, n
        for a, b in closed:
            if b <= cur:
                continue
            if a <= cur + 1:
                cur = b
                continue
            avail = (a - 1) - cur
            if avail >= remaining:
                break
            remaining -= avail
            cur = b
        due = self._roll(cur + remaining)
        if any(p < due.date.toordinal() for p in open_starts):
            return None
        return due

    def _roll(self, last_ord: int) -> Due:
        """第二百零三条: a period whose last day is a rest day ends on the first working day after it."""
        o = last_ord
        while True:
            t = self._table(dt.date.fromordinal(o).year)
            if t.flags[o - t.first]:
                break
            o += 1
        unknown = self._unknown_in(last_ord - 1, o)
        rolled_from = dt.date.fromordinal(last_ord) if o != last_ord else None
        return Due(dt.date.fromordinal(o), bool(unknown), unknown, rolled_from)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end] — "working days left" when start is today and end the due date.

        If ``end`` is before ``start`` the result is minus the working days in (end, start], so an
        overdue deadline reads as negative rather than as zero days left. Days in unknown years are
        counted as the provisional table says (weekends and statutory holidays off) and the years are
        recorded in ``unknown_years_seen``.
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
        pauses: Sequence[Pause],
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
        closed, open_starts = _parse_pauses(pauses)
        if n == 0:
            return Due(start)
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
