"""Each policy's case walked from submission to its final state, as data, so the unit tests of the
officer flow and the end-to-end tests drive the same script.

A step is (who, action, values): `who` names a role of the test cast ("officer", "unit", "group",
"applicant"); values are given in the order the form asks for them: a str is typed (or, for a choice
field, pressed), None skips an optional field, a dict is a file. `("travel", days)` moves today on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dialogs.policy import load_policies
from dialogs.procedure import CaseFile, Procedures
from scheduler.calendar import WorkCalendar

FILE = {"file_id": "F-report", "file_unique_id": "U-report", "file_name": "report.pdf", "size": 1000}
MATERIAL = {"file_id": "F-more", "file_unique_id": "U-more", "file_name": "more.pdf", "size": 900}
CRITERIA = ["good", "good", "partly", "good", "good", "good"]

MEETING = ["2026年第5次办公会", "2026-11-18", "张三、李四、王五"]  # a collective decision's meeting, date, who took part
# A date the driver writes as the day it runs the step (a publication recorded the day it went up): the
# walk is data, and the drivers' "today" differs (a fixed day in unit tests, the real one end to end).
TODAY_VALUE = "{today}"
PORTAL_URL = "https://kjt.zj.gov.cn/art/2026/gs-0001.html"

Step = tuple[str, Any, Any]
_ENGINE = Procedures(load_policies(), WorkCalendar())


def _expert(name: str, kind: str) -> Step:
    return ("officer", "expert", [name, kind, *CRITERIA, f"{name}：同意尽职免责"])


WALKS: dict[str, dict[str, Any]] = {
    "dongguan": {
        "steps": [
            ("officer", "more_material", ["请补充经费审计报告"]),
            ("applicant", "add_material", [MATERIAL, None]),
            ("officer", "accept", [None]),
            ("officer", "note", ["走访项目组，核实原始记录齐全"]),
            ("officer", "eval_start", ["委托三名专家评估技术路线"]),
            ("officer", "eval_end", ["专家认为技术路线风险不可预见"]),
            ("officer", "consult", ["市财政局", "同意"]),
            ("officer", "extend", ["涉及多个部门，情况复杂"]),
            ("officer", "section_opinion", ["建议免除相关责任"]),
            ("officer", "resource_review", ["同意科室意见"]),
            ("officer", "decide", ["exempt", None, *MEETING]),
            ("officer", "feedback", [None]),
        ],
        "final": "closed",
        "notes": ["note.material_requested", "note.accepted", "note.extended", "note.decided", "note.feedback"],
    },
    "zhejiang": {
        "steps": [
            ("unit", "unit_approve", ["同意报送"]),
            ("officer", "set_limit", ["acceptance", "10"]),
            ("officer", "accept", ["材料齐全"]),
            ("officer", "to_experts", ["初步审核符合情形"]),
            _expert("张一", "technical"), _expert("李二", "technical"), _expert("王三", "technical"),
            _expert("赵四", "financial"), _expert("钱五", "financial"),
            ("officer", "experts_done", ["diligent", "五位专家一致认为原始记录完整、已履行勤勉尽责义务"]),
            ("officer", "decide", ["exempt", None, *MEETING]),
            ("officer", "publicise", [PORTAL_URL, TODAY_VALUE]),
            ("officer", "objection", ["有人反映原始记录不全"]),
            ("officer", "answer", ["1", "经核实，原始记录完整", "异议不成立"]),
            ("travel", 8, None),
            ("officer", "publicity_end", ["exempt", None]),
            ("officer", "feedback", ["3.5"]),
            ("applicant", "report", [FILE]),
        ],
        "final": "closed",
        "notes": ["note.unit_approved", "note.accepted", "note.decided", "note.publicity_started",
                  "note.publicity_ended", "note.feedback_funds", "note.report_due"],
    },
    "yunnan": {
        "steps": [
            ("officer", "accept", [None]),
            ("officer", "eval_start", ["组织专家评估"]),
            ("officer", "eval_end", ["评估完毕"]),
            ("officer", "hear_start", ["2026-12-01"]),
            ("officer", "hear_end", ["听取了申辩意见"]),
            ("officer", "extend", ["处长张某", "需补充调查"]),
            ("officer", "consult", ["finance", "财政厅无异议"]),
            ("officer", "consult", ["audit", "审计厅无异议"]),
            ("officer", "investigated", ["符合第五条(六)"]),
            ("officer", "decide", ["exempt", "start", None, *MEETING]),
            ("officer", "notice", ["经费报销手续不全", "补齐手续并完善内控制度"]),
            ("officer", "file_copy", ["省委组织部干部一处", "2026-11-20"]),
            ("officer", "feedback", ["0", "marked"]),
            ("officer", "schedule", ["2026-12-10", "省科技厅302会议室"]),
            ("officer", "interview", ["当事人如实陈述并表示整改", "30"]),
            ("officer", "rectified", ["已补齐手续"]),
            ("applicant", "report", [FILE]),
        ],
        "final": "closed",
        "notes": ["note.accepted", "note.hearing", "note.extended", "rules.note.decided_correction",
                  "note.correction_notice",
                  "note.feedback_funds", "note.interview", "note.rectification", "note.rectified",
                  "note.report_due"],
    },
    "liaoning": {
        "steps": [
            ("group", "set_limit", ["20"]),
            ("group", "group", ["group", "纪委、财务处、科研处各一人", "李某", "confirmed"]),
            ("group", "hear", ["听取了认定对象的陈述"]),
            ("group", "conclude", ["basically", "程序存在瑕疵", "校长办公会", "2026-11-18", "15", MEETING[2]]),
            ("applicant", "ask_review", ["瑕疵并非本人造成"]),
            ("group", "explain", ["经复核，维持原结论"]),
            ("applicant", "object", ["仍不同意"]),
            ("group", "apply_joint", ["申请联合认定"]),
            ("group", "joint_result", ["科技、财政、教育、卫生健康、国资", "meets", "联合认定符合免责条件"]),
        ],
        "final": "closed",
        "notes": ["rules.note.conclusion", "note.review_explained", "note.joint_applied", "note.joint_result"],
    },
    "shanwei": {
        "steps": [
            ("officer", "accept", [None]),
            ("officer", "set_limit", ["30"]),
            ("officer", "expert", ["周六", "团队勤勉尽责"]),
            ("officer", "terminate", [None]),
        ],
        "final": "terminated",
        "notes": ["note.accepted", "note.terminated"],
    },
}

INVITES = {
    "dongguan": {"officer": ["officer", "dongguan"]},
    "zhejiang": {"officer": ["officer", "zhejiang"], "unit": ["unit", "zhejiang", "测试-unit"]},
    "yunnan": {"officer": ["officer", "yunnan", "provincial"]},
    "liaoning": {"group": ["group", "liaoning", "测试-unit"]},
    "shanwei": {"officer": ["officer", "shanwei"]},
}


def on_day(value: Any, today: dt.date | None) -> Any:
    """A walk's value with TODAY_VALUE written as the driver's day."""
    return (today or dt.date.today()).isoformat() if value == TODAY_VALUE else value


def form_inputs(policy_key: str, action_id: str, values: list, today: dt.date | None = None) -> list[tuple[str, str, Any]]:
    """The walk's values as a person fills the action's one-screen form: ("pick", field, option) for a choice
    field, ("type", field, text), ("skip", field, None), ("file", field, dict), in the declared order of the
    fields the form asks. A field asked only after some outcome or answer (`when: {outcome|field}`, e.g.
    Yunnan's correction decision) is left out when the values before it do not ask it; one that depends on
    the case (a guard, the project) counts as asked."""
    spec = load_policies()[policy_key].procedure.action(action_id)
    assert spec is not None, action_id
    given: dict[str, Any] = {}
    out = []
    remaining = list(values)
    for field in spec.fields:
        if not remaining:
            break
        if not _asked(policy_key, spec, field, given):
            continue
        value = on_day(remaining.pop(0), today)
        if isinstance(value, dict):
            out.append(("file", field.id, value))
        elif value is None:
            out.append(("skip", field.id, None))
        elif field.kind == "choice":
            out.append(("pick", field.id, value))
            given[field.id] = value
        else:
            out.append(("type", field.id, value))
    assert not remaining, (action_id, values, "more values than fields asked")
    return out


def _asked(policy_key: str, spec: Any, field: Any, given: dict[str, Any]) -> bool:
    when = field.when
    if when is None or when.guard is not None or when.project is not None:
        return True
    return _ENGINE.asks(policy_key, CaseFile(spec.source[0]), spec, field, given, dt.date.today())


def registry_setup(policy_key: str) -> list[list[str]]:
    """The `/units add` commands an admin runs before inviting the walk's unit roles."""
    return [["add", policy_key, " ".join(args[2:])] for args in INVITES[policy_key].values()
            if args[0] in ("unit", "group")]
