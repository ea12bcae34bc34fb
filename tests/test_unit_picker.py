"""The wizard's unit question against a registry lookup (a fake one: dialogs stay free of the database):
an exact name is taken with its unit, similar names are offered on a picker pressed by index, the typed
name can be kept (it is then marked new, for the admins), forged presses are refused, Back leaves the
picker, a change from the review replaces the unit consistently, and without a lookup nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import render
from dialogs.answers import migrate
from dialogs.model import UnitMatch
from dialogs.policy import load_policies
from dialogs.screens import ScreenBuilder
from dialogs.text import Plain
from dialogs.wizard import DraftView, Wizard
from scheduler.calendar import WorkCalendar
from tests.scenario import project_steps

TODAY = dt.date(2026, 11, 20)
POLICIES = load_policies()
REGISTERED = {7: "浙江大学材料学院", 8: "浙江大学材料科学与工程学院", 9: "浙江工业大学材料学院"}
LONG = "浙江大学材料科学与工程学院先进材料与智能制造研究中心"


def lookup(text: str) -> UnitMatch:
    """A registry of three units: exact names match, `浙大材料` resembles the first two."""
    if not any(ch.isalnum() for ch in text):
        return UnitMatch(named=False)
    exact = next(((i, n) for i, n in REGISTERED.items() if n == text), None)
    if text == "浙大材料":
        return UnitMatch(candidates=((7, REGISTERED[7]), (8, REGISTERED[8])))
    if text == "长名":
        return UnitMatch(candidates=((7, REGISTERED[7]), (10, LONG)))
    return UnitMatch(exact=exact, candidates=(exact,) if exact else ())


@pytest.fixture(scope="module")
def wizard() -> Wizard:
    return Wizard(POLICIES, WorkCalendar(), lambda: TODAY)


def at_unit(wizard: Wizard, units=lookup) -> DraftView:
    """A Zhejiang draft on the project step with every field before the unit answered."""
    policy = POLICIES["zhejiang"]
    draft = DraftView("project", {"policy": "zhejiang"}, units=units)
    for step in project_steps(policy):
        if wizard.current_field_id(draft) == "unit":
            break
        out = wizard.apply(draft, step.value) if step.kind == "press" else wizard.text(draft, step.value)
        assert out.error is None, (step, out.error)
    assert wizard.current_field_id(draft) == "unit"
    return draft


def actions(wizard: Wizard, draft: DraftView) -> list[str]:
    return [b.action for row in ScreenBuilder(wizard).build(draft).rows for b in row]


def screen_text(wizard: Wizard, draft: DraftView, lang: str = "zh") -> str:
    return "\n".join(render(line, lang) for line in ScreenBuilder(wizard).build(draft).lines)


def test_an_exact_name_is_taken_with_its_registry_unit(wizard):
    draft = at_unit(wizard)
    out = wizard.text(draft, "浙江大学材料学院")
    assert out.error is None and out.notice.key == "wiz.unit.matched"
    assert draft.answers["project"]["unit"] == "浙江大学材料学院" and draft.answers["project"]["unit_id"] == 7
    assert "unit_new" not in draft.answers["project"]
    assert wizard.current_field_id(draft) == "contact"


def test_similar_names_are_offered_and_one_is_picked_by_its_index(wizard):
    draft = at_unit(wizard)
    out = wizard.text(draft, "浙大材料")
    assert out.changed and out.error is None and not out.meta_only  # a new revision: older pickers go stale
    assert "unit" not in draft.answers["project"]  # nothing stored until the researcher says which
    assert wizard.current_field_id(draft) == "unit"
    assert actions(wizard, draft)[:3] == ["u:0", "u:1", "u:typed"]
    screen = ScreenBuilder(wizard).build(draft)
    labels = [b.label for row in screen.rows for b in row]
    assert Plain(REGISTERED[7]) in labels and Plain(REGISTERED[8]) in labels
    text = screen_text(wizard, draft)
    assert "浙大材料" in text and "使用我输入的名称" in render(labels[2], "zh")
    out = wizard.apply(draft, "u:1")
    assert out.error is None and out.notice.key == "wiz.unit.matched"
    assert draft.answers["project"]["unit"] == REGISTERED[8] and draft.answers["project"]["unit_id"] == 8
    assert "unit_pick" not in draft.answers["_meta"] and wizard.current_field_id(draft) == "contact"


def test_the_typed_name_can_be_kept_and_is_marked_new(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "浙大材料")
    out = wizard.apply(draft, "u:typed")
    assert out.error is None and out.notice.key == "wiz.unit.new"
    assert draft.answers["project"]["unit"] == "浙大材料" and draft.answers["project"]["unit_new"] is True
    assert "unit_id" not in draft.answers["project"]


def test_an_unknown_name_is_stored_as_new_and_the_next_screen_says_the_admins_will_be_asked(wizard):
    draft = at_unit(wizard)
    out = wizard.text(draft, "温州医科大学")
    assert out.notice.key == "wiz.unit.new"
    assert draft.answers["project"] == {**draft.answers["project"], "unit": "温州医科大学", "unit_new": True}
    assert "管理员" in render(out.notice, "zh") and "admins" in render(out.notice, "en")


@pytest.mark.parametrize("forged", ["u:2", "u:99", "u:-1", "u:", "u:abc", "u:０", "u:1" + "0" * 40, "u:7"])
def test_a_forged_or_out_of_range_pick_is_refused_as_a_stale_button(wizard, forged):
    draft = at_unit(wizard)
    wizard.text(draft, "浙大材料")
    before = repr(draft.answers)
    out = wizard.apply(draft, forged)
    assert out.error is not None and out.error.key == "err.stale_button" and not out.changed
    assert repr(draft.answers) == before


def test_a_pick_without_a_picker_is_refused(wizard):
    draft = at_unit(wizard)
    for press in ("u:0", "u:typed"):
        out = wizard.apply(draft, press)
        assert out.error.key == "err.stale_button" and "unit" not in draft.answers["project"]
    wizard.text(draft, "浙大材料")
    draft.answers["_meta"]["unit_pick"]["field"] = "name"  # a picker left for another field offers nothing
    assert wizard.apply(draft, "u:0").error.key == "err.stale_button"


def test_typing_again_on_the_picker_searches_again(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "浙大材料")
    out = wizard.text(draft, "浙江工业大学材料学院")
    assert out.notice.key == "wiz.unit.matched" and draft.answers["project"]["unit_id"] == 9
    assert "unit_pick" not in draft.answers["_meta"]


def test_back_leaves_the_picker_for_the_question_then_the_previous_field(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "浙大材料")
    assert wizard.apply(draft, "back").changed
    assert "unit_pick" not in draft.answers["_meta"] and wizard.current_field_id(draft) == "unit"
    assert "u:0" not in actions(wizard, draft)
    wizard.apply(draft, "back")
    assert wizard.current_field_id(draft) == "amount"


def test_a_change_from_the_review_replaces_the_unit_and_its_registry_marks(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "浙大材料")
    wizard.apply(draft, "u:0")
    wizard.text(draft, "13800000000")
    assert wizard.current_field_id(draft) is None  # the review
    review = screen_text(wizard, draft)
    assert REGISTERED[7] in review and "unit_id" not in review and "#7" not in review
    wizard.apply(draft, "f:unit")
    wizard.text(draft, "温州医科大学")  # not registered: the picked unit's id goes
    assert draft.answers["project"]["unit"] == "温州医科大学" and draft.answers["project"]["unit_new"] is True
    assert "unit_id" not in draft.answers["project"] and wizard.current_field_id(draft) is None
    wizard.apply(draft, "f:unit")
    wizard.text(draft, "浙大材料")  # the picker over the kept answer: Keep stays possible
    assert {"u:0", "u:typed", "keep"} <= set(actions(wizard, draft))
    wizard.apply(draft, "u:1")
    assert draft.answers["project"]["unit_id"] == 8 and "unit_new" not in draft.answers["project"]
    assert wizard.current_field_id(draft) is None


def test_long_names_are_numbered_in_the_message_with_number_buttons(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "长名")
    screen = ScreenBuilder(wizard).build(draft)
    first = [b for b in screen.rows[0]]
    assert [b.action for b in first] == ["u:0", "u:1"] and [b.label for b in first] == [Plain("1"), Plain("2")]
    text = screen_text(wizard, draft)
    assert f"2. {LONG}" in text and f"1. {REGISTERED[7]}" in text


def test_a_name_the_registry_cannot_compare_is_taken_as_typed(wizard):
    draft = at_unit(wizard)
    out = wizard.text(draft, "……！！")
    assert out.error is None and draft.answers["project"]["unit"] == "……！！"
    assert not {"unit_id", "unit_new"} & set(draft.answers["project"])


def test_without_a_lookup_the_unit_is_taken_as_typed(wizard):
    draft = at_unit(wizard, units=None)
    out = wizard.text(draft, "浙大材料")
    assert out.error is None and out.notice is None
    assert draft.answers["project"]["unit"] == "浙大材料"
    assert not {"unit_id", "unit_new"} & set(draft.answers["project"])


def test_the_registry_marks_survive_a_policy_file_update_but_not_a_change_of_policy(wizard):
    draft = at_unit(wizard)
    wizard.text(draft, "浙江大学材料学院")
    fitted = migrate(draft.answers, POLICIES["zhejiang"])
    assert fitted["project"]["unit_id"] == 7
    draft.state = "policy"
    wizard.apply(draft, "p:dongguan")
    assert draft.answers["project"]["unit"] == "浙江大学材料学院" and "unit_id" not in draft.answers["project"]


def test_every_policy_asks_its_unit_against_the_registry():
    for policy in POLICIES.values():
        assert [f.id for f in policy.project_fields if f.registry] == ["unit"], policy.key
