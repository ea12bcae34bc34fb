"""A draft's screen, assembled: the governing document and its status, the progress, the filing deadline
while it runs, then the current step as dialogs/steps.py declares it, its buttons, and any notice or error.

Every screen starts with the governing document and its status, because a user must always see which text
governs the case and whether it is a draft, lapsed or in force.
"""

from __future__ import annotations

from typing import Any

from dialogs.answers import steps_for
from dialogs.model import DraftView
from dialogs.policy import Policy
from dialogs.steps import (
    STEP_SPECS,
    STEP_TITLES,
    deadline_line,
    policy_header,
    status_text,
    summary_sections,
)
from dialogs.text import Button, Screen, Text, msg
from dialogs.wizard import Wizard

__all__ = ["ScreenBuilder", "policy_header", "status_text"]
BACK = Button(msg("btn.back"), "back")
CANCEL = Button(msg("btn.cancel"), "cancel")
# Steps after the one that starts the filing clock: the deadline stays in sight while it runs.
_DEADLINE_SHOWN = {"conditions", "grounds", "negative", "facts", "materials", "declaration"}


class ScreenBuilder:
    def __init__(self, wizard: Wizard) -> None:
        self.wizard = wizard

    def build(self, draft: DraftView, notice: Text | None = None, error: Text | None = None) -> Screen:
        m = self.wizard.model(draft)
        policy = m.policy
        today = self.wizard.today()
        step = STEP_SPECS[draft.state]
        screen = Screen()
        if policy is not None and draft.state != "policy":
            screen.add(policy_header(policy, today))
        steps = steps_for(policy)
        shown = "summary" if draft.state == "declaration" else draft.state
        if policy is None and shown == "policy":
            screen.add(msg("wiz.progress_first", title=msg(STEP_TITLES["policy"])))
        elif shown in steps:
            screen.add(msg("wiz.progress", n=steps.index(shown) + 1, total=len(steps), title=msg(STEP_TITLES[shown])))
        if draft.state in _DEADLINE_SHOWN and m.filing_deadline() is not None:
            screen.add(deadline_line(m.filing_deadline(), today))
        screen.add(*step.intro(m))
        for widget in step.visible_widgets(m):
            widget.render(m, screen)
        step.after(m, screen)
        complete = step.problem(m) is None
        if step.next == "always" or (step.next == "complete" and complete):
            screen.row(Button(step.next_label, "next"))
        for row in step.extra_rows(m):
            screen.row(*row)
        nav = ([Button(step.back, "back")] if step.back is not None else []) + ([CANCEL] if step.cancel else [])
        screen.row(*nav)
        if notice is not None:
            screen.lines.append(notice)
        if error is not None:
            screen.lines.append(msg("wiz.error", text=error))
        return screen

    def summary_lines(self, draft: DraftView, policy: Policy, excerpt: bool = False) -> list[tuple[str, list[Text]]]:
        """Each step's answers as text, in full unless `excerpt`: the summary, /case and the 申请书 share it."""
        m = self.wizard.model(draft)
        if m.policy is None or m.policy.key != policy.key:
            draft = DraftView(draft.state, {**draft.answers, "policy": policy.key}, draft.uploads)
            m = self.wizard.model(draft)
        return summary_sections(m, excerpt=excerpt)

    def deadline_line(self, policy: Policy, answers: dict[str, Any]) -> Text:
        m = self.wizard.model(DraftView("origin", {**answers, "policy": policy.key}))
        return deadline_line(m.filing_deadline(), self.wizard.today())
