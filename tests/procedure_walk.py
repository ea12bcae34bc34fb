"""Every state a policy's case can reach, found by walking the real procedure engine (dialogs.procedure)
from each way a case can start, with the clock events each path has emitted.

The walk is breadth-first over (state, events emitted so far, how often each action was taken), so it
follows every branch the policy file allows — favourable and unfavourable outcomes, optional steps,
pauses, extensions, per-case periods — without a hand-written script that would go stale when the
policy files change. Values are made up from each field's kind: every option of a choice field is tried
one at a time; the k-th firing of an action starts from option k of each choice (so a panel gets experts
of every kind); a number takes the field's minimum; an action refused one day later is tried twelve
days later (a period that must run out first, such as a publicity).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from dialogs.policy import Policy, ProcAction
from dialogs.procedure import CaseFile, Procedures, Record
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


def _variants(action: ProcAction, fired: int, day: dt.date, panel: bool) -> list[dict[str, Any]]:
    base: dict[str, Any] = {}
    choices = []
    for f in action.fields:
        if f.kind == "choice":
            base[f.id] = f.options[fired % len(f.options)].id
            choices.append(f)
        elif f.kind == "number":
            base[f.id] = f.min if f.min is not None else 1
        elif f.kind == "date":
            base[f.id] = day.isoformat()
        elif f.kind == "file":
            base[f.id] = dict(FILE)
        else:
            base[f.id] = f"{f.id} #{fired + 1}"
    out = [base]
    if panel:  # members differ by name and, cycling, by kind; their ratings do not move any clock
        return out
    for f in choices:
        for option in f.options:
            if option.id != base[f.id]:
                out.append({**base, f.id: option.id})
    return out


def _starts(policy: Policy) -> list[tuple[ClockEvent, ...]]:
    starts = []
    for origin in policy.origins:
        if origin.asks_start_date:
            starts.append((ClockEvent("procedure_started", START - dt.timedelta(days=4)),
                           ClockEvent("application_filed", START)))
        else:
            starts.append((ClockEvent("application_filed", START),))
    unique: list[tuple[ClockEvent, ...]] = []
    for s in starts:
        if s not in unique:
            unique.append(s)
    return unique


def reachable(policy: Policy, *, max_nodes: int = 3000) -> list[Reached]:
    """Every distinct situation a case of `policy` reaches, each with one path that gets there.

    Two paths are the same situation when they are in the same state with the same clock events
    emitted, the same actions open, the same choices recorded by the actions that keep the state (a
    consultation of the finance department, say), and as many panel members up to the panel's size."""
    assert policy.procedure is not None
    procs = Procedures({policy.key: policy})
    proc = policy.procedure
    panel_actions = {a.id for a in proc.actions if _is_panel(a, policy)}
    panel_cap = (proc.panel_min or 1) + 1
    roles = {a.role for a in proc.actions}
    seen: set[tuple[Any, ...]] = set()
    found: list[Reached] = []
    queue: deque[tuple[CaseFile, tuple[ClockEvent, ...], dt.date, tuple[str, ...]]] = deque()
    for events in _starts(policy):
        queue.append((CaseFile(proc.initial, []), events, START, ()))
    while queue and len(seen) < max_nodes:
        case, events, day, path = queue.popleft()
        counts = Counter(r.action for r in case.history)
        open_now = frozenset(a.id for a in procs.available(policy.key, case, roles, day + dt.timedelta(days=1)))
        recorded = frozenset((r.action, k, v) for r in case.history if r.action not in panel_actions
                             for k, v in r.values.items() if isinstance(v, str) and proc.action(r.action)
                             and (f := proc.action(r.action).field(k)) is not None and f.kind == "choice")
        key = (case.state, frozenset(e.event for e in events), open_now, recorded,
               min(sum(counts[a] for a in panel_actions), panel_cap))
        if key in seen:
            continue
        seen.add(key)
        found.append(Reached(case.state, day, events, path))
        for action in proc.actions:
            if case.state not in action.source:
                continue
            for values in _variants(action, counts[action.id], day, action.id in panel_actions):
                for later in (1, 12):
                    on = day + dt.timedelta(days=later)
                    trial = CaseFile(case.state, list(case.history))
                    result = procs.apply(policy.key, trial, action.id, action.role, values, on)
                    if not result.ok:
                        continue
                    emitted = tuple(ClockEvent(e.event, on, dict(e.details)) for e in result.events)
                    trial.history.append(Record(action.id, on, values, tuple(e.event for e in result.events)))
                    queue.append((trial, events + emitted, on, (*path, action.id)))
                    break
    return found
