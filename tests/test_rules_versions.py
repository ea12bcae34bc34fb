"""Drafts and cases stored under version 1 of the four policy files the rules audit changed keep working:
a v1 draft keeps every answer that still means the same and is asked only what is new or changed; a v1
case, with the audit trail version 1 wrote, is continued by the officers to its final state."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from sqlmodel import Session

import dialogs.answers
from storage import caserepo as cr
from storage.models import Case
from tests.casework_scenario import MEETING
from tests.rules_kit import POLICIES, complete_answers, uploads_for
from tests.test_officer_flow import APPLICANT, CAST, act, runtime, setup_cast, state_of  # noqa: F401

V1_DRAFTS: dict[str, dict[str, Any]] = {
    # what version 1 asked and the draft holds; the keys that version 2 asks anew
    "dongguan": {"drop": {"gates": {}}, "asked": "err.gate_missing"},
    "zhejiang": {"drop": {"gates": {"before_acceptance_check": False}}, "asked": "err.gate_missing"},
    "yunnan": {"drop": {"conditions": ["c1"]}, "asked": "err.field_missing"},
    "liaoning": {"drop": {"gates": {}, "conditions": []}, "asked": "err.gate_missing"},
}


def v1_draft(key: str) -> dict[str, Any]:
    answers = complete_answers(POLICIES[key])
    answers["_meta"] = {"policy_version": 1}
    answers.update(copy.deepcopy(V1_DRAFTS[key]["drop"]))
    if key == "yunnan":
        answers["project"].pop("fund_kind")
    return answers


@pytest.mark.parametrize("key", list(V1_DRAFTS))
def test_a_version_1_draft_continues_under_version_2(key):
    policy = POLICIES[key]
    assert policy.version == 2
    draft = dialogs.answers.migrate(v1_draft(key), policy)
    assert draft["_meta"]["policy_version"] == 2
    problem = dialogs.answers.step_problem("summary", policy, draft, uploads_for(policy))
    assert problem is not None and problem.key == V1_DRAFTS[key]["asked"], problem
    # the applicant answers what is new, and the application is complete again
    complete = complete_answers(policy)
    for step in ("project", "origin", "conditions"):
        if dialogs.answers.applies(step, policy) and dialogs.answers.step_problem(step, policy, draft, {}) is not None:
            draft[step if step != "origin" else "gates"] = complete[step if step != "origin" else "gates"]
    assert dialogs.answers.step_problem("summary", policy, draft, uploads_for(policy)) is None


def test_zhejiang_version_1_gate_answer_is_kept_only_where_it_still_means_the_same():
    zj = POLICIES["zhejiang"]
    not_accepted = dialogs.answers.migrate({"gates": {"before_acceptance_check": False}}, zj)["gates"]
    assert not_accepted == {"acceptance_done": False, "acceptance_entered": False}  # "not yet": both still hold
    accepted_or_entered = dialogs.answers.migrate({"gates": {"before_acceptance_check": True}}, zj)["gates"]
    assert accepted_or_entered == {}  # "passed or entered" cannot be split: asked again


def test_yunnan_version_1_materials_left_optional_are_now_asked_for():
    yn = POLICIES["yunnan"]
    draft = dialogs.answers.migrate(complete_answers(yn), yn)
    v1_uploads = {"application": 1, "statement": 1, "evidence": 1}
    assert dialogs.answers.step_problem("materials", yn, draft, v1_uploads).key == "err.material_missing"


# -- cases ------------------------------------------------------------------------------------------------

V1_CASES: dict[str, dict[str, Any]] = {
    "dongguan": {
        "state": "meeting",
        "trail": [("accept", {}, "accepted"), ("section_opinion", {"opinion": "建议免责"}, None),
                  ("resource_review", {"opinion": "同意"}, None)],
        "continue": [("officer", "decide", ["exempt", None, *MEETING]), ("officer", "feedback", [None])],
        "final": "closed",
    },
    "zhejiang": {
        "state": "expert_review",
        "trail": [("unit_approve", {}, "unit_approved"), ("accept", {}, "accepted"),
                  ("to_experts", {"opinion": "符合"}, None)] + [
            ("expert", {"name": f"专家{i}", "kind": "technical" if i < 3 else "financial", "innovative": "good",
                        "strategic": "good", "necessary": "good", "inspiring": "good", "records": "good",
                        "funds": "good", "opinion": "同意"}, None) for i in range(5)],
        "continue": [("officer", "experts_done", ["diligent", "一致同意"]),
                     ("officer", "decide", ["not_recognised", "集体审议认为记录不完整", *MEETING]),
                     ("officer", "feedback_no", [])],
        "final": "closed",
    },
    "yunnan": {
        "state": "decided",
        "trail": [("accept", {}, "accepted"), ("consult", {"department": "finance", "text": "同意"}, None),
                  ("consult", {"department": "audit", "text": "同意"}, None), ("investigated", {"text": "符合"}, None),
                  ("decide", {"outcome": "exempt", "correction": "yes"}, "decided"),
                  ("decide", {"outcome": "exempt", "correction": "yes"}, "correction_started")],
        "continue": [("officer", "file_copy", ["省委组织部", "2026-11-20"]),
                     ("officer", "notice", ["手续不全", "补齐手续"]),
                     ("officer", "feedback", ["0", "marked"]),
                     ("officer", "schedule", ["2026-11-25", "302会议室"]),
                     ("officer", "interview", ["已陈述", "20"]),
                     ("officer", "rectified", ["已补齐"]),
                     ("applicant", "report", [{"file_id": "F-r", "file_unique_id": "U-r", "file_name": "r.pdf",
                                               "size": 100}])],
        "final": "closed",
    },
    "liaoning": {
        "state": "conclusion_sent",
        "trail": [("group", {"mode": "group", "members": "三人"}, None),
                  ("conclude", {"level": "basically", "reason": "瑕疵", "days": 15}, "conclusion_sent"),
                  ("conclude", {"level": "basically", "reason": "瑕疵", "days": 15}, "clock_set")],
        "continue": [("applicant", "ask_review", ["不同意"]), ("group", "explain", ["维持原结论"]),
                     ("applicant", "accept_review", [])],
        "final": "closed",
    },
}


def _v1_case(runtime, key: str) -> int:  # noqa: F811
    """A case as version 1 left it: its answers, state and audit trail, written straight to the tables."""
    policy = POLICIES[key]
    answers = v1_draft(key)
    answers["project"]["unit"] = "测试-unit"
    spec = V1_CASES[key]
    now = cr.stamp(dt.date(2026, 11, 20))
    with Session(runtime.engine) as s:
        case = Case(number=f"{policy.case_prefix}-2026-0901", draft_id=0, applicant_id=APPLICANT.user_id,
                    policy_key=key, policy_version=1, state=spec["state"], answers=answers)
        s.add(case)
        s.flush()
        cr.add_event(s, case.id, APPLICANT.user_id, "applicant", "submit", None, policy.procedure.initial,
                     {"number": case.number}, event="application_filed", at=now)
        for action, values, event in spec["trail"]:
            details = {**values, **({"time_limit": "review_request", "length": 15} if event == "clock_set" else {})}
            cr.add_event(s, case.id, 1, "officer", action, None, None, details, event=event, at=now)
        s.commit()
        return case.id or 0


@pytest.mark.parametrize("key", list(V1_CASES))
def test_a_version_1_case_is_continued_to_its_final_state(runtime, key):  # noqa: F811
    setup_cast(runtime, key)
    case_id = _v1_case(runtime, key)
    for who, action, values in V1_CASES[key]["continue"]:
        reply = act(runtime, CAST[who], case_id, action, values)
        assert reply.toast is None and "✅" in reply.view.text, (action, reply.view.text[-300:])
    assert state_of(runtime, case_id) == V1_CASES[key]["final"]
