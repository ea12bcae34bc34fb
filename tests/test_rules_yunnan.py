"""Yunnan 云科规〔2023〕1号, clause by clause: each test asserts what the text requires, where the product
decides it (the wizard's validation in dialogs/answers.py, the procedure engine), one per audit finding."""

from __future__ import annotations

import datetime as dt

import dialogs.answers
from dialogs.procedure import CaseFile, Record
from tests.rules_kit import FILE, POLICIES, PROCS, TODAY, complete_answers, fire, officer, problem

YN = POLICIES["yunnan"]
CONSULTED = [Record("consult", TODAY, {"department": "finance", "text": "同意"}),
             Record("consult", TODAY, {"department": "audit", "text": "同意"})]


def deliberation(funding_level: str = "provincial") -> CaseFile:
    return CaseFile("deliberation", list(CONSULTED), {"project": {"funding_level": funding_level}})


def decided(outcome: str, correction: str | None = "start", funding_level: str = "provincial") -> CaseFile:
    case = deliberation(funding_level)
    values = {"outcome": outcome}
    if correction is not None:
        values["correction"] = correction
    if correction == "not_start":
        values["correction_reason"] = "问题已在项目执行中自行纠正"
    if outcome == "not_recognised":
        values["reason"] = "未履行勤勉义务"
    if outcome == "closure":
        assert officer("yunnan", case, "third_party", {"reviewers": "第三方评估机构", "opinion": "原始记录完整"}).ok
    assert officer("yunnan", case, "decide", values).ok, values
    return case


# -- 第四条: conditions ---------------------------------------------------------------------------------

def test_yunnan_4_conditions_are_cumulative():
    """"符合下列条件" without "之一": (一)–(四) all hold; (五)/(六), the kind of activity, at least one."""
    answers = complete_answers(YN)
    assert answers["conditions"] == ["c1", "c2", "c3", "c4", "c5"]
    assert problem(YN, answers, "conditions") is None
    for missing in ("c1", "c2", "c3", "c4"):
        partial = {**answers, "conditions": [c for c in answers["conditions"] if c != missing]}
        err = problem(YN, partial, "conditions")
        assert err is not None and err.key == "err.group_all" and err.params["clause"] == "第四条(一)至(四)"
    only_core = {**answers, "conditions": ["c1", "c2", "c3", "c4"]}
    err = problem(YN, only_core, "conditions")
    assert err is not None and err.key == "err.group_one" and err.params["clause"] == "第四条(五)(六)"
    assert problem(YN, {**answers, "conditions": ["c1", "c2", "c3", "c4", "c6"]}, "conditions") is None
    assert problem(YN, {**answers, "conditions": ["c6"]}, "conditions") is not None  # v1 allowed this


def test_yunnan_4_3_wording_restored():
    c3 = next(i for i in YN.conditions.items if i.id == "c3")
    assert "一心为公推动科技创新工作，没有打着改革的旗号假公济私" in c3.text.zh


def test_yunnan_5_1_wording_restored():
    g1 = next(i for i in YN.grounds.items if i.id == "g1")
    assert g1.text.zh.endswith("能够及时纠错改正（不作负面评价，免除相关责任）。")


# -- 第六条(一): materials and receiving body ---------------------------------------------------------------

def test_yunnan_6_1_all_listed_materials_are_required_but_deferrable():
    """"包括容错免责认定申请书、情况说明及佐证材料、所在单位证明、经费审计报告、实施绩效资料等": one series."""
    answers = complete_answers(YN)
    assert {m.id for m in YN.materials if m.required} == {
        "application", "statement", "evidence", "unit_certificate", "audit_report", "performance"}
    without_audit = {"application": 1, "statement": 1, "evidence": 1, "unit_certificate": 1, "performance": 1}
    err = problem(YN, answers, "materials", without_audit)
    assert err is not None and err.key == "err.material_missing"
    assert problem(YN, {**answers, "materials_later": ["audit_report"]}, "materials", without_audit) is None


def test_yunnan_6_1_policy_unit_and_3_other_state_funds():
    """第六条(一) "可向发布政策责任单位或……科技行政管理部门"; 第三条 other state funds "可参照本办法执行"."""
    funding = next(f for f in YN.project_fields if f.id == "funding_level")
    assert "policy_unit" in {o.id for o in funding.options}
    kind = next(f for f in YN.project_fields if f.id == "fund_kind")
    assert kind.required and {o.id for o in kind.options} == {"provincial_st", "other_state"}
    assert YN.routing is not None and "policy_unit" in {lv.id for lv in YN.routing.levels}
    answers = {"project": {"funding_level": "policy_unit"}}
    assert YN.officer_reaches("policy_unit", answers) and not YN.officer_reaches("provincial", answers)
    assert not YN.officer_reaches(None, answers)  # every Yunnan officer holds a level


# -- 第六条(二): ex officio -----------------------------------------------------------------------------------

EX_OFFICIO = {"organ": "省纪委监委驻省科技厅纪检监察组", "stage": "during", "subject_kind": "person",
              "subject": "张某", "project": "高原特色作物育种", "basis": "项目失败系技术路线不可预见，已尽勤勉义务"}


def test_yunnan_6_2_accountability_organ_starts_the_procedure_itself():
    """"问责机关……认为符合条件的，应当主动启动容错免责程序": the case starts without an application, the
    decision clock runs from the organ's start, and the person concerned then gives their account."""
    missing = {k: v for k, v in EX_OFFICIO.items() if k != "basis"}
    assert PROCS.start_ex_officio("yunnan", missing, TODAY).error.key == "proc.err.missing"
    result = PROCS.start_ex_officio("yunnan", EX_OFFICIO, TODAY)
    assert result.ok and result.state_after == "ex_officio" and [e.event for e in result.events] == ["accepted"]
    assert PROCS.start_ex_officio("dongguan", EX_OFFICIO, TODAY).error.key == "proc.err.no_ex_officio"
    case = CaseFile("ex_officio", [Record("ex_officio", TODAY, EX_OFFICIO, ("accepted",))],
                    {"project": {"funding_level": "provincial"}})
    assert {a.id for a in PROCS.available("yunnan", case, {"applicant"}, TODAY)} == {"respond", "add_material"}
    assert fire("yunnan", case, "applicant", "respond", {"text": "项目失败原因如下……", "file": FILE}).ok
    assert case.state == "investigation"
    # the organ's own start stands in for 受理: nothing can be accepted or refused again
    assert officer("yunnan", case, "accept", {}).error.key == "proc.err.wrong_state"
    assert not [o for o in YN.origins if o.id == "ex_officio" and o.offered]  # not a wizard choice


def test_yunnan_6_2_officer_may_go_on_without_the_account_only_with_a_reason():
    case = CaseFile("ex_officio", [Record("ex_officio", TODAY, EX_OFFICIO, ("accepted",))])
    assert officer("yunnan", case, "proceed", {}).error.key == "proc.err.missing"
    assert officer("yunnan", case, "proceed", {"reason": "已书面告知，逾期未回复"}).ok and case.state == "investigation"


# -- 第六条(四)(五): record and mark ---------------------------------------------------------------------------

def test_yunnan_6_4_result_is_copied_to_the_personnel_department_before_feedback():
    """"容错免责认定结果抄送各级组织人事部门备案留存": department and date on record first."""
    case = decided("exempt")
    assert officer("yunnan", case, "feedback", {"funds": 0, "mark": "marked"}).error.key == "proc.err.after"
    assert officer("yunnan", case, "file_copy", {"department": "省委组织部"}).error.key == "proc.err.missing"
    assert officer("yunnan", case, "file_copy", {"department": "省委组织部", "date": "2026-11-21"}).ok
    assert officer("yunnan", case, "file_copy", {"department": "x", "date": "2026-11-22"}).error.key == "proc.err.once"
    assert officer("yunnan", case, "feedback", {"funds": 0, "mark": "marked"}).ok


def test_yunnan_6_5_provincial_project_is_marked_exempt():
    """"涉及省级科技计划项目的，在省科技项目管理系统中作免责标注": asked, and required, for provincial ones only."""
    case = decided("exempt", funding_level="provincial")
    officer("yunnan", case, "file_copy", {"department": "省委组织部", "date": "2026-11-21"})
    assert officer("yunnan", case, "feedback", {"funds": 0}).error.key == "proc.err.missing"
    county = decided("exempt", funding_level="county")
    officer("yunnan", county, "file_copy", {"department": "县委组织部", "date": "2026-11-21"})
    mark = PROCS.procedure("yunnan").action("feedback").field("mark")
    assert not PROCS.asks("yunnan", county, PROCS.procedure("yunnan").action("feedback"), mark, {}, TODAY)
    assert officer("yunnan", county, "feedback", {"funds": 0, "mark": "marked"}).error.key == "proc.err.not_asked"
    assert officer("yunnan", county, "feedback", {"funds": 0}).ok


# -- 第五条(二): closure ---------------------------------------------------------------------------------------

def test_yunnan_5_2_closure_after_third_party_review_and_approval():
    """"经第三方专家评议和科技行政管理部门批准，可予以结题": an outcome of its own, only once the
    third-party review is on record; the collective decision is the administration's approval."""
    case = deliberation()
    err = officer("yunnan", case, "decide", {"outcome": "closure", "correction": "start"}).error
    assert err.key == "proc.err.option_after"
    assert officer("yunnan", case, "third_party", {"reviewers": "云南省科技评估中心", "opinion": "已履行勤勉义务"}).ok
    assert officer("yunnan", case, "decide", {"outcome": "closure", "correction": "start"}).ok
    option = next(o for o in PROCS.procedure("yunnan").action("decide").field("outcome").options if o.id == "closure")
    assert option.exempts and "第三方专家评议" in option.label.zh and "结题" in option.label.zh


# -- 第九条: correction ------------------------------------------------------------------------------------------

def test_yunnan_9_1_correction_is_decided_together_with_a_favourable_decision_only():
    """"作出容错认定时，一并作出启动纠错程序的决定": asked with the tolerance decision; never on a case not
    recognised; not starting it needs a recorded reason."""
    decide = PROCS.procedure("yunnan").action("decide")
    correction = decide.field("correction")
    assert correction.options[0].id == "start"  # starting is the first offer, as the text expects
    case = deliberation()
    assert officer("yunnan", case, "decide", {"outcome": "exempt"}).error.key == "proc.err.missing"
    assert officer("yunnan", case, "decide", {"outcome": "exempt", "correction": "not_start"}).error.key == \
        "proc.err.missing"  # the reason
    refused = officer("yunnan", case, "decide", {"outcome": "not_recognised", "reason": "未尽职", "correction": "start"})
    assert refused.error.key == "proc.err.not_asked"
    assert not PROCS.asks("yunnan", case, decide, correction, {"outcome": "not_recognised"}, TODAY)
    result = officer("yunnan", case, "decide", {"outcome": "lighter", "correction": "not_start",
                                                "correction_reason": "已自行整改到位"})
    assert result.ok and "correction_started" not in [e.event for e in result.events]
    started = decided("exempt", "start")
    assert "correction_started" in started.history[-1].events


def test_yunnan_9_4_severe_handling_names_the_aggravation():
    """"对未及时改正或整改效果不明显，致使后果加重或同一错误再次发生的，给予严肃处理"."""
    severe = PROCS.procedure("yunnan").action("severe")
    assert "后果加重" in severe.label.zh and "再犯" in severe.label.zh
    assert {o.id for o in severe.field("finding").options} == {"worse", "repeated"}
    case = CaseFile("rectification")
    assert officer("yunnan", case, "severe", {"reason": "整改不力"}).error.key == "proc.err.missing"
    assert officer("yunnan", case, "severe", {"finding": "worse", "reason": "损失扩大"}).ok
    assert severe.notify == "rules.note.severe"


def test_yunnan_9_5_guidance_on_improving_the_rules_is_recorded():
    case = CaseFile("rectification")
    assert officer("yunnan", case, "improve", {"text": "分析原因，完善经费内控制度"}).ok and case.state == "rectification"


# -- 第十条、第十一条: consequences of 免责 only ----------------------------------------------------------------

def test_yunnan_10_11_funds_and_report_only_after_exemption():
    """"被认定为容错免责的……财政结余经费退回财政"; "经认定为容错免责的……形成书面报告": not 从轻减轻."""
    lighter = decided("lighter", "not_start")
    officer("yunnan", lighter, "file_copy", {"department": "组织部", "date": "2026-11-21"})
    assert officer("yunnan", lighter, "feedback", {"funds": 1, "mark": "marked"}).error.key == "proc.guard.exempted"
    assert officer("yunnan", lighter, "feedback_other", {}).ok and lighter.state == "closed"
    exempt = decided("exempt", "not_start")
    officer("yunnan", exempt, "file_copy", {"department": "组织部", "date": "2026-11-21"})
    assert officer("yunnan", exempt, "feedback_other", {}).error.key == "proc.guard.not_exempted"
    assert officer("yunnan", exempt, "feedback", {"funds": 2, "mark": "marked"}).ok and exempt.state == "report_due"
    # after a correction, rectification leads to the report only when the outcome exempted
    rect = decided("lighter", "start")
    rect.state = "rectification"
    assert officer("yunnan", rect, "rectified", {"text": "已整改"}).ok and rect.state == "closed"
    rect_exempt = decided("exempt", "start")
    rect_exempt.state = "rectification"
    assert officer("yunnan", rect_exempt, "rectified", {"text": "已整改"}).ok and rect_exempt.state == "report_due"
    assert fire("yunnan", rect_exempt, "applicant", "report", {"file": FILE}).ok


# -- 第十七条: status ---------------------------------------------------------------------------------------------

def test_yunnan_17_lapsed_document_is_used_only_after_confirmation():
    answers = complete_answers(YN)
    today = dt.date(2026, 12, 1)
    err = dialogs.answers.step_problem("policy", YN, answers, {}, today)
    assert err is not None and err.key == "err.confirm_status" and err.params["until"] == "2025-02-09"
    assert dialogs.answers.step_problem("policy", YN, {**answers, dialogs.answers.STATUS_ACK: "yunnan"}, {}, today) is None
    assert dialogs.answers.step_problem("summary", YN, answers, {m.id: 1 for m in YN.materials}, today).key == "err.confirm_status"
    assert dialogs.answers.step_problem("policy", YN, answers, {}, dt.date(2024, 6, 1)) is None  # in force then
