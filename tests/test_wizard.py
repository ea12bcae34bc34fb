"""The wizard machine without Telegram: every policy walked end to end, skips, bars, edits, versions."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.answers import STEPS, items_for, migrate, step_problem, steps_for
from dialogs.policy import Item, load_policies
from dialogs.screens import ScreenBuilder
from dialogs.wizard import DraftView, Outcome, UploadInfo, Wizard
from scheduler.calendar import WorkCalendar
from tests.scenario import FACTS, Step, happy_path

TODAY = dt.date(2026, 11, 20)
POLICIES = load_policies()


@pytest.fixture(scope="module")
def wizard() -> Wizard:
    return Wizard(POLICIES, WorkCalendar(), lambda: TODAY)


def run(wizard: Wizard, draft: DraftView, steps: list[Step]) -> list[Outcome]:
    outcomes = []
    for step in steps:
        if step.kind == "press":
            out = wizard.apply(draft, step.value)
        elif step.kind == "text":
            out = wizard.text(draft, step.value)
        else:
            out = wizard.document(draft, UploadInfo("", step.value, step.size, f"fid-{step.value}", f"fuid-{step.value}"))
        assert out.error is None, (step, out.error, draft.state)
        outcomes.append(out)
    return outcomes


@pytest.mark.parametrize("key", list(POLICIES))
def test_every_policy_reaches_submission(wizard: Wizard, key: str) -> None:
    draft = DraftView("policy", {})
    policy = POLICIES[key]
    start = "2026-11-10" if any(o.asks_start_date for o in policy.origins) else None
    outcomes = run(wizard, draft, happy_path(policy, start_date=start))
    assert draft.state == "submitted"
    assert outcomes[-1].submitted
    assert step_problem("summary", policy, draft.answers, {m.id: 1 for m in policy.materials}) is None
    assert draft.answers["identity"] == {"name": "张三", "title": "研究员", "phone": "0769-12345678"}


def test_optional_steps_are_skipped_and_progress_counts_them(wizard: Wizard) -> None:
    assert steps_for(POLICIES["dongguan"]) == [s for s in STEPS if s != "negative"]
    assert "conditions" not in steps_for(POLICIES["zhejiang"]) and "negative" in steps_for(POLICIES["zhejiang"])
    draft = DraftView("grounds", {"policy": "dongguan", "grounds": ["x"]})
    draft.answers["grounds"] = [POLICIES["dongguan"].grounds.items[0].id]
    assert wizard.apply(draft, "next").changed
    assert draft.state == "facts"  # dongguan has no negative list
    assert wizard.apply(draft, "back").changed and draft.state == "grounds"
    assert wizard.apply(draft, "back").changed and draft.state == "conditions"


def test_dongguan_requires_all_five_conditions(wizard: Wizard) -> None:
    draft = DraftView("conditions", {"policy": "dongguan"})
    for i in range(4):
        wizard.apply(draft, f"t:{i}")
    out = wizard.apply(draft, "next")
    assert draft.state == "conditions" and out.error is not None and out.error.key == "err.conditions_all"
    wizard.apply(draft, "t:4")
    assert wizard.apply(draft, "next").error is None and draft.state == "grounds"


def test_negative_list_bars_and_keeps_the_draft(wizard: Wizard) -> None:
    policy = POLICIES["zhejiang"]
    draft = DraftView("negative", {"policy": "zhejiang", "facts": "keep me"})
    n = len(policy.negative.items)
    for i in range(n):
        wizard.apply(draft, f"n:{i}.{'y' if i == 2 else 'n'}")
    wizard.apply(draft, "next")
    assert draft.state == "barred"
    screen = ScreenBuilder(wizard).build(draft)
    barred_items = [line for line in screen.lines if getattr(line, "key", "") == "wiz.barred.item"]
    assert len(barred_items) == 1 and barred_items[0].params["clause"] == policy.negative.items[2].clause
    assert wizard.apply(draft, "submit").error is not None
    wizard.apply(draft, "back")
    assert draft.state == "negative" and draft.answers["facts"] == "keep me"
    wizard.apply(draft, "n:2.n")
    wizard.apply(draft, "next")
    assert draft.state == "facts"


def test_zhejiang_after_acceptance_check_is_barred(wizard: Wizard) -> None:
    draft = DraftView("origin", {"policy": "zhejiang"})
    wizard.apply(draft, "o:own")
    wizard.apply(draft, "g:termination_filed.y")
    wizard.apply(draft, "g:acceptance_done.y")
    wizard.apply(draft, "g:acceptance_entered.n")
    wizard.apply(draft, "next")
    assert draft.state == "barred"
    lines = ScreenBuilder(wizard).build(draft).lines
    assert any(getattr(line, "key", "") == "wiz.barred.item" and line.params["clause"] == "三(一)" for line in lines)


def test_liaoning_role_changes_grounds(wizard: Wizard) -> None:
    policy = POLICIES["liaoning"]
    leader = items_for(policy.grounds, {"role": "leader"})
    researcher = items_for(policy.grounds, {"role": "researcher"})
    assert len(leader) == 9 and len(researcher) == 1 and leader[0].id != researcher[0].id
    draft = DraftView("applicant", {"policy": "liaoning", "grounds": [leader[0].id]})
    wizard.apply(draft, "k:person")
    assert draft.state == "applicant"  # a role is still needed
    wizard.apply(draft, "r:researcher")
    assert draft.answers["role"] == "researcher" and draft.answers["grounds"] == []
    assert draft.state == "applicant" and wizard.current_field_id(draft) == "name"  # then who is applying


def test_filing_deadline_is_computed_in_working_days(wizard: Wizard) -> None:
    draft = DraftView("origin", {"policy": "dongguan"})
    wizard.apply(draft, "o:authority")
    out = wizard.text(draft, "2026-09-25")
    assert out.error is None
    due = wizard.filing_deadline(draft)
    assert due is not None and due.date == dt.date(2026, 10, 15) and due.clause == "4(1)2" and not due.provisional
    assert due.working and due.left < 0  # long past on 2026-11-20, counted in working days
    yn = wizard.filing_deadline(DraftView("origin", {"policy": "yunnan", "origin": "authority",
                                                     "start_date": "2026-09-25"}))
    assert yn is not None and yn.length == 20 and yn.clause == "第六条(一)"


@pytest.mark.parametrize("text,key", [("2026-13-01", "err.date_invalid"), ("yesterday", "err.date_format"),
                                      ("2027-01-05", "err.date_future"), ("", "err.date_format")])
def test_bad_dates_are_refused_with_a_reason(wizard: Wizard, text: str, key: str) -> None:
    draft = DraftView("origin", {"policy": "yunnan", "origin": "authority"})
    out = wizard.text(draft, text)
    assert out.error is not None and out.error.key == key and "start_date" not in draft.answers


def test_empty_statement_and_oversized_document_are_refused(wizard: Wizard) -> None:
    draft = DraftView("facts", {"policy": "shanwei", "facts": FACTS})
    out = wizard.text(draft, "   ")
    assert out.error is not None and draft.answers["facts"] == FACTS
    draft = DraftView("materials", {"policy": "dongguan"})
    # the 申请书 is written by the assistant: it is never a file the researcher owes
    assert wizard.apply(draft, "m:0").error.key == "err.stale_button"
    wizard.apply(draft, "m:2")
    out = wizard.document(draft, UploadInfo("", "big.pdf", 30 * 1024 * 1024, "f", "u"))
    assert out.error is not None and out.error.key == "err.document_too_big" and draft.uploads == []
    out = wizard.document(draft, UploadInfo("", "ok.pdf", 1024, "f", "u"))
    assert out.error is None and draft.uploads[0].material_id == "evidence"


def test_edit_from_summary_returns_to_summary(wizard: Wizard) -> None:
    policy = POLICIES["dongguan"]
    draft = DraftView("policy", {})
    run(wizard, draft, happy_path(policy)[:-3])
    assert draft.state == "summary"
    wizard.apply(draft, "e:facts")
    assert draft.state == "facts"
    wizard.text(draft, FACTS + "补充")
    wizard.apply(draft, "next")
    assert draft.state == "summary" and draft.answers["facts"].endswith("补充")


def test_stale_or_foreign_actions_change_nothing(wizard: Wizard) -> None:
    draft = DraftView("grounds", {"policy": "dongguan"})
    before = repr(draft)
    for action in ("p:dongguan", "k:unit", "t:99", "n:0.y", "submit", "declare", "e:facts", "zzz", "m:0"):
        out = wizard.apply(draft, action)
        assert out.error is not None and not out.changed
    assert repr(draft) == before


def test_a_newer_policy_file_keeps_old_drafts_working(wizard: Wizard) -> None:
    """v2 renames a project field, adds a ground and drops another: answers that fit are kept."""
    v1 = POLICIES["dongguan"]
    draft = DraftView("policy", {})
    run(wizard, draft, happy_path(v1)[:-3])
    assert draft.state == "summary"
    old_ground = draft.answers["grounds"][0]
    fields = [f.model_copy(update={"id": "title", "renamed_from": ["name"]}) if f.id == "name" else f
              for f in v1.project_fields]
    new_item = Item(id="new_ground", text=v1.grounds.items[0].text, clause="3(2)12")
    grounds = v1.grounds.model_copy(update={"items": [*v1.grounds.items[1:], new_item]})
    extra = fields[0].model_copy(update={"id": "department", "renamed_from": []})
    v2 = v1.model_copy(update={"version": 2, "project_fields": [*fields, extra], "grounds": grounds})
    policies2 = {**POLICIES, "dongguan": v2}
    wizard2 = Wizard(policies2, WorkCalendar(), lambda: TODAY)
    draft.answers = migrate(draft.answers, v2)
    assert draft.answers["project"]["title"] == "测试-name"
    assert old_ground not in draft.answers["grounds"]  # the dropped ground is gone
    # the new project field and the now-empty grounds are asked again; nothing else
    problem = step_problem("summary", v2, draft.answers, {m.id: 1 for m in v2.materials})
    assert problem is not None and problem.key == "err.field_missing"
    assert wizard2.apply(draft, "next").error is not None and draft.state == "summary"
    wizard2.apply(draft, "e:project")
    assert draft.state == "project" and wizard2.current_field_id(draft) == "department"
    wizard2.text(draft, "科研处")
    wizard2.apply(draft, "next")
    assert draft.state == "summary"
    wizard2.apply(draft, "e:grounds")
    wizard2.apply(draft, "t:10")
    wizard2.apply(draft, "next")
    assert draft.answers["grounds"] == ["new_ground"]
    assert wizard2.apply(draft, "next").error is None and draft.state == "declaration"
