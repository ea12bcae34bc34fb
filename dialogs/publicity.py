"""The publicity notice of a decision (Zhejiang 三(五): "作出容错免责认定决定后，通过门户网站进行公示，公示期为7天。
对公示有异议的，省科技厅应核实有关情况并提出调查处理意见"), as data.

A notice is published to everyone, so it is built from an explicit list of what a publicity notice carries
and from nothing else: the project's name and number, the undertaking unit, the decision and its date, the
period, and how and by when to object. The applicant's telephone, the statement of facts, the uploaded
files, the grounds ticked and anything an objector sent never reach it, because this module is never
handed them (`NOTICE_PROJECT_FIELDS` picks the project fields by name).

The period is computed by the caller with the case's own clock (scheduler/clocks.py, `limit_due`): the
day of publication is not counted, the 7th day after it is the last one, and a last day on a rest day moves
to the next working day (民法典第二百零一条, 第二百零三条). `Period.of` takes that clock's due date as it is,
so the dates in the notice and the case's countdown cannot disagree.

Pure: no Telegram, no database. Texts are `Msg`/`Plain`/`LText`, resolved to Chinese or English at the edge.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Protocol

from dialogs.policy import LText, Policy
from dialogs.text import N_, Join, Msg, Plain, Text, msg

# The project fields a notice names, in this order; every other answer stays inside the case.
NOTICE_PROJECT_FIELDS = ("name", "number", "unit")
# What a person typed is printed as typed, but never as a control character or beyond a sane length: a
# notice is one message of at most 4096 characters in a channel.
TYPED_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


class DueLike(Protocol):
    """What scheduler.calendar.Due gives: the last day, the day it was moved from, whether it is provisional."""

    date: dt.date
    rolled_from: dt.date | None
    provisional: bool


@dataclass(frozen=True)
class Period:
    """A publicity period as the case's clock counts it."""

    published_on: dt.date  # the day the notice went up: the period starts the next day
    first_day: dt.date
    last_day: dt.date
    length: int
    rolled_from: dt.date | None = None
    provisional: bool = False

    @classmethod
    def of(cls, published_on: dt.date, length: int, due: DueLike) -> Period:
        """From the clock's due date for a period of `length` days started by a publication on that day."""
        return cls(published_on, published_on + dt.timedelta(days=1), due.date, length, due.rolled_from,
                   bool(due.provisional))

    def open_on(self, day: dt.date) -> bool:
        """Whether an objection made on `day` is in time: from the publication through the last day."""
        return self.published_on <= day <= self.last_day


@dataclass(frozen=True)
class Decision:
    """The decision the notice announces: the outcome chosen and the day it was taken."""

    outcome: LText
    decided_on: dt.date


@dataclass(frozen=True)
class Notice:
    """Everything a publicity notice says, in reading order. `prepared`: the dates assume publication on
    `period.published_on` because none is recorded yet (the officer is told so; the notice is written again
    from the recorded date once it is)."""

    title: Text
    opening: Text
    items: tuple[tuple[Text, Text], ...]
    objection: Text
    online: Text | None
    privacy: Text
    issuer: Text
    dated: Text
    period: Period
    prepared: bool
    portal_url: str | None = None

    def lines(self) -> list[Text]:
        """The notice as lines of plain text (for pasting, a channel post, a private message)."""
        out: list[Text] = [self.title, Plain(""), self.opening]
        out += [msg("publicity.notice.item", n=numeral(i), label=label, value=value)
                for i, (label, value) in enumerate(self.items, 1)]
        out += [self.objection]
        if self.online is not None:
            out.append(self.online)
        out += [self.privacy, Plain(""), self.issuer, self.dated]
        if self.portal_url:
            out.append(msg("publicity.notice.portal", url=Plain(self.portal_url)))
        return out


def typed(value: Any) -> str:
    """A typed answer as a notice prints it: no control or direction characters, whitespace collapsed,
    at most TYPED_LIMIT characters."""
    text = " ".join(_CONTROL.sub("", str(value)).split())
    return text if len(text) <= TYPED_LIMIT else text[: TYPED_LIMIT - 1] + "…"


# the months and numerals are chosen by number, declared for Babel's extractor (bot/message_keys.py)
KEYS = (N_("publicity.month.1"), N_("publicity.month.2"), N_("publicity.month.3"), N_("publicity.month.4"),
        N_("publicity.month.5"), N_("publicity.month.6"), N_("publicity.month.7"), N_("publicity.month.8"),
        N_("publicity.month.9"), N_("publicity.month.10"), N_("publicity.month.11"), N_("publicity.month.12"),
        N_("publicity.numeral.1"), N_("publicity.numeral.2"), N_("publicity.numeral.3"), N_("publicity.numeral.4"),
        N_("publicity.numeral.5"), N_("publicity.numeral.6"), N_("publicity.numeral.7"), N_("publicity.numeral.8"),
        N_("publicity.numeral.9"))


def written_date(day: dt.date) -> Msg:
    """2026年9月30日 / September 30, 2026: the form a published notice carries."""
    return msg("publicity.date", y=day.year, d=day.day, month=msg(f"publicity.month.{day.month}"))


def numeral(n: int) -> Msg:
    return msg(f"publicity.numeral.{n}") if 1 <= n <= 9 else msg("publicity.numeral.other", n=n)


def period_text(period: Period) -> Text:
    """"2026年10月1日至2026年10月8日（7天……）", with the move off a rest day stated when there was one."""
    first, last = written_date(period.first_day), written_date(period.last_day)
    if period.rolled_from is not None:
        return msg("publicity.period.rolled", first=first, last=last, n=period.length,
                   published=written_date(period.published_on), rolled_from=written_date(period.rolled_from))
    return msg("publicity.period.plain", first=first, last=last, n=period.length,
               published=written_date(period.published_on))


def project_of(answers: dict[str, Any]) -> dict[str, str]:
    """The project fields a notice may name, typed values cleaned; missing ones left out."""
    project = answers.get("project") if isinstance(answers, dict) else None
    if not isinstance(project, dict):
        return {}
    out = {}
    for key in NOTICE_PROJECT_FIELDS:
        value = project.get(key)
        if value not in (None, "") and typed(value):
            out[key] = typed(value)
    return out


def build_notice(policy: Policy, answers: dict[str, Any], decision: Decision, period: Period, clause: str, *,
                 link: str | None = None, prepared: bool = False, portal_url: str | None = None) -> Notice:
    """The notice of `decision` on the case whose answers are `answers`, published for `period`.

    `clause` is the publicity's clause (the time limit's, 三(五)); `link` the deep link that opens an
    objection in the bot, when the bot has one; `portal_url` the recorded address of the published notice."""
    project = project_of(answers)
    name = Plain(project.get("name", "—"))
    items: list[tuple[Text, Text]] = [(msg("publicity.notice.project"), name)]
    if "number" in project:
        items.append((msg("publicity.notice.number"), Plain(project["number"])))
    items.append((msg("publicity.notice.unit"), Plain(project.get("unit", "—"))))
    items.append((msg("publicity.notice.decision"),
                  msg("publicity.notice.decision_value", outcome=decision.outcome,
                      date=written_date(decision.decided_on))))
    items.append((msg("publicity.notice.period"), period_text(period)))
    last = written_date(period.last_day)
    return Notice(
        title=msg("publicity.notice.title", project=name),
        opening=msg("publicity.notice.opening", document=policy.document, clause=clause, issuer=policy.issuer),
        items=tuple(items),
        objection=msg("publicity.notice.objection", last=last, issuer=policy.issuer),
        online=msg("publicity.notice.online", link=Plain(link), last=last) if link else None,
        privacy=msg("publicity.notice.privacy"),
        issuer=policy.issuer,
        dated=written_date(period.published_on),
        period=period,
        prepared=prepared,
        portal_url=portal_url,
    )


def outcome_text(objections: int, outcome: LText) -> Msg:
    """How a publicity ended, as the channel post and every message say it: "公示期满，无异议" when nobody
    objected, "异议已核实处理，结果：…" when objections were verified and answered first."""
    if objections == 0:
        return msg("publicity.outcome.none", outcome=outcome)
    return msg("publicity.outcome.verified", outcome=outcome, n=objections)


def ended_notice(notice: Notice, objections: int, outcome: LText, ended_on: dt.date) -> list[Text]:
    """The published notice once the period is over: the outcome first, then the notice as it was."""
    return [msg("publicity.ended.head", date=written_date(ended_on)), outcome_text(objections, outcome),
            Plain(""), *notice.lines()]


def join_lines(lines: list[Text]) -> Join:
    return Join(tuple(lines), "\n")
