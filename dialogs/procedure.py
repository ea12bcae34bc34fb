"""The deciding body's procedure for each policy: one transitions machine per policy, built once from
the policy's `procedure` data, and the only judge of whether an officer's action may be taken.

Pure Python: no Telegram, no database. A case is handed in as a `CaseFile` (its state, the actions
already recorded and its answers), an action is tried on the policy's machine and, when it passes, the
caller writes the result (audit rows, clock events, notifications) in one transaction.

The machine is the single authority on its guards: every transition carries one condition callback
(`_Check`) that runs the generic checks (once, after, within, after_limit), the action's guards, the
branch's guard and the fields, and records the first that failed on the model, so the refusal message
comes from the same place as the decision. "Could this button be pressed?" is the same trigger in dry
run: the callback records that it would pass and returns False. Events are fired with
`machine.events[action].trigger(model)`; no model is ever attached to the shared machine, so the
reminder scan's thread and the bot's handlers can use it at the same time.

Calendar-day limits inside guards (`within`, `after_limit`, the end of a publicity) are computed by the
injected calendar's `add_calendar_days`, the same as the clocks, so a period whose last day is a rest day
ends where the clocks say it ends (民法典 第二百零三条).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from transitions import EventData, Machine

from dialogs.policy import GUARDS, ExOfficio, Policy, ProcAction, Procedure, ProcField, ProcOption
from dialogs.text import Msg, msg

TEXT_LIMIT = 2000


class CalendarLike(Protocol):
    """What the procedure needs of scheduler.calendar.WorkCalendar (dialogs/ never imports scheduler/):
    the last day of a period of `n` calendar days after `start`, as a date or an object with `.date`."""

    def add_calendar_days(self, start: dt.date, n: int) -> Any: ...


def _day(result: Any) -> dt.date:
    return result if isinstance(result, dt.date) else result.date


@dataclass(frozen=True)
class Record:
    """One action already recorded on the case (refusals are not records: they changed nothing)."""

    action: str
    on: dt.date
    values: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()


EVENT_DATE = "event_date"
"""The detail that dates a clock event on a day of its own (`ProcAction.event_date_field`); read here and
by scheduler/clockevents.py, so the guards and the clocks start the period on the same day."""


def event_day(record: Record) -> dt.date:
    """The day a record's events happened: the date it carries (a publication recorded later), else the
    day it was recorded."""
    carried = record.values.get(EVENT_DATE)
    if isinstance(carried, str):
        try:
            return dt.date.fromisoformat(carried)
        except ValueError:
            pass
    return record.on


@dataclass
class CaseFile:
    state: str
    history: list[Record] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Emitted:
    """A clock event for scheduler/clocks.py, with the details it reads."""

    event: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    ok: bool
    state_before: str
    state_after: str
    error: Msg | None = None
    events: list[Emitted] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)


# -- guards: one implementation per name of dialogs.policy.GuardName ---------------------------------------
Guard = Callable[["ProcModel"], bool]
_GUARDS: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(func: Guard) -> Guard:
        if name not in GUARDS:
            raise NameError(f"guard {name!r} is not declared in dialogs.policy.GuardName")
        _GUARDS[name] = func
        return func
    return register


class ProcModel:
    """The machine's model: the case, the action being tried and its values; guards read them.

    `probing`: only asking whether the action makes sense now (its fields not given yet), so the fields
    are not checked. `dry_run`: evaluate everything but do not move. `failure` is the first check that
    failed, as the message the user will read."""

    def __init__(self, policy: Policy, case: CaseFile, action: ProcAction, values: dict[str, Any],
                 today: dt.date, calendar: CalendarLike, probing: bool = False, dry_run: bool = False) -> None:
        assert policy.procedure is not None
        self.policy = policy
        self.proc: Procedure = policy.procedure
        self.case = case
        self.state = case.state
        self.action = action
        self.values = values
        self.today = today
        self.calendar = calendar
        self.probing = probing
        self.dry_run = dry_run
        self.failure: Msg | None = None
        self.would_fire = False

    # -- helpers over the history ------------------------------------------------------------------
    def done(self, action_id: str) -> list[Record]:
        return [r for r in self.case.history if r.action == action_id]

    def _last_event(self, *names: str) -> str | None:
        for record in reversed(self.case.history):
            for event in reversed(record.events):
                if event in names:
                    return event
        return None

    def _event_date(self, name: str) -> dt.date | None:
        for record in reversed(self.case.history):
            if name in record.events:
                return event_day(record)
        return None

    def latest_outcome(self) -> ProcOption | None:
        """The latest recorded outcome (decision, publicity end, conclusion): the option chosen."""
        for record in reversed(self.case.history):
            spec = self.proc.action(record.action)
            if spec is None:
                continue
            for f in spec.fields:
                for option in f.options:
                    if option.favourable is not None and record.values.get(f.id) == option.id:
                        return option
        return None

    def outcome_favourable(self) -> bool | None:
        option = self.latest_outcome()
        return option.favourable if option is not None else None

    def chosen_outcome(self) -> ProcOption | None:
        """The outcome chosen in the values of the action being tried, if it offers one."""
        for f in self.action.fields:
            for option in f.options:
                if option.favourable is not None and self.values.get(f.id) == option.id:
                    return option
        return None

    def objections(self) -> tuple[int, set[int]]:
        """How many objections were recorded, and the numbers (1-based) already answered."""
        count = len(self.done("objection"))
        answered = {int(r.values.get("objection", 0)) for r in self.done("answer")}
        return count, answered

    def panel(self) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = {k: set() for k in self.proc.panel_kinds}
        for record in self.case.history:
            if record.action != "expert":
                continue
            kind = record.values.get("kind")
            name = str(record.values.get("name", "")).strip().casefold()
            if kind in kinds and name:
                kinds[kind].add(name)
        return kinds

    def panel_size(self) -> int:
        kinds = self.panel()
        return len(set().union(*kinds.values())) if kinds else 0

    def period_end(self, limit_id: str) -> dt.date | None:
        """The last day of a calendar-day limit of this case, as the clocks compute it (set per case or not)."""
        limit = self.policy.time_limit(limit_id)
        start = self._event_date(limit.starts_on)
        length = limit.length
        for record in self.case.history:
            spec = self.proc.action(record.action)
            cs = spec.clock_set if spec is not None else None
            if cs is not None and (cs.time_limit or record.values.get(cs.time_limit_field or "")) == limit.id:
                length = int(record.values[cs.length_field])
        if start is None or length is None:
            return None
        return _day(self.calendar.add_calendar_days(start, length))

    # -- the checks of one transition -----------------------------------------------------------------
    def check(self, branch_when: str | None) -> Msg | None:
        """Why the action may not be taken along this branch, or None. Order: generic conditions, the
        action's guards, the branch's guard, then (unless probing) the fields."""
        action = self.action
        if action.once and self.done(action.id):
            return msg("proc.err.once")
        if not all(self.done(a) for a in action.after):
            return msg("proc.err.after")
        if action.within is not None:
            end = self.period_end(action.within)
            if end is not None and self.today > end:
                return msg("proc.err.period_over")
        if action.after_limit is not None:
            end = self.period_end(action.after_limit)
            if end is None or self.today <= end:
                return msg("proc.err.period_running", until=end.isoformat() if end else "—")
        for name in action.when:
            if not _GUARDS[name](self):
                return guard_message(name, self)
        if branch_when is not None and not _GUARDS[branch_when](self):
            return guard_message(branch_when, self)
        if self.probing:
            return None
        return self.check_values()

    # -- fields ---------------------------------------------------------------------------------------
    def asks(self, f: ProcField) -> bool:
        """Whether the field is asked, given the values so far and the case."""
        cond = f.when
        if cond is None:
            return True
        if cond.outcome is not None:
            chosen = self.chosen_outcome()
            if chosen is None:
                return False
            if cond.outcome == "exempts":
                return chosen.exempts
            return chosen.favourable is (cond.outcome == "favourable")
        if cond.field is not None:
            return str(self.values.get(cond.field)) in cond.equals
        if cond.project is not None:
            project = self.case.answers.get("project", {})
            return isinstance(project, dict) and str(project.get(cond.project)) in cond.equals
        assert cond.guard is not None
        return _GUARDS[cond.guard](self)

    def required(self, f: ProcField) -> bool:
        if not self.asks(f):
            return False
        chosen = self.chosen_outcome()
        return f.required or (f.required_unless_favourable and chosen is not None and chosen.favourable is False)

    def check_values(self) -> Msg | None:
        """Every field asked is present and well-formed, no value for a field not asked, reasons where the
        outcome is negative, and an outcome chosen only once what it rests on is on record."""
        values = self.values
        unknown = set(values) - {f.id for f in self.action.fields}
        if unknown:
            return msg("proc.err.unknown_field")
        for f in self.action.fields:
            value = values.get(f.id)
            empty = value is None or value == ""
            if not self.asks(f):
                if not empty:
                    return msg("proc.err.not_asked", field=f.label)
                continue
            if empty:
                if self.required(f):
                    return msg("proc.err.missing", field=f.label)
                continue
            if f.kind == "file":
                if not (isinstance(value, dict) and value.get("file_id")):
                    return msg("proc.err.file_expected")
                continue
            if f.kind == "number" and not isinstance(value, int | float):
                return msg("proc.err.number")
            if f.kind != "number" and not isinstance(value, str):
                return msg("proc.err.choice")
            parsed, problem = parse_value(f, str(value))
            if problem is None and f.kind == "date":
                problem = self.date_problem(f, dt.date.fromisoformat(parsed))
            if problem is not None:
                return problem
            option = next((o for o in f.options if o.id == value), None)
            if option is not None and not all(self.done(a) for a in option.after):
                missing = next(a for a in option.after if not self.done(a))
                spec = self.proc.action(missing)
                return msg("proc.err.option_after", option=option.label, action=spec.label if spec else missing)
        return None


    def date_problem(self, f: ProcField, day: dt.date) -> Msg | None:
        """A date outside what the field allows: ahead of today, or before the event it must follow."""
        if f.not_future and day > self.today:
            return msg("proc.err.date_future", date=day.isoformat(), today=self.today.isoformat())
        if f.not_before is not None:
            earliest = self._event_date(f.not_before)
            if earliest is not None and day < earliest:
                return msg("proc.err.date_before", date=day.isoformat(), earliest=earliest.isoformat())
        return None


def guard_message(name: str, model: ProcModel) -> Msg:
    """The refusal a failed guard gives: `proc.guard.<name>`, with the figures some of them quote."""
    if name in ("panel_kinds", "panel_short"):
        return msg(f"proc.guard.{name}", n=model.panel_size(), min=model.proc.panel_min or 1)
    return msg(f"proc.guard.{name}")


@guard("evaluation_open")
def _evaluation_open(m: ProcModel) -> bool:
    return m._last_event("evaluation_started", "evaluation_ended") == "evaluation_started"


@guard("evaluation_closed")
def _evaluation_closed(m: ProcModel) -> bool:
    return not _evaluation_open(m)


@guard("hearing_open")
def _hearing_open(m: ProcModel) -> bool:
    return m._last_event("hearing_started", "hearing_ended") == "hearing_started"


@guard("hearing_closed")
def _hearing_closed(m: ProcModel) -> bool:
    return not _hearing_open(m)


@guard("not_paused")
def _not_paused(m: ProcModel) -> bool:
    return not _evaluation_open(m) and not _hearing_open(m)


@guard("panel_kinds")
def _panel_kinds(m: ProcModel) -> bool:
    """Zhejiang 三(三): the panel has experts of every kind the text names (技术和财务专家)."""
    kinds = m.panel()
    return bool(kinds) and all(kinds.values())


@guard("panel_short")
def _panel_short(m: ProcModel) -> bool:
    """Fewer experts than the default size ("一般不少于5人"): the reason must then be recorded."""
    return m.panel_size() < (m.proc.panel_min or 1)


@guard("objection_named_is_open")
def _objection_named_is_open(m: ProcModel) -> bool:
    count, answered = m.objections()
    if m.probing:  # asking only whether the button makes sense
        return count > len(answered)
    number = m.values.get("objection")
    return isinstance(number, int | float) and 1 <= int(number) <= count and int(number) not in answered


@guard("objections_answered")
def _objections_answered(m: ProcModel) -> bool:
    count, answered = m.objections()
    return all(n in answered for n in range(1, count + 1))


@guard("publicity_over")
def _publicity_over(m: ProcModel) -> bool:
    limit = next((t for t in m.policy.time_limits if t.starts_on == "publicity_started"), None)
    end = m.period_end(limit.id) if limit is not None else None
    return end is not None and m.today > end


@guard("favourable")
def _favourable(m: ProcModel) -> bool:
    return m.outcome_favourable() is True


@guard("unfavourable")
def _unfavourable(m: ProcModel) -> bool:
    return m.outcome_favourable() is False


@guard("exempted")
def _exempted(m: ProcModel) -> bool:
    """The latest outcome exempts (免责, 结题) — not 从轻、减轻, which Yunnan 第十条/第十一条 do not cover."""
    option = m.latest_outcome()
    return option is not None and option.exempts


@guard("not_exempted")
def _not_exempted(m: ProcModel) -> bool:
    return m.latest_outcome() is not None and not _exempted(m)


@guard("correction_ordered")
def _correction_ordered(m: ProcModel) -> bool:
    return any("correction_started" in r.events for r in m.case.history)


@guard("consulted_required")
def _consulted_required(m: ProcModel) -> bool:
    for spec in m.proc.actions:
        for f in spec.fields:
            if not f.options:  # only choices can be required options (a file value is not hashable)
                continue
            needed = {o.id for o in f.options if o.required}
            given = {r.values.get(f.id) for r in m.done(spec.id)}
            if not needed <= given:
                return False
    return True


if set(_GUARDS) != GUARDS:  # pragma: no cover - a programming error, caught by every test run
    raise ImportError(f"guards declared but not implemented: {sorted(GUARDS - set(_GUARDS))}")


class _Check:
    """The one condition of every transition: runs the model's checks for this branch."""

    def __init__(self, branch_when: str | None) -> None:
        self.branch_when = branch_when

    def __call__(self, event: EventData) -> bool:
        model: ProcModel = event.model
        problem = model.check(self.branch_when)
        if problem is not None:
            if model.failure is None:
                model.failure = problem
            return False
        if model.dry_run:
            model.would_fire = True
            return False
        return True


def transition_table(procedure: Procedure) -> list[dict[str, Any]]:
    """Each action as transitions' triggers: one per branch, in file order (the first that passes wins);
    an action without `to` keeps the case where it is (an internal transition). The diagrams draw this
    same table."""
    table: list[dict[str, Any]] = []
    for action in procedure.actions:
        branches = [(b.to, b.when) for b in action.branches] or [(action.to, None)]
        for dest, when in branches:
            table.append({"trigger": action.id, "source": list(action.source), "dest": dest,
                          "guards": [*action.when, *([when] if when else [])], "branch_when": when})
    return table


def build_machine(procedure: Procedure) -> Machine:
    """One machine per policy, shared by every case and thread; no model is ever added to it."""
    machine = Machine(model=None, states=[s.id for s in procedure.states], initial=procedure.initial,
                      auto_transitions=False, ignore_invalid_triggers=True, send_event=True)
    for row in transition_table(procedure):
        machine.add_transition(row["trigger"], row["source"], row["dest"], conditions=[_Check(row["branch_when"])])
    return machine


_WEB_ADDRESS = re.compile(r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:[0-9]{1,5})?(/[^\s]*)?", re.IGNORECASE)
URL_LIMIT = 500


def is_web_address(text: str) -> bool:
    """An http(s) address with a dotted host and no spaces: what a portal page's address looks like, and
    what Telegram accepts as a link."""
    return len(text) <= URL_LIMIT and _WEB_ADDRESS.fullmatch(text) is not None


def parse_value(spec: ProcField, raw: str) -> tuple[Any, Msg | None]:
    """Typed text to a field value, or the reason it cannot be one (in the user's language later)."""
    text = raw.strip()
    if spec.kind == "text":
        if not text:
            return None, msg("proc.err.empty")
        if len(text) > TEXT_LIMIT:
            return None, msg("proc.err.too_long", limit=TEXT_LIMIT)
        if spec.format == "url" and not is_web_address(text):
            return None, msg("proc.err.url")
        return text, None
    if spec.kind == "number":
        try:
            number = float(text.replace(",", "").replace("，", ""))
        except ValueError:
            return None, msg("proc.err.number")
        if number != number or number in (float("inf"), float("-inf")):
            return None, msg("proc.err.number")
        if spec.min is not None and number < spec.min or spec.max is not None and number > spec.max:
            return None, msg("proc.err.range", min=spec.min if spec.min is not None else "-",
                             max=spec.max if spec.max is not None else "-")
        return (int(number) if number.is_integer() else number), None
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, msg("proc.err.date")
    if spec.kind == "choice":
        if text not in {o.id for o in spec.options}:
            return None, msg("proc.err.choice")
        return text, None
    return None, msg("proc.err.file_expected")


class Procedures:
    """All policies' machines, built once at start-up, and the calendar their periods are counted on."""

    def __init__(self, policies: dict[str, Policy], calendar: CalendarLike) -> None:
        self.policies = {k: p for k, p in policies.items() if p.procedure is not None}
        self.calendar = calendar
        self.machines = {k: build_machine(p.procedure) for k, p in self.policies.items()}  # type: ignore[arg-type]

    def procedure(self, policy_key: str) -> Procedure:
        proc = self.policies[policy_key].procedure
        assert proc is not None
        return proc

    def initial(self, policy_key: str) -> str:
        return self.procedure(policy_key).initial

    def is_final(self, policy_key: str, state: str) -> bool:
        spec = self.procedure(policy_key).state(state)
        return spec is None or spec.final

    def _model(self, policy_key: str, case: CaseFile, action: ProcAction, values: dict[str, Any],
               today: dt.date, probing: bool = False, dry_run: bool = False) -> ProcModel:
        return ProcModel(self.policies[policy_key], case, action, values, today, self.calendar, probing, dry_run)

    def _trigger(self, policy_key: str, model: ProcModel) -> bool:
        return bool(self.machines[policy_key].events[model.action.id].trigger(model))

    def available(self, policy_key: str, case: CaseFile, roles: set[str], today: dt.date,
                  officer_levels: set[str | None] | None = None) -> list[ProcAction]:
        """The actions whose buttons make sense now for someone holding `roles` (fields not yet given).
        `officer_levels`: the levels of the viewer's officer memberships, where the policy routes cases
        (Zhejiang 基础公益, Yunnan 省/州/县); an officer action another level takes is not offered."""
        policy = self.policies[policy_key]
        out = []
        for action in self.procedure(policy_key).actions:
            if action.role not in roles or case.state not in action.source:
                continue
            if action.role == "officer" and officer_levels is not None and not any(
                    policy.officer_may_take(level, case.answers, action.id) for level in officer_levels):
                continue
            if self.why_not(policy_key, case, action, {}, today, check_fields=False) is None:
                out.append(action)
        return out

    def why_not(self, policy_key: str, case: CaseFile, action: ProcAction, values: dict[str, Any],
                today: dt.date, check_fields: bool = True) -> Msg | None:
        """The machine asked in dry run: the first check that would fail, or None."""
        model = self._model(policy_key, case, action, values, today, probing=not check_fields, dry_run=True)
        self._trigger(policy_key, model)
        if model.would_fire:
            return None
        return model.failure or msg("proc.err.wrong_state")

    def asks(self, policy_key: str, case: CaseFile, action: ProcAction, f: ProcField, values: dict[str, Any],
             today: dt.date) -> bool:
        """Whether a form asks this field, given the answers so far (the forms call this field by field)."""
        return self._model(policy_key, case, action, values, today).asks(f)

    def field_required(self, policy_key: str, case: CaseFile, action: ProcAction, f: ProcField,
                       values: dict[str, Any], today: dt.date) -> bool:
        """Whether the form may let this field be skipped (False) or must insist (True)."""
        return self._model(policy_key, case, action, values, today).required(f)

    def check_values(self, policy_key: str, case: CaseFile, action: ProcAction, values: dict[str, Any],
                     today: dt.date) -> Msg | None:
        return self._model(policy_key, case, action, values, today).check_values()

    def apply(self, policy_key: str, case: CaseFile, action_id: str, role: str, values: dict[str, Any],
              today: dt.date) -> Result:
        """Check and fire one action. On failure nothing about `case` changes and `error` says why."""
        before = case.state
        action = self.procedure(policy_key).action(action_id)
        if action is None:
            return Result(False, before, before, msg("proc.err.unknown_action"))
        if action.role != role:
            return Result(False, before, before, msg("proc.err.wrong_role"))
        model = self._model(policy_key, case, action, values, today)
        if not self._trigger(policy_key, model):
            return Result(False, before, before, model.failure or msg("proc.err.wrong_state"))
        case.state = model.state
        return Result(True, before, model.state, events=self._events(action, values),
                      notify=self._notifications(policy_key, action.notify, before, model.state))

    # -- a case the deciding body opens itself (Yunnan 第六条(二)) ---------------------------------------
    def ex_officio(self, policy_key: str) -> ExOfficio | None:
        return self.procedure(policy_key).ex_officio if policy_key in self.policies else None

    def start_ex_officio(self, policy_key: str, values: dict[str, Any], today: dt.date) -> Result:
        """Check what the officer recorded to open a case ex officio; on success the state it starts in and
        its events. The caller creates the case (storage/exofficio.py) and records them as its first line."""
        spec = self.ex_officio(policy_key)
        if spec is None:
            return Result(False, "", "", msg("proc.err.no_ex_officio"))
        pseudo = ProcAction.model_validate({"id": "ex_officio", "label": spec.label, "clause": spec.clause,
                                            "from": [spec.to], "fields": [f.model_dump() for f in spec.fields]})
        problem = self._model(policy_key, CaseFile(spec.to), pseudo, values, today).check_values()
        if problem is not None:
            return Result(False, "", "", problem)
        notify = [spec.notify] if spec.notify else []
        return Result(True, "", spec.to, events=[Emitted(e) for e in spec.events],
                      notify=self._notifications(policy_key, None, "", spec.to) + notify)

    @staticmethod
    def _events(action: ProcAction, values: dict[str, Any]) -> list[Emitted]:
        dated = {EVENT_DATE: str(values[action.event_date_field])} if action.event_date_field else {}
        events = [Emitted(e, dict(dated)) for e in action.events]
        for rule in action.events_if:
            if str(values.get(rule.field)) == rule.equals:
                events += [Emitted(e) for e in rule.events]
        if action.extension is not None:
            events.append(Emitted("extension_granted", {"time_limit": action.extension,
                                                        "reason": values.get("reason", "")}))
        if action.clock_set is not None:
            cs = action.clock_set
            limit = cs.time_limit or str(values.get(cs.time_limit_field or ""))
            events.append(Emitted("clock_set", {"time_limit": limit, "length": int(values[cs.length_field])}))
        return events

    def _notifications(self, policy_key: str, key: str | None, before: str, after: str) -> list[str]:
        keys = [key] if key else []
        entered = self.procedure(policy_key).state(after)
        if after != before and entered is not None and entered.notify:
            keys.append(entered.notify)
        return keys
