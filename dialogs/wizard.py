"""The application wizard: a transitions machine over the ten steps, and the actions that feed it.

One machine serves every draft: a draft is a plain `WizardModel` added for the length of one action
and removed after (building a machine per update costs more than the update). Optional steps are
skipped by conditions declared with the transitions, not by branches in the handlers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from transitions import Machine

from dialogs import answers as A
from dialogs.policy import Policy
from dialogs.text import Text, msg

# Files added in the terminal console carry this prefix in their file id: they are not on Telegram.
CONSOLE_FILE_PREFIX = "console:"
OPTIONAL_STEPS = {"conditions": "has_conditions", "negative": "has_negative"}
EXTRA_STATES = ["declaration", "barred", "submitted"]


class DueLike(Protocol):
    date: dt.date
    provisional: bool


class CalendarLike(Protocol):
    def add_working_days(self, start: dt.date, n: int) -> DueLike: ...
    def add_calendar_days(self, start: dt.date, n: int) -> DueLike: ...


@dataclass
class UploadInfo:
    material_id: str
    file_name: str
    size: int
    file_id: str = ""
    file_unique_id: str = ""
    mime_type: str | None = None


@dataclass
class DraftView:
    """The parts of a stored draft the wizard reads and changes."""

    state: str
    answers: dict[str, Any]
    uploads: list[UploadInfo] = field(default_factory=list)


@dataclass
class Outcome:
    changed: bool = False
    error: Text | None = None
    notice: Text | None = None
    new_upload: UploadInfo | None = None
    submitted: bool = False
    left: bool = False


class WizardModel:
    """The machine's model: conditions and callbacks read the draft through the policies."""

    def __init__(self, draft: DraftView, policies: dict[str, Policy]) -> None:
        self.draft = draft
        self.state = draft.state
        self.policies = policies

    @property
    def policy(self) -> Policy | None:
        return self.policies.get(self.draft.answers.get("policy", ""))

    @property
    def meta(self) -> dict[str, Any]:
        return self.draft.answers.setdefault("_meta", {})

    def upload_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for u in self.draft.uploads:
            counts[u.material_id] = counts.get(u.material_id, 0) + 1
        return counts

    # conditions named in the transition table
    def step_complete(self) -> bool:
        return A.step_problem(self.state, self.policy, self.draft.answers, self.upload_counts()) is None

    def step_bars(self) -> bool:
        return bool(A.bars(self.state, self.policy, self.draft.answers))

    def is_editing(self) -> bool:
        return bool(self.meta.get("editing"))

    def has_conditions(self) -> bool:
        return A.applies("conditions", self.policy)

    def has_negative(self) -> bool:
        return A.applies("negative", self.policy)

    def declared(self) -> bool:
        return bool(self.draft.answers.get("declared"))

    def summary_complete(self) -> bool:
        return A.step_problem("summary", self.policy, self.draft.answers, self.upload_counts()) is None

    def barred_from_origin(self) -> bool:
        return self.meta.get("barred_from") == "origin"

    def barred_from_negative(self) -> bool:
        return self.meta.get("barred_from") == "negative"

    # callbacks
    def remember_bar_source(self) -> None:
        self.meta["barred_from"] = self.state

    def start_editing(self) -> None:
        self.meta["editing"] = True

    def stop_editing(self) -> None:
        self.meta.pop("editing", None)
        self.draft.answers.pop("declared", None)

    def reset_field_pointer(self) -> None:
        self.meta.pop("field", None)
        self.meta.pop("target", None)


def _transitions() -> list[dict[str, Any]]:
    """The wizard's transition table. Order matters: transitions' first passing transition wins."""
    steps = A.STEPS
    table: list[dict[str, Any]] = []
    for i, src in enumerate(steps[:-1]):
        if src in ("origin", "negative"):
            table.append({"trigger": "next", "source": src, "dest": "barred",
                          "conditions": ["step_complete", "step_bars"], "before": "remember_bar_source"})
        if src != "policy":
            table.append({"trigger": "next", "source": src, "dest": "summary",
                          "conditions": ["step_complete", "is_editing"]})
            table.append({"trigger": "back", "source": src, "dest": "summary", "conditions": ["is_editing"]})
        skipped: list[str] = []
        for dest in steps[i + 1:]:
            conds = ["step_complete"] + ([OPTIONAL_STEPS[dest]] if dest in OPTIONAL_STEPS else [])
            table.append({"trigger": "next", "source": src, "dest": dest, "conditions": conds,
                          "unless": [OPTIONAL_STEPS[s] for s in skipped]})
            if dest not in OPTIONAL_STEPS:
                break
            skipped.append(dest)
    for i, src in enumerate(steps[1:], start=1):
        skipped = []
        for dest in reversed(steps[:i]):
            conds = [OPTIONAL_STEPS[dest]] if dest in OPTIONAL_STEPS else []
            table.append({"trigger": "back", "source": src, "dest": dest, "conditions": conds,
                          "unless": [OPTIONAL_STEPS[s] for s in skipped]})
            if dest not in OPTIONAL_STEPS:
                break
            skipped.append(dest)
    table += [
        {"trigger": "next", "source": "summary", "dest": "declaration", "conditions": ["summary_complete"]},
        {"trigger": "back", "source": "declaration", "dest": "summary"},
        {"trigger": "submit", "source": "declaration", "dest": "submitted",
         "conditions": ["declared", "summary_complete"]},
        {"trigger": "back", "source": "barred", "dest": "origin", "conditions": ["barred_from_origin"]},
        {"trigger": "back", "source": "barred", "dest": "negative", "conditions": ["barred_from_negative"]},
    ]
    for step in steps[:-1]:
        conds = [OPTIONAL_STEPS[step]] if step in OPTIONAL_STEPS else []
        table.append({"trigger": f"edit_{step}", "source": ["summary", "declaration"], "dest": step,
                      "conditions": conds, "after": "start_editing"})
    return table


def build_machine() -> Machine:
    states = [*A.STEPS, *EXTRA_STATES]
    machine = Machine(model=None, states=states, initial="policy", transitions=_transitions(),
                      auto_transitions=False, ignore_invalid_triggers=True,
                      after_state_change="reset_field_pointer")
    machine.on_enter_summary("stop_editing")
    return machine


_MACHINE = build_machine()


class Wizard:
    """Applies one user action to one draft. Pure: persistence and transport are the caller's."""

    def __init__(self, policies: dict[str, Policy], calendar: CalendarLike,
                 today: Callable[[], dt.date]) -> None:
        self.policies = policies
        self.calendar = calendar
        self.today = today

    # -- navigation through the machine --------------------------------------------------------
    def _fire(self, model: WizardModel, trigger: str) -> bool:
        _MACHINE.add_model(model, initial=model.state)
        try:
            return bool(getattr(model, trigger)())
        finally:
            _MACHINE.remove_model(model)

    def _advance(self, model: WizardModel, out: Outcome) -> None:
        before = model.state
        if not self._fire(model, "next"):
            out.error = out.error or A.step_problem(model.state, model.policy, model.draft.answers,
                                                    model.upload_counts())
        out.changed = out.changed or model.state != before

    # -- the action dispatcher ------------------------------------------------------------------
    def apply(self, draft: DraftView, action: str) -> Outcome:
        """A button press or command, given as its compact action string (it travels in callback data)."""
        model = WizardModel(draft, self.policies)
        out = Outcome()
        if draft.state == "submitted":
            out.error = msg("err.already_submitted")
            return out
        verb, _, arg = action.partition(":")
        handler = getattr(self, f"_do_{verb}", None)
        if handler is None:
            out.error = msg("err.unknown_action")
            return out
        handler(model, arg, out)
        draft.state = model.state
        return out

    def _do_next(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        self._advance(model, out)

    def _do_back(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        out.changed = self._fire(model, "back")

    def _do_cancel(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        out.left = True
        out.notice = msg("wiz.cancelled")

    def _do_e(self, model: WizardModel, step: str, out: Outcome) -> None:
        if step not in A.STEPS[:-1] or model.state not in ("summary", "declaration"):
            out.error = msg("err.stale_button")
            return
        out.changed = self._fire(model, f"edit_{step}")

    def _do_p(self, model: WizardModel, key: str, out: Outcome) -> None:
        if model.state != "policy" or key not in self.policies:
            out.error = msg("err.stale_button")
            return
        answers = model.draft.answers
        if answers.get("policy") != key:
            kept = {k: answers[k] for k in ("project", "facts", "applicant_kind", "_meta") if k in answers}
            answers.clear()
            answers.update(kept)
            answers["policy"] = key
            answers.update(A.migrate(answers, self.policies[key]))
            answers["_meta"]["started_version"] = self.policies[key].version
        out.changed = True
        self._advance(model, out)

    def _do_k(self, model: WizardModel, kind: str, out: Outcome) -> None:
        policy = model.policy
        if model.state != "applicant" or policy is None or kind not in {o.id for o in policy.applicant_kinds}:
            out.error = msg("err.stale_button")
            return
        model.draft.answers["applicant_kind"] = kind
        out.changed = True
        if not policy.roles:
            self._advance(model, out)

    def _do_r(self, model: WizardModel, role: str, out: Outcome) -> None:
        policy = model.policy
        if model.state != "applicant" or policy is None or role not in {r.id for r in policy.roles}:
            out.error = msg("err.stale_button")
            return
        answers = model.draft.answers
        if answers.get("role") != role:
            answers["role"] = role
            # grounds and negative items differ by role: keep only those offered to the new role
            answers.update(A.migrate(answers, policy))
            offered = {i.id for i in A.items_for(policy.grounds, answers)}
            answers["grounds"] = [g for g in answers.get("grounds", []) if g in offered]
        out.changed = True
        if answers.get("applicant_kind"):
            self._advance(model, out)

    # project fields
    def current_field_id(self, draft: DraftView) -> str | None:
        """The project question being asked now; None once all are answered (the review screen)."""
        return self._current_field(WizardModel(draft, self.policies))

    def _current_field(self, model: WizardModel) -> str | None:
        policy = model.policy
        assert policy is not None
        pointer = model.meta.get("field")
        if pointer in {f.id for f in policy.project_fields}:
            return pointer
        given = model.draft.answers.get("project", {})
        for f in policy.project_fields:
            if f.id not in given:
                return f.id
        return None

    def _set_field(self, model: WizardModel, field_id: str, value: Any, out: Outcome) -> None:
        policy = model.policy
        assert policy is not None
        project = dict(model.draft.answers.get("project", {}))
        project[field_id] = value
        model.draft.answers["project"] = project
        model.meta.pop("field", None)
        out.changed = True

    def _do_f(self, model: WizardModel, field_id: str, out: Outcome) -> None:
        policy = model.policy
        if model.state != "project" or policy is None or field_id not in {f.id for f in policy.project_fields}:
            out.error = msg("err.stale_button")
            return
        model.meta["field"] = field_id
        out.changed = True

    def _do_c(self, model: WizardModel, arg: str, out: Outcome) -> None:
        field_id, _, option = arg.partition(".")
        policy = model.policy
        spec = next((f for f in policy.project_fields if f.id == field_id), None) if policy else None
        if (model.state != "project" or spec is None or spec.kind != "choice"
                or option not in {o.id for o in spec.options} or self._current_field(model) != field_id):
            out.error = msg("err.stale_button")
            return
        self._set_field(model, field_id, option, out)

    def _do_skip(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        policy = model.policy
        field_id = self._current_field(model) if model.state == "project" and policy else None
        spec = next((f for f in policy.project_fields if f.id == field_id), None) if policy else None
        if spec is None or spec.required:
            out.error = msg("err.stale_button")
            return
        self._set_field(model, spec.id, None, out)

    # origin
    def _do_o(self, model: WizardModel, origin_id: str, out: Outcome) -> None:
        policy = model.policy
        if model.state != "origin" or policy is None or policy.origin(origin_id) is None:
            out.error = msg("err.stale_button")
            return
        answers = model.draft.answers
        if answers.get("origin") != origin_id:
            answers["origin"] = origin_id
            answers.pop("start_date", None)
        out.changed = True

    def _do_d(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        if model.state != "origin":
            out.error = msg("err.stale_button")
            return
        model.draft.answers.pop("start_date", None)
        out.changed = True

    def _do_g(self, model: WizardModel, arg: str, out: Outcome) -> None:
        gate_id, _, yn = arg.partition(".")
        policy = model.policy
        if model.state != "origin" or policy is None or gate_id not in {g.id for g in policy.gates} \
                or yn not in ("y", "n"):
            out.error = msg("err.stale_button")
            return
        gates = dict(model.draft.answers.get("gates", {}))
        gates[gate_id] = yn == "y"
        model.draft.answers["gates"] = gates
        out.changed = True

    # multi-select lists
    def _do_t(self, model: WizardModel, arg: str, out: Outcome) -> None:
        policy = model.policy
        if model.state not in ("conditions", "grounds") or policy is None or not arg.isdigit():
            out.error = msg("err.stale_button")
            return
        offered = A.items_for(getattr(policy, model.state), model.draft.answers)
        index = int(arg)
        if index >= len(offered):
            out.error = msg("err.stale_button")
            return
        chosen = list(model.draft.answers.get(model.state, []))
        item_id = offered[index].id
        if item_id in chosen:
            chosen.remove(item_id)
        else:
            chosen.append(item_id)
        model.draft.answers[model.state] = chosen
        out.changed = True

    def _do_n(self, model: WizardModel, arg: str, out: Outcome) -> None:
        idx, _, yn = arg.partition(".")
        policy = model.policy
        offered = A.items_for(policy.negative, model.draft.answers) if policy else []
        if model.state != "negative" or not idx.isdigit() or int(idx) >= len(offered) or yn not in ("y", "n"):
            out.error = msg("err.stale_button")
            return
        given = dict(model.draft.answers.get("negative", {}))
        given[offered[int(idx)].id] = yn == "y"
        model.draft.answers["negative"] = given
        out.changed = True

    # materials
    def _material_at(self, model: WizardModel, arg: str) -> str | None:
        policy = model.policy
        if model.state != "materials" or policy is None or not arg.isdigit() or int(arg) >= len(policy.materials):
            return None
        return policy.materials[int(arg)].id

    def _do_m(self, model: WizardModel, arg: str, out: Outcome) -> None:
        material = self._material_at(model, arg)
        if material is None:
            out.error = msg("err.stale_button")
            return
        model.meta["target"] = material
        later = [m for m in model.draft.answers.get("materials_later", []) if m != material]
        model.draft.answers["materials_later"] = later
        out.changed = True

    def _do_l(self, model: WizardModel, arg: str, out: Outcome) -> None:
        material = self._material_at(model, arg)
        if material is None:
            out.error = msg("err.stale_button")
            return
        later = list(model.draft.answers.get("materials_later", []))
        if material in later:
            later.remove(material)
        else:
            later.append(material)
            if model.meta.get("target") == material:
                model.meta.pop("target")
        model.draft.answers["materials_later"] = later
        out.changed = True

    # declaration and submission
    def _do_declare(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        if model.state != "declaration":
            out.error = msg("err.stale_button")
            return
        model.draft.answers["declared"] = not model.draft.answers.get("declared", False)
        out.changed = True

    def _do_submit(self, model: WizardModel, _arg: str, out: Outcome) -> None:
        if model.state != "declaration":
            out.error = msg("err.stale_button")
            return
        if not model.declared():
            out.error = msg("err.declare_first")
            return
        if self._fire(model, "submit"):
            out.changed = out.submitted = True
        else:
            out.error = A.step_problem("summary", model.policy, model.draft.answers, model.upload_counts())

    # -- typed input ------------------------------------------------------------------------------
    def text(self, draft: DraftView, text: str) -> Outcome:
        model = WizardModel(draft, self.policies)
        out = Outcome()
        policy = model.policy
        text = text.strip()
        if model.state == "project" and policy is not None:
            field_id = self._current_field(model)
            spec = next((f for f in policy.project_fields if f.id == field_id), None)
            if spec is None or spec.kind == "choice":
                out.error = msg("err.use_buttons")
            elif not text:
                out.error = msg("err.empty_text")
            elif len(text) > A.MAX_FIELD_CHARS:
                out.error = msg("err.text_too_long", max=A.MAX_FIELD_CHARS)
            elif spec.kind == "number":
                value = A.parse_amount(text)
                if isinstance(value, float):
                    self._set_field(model, spec.id, value, out)
                else:
                    out.error = value
            else:
                self._set_field(model, spec.id, text, out)
        elif model.state == "origin" and policy is not None and self._awaiting_date(model):
            value = A.parse_date(text, self.today())
            if isinstance(value, dt.date):
                model.draft.answers["start_date"] = value.isoformat()
                out.changed = True
            else:
                out.error = value
        elif model.state == "facts":
            if not text:
                out.error = msg("err.empty_text")
            elif len(text) < A.FACTS_MIN_CHARS:
                out.error = msg("err.facts_short", min=A.FACTS_MIN_CHARS)
            elif len(text) > A.FACTS_MAX_CHARS:
                out.error = msg("err.text_too_long", max=A.FACTS_MAX_CHARS)
            else:
                model.draft.answers["facts"] = text
                out.changed = True
        else:
            out.error = msg("err.use_buttons")
        draft.state = model.state
        return out

    def _awaiting_date(self, model: WizardModel) -> bool:
        policy = model.policy
        origin = policy.origin(model.draft.answers.get("origin", "")) if policy else None
        return bool(origin and origin.asks_start_date and not model.draft.answers.get("start_date"))

    def document(self, draft: DraftView, upload: UploadInfo) -> Outcome:
        model = WizardModel(draft, self.policies)
        out = Outcome()
        policy = model.policy
        if model.state != "materials" or policy is None:
            out.error = msg("err.document_not_now")
            return out
        if upload.size > A.MAX_UPLOAD_BYTES:
            out.error = msg("err.document_too_big", size_mb=round(upload.size / 1048576, 1),
                            max_mb=A.MAX_UPLOAD_BYTES // 1048576)
            return out
        target = model.meta.get("target")
        if target not in {m.id for m in policy.materials}:
            out.error = msg("err.choose_material_first")
            return out
        upload.material_id = target
        draft.uploads.append(upload)
        out.new_upload = upload
        out.changed = True
        label = next(m.label for m in policy.materials if m.id == target)
        out.notice = msg("wiz.materials.received", name=upload.file_name or "—", material=label)
        return out

    # -- deadlines shown while answering --------------------------------------------------------
    def filing_deadline(self, policy: Policy, answers: dict[str, Any]) -> tuple[dt.date, bool, str, int] | None:
        """(due date, provisional, clause, length) of the applicant's filing window, if it runs."""
        origin = policy.origin(answers.get("origin", ""))
        if origin is None or not origin.filing_limit or not answers.get("start_date"):
            return None
        limit = policy.time_limit(origin.filing_limit)
        if limit.length is None:
            return None
        start = dt.date.fromisoformat(answers["start_date"])
        if limit.unit == "working_days":
            due = self.calendar.add_working_days(start, limit.length)
        else:
            due = self.calendar.add_calendar_days(start, limit.length)
        return due.date, due.provisional, limit.clause, limit.length
