"""The deciding body's procedure for each policy: one transitions machine per policy, built once from
the policy's `procedure` data, and the validation every officer action passes before it is recorded.

Pure Python: no Telegram, no database. A case is handed in as a `CaseFile` (its state and the actions
already recorded), an action is checked (role, state, guards, fields) and, when it passes, fired on the
policy's machine; the caller writes the result (audit rows, clock events, notifications) in one
transaction. Building a machine per update would cost more than the update, so models are added to
the shared machine for the length of one action and removed after, as in dialogs/wizard.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from dialogs.policy import Policy, ProcAction, Procedure, ProcField
from dialogs.text import Msg, msg

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Record:
    """One action already recorded on the case (refusals are not records: they changed nothing)."""

    action: str
    on: dt.date
    values: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()


@dataclass
class CaseFile:
    state: str
    history: list[Record] = field(default_factory=list)


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


class ProcModel:
    """The machine's model: the case, the action being tried and its values; guards read them."""

    def __init__(self, policy: Policy, case: CaseFile, action: ProcAction, values: dict[str, Any],
                 today: dt.date) -> None:
        assert policy.procedure is not None
        self.policy = policy
        self.proc: Procedure = policy.procedure
        self.case = case
        self.state = case.state
        self.action = action
        self.values = values
        self.today = today

    # -- helpers over the history ------------------------------------------------------------------
    def _done(self, action_id: str) -> list[Record]:
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
                return record.on
        return None

    def outcome_favourable(self) -> bool | None:
        """The latest recorded outcome (decision, publicity end, conclusion), as favourable or not."""
        for record in reversed(self.case.history):
            spec = self.proc.action(record.action)
            if spec is None:
                continue
            for f in spec.fields:
                for option in f.options:
                    if option.favourable is not None and record.values.get(f.id) == option.id:
                        return option.favourable
        return None

    def objections(self) -> tuple[int, set[int]]:
        """How many objections were recorded, and the numbers (1-based) already answered."""
        count = len(self._done("objection"))
        answered = {int(r.values.get("objection", 0)) for r in self._done("answer")}
        return count, answered

    def panel(self) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = {k: set() for k in self.proc.panel_kinds}
        for record in self.case.history:
            kind = record.values.get("kind")
            name = str(record.values.get("name", "")).strip().casefold()
            if kind in kinds and name:
                kinds[kind].add(name)
        return kinds

    # -- guards named in the policy files ----------------------------------------------------------
    def g_evaluation_open(self) -> bool:
        return self._last_event("evaluation_started", "evaluation_ended") == "evaluation_started"

    def g_evaluation_closed(self) -> bool:
        return not self.g_evaluation_open()

    def g_hearing_open(self) -> bool:
        return self._last_event("hearing_started", "hearing_ended") == "hearing_started"

    def g_hearing_closed(self) -> bool:
        return not self.g_hearing_open()

    def g_not_paused(self) -> bool:
        return not self.g_evaluation_open() and not self.g_hearing_open()

    def g_panel_complete(self) -> bool:
        kinds = self.panel()
        names = set().union(*kinds.values()) if kinds else set()
        return len(names) >= (self.proc.panel_min or 1) and all(kinds.values())

    def g_objection_named_is_open(self) -> bool:
        count, answered = self.objections()
        if "objection" not in self.values:  # asking only whether the button makes sense
            return count > len(answered)
        number = self.values.get("objection")
        return isinstance(number, int | float) and 1 <= int(number) <= count and int(number) not in answered

    def g_objections_answered(self) -> bool:
        count, answered = self.objections()
        return all(n in answered for n in range(1, count + 1))

    def g_publicity_over(self) -> bool:
        started = self._event_date("publicity_started")
        limit = next((t for t in self.policy.time_limits if t.starts_on == "publicity_started"), None)
        if started is None or limit is None or limit.length is None:
            return False
        return self.today > started + dt.timedelta(days=limit.length)

    def g_favourable(self) -> bool:
        return self.outcome_favourable() is True

    def g_unfavourable(self) -> bool:
        return self.outcome_favourable() is False

    def g_correction_ordered(self) -> bool:
        return any("correction_started" in r.events for r in self.case.history)

    def g_consulted_required(self) -> bool:
        for spec in self.proc.actions:
            for f in spec.fields:
                if not f.options:  # only choices can be required options (a file value is not hashable)
                    continue
                needed = {o.id for o in f.options if o.required}
                given = {r.values.get(f.id) for r in self._done(spec.id)}
                if not needed <= given:
                    return False
        return True

    # -- conditions every action carries -------------------------------------------------------------
    def c_once(self) -> bool:
        return not (self.action.once and self._done(self.action.id))

    def c_after(self) -> bool:
        return all(self._done(a) for a in self.action.after)

    def c_within(self) -> bool:
        if self.action.within is None:
            return True
        limit = self.policy.time_limit(self.action.within)
        start = self._event_date(limit.starts_on)
        length = limit.length
        for record in self.case.history:
            spec = self.proc.action(record.action)
            cs = spec.clock_set if spec is not None else None
            if cs is not None and (cs.time_limit or record.values.get(cs.time_limit_field or "")) == limit.id:
                length = int(record.values[cs.length_field])
        if start is None or length is None:
            return True
        return self.today <= start + dt.timedelta(days=length)


GENERIC = ["c_once", "c_after", "c_within"]


def build_machine(procedure: Procedure) -> Machine:
    """One machine per policy; each action is a trigger, each branch a transition with its guard."""
    machine = Machine(model=None, states=[s.id for s in procedure.states], initial=procedure.initial,
                      auto_transitions=False, ignore_invalid_triggers=True)
    for action in procedure.actions:
        guards = [f"g_{g}" for g in action.when] + GENERIC
        if action.branches:
            for branch in action.branches:
                extra = [f"g_{branch.when}"] if branch.when else []
                machine.add_transition(action.id, action.source, branch.to, conditions=guards + extra)
        else:
            machine.add_transition(action.id, action.source, action.to, conditions=guards)
    return machine


def parse_value(spec: ProcField, raw: str) -> tuple[Any, Msg | None]:
    """Typed text to a field value, or the reason it cannot be one (in the user's language later)."""
    text = raw.strip()
    if spec.kind == "text":
        if not text:
            return None, msg("proc.err.empty")
        if len(text) > TEXT_LIMIT:
            return None, msg("proc.err.too_long", limit=TEXT_LIMIT)
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
    """All policies' machines, built once at start-up."""

    def __init__(self, policies: dict[str, Policy]) -> None:
        self.policies = {k: p for k, p in policies.items() if p.procedure is not None}
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

    def available(self, policy_key: str, case: CaseFile, roles: set[str], today: dt.date) -> list[ProcAction]:
        """The actions whose buttons make sense now for someone holding `roles` (fields not yet given)."""
        out = []
        for action in self.procedure(policy_key).actions:
            if action.role in roles and case.state in action.source and self.why_not(
                    policy_key, case, action, {}, today, check_fields=False) is None:
                out.append(action)
        return out

    def why_not(self, policy_key: str, case: CaseFile, action: ProcAction, values: dict[str, Any],
                 today: dt.date, check_fields: bool = True) -> Msg | None:
        if case.state not in action.source:
            return msg("proc.err.wrong_state")
        model = ProcModel(self.policies[policy_key], case, action, values, today)
        if not model.c_once():
            return msg("proc.err.once")
        if not model.c_after():
            return msg("proc.err.after")
        if not model.c_within():
            return msg("proc.err.period_over")
        for guard in action.when:
            if not getattr(model, f"g_{guard}")():
                return self._guard_message(guard, model)
        if action.branches and not any(b.when is None or getattr(model, f"g_{b.when}")() for b in action.branches):
            return msg("proc.err.wrong_state")
        if check_fields:
            return self.check_values(action, values)
        return None

    def _guard_message(self, guard: str, model: ProcModel) -> Msg:
        if guard == "panel_complete":
            kinds = model.panel()
            return msg("proc.guard.panel_complete", n=len(set().union(*kinds.values())) if kinds else 0,
                       min=model.proc.panel_min or 1)
        return msg(f"proc.guard.{guard}")

    @staticmethod
    def check_values(action: ProcAction, values: dict[str, Any]) -> Msg | None:
        """Every required field present and well-formed; reasons required when the outcome is negative."""
        unknown = set(values) - {f.id for f in action.fields}
        if unknown:
            return msg("proc.err.unknown_field")
        favourable: bool | None = None
        for f in action.fields:
            for option in f.options:
                if option.favourable is not None and values.get(f.id) == option.id:
                    favourable = option.favourable
        for f in action.fields:
            value = values.get(f.id)
            needed = f.required or (f.required_unless_favourable and favourable is False)
            if value is None or value == "":
                if needed:
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
            _, problem = parse_value(f, str(value))
            if problem is not None:
                return problem
        return None

    def apply(self, policy_key: str, case: CaseFile, action_id: str, role: str, values: dict[str, Any],
              today: dt.date) -> Result:
        """Check and fire one action. On failure nothing about `case` changes and `error` says why."""
        before = case.state
        action = self.procedure(policy_key).action(action_id)
        if action is None:
            return Result(False, before, before, msg("proc.err.unknown_action"))
        if action.role != role:
            return Result(False, before, before, msg("proc.err.wrong_role"))
        problem = self.why_not(policy_key, case, action, values, today)
        if problem is not None:
            return Result(False, before, before, problem)
        model = ProcModel(self.policies[policy_key], case, action, values, today)
        machine = self.machines[policy_key]
        machine.add_model(model, initial=case.state)
        try:
            fired = bool(getattr(model, action.id)())
        finally:
            machine.remove_model(model)
        if not fired:
            return Result(False, before, before, msg("proc.err.wrong_state"))
        case.state = model.state
        return Result(True, before, model.state, events=self._events(action, values),
                      notify=self._notifications(policy_key, action, before, model.state))

    @staticmethod
    def _events(action: ProcAction, values: dict[str, Any]) -> list[Emitted]:
        events = [Emitted(e) for e in action.events]
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

    def _notifications(self, policy_key: str, action: ProcAction, before: str, after: str) -> list[str]:
        keys = [action.notify] if action.notify else []
        entered = self.procedure(policy_key).state(after)
        if after != before and entered is not None and entered.notify:
            keys.append(entered.notify)
        return keys
