"""A case's statutory clocks as a picture: one row per time limit, from its start to its due date, with
paused spans hatched, today's line, and what is overdue in red.

A list of dates in a chat is hard to take in; a picture shows at once which step is running, which is
late and how long an evaluation has held a clock. The clocks are computed by scheduler.clocks from the
case's events, never stored, so the picture is always that of the event log as it stands.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bot.i18n import t
from dialogs.policy import Policy
from scheduler.calendar import WorkCalendar
from scheduler.clocks import Clock, ClockEvent, clocks_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.font_manager import FontProperties

COLOURS = {"running": "#2f6db5", "overdue": "#c62828", "stopped": "#6b9e78", "paused": "#9e9e9e",
           "today": "#ef6c00", "muted": "#757575"}


class HasNumber(Protocol):
    number: str


def _fmt(day: dt.date) -> str:
    return day.isoformat()


def _span(clocks: Sequence[Clock], today: dt.date) -> tuple[dt.date, dt.date]:
    days = [today]
    for c in clocks:
        days += [d for d in (c.started_on, c.stopped_on, c.due.date if c.due else None) if d is not None]
        days += [d for span in c.pauses for d in span if d is not None]
    first, last = min(days), max(days)
    if (last - first).days < 14:
        last = first + dt.timedelta(days=14)
    margin = dt.timedelta(days=max(2, (last - first).days // 12))
    return first - margin, last + margin


def timeline_png(case: HasNumber, events: list[ClockEvent], policy: Policy, calendar: WorkCalendar,
                 today: dt.date, lang: str) -> bytes:
    """The PNG of `case`'s clocks under `policy` as of `today`, labelled in `lang` ("zh" or "en").

    Officers' /case and the researcher's /timeline both call this. Without a CJK font (Debian's
    fonts-noto-cjk) Chinese would be drawn as boxes, so the picture falls back to English labels and
    says why in its footer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    from bot.documents.fonts import cjk_font_path

    font_path = cjk_font_path()
    note = None
    if font_path is None and lang != "en":
        lang, note = "en", t("doc.tl.no_font", "en")
    font = FontProperties(fname=str(font_path)) if font_path else FontProperties()

    clocks = clocks_for(policy, events, calendar, today)
    rows = len(clocks) or 1
    fig = Figure(figsize=(11, 1.6 + 0.75 * rows), dpi=110)
    ax = fig.add_subplot()
    lo, hi = _span(clocks, today)
    wrap = 30 if lang == "en" else 16
    labels: list[str] = []
    for y, clock in enumerate(clocks):
        labels.append("\n".join(textwrap.wrap(clock.limit.label.get(lang), wrap)) + f"\n[{clock.limit.clause}]")
        _draw_clock(ax, y, clock, today, lang, font)
    ax.axvline(today, color=COLOURS["today"], linestyle="--", linewidth=1.5, zorder=3)
    ax.text(today, -0.62, t("doc.tl.today", lang, date=_fmt(today)), color=COLOURS["today"],
            fontproperties=font, fontsize=9, ha="center", va="center",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_yticks(range(len(clocks)), labels, fontproperties=font, fontsize=9)
    ax.set_ylim(rows - 0.4, -0.9)
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=12))
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    title = t("doc.tl.title", lang, number=case.number, policy=policy.short_name.get(lang))
    ax.set_title(title, fontproperties=font, fontsize=13, loc="left")
    legend = [Patch(color=COLOURS[k], label=t(f"doc.tl.legend.{k}", lang)) for k in ("running", "overdue", "stopped")]
    legend.append(Patch(facecolor="white", edgecolor=COLOURS["paused"], hatch="////",
                        label=t("doc.tl.legend.paused", lang)))
    ax.legend(handles=legend, prop=font, fontsize=8, loc="upper right", bbox_to_anchor=(1.0, -0.08), ncol=4,
              frameon=False)
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color=COLOURS["overdue"])
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _draw_clock(ax: Axes, y: int, clock: Clock, today: dt.date, lang: str, font: FontProperties) -> None:
    """One row. Bars run from the starting event to the due date (or to the stop); the part past the
    due date of a clock still running is red, and so is the due marker."""
    kw: dict[str, Any] = {"fontproperties": font, "fontsize": 8.5, "va": "center"}
    if clock.started_on is None:
        ax.text(ax.get_xlim()[0], y, "  " + t("doc.tl.not_started", lang), color=COLOURS["muted"], **kw)
        return
    start = clock.started_on
    if clock.due is None:  # unset length, or a calendar-day clock paused with no end yet
        end = clock.stopped_on or today
        ax.barh(y, (end - start).days or 0.5, left=start, height=0.42, color=COLOURS["paused"], alpha=0.6)
        key = "doc.tl.unset" if clock.status == "unset" else "doc.tl.paused"
        ax.text(end, y, "  " + t(key, lang), color=COLOURS["muted"], **kw)
        _pauses(ax, y, clock, today)
        return
    due = clock.due.date
    provisional = t("doc.tl.provisional", lang) if clock.provisional else ""
    if clock.status == "stopped" and clock.stopped_on is not None:
        late = clock.stopped_on > due
        ax.barh(y, max((clock.stopped_on - start).days, 0.5), left=start, height=0.42,
                color=COLOURS["overdue" if late else "stopped"])
        ax.plot([due], [y], marker="|", markersize=14, color=COLOURS["muted"])
        ax.text(max(clock.stopped_on, due), y, "  " + t("doc.tl.stopped", lang, date=_fmt(clock.stopped_on)),
                color=COLOURS["muted"], **kw)
        _pauses(ax, y, clock, today)
        return
    ax.barh(y, max((due - start).days, 0.5), left=start, height=0.42, color=COLOURS["running"])
    if clock.overdue:
        ax.barh(y, (today - due).days, left=due, height=0.42, color=COLOURS["overdue"])
        text, colour = t("doc.tl.overdue", lang, date=_fmt(due)), COLOURS["overdue"]
    else:
        text, colour = t("doc.tl.due", lang, date=_fmt(due)), COLOURS["running"]
    ax.plot([due], [y], marker="D", markersize=7, color=colour, zorder=4)
    ax.text(max(due, today) if clock.overdue else due, y, "  " + text + provisional, color=colour, **kw)
    _pauses(ax, y, clock, today)


def _pauses(ax: Axes, y: int, clock: Clock, today: dt.date) -> None:
    for begin, end in clock.pauses:
        stop = end or today
        ax.barh(y, max((stop - begin).days, 0.5), left=begin, height=0.6, facecolor="white",
                edgecolor=COLOURS["paused"], hatch="////", alpha=0.9, zorder=2)
