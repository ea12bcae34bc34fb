"""The holiday-arrangement file: one ``YYYY.yaml`` per year, copied by an administrator from the State
Council's notice (国务院办公厅关于 YYYY 年部分节假日安排的通知) when a year is published before the
``chinese-calendar`` package knows it.

This module only reads, validates, writes and scans those files; the working-day arithmetic that
uses them is ``scheduler.calendar``. Format and rules: ``scheduler/holidays/README.md``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

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
    "HolidayRange",
    "YearArrangement",
    "default_data_dir",
    "load_arrangement",
    "parse_arrangement",
    "save_arrangement",
    "scan_directory",
]

ENV_DATA_DIR = "HOLIDAY_DATA_DIR"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR_FILE = re.compile(r"^(\d{4})\.yaml$")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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


def scan_directory(directory: Path, *, required: bool) -> dict[int, YearArrangement]:
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
