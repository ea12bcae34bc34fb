"""Zhejiang (征求意见稿), clause by clause: one test per audit finding, where the product decides it."""

from __future__ import annotations

from sqlmodel import Session

import dialogs.answers
from dialogs.procedure import CaseFile, Record
from storage.access import covers
from storage.casework import Membership
from storage.db import create_schema, make_engine
from storage.models import Case
from tests.rules_kit import POLICIES, PROCS, TODAY, complete_answers, officer, problem

ZJ = POLICIES["zhejiang"]
CRITERIA = dict.fromkeys(["innovative", "strategic", "necessary", "inspiring", "records", "funds"], "good")


def _expert(name: str, kind: str) -> Record:
    return Record("expert", TODAY, {"name": name, "kind": kind, **CRITERIA, "opinion": "同意"})


def test_zhejiang_2_1_requires_termination_application():
    """"……出现科研失败，提出的科技计划项目终止申请，作出容错免责认定的，适用本意见"."""
    answers = complete_answers(ZJ)
    assert dialogs.answers.bars("origin", ZJ, answers) == []
    no_termination = {**answers, "gates": {**answers["gates"], "termination_filed": False}}
    barred = dialogs.answers.bars("origin", ZJ, no_termination)
    assert [clause for _, clause, _ in barred] == ["二(一)"]
    material = next(m for m in ZJ.materials if m.id == "termination")
    assert material.required and material.clause == "二(一)" and "终止申请" in material.label.zh
    err = problem(ZJ, answers, "materials", {m.id: 1 for m in ZJ.materials if m.required and m.id != "termination"})
    assert err is not None and err.params["material"] == material.label


def test_zhejiang_2_1_kind_of_activity_can_be_given():
    field = next(f for f in ZJ.project_fields if f.id == "activity")
    assert not field.required and field.clause == "二(一)"
    assert [o.label.zh for o in field.options][:4] == ["中长期基础类", "前沿类", "颠覆性技术创新", "不确定性、风险性高成果转化"]


def test_zhejiang_3_1_bars_only_a_completed_acceptance_and_warns_when_entered():
    """"可在科技计划项目验收前……提出书面申请": only a completed 验收 bars; entered acceptance warns."""
    answers = complete_answers(ZJ)
    done = {**answers, "gates": {**answers["gates"], "acceptance_done": True}}
    assert [clause for _, clause, _ in dialogs.answers.bars("origin", ZJ, done)] == ["三(一)"]
    entered = {**answers, "gates": {**answers["gates"], "acceptance_entered": True}}
    assert dialogs.answers.bars("origin", ZJ, entered) == []
    warned = dialogs.answers.warnings("origin", ZJ, entered)
    assert [clause for _, clause, _ in warned] == ["三(一)"] and "验收一旦完成" in warned[0][2].zh
    assert dialogs.answers.warnings("summary", ZJ, entered) == warned  # the summary repeats it before the declaration
    assert problem(ZJ, entered) is None  # the application goes through


def test_zhejiang_3_1_listed_materials_are_required_but_deferrable():
    answers = complete_answers(ZJ)
    uploads = {m.id: 1 for m in ZJ.materials if m.required and m.id != "performance"}
    assert problem(ZJ, answers, "materials", uploads).key == "err.material_missing"
    assert problem(ZJ, {**answers, "materials_later": ["performance"]}, "materials", uploads) is None


def test_zhejiang_3_3_research_records_are_recommended_not_listed():
    records = next(m for m in ZJ.materials if m.id == "research_records")
    assert not records.required and "建议提交" in records.label.zh


def test_zhejiang_3_3_five_experts_is_a_default_a_recorded_reason_can_lower():
    """"评审专家组由相关领域技术和财务专家组成，一般不少于5人"."""
    experts_done = PROCS.procedure("zhejiang").action("experts_done")
    case = CaseFile("expert_review", [_expert(f"技术{i}", "technical") for i in range(3)])
    values = {"conclusion": "diligent", "summary": "一致认为已履行勤勉尽责义务"}
    assert officer("zhejiang", case, "experts_done", values).error.key == "proc.guard.panel_kinds"
    case.history.append(_expert("财务甲", "financial"))
    reason_field = experts_done.field("small_reason")
    assert PROCS.field_required("zhejiang", case, experts_done, reason_field, values, TODAY)
    err = officer("zhejiang", case, "experts_done", values).error
    assert err.key == "proc.err.missing" and err.params["field"] == reason_field.label
    assert officer("zhejiang", case, "experts_done", {**values, "small_reason": "该领域省内财务专家回避后仅余一人"}).ok
    full = CaseFile("expert_review", [_expert(f"技术{i}", "technical") for i in range(4)] + [_expert("财务", "financial")])
    assert not PROCS.asks("zhejiang", full, experts_done, reason_field, values, TODAY)
    assert officer("zhejiang", full, "experts_done", {**values, "small_reason": "x"}).error.key == "proc.err.not_asked"


def test_zhejiang_3_3_panel_conclusion_is_recorded():
    """"……能够充分证明科研人员已经履行了勤勉尽责义务，认定为尽职免责": the panel's overall conclusion."""
    case = CaseFile("expert_review", [_expert(f"技术{i}", "technical") for i in range(4)] + [_expert("财务", "financial")])
    assert officer("zhejiang", case, "experts_done", {"summary": "x"}).error.key == "proc.err.missing"
    conclusion = PROCS.procedure("zhejiang").action("experts_done").field("conclusion")
    assert {o.id for o in conclusion.options} == {"diligent", "not_shown"}
    assert all(o.favourable is None for o in conclusion.options)  # the collective decision still decides
    assert officer("zhejiang", case, "experts_done", {"conclusion": "not_shown", "summary": "记录不完整"}).ok


def test_zhejiang_3_last_basic_public_cases_go_to_the_fund_office(database_url):
    """"省基础公益研究专项的容错免责申请由省自然科学基金委员会办公室受理，组织开展调查核实和专家评审"."""
    basic = {"project": {"funding_level": "basic_public"}}
    provincial = {"project": {"funding_level": "provincial"}}
    office = ZJ.routing.level("basic_public")
    assert office is not None and office.clause == "三(末段)" and "自然科学基金委员会办公室" in office.label.zh
    for action in ("accept", "refuse", "to_experts", "expert", "experts_done"):
        assert ZJ.officer_may_take("basic_public", basic, action) and not ZJ.officer_may_take(None, basic, action)
    for action in ("decide", "publicise", "feedback"):  # 三(四)–(六) name 省科技厅
        assert ZJ.officer_may_take(None, basic, action) and not ZJ.officer_may_take("basic_public", basic, action)
    assert not ZJ.officer_reaches("basic_public", provincial) and ZJ.officer_reaches(None, provincial)
    case = Case(number="ZJ-2026-0001", draft_id=1, applicant_id=1, policy_key="zhejiang", policy_version=2,
                answers=basic)
    other = Case(number="ZJ-2026-0002", draft_id=2, applicant_id=1, policy_key="zhejiang", policy_version=2,
                 answers=provincial)
    office_member = Membership(user_id=2, role="officer", policy_key="zhejiang", level="basic_public")
    department = Membership(user_id=3, role="officer", policy_key="zhejiang")
    engine = make_engine(database_url)
    create_schema(engine)
    with Session(engine) as s:  # storage/access.py, the one rule of who reaches a case
        assert covers(s, office_member, case) and covers(s, department, case)  # the department decides it
        assert not covers(s, office_member, other) and covers(s, department, other)
    received = CaseFile("received", answers=basic)
    assert {a.id for a in PROCS.available("zhejiang", received, {"officer"}, TODAY, {None})} == set()
    assert "accept" in {a.id for a in PROCS.available("zhejiang", received, {"officer"}, TODAY, {"basic_public"})}


def test_zhejiang_4_1_funds_are_asked_only_when_exempt():
    """"容错免责的科技计划项目，财政结余经费和经审计使用不合规经费退回财政": not after an upheld objection."""
    upheld = CaseFile("feedback", [Record("decide", TODAY, {"outcome": "exempt"}, ("decided",)),
                                   Record("publicity_end", TODAY, {"outcome": "not_recognised", "reason": "异议成立"},
                                          ("publicity_ended",))])
    assert officer("zhejiang", upheld, "feedback", {"funds": 0}).error.key == "proc.guard.favourable"
    assert officer("zhejiang", upheld, "feedback_no", {}).ok and upheld.state == "closed"
    stands = CaseFile("feedback", [Record("publicity_end", TODAY, {"outcome": "exempt"}, ("publicity_ended",))])
    assert officer("zhejiang", stands, "feedback", {}).error.key == "proc.err.missing"
    assert officer("zhejiang", stands, "feedback", {"funds": 3.5}).ok and stands.state == "report_due"


def test_zhejiang_no_period_in_the_text_is_cited_as_none():
    """三(二)/(四) set no period: the per-case limit is the product's setting, cited to no clause."""
    set_limit = PROCS.procedure("zhejiang").action("set_limit")
    assert set_limit.clause is None and "文本未规定期限" in set_limit.label.zh
