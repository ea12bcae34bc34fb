"""The application wizard: a transitions machine over the steps, and the actions that feed it.

The machine owns the order of the steps and which are skipped (its transition table below, generated from
`answers.STEPS` and `OPTIONAL_STEPS`); what each step asks and what its buttons do is declared once in
dialogs/steps.py. One machine serves every draft, and is never attached to one: a draft is a plain
`WizardModel` and a trigger is fired with `machine.events[name].trigger(model)`, so no state is shared
between drafts (or threads) and nothing is bound per call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from transitions import Machine

from dialogs.answers import STEPS, applies, bars
from dialogs.model import (
    CONSOLE_FILE_PREFIX,
    CalendarLike,
    Deadline,
    DraftView,
    Env,
    Outcome,
    UploadInfo,
    WizardModel,
)
from dialogs.policy import Policy
from dialogs.steps import FORMS, STEP_SPECS, Step, summary_problem
from dialogs.text import msg
from dialogs.widgets import PICK_KEY, FileList, FreeText

__all__ = ["CONSOLE_FILE_PREFIX", "EXTRA_STATES", "OPTIONAL_STEPS", "DraftView", "Outcome", "UploadInfo", "Wizard",
           "WizardModel", "build_machine", "transitions_table"]

# A step skipped when the policy has no such list; the condition names a method of `Model` below.
OPTIONAL_STEPS = {"conditions": "has_conditions", "negative": "has_negative"}
EXTRA_STATES = ["declaration", "barred", "submitted"]
# Steps whose answers can bar the case outright (a gate, a negative-list item answered yes).
BARRING_STEPS = ("origin", "negative")


class Model(WizardModel):
    """The conditions and callbacks the transition table names."""

    def step_complete(self) -> bool:
        return STEP_SPECS[self.state].problem(self) is None

    def step_bars(self) -> bool:
        return bool(bars(self.state, self.policy, self.answers))

    def is_editing(self) -> bool:
        return bool(self.meta.get("editing"))

    def has_conditions(self) -> bool:
        return applies("conditions", self.policy)

    def has_negative(self) -> bool:
        return applies("negative", self.policy)

    def declared(self) -> bool:
        return bool(self.answers.get("declared"))

    def summary_complete(self) -> bool:
        return summary_problem(self) is None

    def barred_from_origin(self) -> bool:
        return self.meta.get("barred_from") == "origin"

    def barred_from_negative(self) -> bool:
        return self.meta.get("barred_from") == "negative"

    def remember_bar_source(self) -> None:
        self.meta["barred_from"] = self.state

    def start_editing(self) -> None:
        self.meta["editing"] = True

    def stop_editing(self) -> None:
        self.meta.pop("editing", None)
        self.answers.pop("declared", None)

    def reset_position(self) -> None:
        """A new screen starts at its beginning: the form's field, the chosen material, the list's page."""
        for key in ("field", "target", "page", PICK_KEY):
            self.meta.pop(key, None)


def transitions_table() -> list[dict[str, Any]]:
    """The wizard's transition table. Order matters: transitions' first passing transition wins."""
    steps = STEPS
    table: list[dict[str, Any]] = []
    for i, src in enumerate(steps[:-1]):
        if src in BARRING_STEPS:
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
    machine = Machine(model=None, states=[*STEPS, *EXTRA_STATES], initial="policy", transitions=transitions_table(),
                      auto_transitions=False, ignore_invalid_triggers=True, after_state_change="reset_position")
    machine.on_enter_summary("stop_editing")
    return machine


_MACHINE = build_machine()


class Wizard:
    """Applies one user action to one draft. Pure: persistence and transport are the caller's."""

    def __init__(self, policies: dict[str, Policy], calendar: CalendarLike, today: Callable[[], dt.date]) -> None:
        self.policies = policies
        self.calendar = calendar
        self.today = today
        self.env = Env(policies, calendar, today)

    def model(self, draft: DraftView) -> Model:
        return Model(draft, self.env)

    @staticmethod
    def _fire(m: Model, trigger: str) -> bool:
        event = _MACHINE.events.get(trigger)
        return bool(event is not None and event.trigger(m))

    def _advance(self, m: Model, out: Outcome) -> None:
        before = m.state
        if not self._fire(m, "next"):
            out.error = out.error or STEP_SPECS[m.state].problem(m)
        out.changed = out.changed or m.state != before

    def _step(self, m: Model) -> Step:
        return STEP_SPECS[m.state]

    # -- presses ------------------------------------------------------------------------------------------
    def apply(self, draft: DraftView, action: str) -> Outcome:
        """A button press, as the action string its widget put in the callback data."""
        m = self.model(draft)
        out = Outcome()
        if draft.state == "submitted":
            out.error = msg("err.already_submitted")
            return out
        step = self._step(m)
        if action == "next" and step.next != "never":
            self._advance(m, out)
        elif action == "back" and step.back is not None:
            if any(w.back(m) for w in step.visible_widgets(m)):
                out.changed = True
            else:
                out.changed = self._fire(m, "back")
        elif action == "cancel" and step.cancel:
            out.left = True
            out.notice = msg("wiz.cancelled")
        else:
            verb, _, arg = action.partition(":")
            widget = next((w for w in step.visible_widgets(m) if verb in w.verbs), None)
            if widget is None:
                out.error = msg("err.stale_button")
                return out
            widget.press(m, verb, arg, out)
            if out.trigger is not None:
                fired = self._fire(m, out.trigger)
                out.submitted = fired and out.trigger == "submit"
                out.changed = out.changed or fired
                if not fired and out.error is None:
                    out.error = summary_problem(m) if out.trigger == "submit" else msg("err.stale_button")
            elif out.error is None and verb in step.advance_on and step.problem(m) is None:
                self._advance(m, out)
        draft.state = m.state
        return out

    # -- typed input ----------------------------------------------------------------------------------------
    def text(self, draft: DraftView, text: str, message_id: int | None = None) -> Outcome:
        m = self.model(draft)
        out = Outcome()
        text = text.strip()
        step = self._step(m)
        widget = next((w for w in step.visible_widgets(m) if w.takes_text(m)), None)
        if widget is None:
            out.error = msg("err.use_buttons")
            return out
        form = FORMS.get(m.state)
        field = form.current(m) if form is not None else None
        before_facts = m.answers.get("facts") if isinstance(widget, FreeText) else None
        appending = isinstance(widget, FreeText) and m.meta.get("facts_last_rev") == draft.revision
        widget.text(m, text, out)
        if out.changed and not out.meta_only and out.error is None and message_id is not None:
            m.meta["last_text"] = {"message_id": message_id, "revision": draft.revision + 1, "state": m.state,
                                   "field": field.id if field is not None else None,
                                   "before": before_facts, "appended": appending}
        draft.state = m.state
        return out

    def edited(self, draft: DraftView, text: str, message_id: int) -> Outcome:
        """An edit of the last answer, while nothing has happened since, replaces that answer; an edit of
        anything else changes nothing and says so."""
        m = self.model(draft)
        last = m.meta.get("last_text") or {}
        if (last.get("message_id") != message_id or last.get("revision") != draft.revision
                or last.get("state") != draft.state):
            return Outcome(notice=msg("wiz.edit_ignored"))
        if last.get("field"):
            m.meta["field"] = last["field"]
        elif draft.state == "origin":
            m.answers.pop("start_date", None)
        elif draft.state == "facts":
            if last.get("before") is None:
                m.answers.pop("facts", None)
            else:
                m.answers["facts"] = last["before"]
            m.meta["facts_parts"] = max(1, m.meta.get("facts_parts", 1) - 1)
            if last.get("appended"):
                m.meta["facts_last_rev"] = draft.revision
            else:
                m.meta.pop("facts_last_rev", None)
        out = self.text(draft, text, message_id)
        if out.changed and out.error is None:
            out.notice = msg("wiz.edit_applied")
        return out

    def document(self, draft: DraftView, upload: UploadInfo) -> Outcome:
        m = self.model(draft)
        out = Outcome()
        if m.state != "materials" or m.policy is None:
            out.error = msg("err.document_not_now")
            return out
        FileList().document(m, upload, out)
        return out

    # -- read-outs --------------------------------------------------------------------------------------------
    def filing_deadline(self, draft: DraftView) -> Deadline | None:
        return self.model(draft).filing_deadline()

    def current_field_id(self, draft: DraftView) -> str | None:
        """The question a form step is asking now; None on its review screen or outside a form."""
        m = self.model(draft)
        form = FORMS.get(m.state)
        field = form.current(m) if form is not None else None
        return field.id if field is not None else None
