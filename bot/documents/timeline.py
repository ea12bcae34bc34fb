"""A case's statutory clocks as a picture: one row per time limit, from its start to its due date, with
paused spans hatched, today's line, and what is overdue in red.

A list of dates in a chat is hard to take in; a picture shows at once which step is running, which is
late and how long an evaluation has held a clock. The clocks are computed by scheduler.clocks from the
case's events, never stored, so the picture is always that of the event log as it stands.

The layout is measured, not guessed: the left margin is as wide as the widest row label really is, each
row as tall as its label's lines, and every note beside a bar is moved to the other side of its anchor
when it would run out of the plot. matplotlib's tight_layout is not used — it gives up with a warning
("Tight layout not applied") exactly when labels are long, which is when they were being cut off.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.i18n import t
from dialogs.policy import Policy
from scheduler.calendar import WorkCalendar
from scheduler.clocks import Clock, ClockEvent, clocks_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

COLOURS = {"running": "#2f6db5", "overdue": "#c62828", "stopped": "#6b9e78", "paused": "#9e9e9e",
           "today": "#ef6c00", "muted": "#757575"}
WIDTH_IN, DPI = 11.0, 110
LABEL_PT, NOTE_PT = 9.0, 8.5
# Vertical space, in inches: above the plot (title, today's label), under it (dates, legend), per row.
TOP_IN, BOTTOM_IN, ROW_MIN_IN, LINE_IN = 0.7, 0.95, 0.62, 0.19
EDGE_PX = 8  # what is kept free at the figure's edges and inside the plot's frame


class HasNumber(Protocol):
    number: str


@dataclass
class _Note:
    """A text beside a bar: drawn left-aligned after its anchor, flipped to end before it if it would
    leave the plot."""

    text: Text
    anchor: float  # x in data units (matplotlib date numbers)


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


def _date_ticks(lo: dt.date, hi: dt.date, most: int = 11) -> list[float]:
    """Evenly spaced dates. matplotlib's date locators restart their step at each month, which puts
    two ticks a day apart (10-31, 11-01) whose labels run into each other."""
    from matplotlib import dates as mdates

    step = max(1, -(-(hi - lo).days // most))
    first = lo + dt.timedelta(days=1)
    return [float(mdates.date2num(first + dt.timedelta(days=k * step)))
            for k in range((hi - first).days // step + 1)]


def _label(clock: Clock, lang: str) -> str:
    wrap = 30 if lang == "en" else 16
    return "\n".join(textwrap.wrap(clock.limit.label.get(lang), wrap)) + f"\n[{clock.limit.clause}]"


def timeline_png(case: HasNumber, events: list[ClockEvent], policy: Policy, calendar: WorkCalendar,
                 today: dt.date, lang: str) -> bytes:
    """The PNG of `case`'s clocks under `policy` as of `today`, labelled in `lang` ("zh" or "en").

    Officers' /case and the researcher's /timeline both call this."""
    fig = timeline_figure(case, events, policy, calendar, today, lang)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white", dpi=DPI)
    return out.getvalue()


def timeline_figure(case: HasNumber, events: list[ClockEvent], policy: Policy, calendar: WorkCalendar,
                    today: dt.date, lang: str) -> Figure:
    """The laid-out figure behind timeline_png, so tests can measure where every text ended up.

    Without a CJK font (Debian's fonts-noto-cjk) Chinese would be drawn as boxes, so the picture falls
    back to English labels and says why in its footer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator

    from bot.documents.fonts import cjk_font_path

    font_path = cjk_font_path()
    note = None
    if font_path is None and lang != "en":
        lang, note = "en", t("doc.tl.no_font", "en")
    font = FontProperties(fname=str(font_path)) if font_path else FontProperties()

    clocks = clocks_for(policy, events, calendar, today)
    labels = [_label(c, lang) for c in clocks]
    row_heights = [max(ROW_MIN_IN, LINE_IN * (label.count("\n") + 1) + 0.16) for label in labels] or [ROW_MIN_IN]
    rows_in = sum(row_heights)
    height_in = TOP_IN + rows_in + BOTTOM_IN + (0.2 if note else 0)
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = fig.add_axes((0.2, (BOTTOM_IN + (0.2 if note else 0)) / height_in, 0.75, rows_in / height_in))

    lo, hi = _span(clocks, today)
    ax.set_xlim(lo, hi)  # first: the rows below place texts against these limits
    rows = max(len(clocks), 1)
    ax.set_ylim(rows - 0.5, -0.5 - 0.35)  # the extra band at the top carries today's label
    notes: list[_Note] = []
    for y, clock in enumerate(clocks):
        notes += _draw_clock(ax, y, clock, today, lang, font)
    if not clocks:
        ax.text(0.5, 0.5, t("doc.tl.none", lang), transform=ax.transAxes, ha="center", va="center",
                fontproperties=font, fontsize=LABEL_PT + 1, color=COLOURS["muted"])
    ax.axvline(today, color=COLOURS["today"], linestyle="--", linewidth=1.5, zorder=3)
    today_label = ax.text(mdates.date2num(today), -0.5 - 0.17, t("doc.tl.today", lang, date=_fmt(today)),
                          color=COLOURS["today"], fontproperties=font, fontsize=LABEL_PT, ha="center",
                          va="center", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, zorder=5)
    ax.set_yticks(range(len(clocks)), labels, fontproperties=font, fontsize=LABEL_PT)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.xaxis.set_major_locator(FixedLocator(_date_ticks(lo, hi)))
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for tick in ax.get_xticklabels():
        tick.set_fontproperties(font)
        tick.set_fontsize(LABEL_PT)

    fig.text(EDGE_PX / (WIDTH_IN * DPI), 1 - 0.3 / height_in,
             t("doc.tl.title", lang, number=case.number, policy=policy.short_name.get(lang)),
             fontproperties=font, fontsize=13, ha="left", va="center")
    legend = [Patch(color=COLOURS[k], label=t(f"doc.tl.legend.{k}", lang)) for k in ("running", "overdue", "stopped")]
    legend.append(Patch(facecolor="white", edgecolor=COLOURS["paused"], hatch="////",
                        label=t("doc.tl.legend.paused", lang)))
    legend_font = font.copy()
    legend_font.set_size(8)
    fig.legend(handles=legend, prop=legend_font, loc="lower center",
               bbox_to_anchor=(0.5, (0.06 + (0.2 if note else 0)) / height_in), ncol=4, frameon=False)
    if note:
        fig.text(EDGE_PX / (WIDTH_IN * DPI), 0.06 / height_in, note, fontsize=8, color=COLOURS["overdue"])

    _fit_margins(fig, ax, renderer, font)
    for item in [*notes, _Note(today_label, mdates.date2num(today))]:
        _keep_inside(ax, item, renderer)
    return fig


def _fit_margins(fig: Figure, ax: Axes, renderer: RendererBase, font: FontProperties) -> None:
    """Make the plot start just right of its widest row label, and end where a date under its right
    edge (a tick can fall on the limit) still fits in the picture."""
    widths = [label.get_window_extent(renderer).width for label in ax.get_yticklabels() if label.get_text()]
    probe = fig.text(0, 0, "00-00", fontproperties=font, fontsize=LABEL_PT)
    half_date = probe.get_window_extent(renderer).width / 2
    probe.remove()
    fig_px = fig.get_figwidth() * fig.dpi
    pad = ax.yaxis.get_tick_padding() * fig.dpi / 72 + 2 * EDGE_PX
    left = (max(widths, default=0) + pad) / fig_px
    right = 1 - (half_date + 2 * EDGE_PX) / fig_px
    box = ax.get_position()
    ax.set_position((left, box.y0, right - left, box.height))


def _keep_inside(ax: Axes, note: _Note, renderer: RendererBase) -> None:
    """Left-aligned after the anchor if that fits in the plot, else right-aligned before it, else
    pinned to whichever edge it crosses."""
    frame = ax.get_window_extent(renderer)
    text = note.text
    for ha in ("left", "right") if text.get_ha() == "left" else ("center", "left", "right"):
        text.set_ha(ha)
        box = text.get_window_extent(renderer)
        if box.x0 >= frame.x0 + EDGE_PX / 2 and box.x1 <= frame.x1 - EDGE_PX / 2:
            return
    # wider than the room on either side of its anchor: put it against the nearer edge of the plot
    x_left = ax.transData.inverted().transform((frame.x0 + EDGE_PX, 0))[0]
    x_right = ax.transData.inverted().transform((frame.x1 - EDGE_PX, 0))[0]
    if abs(note.anchor - x_left) < abs(note.anchor - x_right):
        text.set_ha("left")
        text.set_x(x_left)
    else:
        text.set_ha("right")
        text.set_x(x_right)


def _draw_clock(ax: Axes, y: int, clock: Clock, today: dt.date, lang: str, font: FontProperties) -> list[_Note]:
    """One row. Bars run from the starting event to the due date (or to the stop); the part past the
    due date of a clock still running is red, and so is the due marker."""
    from matplotlib import dates as mdates
    from matplotlib.transforms import blended_transform_factory

    # on white, because a note flipped back over its own bar would otherwise vanish into it
    kw: dict[str, Any] = {"fontproperties": font, "fontsize": NOTE_PT, "va": "center", "zorder": 6,
                          "bbox": {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.5}}

    def note(at: dt.date, text: str, colour: str) -> _Note:
        return _Note(ax.text(mdates.date2num(at), y, " " + text + " ", color=colour, ha="left", **kw),
                     mdates.date2num(at))

    if clock.started_on is None:
        # inside the plot at its left edge, whatever the dates: a row with no bar still says what it is
        ax.text(0.01, y, t("doc.tl.not_started", lang), color=COLOURS["muted"], ha="left",
                transform=blended_transform_factory(ax.transAxes, ax.transData), **kw)
        return []
    start = clock.started_on
    if clock.due is None:  # unset length, or a calendar-day clock paused with no end yet
        end = clock.stopped_on or today
        ax.barh(y, (end - start).days or 0.5, left=start, height=0.42, color=COLOURS["paused"], alpha=0.6)
        key = "doc.tl.unset" if clock.status == "unset" else "doc.tl.paused"
        _pauses(ax, y, clock, today)
        return [note(end, t(key, lang), COLOURS["muted"])]
    due = clock.due.date
    provisional = t("doc.tl.provisional", lang) if clock.provisional else ""
    if clock.status == "stopped" and clock.stopped_on is not None:
        late = clock.stopped_on > due
        ax.barh(y, max((clock.stopped_on - start).days, 0.5), left=start, height=0.42,
                color=COLOURS["overdue" if late else "stopped"])
        ax.plot([due], [y], marker="|", markersize=14, color=COLOURS["muted"])
        _pauses(ax, y, clock, today)
        # beside the bar's end, where the eye is; the due date is in the words (its tick may be far off)
        return [note(clock.stopped_on, t("doc.tl.stopped_due", lang, date=_fmt(clock.stopped_on), due=_fmt(due)),
                     COLOURS["overdue" if late else "muted"])]
    ax.barh(y, max((due - start).days, 0.5), left=start, height=0.42, color=COLOURS["running"])
    if clock.overdue:
        ax.barh(y, (today - due).days, left=due, height=0.42, color=COLOURS["overdue"])
        text, colour = t("doc.tl.overdue", lang, date=_fmt(due)), COLOURS["overdue"]
    else:
        text, colour = t("doc.tl.due", lang, date=_fmt(due)), COLOURS["running"]
    ax.plot([due], [y], marker="D", markersize=7, color=colour, zorder=4)
    _pauses(ax, y, clock, today)
    return [note(max(due, today) if clock.overdue else due, text + provisional, colour)]


def _pauses(ax: Axes, y: int, clock: Clock, today: dt.date) -> None:
    for begin, end in clock.pauses:
        stop = end or today
        ax.barh(y, max((stop - begin).days, 0.5), left=begin, height=0.6, facecolor="white",
                edgecolor=COLOURS["paused"], hatch="////", alpha=0.9, zorder=2)
