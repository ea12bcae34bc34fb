"""The timeline picture of every policy's case in every state its procedure can reach, in both languages,
is readable: every text inside the picture, every note inside the plot, row labels not overlapping each
other or the plot, the not-started rows labelled inside the plot — measured on the laid-out figure
(renderer bounding boxes), with every warning (e.g. "Tight layout not applied") an error."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import warnings
from collections.abc import Iterator

import pytest
from matplotlib.text import Text

from bot.documents.fonts import cjk_font_path
from bot.documents.timeline import timeline_figure, timeline_png
from bot.i18n import t
from dialogs.policy import load_policies
from dialogs.procedure import CaseFile, Procedures, Record
from scheduler.calendar import WorkCalendar
from scheduler.clocks import ClockEvent, clocks_for
from tests.procedure_walk import FILE, START, reachable

POLICIES = load_policies()
CALENDAR = WorkCalendar()


class _Case:
    def __init__(self, number: str) -> None:
        self.number = number


def _signature(policy, events, today):
    return tuple((c.status, c.overdue, c.due is None, c.provisional, bool(c.pauses))
                 for c in clocks_for(policy, list(events), CALENDAR, today))


def _situations(key: str, every_look: bool) -> list[tuple[str, tuple[ClockEvent, ...], dt.date]]:
    """(state, events, today) to draw: per state and distinct look of the clocks (`every_look`), on the
    day of the last action and 60 days later (when running clocks are overdue); else the first way
    each state is reached, 60 days on."""
    policy = POLICIES[key]
    out, seen = [], set()
    for r in reachable(policy):
        for today in (r.day, r.day + dt.timedelta(days=60)) if every_look else (r.day + dt.timedelta(days=60),):
            sig = (r.state, _signature(policy, r.events, today)) if every_look else r.state
            if sig not in seen:
                seen.add(sig)
                out.append((r.state, r.events, today))
    return out


@contextlib.contextmanager
def strict_warnings() -> Iterator[None]:
    """Every warning raised while drawing is an error ("Tight layout not applied", a missing glyph…).
    ResourceWarning is left out: it comes from other tests' objects (an unclosed database connection)
    that the garbage collector happens to finalise during the drawing, not from the drawing."""
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ResourceWarning)
        yield


def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y0 >= outer.y0 - slack and inner.y1 <= outer.y1 + slack)


def assert_readable(fig, policy, events, today, lang) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    texts = [x for x in fig.findobj(Text) if x.get_visible() and x.get_text().strip()]
    assert texts
    for text in texts:
        box = text.get_window_extent(renderer)
        assert _inside(box, page), f"cut off by the picture's edge: {text.get_text()!r} {box} in {page}"
    for legend in fig.legends:
        assert _inside(legend.get_window_extent(renderer), page), "legend cut off"
    [ax] = fig.axes
    frame = ax.get_window_extent(renderer)
    for text in ax.texts:
        assert _inside(text.get_window_extent(renderer), frame), f"note leaves the plot: {text.get_text()!r}"
    labels = [x for x in ax.get_yticklabels() if x.get_text()]
    boxes = sorted((x.get_window_extent(renderer) for x in labels), key=lambda b: -b.y1)
    for upper, lower in zip(boxes, boxes[1:], strict=False):
        assert upper.y0 >= lower.y1 - 0.5, "row labels overlap"
    for box in boxes:
        assert box.x1 <= frame.x0 and box.x0 >= 0, "row label runs into the plot or off the picture"
    dates = sorted((x.get_window_extent(renderer) for x in ax.get_xticklabels() if x.get_text()), key=lambda b: b.x0)
    assert len(dates) >= 4
    for left, right in zip(dates, dates[1:], strict=False):
        assert left.x1 <= right.x0, "date labels run into each other"
    clocks = clocks_for(policy, list(events), CALENDAR, today)
    assert len(labels) == len(clocks)
    not_started = t("doc.tl.not_started", lang)
    markers = [x for x in ax.texts if x.get_text().strip() == not_started]
    assert len(markers) == sum(c.started_on is None for c in clocks), "each not-started row says so"


def _check_all(key: str, every_look: bool) -> None:
    assert cjk_font_path() is not None, "no CJK font: test.sh installs fonts-noto-cjk"
    policy = POLICIES[key]
    situations = _situations(key, every_look)
    states = {s for s, _, _ in situations}
    assert states == {s.id for s in policy.procedure.states}, "the walk reaches every state"
    case = _Case(f"{policy.case_prefix}-2026-0001")
    for n, (state, events, today) in enumerate(situations):
        lang = "en" if n % 2 else "zh"
        try:
            with strict_warnings():
                fig = timeline_figure(case, list(events), policy, CALENDAR, today, lang)
                assert_readable(fig, policy, events, today, lang)
        except AssertionError as exc:
            raise AssertionError(f"{key} in {state} on {today} ({lang}): {exc}") from None


@pytest.mark.parametrize("key", list(POLICIES))
def test_timeline_in_every_reachable_state_is_readable(key):
    _check_all(key, every_look=False)


@pytest.mark.slow
@pytest.mark.parametrize("key", list(POLICIES))
def test_timeline_in_every_state_and_every_look_of_its_clocks_is_readable(key):
    """About 220 pictures: every state with every combination of not started, running, paused,
    unset, done, overdue and provisional clocks the walk produces, on two days each."""
    _check_all(key, every_look=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_just_submitted_zhejiang_case_labels_every_row(lang):
    """The trial's picture (finding 10): right after submission no clock has started; the rows were
    unlabelled, the labels cut, the legend halved and a layout warning printed."""
    policy = POLICIES["zhejiang"]
    events = [ClockEvent("application_filed", dt.date(2026, 12, 2))]
    with strict_warnings():
        fig = timeline_figure(_Case("ZJ-2026-0001"), events, policy, CALENDAR, dt.date(2026, 12, 2), lang)
        assert_readable(fig, policy, events, dt.date(2026, 12, 2), lang)
        png = timeline_png(_Case("ZJ-2026-0001"), events, policy, CALENDAR, dt.date(2026, 12, 2), lang)
    [ax] = fig.axes
    assert [x.get_text().split("\n")[-1] for x in ax.get_yticklabels()] == \
        [f"[{limit.clause}]" for limit in policy.time_limits]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_long_notes_flip_inside_the_plot_when_the_clock_is_overdue_at_the_right_edge():
    policy = POLICIES["dongguan"]
    events = [ClockEvent("application_filed", dt.date(2026, 10, 20)), ClockEvent("accepted", dt.date(2026, 10, 28))]
    today = dt.date(2027, 3, 1)
    with strict_warnings():
        fig = timeline_figure(_Case("DG-2026-0009"), events, policy, CALENDAR, today, "en")
        assert_readable(fig, policy, events, today, "en")
    overdue = [x for x in fig.axes[0].texts if "overdue" in x.get_text()]
    assert overdue and all(x.get_ha() == "right" for x in overdue), "placed before today's line, not after it"
    assert io.BytesIO(timeline_png(_Case("DG-2026-0009"), events, policy, CALENDAR, today, "en")).getbuffer().nbytes


def test_yunnan_decision_can_follow_material_the_applicant_added():
    """Found by the walk: a file added by the applicant made the consulted-departments guard of the
    decision raise TypeError (a file value is a dict), so the officer's case screen failed."""
    policy = POLICIES["yunnan"]
    procs = Procedures({"yunnan": policy})
    case = CaseFile("received", [Record("add_material", START, {"file": dict(FILE), "note": "x"}, ())])
    decide = policy.procedure.action("decide")
    assert procs.why_not("yunnan", case, decide, {}, START, check_fields=False) is not None  # refused, not raised
    assert isinstance(procs.available("yunnan", case, {"officer"}, START), list)


def test_a_layout_warning_fails_these_tests():
    """The guard itself: what the old picture printed would now be an error."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    ax = fig.add_subplot()
    ax.set_yticks([0], ["a label far too long for a two-inch figure, as the step names were"])
    with pytest.raises(UserWarning, match="Tight layout not applied"), strict_warnings():
        fig.tight_layout()
