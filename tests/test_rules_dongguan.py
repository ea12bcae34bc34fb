"""Dongguan (征求意见稿), clause by clause: one test per audit finding, where the product decides it."""

from __future__ import annotations

import dialogs.answers
from dialogs.procedure import CaseFile
from tests.rules_kit import POLICIES, PROCS, complete_answers, officer

DG = POLICIES["dongguan"]


def test_dongguan_3_2_2_closure_after_third_party_review_and_approval():
    """"经第三方专家评议和科技行政主管部门批准，可予以结题，不纳入科研失信行为记录": an outcome with its own
    records — the third-party review first, then the 局长办公会 (the bureau's approval) closes the project."""
    case = CaseFile("meeting")
    err = officer("dongguan", case, "decide", {"outcome": "closure"}).error
    assert err.key == "proc.err.option_after" and "第三方专家评议" in err.params["action"].zh
    assert officer("dongguan", case, "third_party", {"reviewers": "广东省科技评估中心"}).error.key == "proc.err.missing"
    assert officer("dongguan", case, "third_party", {"reviewers": "广东省科技评估中心",
                                                     "opinion": "原始记录证明已履行尽责义务"}).ok
    assert officer("dongguan", case, "decide", {"outcome": "closure"}).ok and case.state == "decided"
    option = next(o for o in PROCS.procedure("dongguan").action("decide").field("outcome").options
                  if o.id == "closure")
    assert option.exempts and "不纳入科研失信行为记录" in option.label.zh and "3(2)2" in option.label.zh
    assert officer("dongguan", case, "feedback", {}).ok and case.state == "closed"


def test_dongguan_4_1_3_joint_determination_with_the_competent_authority_is_recorded():
    """"涉及高校、科研院所、医疗卫生机构等事业单位的，市科技局可以会同事业单位的主管部门共同开展认定工作"."""
    action = PROCS.procedure("dongguan").action("joint_authority")
    assert action.clause == "4(1)3" and not action.to
    case = CaseFile("investigation")
    assert officer("dongguan", case, "joint_authority", {"authority": "市卫生健康局"}).error.key == "proc.err.missing"
    assert officer("dongguan", case, "joint_authority", {"authority": "市卫生健康局", "opinion": "同意"}).ok
    assert case.state == "investigation"


def test_dongguan_6_5_service_invention_transfer_of_institutions_is_redirected():
    """"高校和科研事业单位职务科技成果转化所涉及的……认定工作按照《广东省……工作指引（试行）》规范落实"."""
    answers = complete_answers(DG)
    assert dialogs.answers.bars("origin", DG, answers) == []
    barred = dialogs.answers.bars("origin", DG, {**answers, "gates": {"inst_transfer": True}})
    assert len(barred) == 1
    _question, clause, explanation = barred[0]
    assert clause == "6(5)" and "广东省高校和科研事业单位职务科技成果转化尽职免责认定工作指引（试行）" in explanation.zh


def test_dongguan_3_1_3_wording_restored():
    c3 = next(i for i in DG.conditions.items if i.id == "c3")
    assert "一心为公推动科技创新工作，没有打着改革的旗号假公济私" in c3.text.zh


def test_dongguan_3_2_1_consequence_restored():
    g1 = next(i for i in DG.grounds.items if i.id == "g1")
    assert g1.text.zh.endswith("（不作负面评价，免除相关责任或从轻减轻处理）。")


def test_dongguan_4_4_refusal_feedback_is_labelled_as_applied_by_analogy():
    """4(4) ties the 10 working days to "认定履职尽责的"; for refusals the product applies it by analogy."""
    label = DG.time_limit("feedback").label.zh
    assert "认定履职尽责的10个工作日" in label and "不予认定的参照执行" in label
