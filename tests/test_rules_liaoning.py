"""Liaoning 辽科办发〔2025〕135号, clause by clause: one test per audit finding, where the product decides it."""

from __future__ import annotations

import datetime as dt

import dialogs.answers
from dialogs.procedure import CaseFile, Record
from tests.rules_kit import POLICIES, PROCS, TODAY, complete_answers, fire, problem

LN = POLICIES["liaoning"]
BODY = {"body": "校长办公会", "body_date": "2026-11-18"}


def group(case: CaseFile, action: str, values: dict | None = None, today: dt.date = TODAY):
    return fire("liaoning", case, "determination_group", action, values, today)


def formed() -> CaseFile:
    case = CaseFile("determination")
    assert group(case, "group", {"mode": "group", "members": "纪委、财务处、科研处", "subject": "李某",
                                 "excluded": "confirmed"}).ok
    return case


def test_liaoning_8_every_internal_conclusion_names_its_collective_body_and_date():
    """"经校长办公会、党委会等集体研究后作出尽职免责内部认定结论": the conclusion and a re-determination."""
    case = formed()
    bare = {"level": "meets", "reason": "符合第五条(三)", "days": 15}
    assert group(case, "conclude", bare).error.key == "proc.err.missing"
    assert group(case, "conclude", {**bare, "body": "党委会"}).error.key == "proc.err.missing"
    assert group(case, "conclude", {**bare, "body": "党委会", "body_date": "11月18日"}).error.key == "proc.err.date"
    assert group(case, "conclude", {**bare, **BODY}).ok
    redo = CaseFile("review")
    assert group(redo, "redo", {"level": "meets", "reason": "原结论有误"}).error.key == "proc.err.missing"
    assert group(redo, "redo", {"level": "meets", "reason": "原结论有误", **BODY}).ok
    assert PROCS.procedure("liaoning").action("conclude").notify == "rules.note.conclusion"


def test_liaoning_8_basically_meets_carries_no_consequence_of_its_own():
    """基本符合 is defined (瑕疵、仍需改进) with no stated consequence: neither favourable nor unfavourable."""
    level = PROCS.procedure("liaoning").action("conclude").field("level")
    assert {o.id: o.favourable for o in level.options} == {"meets": True, "basically": None, "fails": False}


def test_liaoning_8_review_period_cannot_hang_for_ever():
    """"可在规定时间内提出复核申请": after that time the conclusion stands and the unit closes the case."""
    case = formed()
    assert group(case, "conclude", {"level": "fails", "reason": "未履职", "days": 10, **BODY}).ok
    last_day = TODAY + dt.timedelta(days=10)
    err = group(case, "lapse", {}, last_day).error
    assert err.key == "proc.err.period_running" and err.params["until"] == last_day.isoformat()
    assert fire("liaoning", case, "applicant", "ask_review", {"grounds": "x"}, last_day + dt.timedelta(days=1)) \
        .error.key == "proc.err.period_over"
    result = group(case, "lapse", {}, last_day + dt.timedelta(days=1))
    assert result.ok and case.state == "closed" and [e.event for e in result.events] == ["conclusion_confirmed"]


def test_liaoning_9_joint_determination_names_its_departments():
    """"组织科技、财政、教育、卫生健康、国资等部门开展联合认定"."""
    case = CaseFile("joint")
    assert group(case, "joint_result", {"level": "meets", "reason": "r"}).error.key == "proc.err.missing"
    assert group(case, "joint_result", {"departments": "科技、财政、教育", "level": "meets", "reason": "r"}).ok


def test_liaoning_2_only_provincial_research_units():
    """"本指引所指科研单位包括省属高等学校、科研院所、医疗卫生机构"."""
    answers = complete_answers(LN)
    assert dialogs.answers.bars("origin", LN, answers) == []
    barred = dialogs.answers.bars("origin", LN, {**answers, "gates": {"provincial_unit": False}})
    assert [clause for _, clause, _ in barred] == ["第二条"]


def test_liaoning_5_leaders_and_managers_affirm_due_diligence():
    """第五条 chapeau "依法依规履行勤勉尽责义务，开展职务科技成果转化工作"; 第六条 the researchers' premise."""
    for role, clause in (("leader", "第五条"), ("manager", "第五条"), ("researcher", "第六条")):
        answers = complete_answers(LN, role)
        assert [i.clause for i in LN.conditions.for_role(role)] == [clause]
        assert problem(LN, answers, "conditions") is None
        assert problem(LN, {**answers, "conditions": []}, "conditions").key == "err.conditions_all"


def test_liaoning_7_4_wording_restored():
    n4 = next(i for i in LN.negative.items if i.id == "n4")
    for words in ("以任何名目和理由向科技成果转化实施者索要或收受", "利用职权或职务上的影响",
                  "在科技成果转化行为中提供便利和优惠条件"):
        assert words in n4.text.zh


def test_liaoning_7_unnumbered_paragraphs_are_cited_as_paragraphs():
    assert [i.clause for i in LN.negative.items] == ["第七条(一)", "第七条第二段", "第七条第三段", "第七条(四)",
                                                     "第七条(五)"]


def test_liaoning_8_closing_on_the_period_is_offered_only_once_it_ran_out():
    case = CaseFile("conclusion_sent", [Record("conclude", TODAY, {"level": "meets", "days": 5, **BODY},
                                                ("conclusion_sent",))])

    def offered(today: dt.date) -> set[str]:
        return {a.id for a in PROCS.available("liaoning", case, {"determination_group", "applicant"}, today)}

    assert offered(TODAY + dt.timedelta(days=5)) == {"ask_review", "confirm", "add_material"}
    assert offered(TODAY + dt.timedelta(days=6)) == {"lapse", "confirm", "add_material"}


def test_liaoning_8_person_concerned_is_named_and_confirmed_not_taking_part():
    """"认定对象不得参与认定工作" (audit LN-10): the group's record names the person concerned and confirms
    they take no part; without either the group cannot be formed."""
    case = CaseFile("determination")
    assert group(case, "group", {"mode": "group", "members": "纪委、财务处"}).error.key == "proc.err.missing"
    assert group(case, "group", {"mode": "group", "members": "纪委、财务处", "subject": "李某"}).error.key == \
        "proc.err.missing"
    assert group(case, "group", {"mode": "group", "members": "纪委、财务处", "subject": "李某",
                                 "excluded": "confirmed"}).ok
