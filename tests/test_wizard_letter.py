"""What the wizard shows of the rules it applies: a warning that is not a bar (Zhejiang 三(一)), grouped
conditions as the applicant ticks them (Yunnan 第四条), a lapsed document caught at submission."""

from __future__ import annotations

import datetime as dt

from bot.i18n import render
from dialogs.answers import STATUS_ACK, step_problem
from dialogs.policy import load_policies
from dialogs.screens import ScreenBuilder
from dialogs.wizard import DraftView, Wizard
from scheduler.calendar import WorkCalendar
from tests.rules_kit import complete_answers

TODAY = dt.date(2026, 11, 20)
POLICIES = load_policies()


def wizard() -> Wizard:
    return Wizard(POLICIES, WorkCalendar(), lambda: TODAY)


def text(draft: DraftView, lang: str = "zh") -> str:
    screen = ScreenBuilder(wizard()).build(draft)
    return "\n".join(render(line, lang) for line in screen.lines)


def test_zhejiang_3_1_entered_acceptance_is_shown_as_a_warning_on_the_step_and_the_summary():
    w = wizard()
    draft = DraftView("origin", {"policy": "zhejiang"})
    w.apply(draft, "o:own")
    w.apply(draft, "g:termination_filed.y")
    w.apply(draft, "g:acceptance_done.n")
    assert "📌" not in text(draft)
    w.apply(draft, "g:acceptance_entered.y")
    shown = text(draft)
    assert "📌" in shown and "验收一旦完成" in shown and "三(一)" in shown
    assert "Please note" in text(draft, "en")
    w.apply(draft, "next")
    assert draft.state != "barred"  # a warning, not a bar
    summary = DraftView("summary", {**complete_answers(POLICIES["zhejiang"]),
                                    "gates": {"termination_filed": True, "acceptance_done": False,
                                              "acceptance_entered": True}})
    assert "验收一旦完成" in text(summary)


def test_yunnan_4_groups_are_shown_with_their_rule_and_how_far_the_ticks_go():
    w = wizard()
    draft = DraftView("conditions", {"policy": "yunnan", "applicant_kind": "person"})
    shown = text(draft)
    assert "⬜ （一）至（四）须全部符合" in shown and "已勾选 0/4" in shown
    assert "⬜ （五）（六）至少符合一项" in shown and "已勾选 0/2" in shown
    w.apply(draft, "t:0")
    w.apply(draft, "t:4")
    shown = text(draft)
    assert "已勾选 1/4" in shown and "✅ （五）（六）至少符合一项" in shown
    outcome = w.apply(draft, "next")
    assert draft.state == "conditions" and outcome.error is not None  # (二)–(四) still unticked
    for i in (1, 2, 3):
        w.apply(draft, f"t:{i}")
    assert "✅ （一）至（四）须全部符合" in text(draft)
    w.apply(draft, "next")
    assert draft.state != "conditions"


def test_yunnan_lapsed_document_unconfirmed_is_caught_at_the_summary():
    """A draft whose policy lapsed while it was open (or carried over without the confirmation) cannot be
    submitted until the applicant confirms after reading why (step_problem with today)."""
    yn = POLICIES["yunnan"]
    answers = complete_answers(yn)
    answers.pop(STATUS_ACK, None)
    assert step_problem("summary", yn, answers, {m.id: 1 for m in yn.materials}) is None  # without today: not seen
    err = step_problem("summary", yn, answers, {m.id: 1 for m in yn.materials}, TODAY)
    assert err is not None and err.key == "err.confirm_status"
    assert step_problem("summary", yn, {**answers, STATUS_ACK: "yunnan"}, {m.id: 1 for m in yn.materials},
                        TODAY) is None
    assert step_problem("policy", yn, answers, {}, dt.date(2025, 1, 1)) is None  # before the lapse: nothing to confirm


def test_zhejiang_3_4_collective_decision_is_worded_as_the_text():
    """三(四) "作出是否容错免责的决策认定"; "认定为尽职免责" is the panel's finding of 三(三), not the decision."""
    decide = next(a for a in POLICIES["zhejiang"].procedure.actions if a.id == "decide")
    exempt = next(o for o in decide.field("outcome").options if o.id == "exempt")
    assert exempt.label.zh == "认定为容错免责"
    panel = next(a for a in POLICIES["zhejiang"].procedure.actions if a.id == "experts_done")
    assert any("认定为尽职免责" in o.label.zh for f in panel.fields for o in f.options)
