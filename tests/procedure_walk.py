"""Every state a policy's case can reach, found by walking the real procedure engine (dialogs.procedure)
from each way a case can start, with the clock events each path has emitted.

The walk is breadth-first over (state, events emitted so far, how often each action was taken), so it
follows every branch the policy file allows — favourable and unfavourable outcomes, optional steps,
pauses, extensions, per-case periods — without a hand-written script that would go stale when the
policy files change. Values are made up from each field's kind: every option of a choice field is tried
one at a time; the k-th firing of an action starts from option k of each choice (so a panel gets experts
of every kind); a number takes the field's minimum; an action refused one day later is tried twelve
days later (a period that must run out first, such as a publicity, or Liaoning's review period before
`lapse`). Only the fields the engine asks are filled, given the values before them and the case
(`Procedures.asks`: Yunnan's correction decision only with a favourable outcome, its reason only when
not started, the 免责标注 only for a provincial project), because the engine refuses a value for a field
it does not ask.

A case starts from each origin a researcher may choose, and from the deciding body's own start where the
policy has one (Yunnan 第六条(二): opened ex officio, the person concerned then gives their account).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from dialogs.policy import Policy, ProcAction
from dialogs.procedure import CaseFile, Procedures, Record
from scheduler.calendar import WorkCalendar
from scheduler.clocks import ClockEvent

FILE = {"file_id": "F-walk", "file_unique_id": "U-walk", "file_name": "walk.pdf", "size": 100}
START = dt.date(2026, 11, 2)


@dataclass(frozen=True)
class Reached:
    state: str
    day: dt.date
    events: tuple[ClockEvent, ...]
    path: tuple[str, ...]


def _is_panel(action: ProcAction, policy: Policy) -> bool:
    """An action that records one panel member (its choice of kind offers the procedure's panel kinds)."""
    kinds = set(policy.procedure.panel_kinds) if policy.procedure else set()
    return bool(kinds) and any(f.kind == "choice" and kinds <= {o.id for o in f.options} for f in action.fields)


def _variants(procs: Procedures, policy: Policy, case: CaseFile, action: ProcAction, fired: int, day: dt.date,
              panel: bool) -> list[dict[str, Any]]:
    """The values to try: the base choice of every choice field, then each other option of one field at a
    time; each set holds exactly the fields the engine asks with those choices."""
    base = {f.id: f.options[fired % len(f.options)].id for f in action.fields if f.kind == "choice"}
    picks = [base]
    if not panel:  # members differ by name and, cycling, by kind; their ratings do not move any clock
        picks += [{**base, f.id: o.id} for f in action.fields if f.kind == "choice"
                  for o in f.options if o.id != base[f.id]]
    out: list[dict[str, Any]] = []
    for choices in picks:
        values: dict[str, Any] = {}
        for f in action.fields:
            if not procs.asks(policy.key, case, action, f, values, day):
                continue
            if f.kind == "choice":
                values[f.id] = choices[f.id]
            elif f.kind == "number":
                values[f.id] = f.min if f.min is not None else 1
            elif f.kind == "date":
                values[f.id] = day.isoformat()
            elif f.kind == "file":
                values[f.id] = dict(FILE)
            elif f.format == "url":  # a web address (Zhejiang's recorded publication)
                values[f.id] = f"https://kjt.zj.gov.cn/art/{f.id}-{fired + 1}.html"
            else:
                values[f.id] = f"{f.id} #{fired + 1}"
        if values not in out:
            out.append(values)
    return out


def _answers(policy: Policy) -> dict[str, Any]:
    """The case's answers: the first option of every project choice. For Yunnan that is a provincial
    project, so the walk must give the 免责标注 the engine asks only there (第六条(五)). The routing level
    changes which officers act (Policy.officer_may_take, tests/test_rules_*.py), not what the engine
    allows, so another level would only repeat the same states and clocks."""
    return {"project": {f.id: f.options[0].id for f in policy.project_fields if f.kind == "choice"}}


def _starts(policy: Policy, procs: Procedures) -> list[tuple[CaseFile, tuple[ClockEvent, ...]]]:
    """Each way a case begins: filed from an origin the researcher may choose, or opened ex officio."""
    assert policy.procedure is not None
    filed: list[tuple[ClockEvent, ...]] = []
    for origin in policy.origins:
        if not origin.offered:
            continue
        if origin.asks_start_date:
            events: tuple[ClockEvent, ...] = (ClockEvent("procedure_started", START - dt.timedelta(days=4)),
                                              ClockEvent("application_filed", START))
        else:
            events = (ClockEvent("application_filed", START),)
        if events not in filed:
            filed.append(events)
    answers = _answers(policy)
    starts = [(CaseFile(policy.procedure.initial, [], answers), events) for events in filed]
    spec = policy.procedure.ex_officio
    if spec is not None:
        pseudo = ProcAction.model_validate({"id": "ex_officio", "label": spec.label, "from": [spec.to],
                                            "fields": [f.model_dump() for f in spec.fields]})
        [values] = _variants(procs, policy, CaseFile(spec.to, [], answers), pseudo, 0, START, panel=True)
        result = procs.start_ex_officio(policy.key, values, START)
        assert result.ok, result.error
        emitted = tuple(e.event for e in result.events)
        starts.append((CaseFile(result.state_after, [Record("ex_officio", START, values, emitted)], answers),
                       tuple(ClockEvent(e, START) for e in emitted)))
    return starts


@dataclass
class Walk:
    """What the walk found: the situations, and every (action, choice field, option) the engine accepted
    on the way (with field and option None for the action itself), even where the case it led to was a
    situation already seen (Liaoning's `lapse` ends where `confirm` does)."""

    situations: list[Reached]
    taken: set[tuple[str, str | None, str | None]]
    complete: bool
    """False when `max_nodes` stopped the walk before it had seen everything."""


def walk(policy: Policy, *, max_nodes: int = 8000) -> Walk:
    """Every distinct situation a case of `policy` reaches, each with one path that gets there.

    Two paths are the same situation when they are in the same state with the same clock events
    emitted, the same actions open, the same choices recorded by the actions that keep the state (a
    consultation of the finance department, say), the same prerequisites on record (an action another
    action or an option needs first: Yunnan's and Dongguan's 结题 only after the third-party review), and
    as many panel members up to the panel's size."""
    assert policy.procedure is not None
    procs = Procedures({policy.key: policy}, WorkCalendar())
    proc = policy.procedure
    panel_actions = {a.id for a in proc.actions if _is_panel(a, policy)}
    panel_cap = (proc.panel_min or 1) + 1
    prerequisites = {name for a in proc.actions for name in a.after} | {
        name for a in proc.actions for f in a.fields for o in f.options for name in o.after}
    roles = {a.role for a in proc.actions}
    seen: set[tuple[Any, ...]] = set()
    found: list[Reached] = []
    taken: set[tuple[str, str | None, str | None]] = set()
    queue: deque[tuple[CaseFile, tuple[ClockEvent, ...], dt.date, tuple[str, ...]]] = deque()
    for case, events in _starts(policy, procs):
        queue.append((case, events, START, ()))
    while queue and len(seen) < max_nodes:
        case, events, day, path = queue.popleft()
        counts = Counter(r.action for r in case.history)
        open_now = frozenset(a.id for a in procs.available(policy.key, case, roles, day + dt.timedelta(days=1)))
        recorded = frozenset((r.action, k, v) for r in case.history if r.action not in panel_actions
                             for k, v in r.values.items() if isinstance(v, str) and proc.action(r.action)
                             and (f := proc.action(r.action).field(k)) is not None and f.kind == "choice")
        key = (case.state, frozenset(e.event for e in events), open_now, recorded,
               frozenset(a for a in prerequisites if counts[a]),
               min(sum(counts[a] for a in panel_actions), panel_cap))
        if key in seen:
            continue
        seen.add(key)
        found.append(Reached(case.state, day, events, path))
        for action in proc.actions:
            if case.state not in action.source:
                continue
            for values in _variants(procs, policy, case, action, counts[action.id], day, action.id in panel_actions):
                for later in (1, 12):
                    on = day + dt.timedelta(days=later)
                    trial = CaseFile(case.state, list(case.history), case.answers)
                    result = procs.apply(policy.key, trial, action.id, action.role, values, on)
                    if not result.ok:
                        continue
                    taken.add((action.id, None, None))
                    taken |= {(action.id, f.id, str(values[f.id])) for f in action.fields
                              if f.kind == "choice" and f.id in values}
                    emitted = tuple(ClockEvent(e.event, on, dict(e.details)) for e in result.events)
                    trial.history.append(Record(action.id, on, values, tuple(e.event for e in result.events)))
                    queue.append((trial, events + emitted, on, (*path, action.id)))
                    break
    return Walk(found, taken, complete=not queue)


def reachable(policy: Policy, *, max_nodes: int = 8000) -> list[Reached]:
    """The situations of `walk`."""
    return walk(policy, max_nodes=max_nodes).situations
