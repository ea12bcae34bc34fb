"""Officer levels (a policy's `routing`) over a real database: who is told, who is alerted and who is put
before the admins follows the level that takes the case's next step — Zhejiang 三(末段): the fund office
(`basic_public`) receives, investigates and has experts review 省基础公益研究专项 cases, the department decides
them; Yunnan 第六条(一): the officers of the level that issued the funds, and nobody of another level."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.alerts import OutboxHooks
from bot.reply import Who
from storage import access
from storage.casework import Membership
from storage.models import Case
from tests.casework_scenario import WALKS
from tests.driver import drive
from tests.scenario import Step, happy_path
from tests.test_flow import play
from tests.test_officer_flow import act, runtime  # noqa: F401
from tests.test_units import join, outbox, units_cmd

APPLICANT = Who(501, "研究员")
UNIT, OFFICE, DEPARTMENT = Who(602, "单位"), Who(611, "基金委办公室"), Who(612, "省科技厅")
ADMIN_ID = 900


def submit(runtime, policy_key: str, level: str) -> Case:  # noqa: F811
    steps = [Step("press", f"c:funding_level.{level}") if s.value.startswith("c:funding_level.") else s
             for s in happy_path(runtime.policies[policy_key])]
    d = drive(runtime)
    play(d, APPLICANT, d.new_draft(APPLICANT).view, steps)
    with Session(runtime.engine) as s:
        return s.exec(select(Case).where(Case.applicant_id == APPLICANT.user_id)).all()[-1]


def told(runtime, who: Who) -> int:  # noqa: F811
    return len(outbox(runtime, who.user_id, "off.work.reached"))


def test_a_basic_public_case_reaches_the_fund_office_first_and_the_department_for_its_decision(runtime):  # noqa: F811
    units_cmd(runtime, "add", "zhejiang", "测试-unit")
    join(runtime, ["unit", "zhejiang", "测试-unit"], UNIT)
    join(runtime, ["officer", "zhejiang", "basic_public"], OFFICE)
    join(runtime, ["officer", "zhejiang"], DEPARTMENT)
    case = submit(runtime, "zhejiang", "basic_public")
    act(runtime, UNIT, case.id, "unit_approve", [None])
    assert told(runtime, OFFICE) == 1 and told(runtime, DEPARTMENT) == 0  # receiving is the office's
    with Session(runtime.engine) as s:
        fresh = s.get(Case, case.id)
        assert OutboxHooks(runtime.settings, runtime.officers).staff_for(s, fresh) == [OFFICE.user_id]
        # both see the case (the department will decide it), with the buttons of their own level only
        assert "officer" in access.roles_on(s, DEPARTMENT.user_id, fresh)
    department_view = drive(runtime).case(DEPARTMENT, case.number).view
    assert not [d for row in department_view.buttons for _l, d in row if d.endswith(":accept")]
    refusal = drive(runtime).press(DEPARTMENT, f"c:a:{case.id}:received:accept")
    assert "省自然科学基金委员会办公室" in refusal.toast and "三(末段)" in refusal.toast
    for _who, action, values in WALKS["zhejiang"]["steps"][1:]:  # set_limit … experts_done, the office's part
        if action == "decide":
            break
        act(runtime, OFFICE, case.id, action, values)
    assert told(runtime, DEPARTMENT) == 1  # the collective decision is the department's (三(四))
    [reached] = outbox(runtime, DEPARTMENT.user_id, "off.work.reached")
    assert "集体审定" in reached.text
    with Session(runtime.engine) as s:
        assert DEPARTMENT.user_id in OutboxHooks(runtime.settings, runtime.officers).staff_for(s, s.get(Case, case.id))


def test_a_basic_public_case_without_a_fund_office_officer_goes_before_the_admins(runtime):  # noqa: F811
    units_cmd(runtime, "add", "zhejiang", "测试-unit")
    join(runtime, ["unit", "zhejiang", "测试-unit"], UNIT)
    join(runtime, ["officer", "zhejiang"], DEPARTMENT)  # the department only: nobody can receive it
    case = submit(runtime, "zhejiang", "basic_public")
    act(runtime, UNIT, case.id, "unit_approve", [None])
    assert told(runtime, DEPARTMENT) == 0
    alerts = outbox(runtime, ADMIN_ID, "off.stranded.alert")
    assert len(alerts) == 1 and case.number in alerts[0].text


def test_a_yunnan_officer_reaches_only_the_cases_of_their_level(runtime):  # noqa: F811
    join(runtime, ["officer", "yunnan", "provincial"], OFFICE)
    join(runtime, ["officer", "yunnan", "county"], DEPARTMENT)
    case = submit(runtime, "yunnan", "county")
    assert told(runtime, DEPARTMENT) == 1 and told(runtime, OFFICE) == 0
    with Session(runtime.engine) as s:
        fresh = s.get(Case, case.id)
        assert access.roles_on(s, OFFICE.user_id, fresh) == set()
        levels = {m.level for m in s.exec(select(Membership)).all() if access.covers(s, m, fresh)}
        assert levels == {"county"}
    assert "找不到" in drive(runtime).case(OFFICE, case.number).view.text
