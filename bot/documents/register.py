"""The case register as an .xlsx workbook: sheets of rows in, bytes out (openpyxl).

Why a builder that knows nothing of cases: the register's content (which cases, which dates, what
counts as met) is decided by bot/register_flow.py from the database; this module only makes a
workbook people can work with — real Excel dates (so they sort and filter as dates), a frozen,
filterable header row, column widths that fit Chinese and Latin text, percentages as percentages —
and it can be tested on plain rows without a database.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
MAX_WIDTH = 48
MIN_WIDTH = 6
HEADER_MAX_WIDTH = 24  # long headers wrap rather than widen a column of short dates
LINE_HEIGHT = 15  # points per line of 11-point text
FORBIDDEN_IN_TITLE = set('[]:*?/\\')

Kind = Literal["text", "date", "number", "percent"]
FORMATS = {"date": DATE_FORMAT, "percent": PERCENT_FORMAT}


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Cell:
    """A value formatted unlike the rest of its column (a share among counts)."""

    value: Any
    kind: Kind


@dataclass
class Sheet:
    """One worksheet: a header row, then one row per record; `notes` go below, after a blank row
    (outside the filter range), for totals and explanations."""

    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[list[Any]] = field(default_factory=list)


def display_width(value: Any) -> int:
    """Columns are measured in Latin characters; a CJK character takes two."""
    if isinstance(value, Cell):
        return len("100.0%") if value.kind == "percent" else display_width(value.value)
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    longest = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in longest)


def sheet_title(title: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    clean = "".join("_" if ch in FORBIDDEN_IN_TITLE else ch for ch in title).strip("'") or "Sheet"
    base = clean[:31]
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.casefold())
    return name


def register_xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    for spec in sheets:
        ws = workbook.create_sheet(sheet_title(spec.title, taken))
        ws.append([c.header for c in spec.columns])
        for cell in ws[1]:
            cell.font, cell.fill, cell.alignment = bold, fill, wrap
        for row in spec.rows:
            _append(ws, [_cell_value(v.value if isinstance(v, Cell) else v) for v in row], len(spec.columns))
            for cell, value, column in zip(ws[ws.max_row], row, spec.columns, strict=True):
                fmt = FORMATS.get(value.kind if isinstance(value, Cell) else column.kind)
                if fmt is not None:
                    cell.number_format = fmt
        if spec.notes:
            ws.append([])
            for note in spec.notes:
                _append(ws, [_cell_value(v) for v in note], len(note))
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, dt.date):
                        cell.number_format = DATE_FORMAT
        header_lines = 1
        for i, column in enumerate(spec.columns, start=1):
            body = max((display_width(r[i - 1]) for r in spec.rows), default=0)
            head = min(display_width(column.header), HEADER_MAX_WIDTH)
            width = max(MIN_WIDTH, min(MAX_WIDTH, max(body, head) + 2))
            ws.column_dimensions[get_column_letter(i)].width = width
            header_lines = max(header_lines, math.ceil(display_width(column.header) / (width - 1)))
            if body > MAX_WIDTH:
                for (cell,) in ws.iter_rows(min_row=2, max_row=len(spec.rows) + 1, min_col=i, max_col=i):
                    cell.alignment = wrap
        # spreadsheet programs do not grow a row for wrapped text on opening: give the header its lines
        ws.row_dimensions[1].height = LINE_HEIGHT * min(header_lines, 6)
        ws.freeze_panes = "A2"
        last = get_column_letter(max(1, len(spec.columns)))
        ws.auto_filter.ref = f"A1:{last}{len(spec.rows) + 1}"
        ws.page_setup.orientation = "landscape"
        ws.print_title_rows = "1:1"  # every printed page repeats the header
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _append(ws: Any, values: list[Any], width: int) -> None:
    if len(values) != width:
        raise ValueError(f"row has {len(values)} cells for {width} columns")
    ws.append(values)
    for cell in ws[ws.max_row]:
        # openpyxl takes a string starting with "=" for a formula: what people typed stays text
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _cell_value(value: Any) -> Any:
    """Dates stay dates (a datetime is reduced to its day: the register counts days); the rest is
    a number or text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if value is None or isinstance(value, (dt.date, int, float)):
        return value
    return str(value)
