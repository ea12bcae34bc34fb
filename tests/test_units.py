"""The unit registry and routing over a real database (SQLite, and PostgreSQL with TEST_POSTGRES_URL): a
unit typed in another form reaches its reviewer, a case nobody can act on goes before the admins at once
and stays on their /queue until covered, and nothing saved is lost when a unit is renamed or merged or a
case moved. Also: invitations that are not bearer links, alerts only to those who can act."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, col, select

from bot.alerts import OutboxHooks
from bot.config import Settings
from bot.reply import Menu, MenuChange, Who
from bot.runtime import build_runtime
from storage import access, units
from storage.casework import CaseEvent, Membership, Outbox
from storage.invitations import RoleInvitation
from storage.models import Case
from tests.driver import drive
from tests.scenario import Step, happy_path
from tests.test_flow import play
from tests.test_officer_flow import act

ADMIN = Who(900, "管理员")
OFFICER, REVIEWER, OTHER_REVIEWER = Who(601, "经办"), Who(602, "审核人"), Who(603, "另一审核人")
TODAY = dt.date(2026, 11, 20)


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=TODAY, admin_ids=[900], _env_file=None))


def code_in(text: str) -> str:
    return re.search(r"start[= ]([\w-]+)", text).group(1)


def join(runtime, args: list[str], who: Who):
    d = drive(runtime)
    return d.start(who, payload=code_in(d.invite(ADMIN, [*args, str(who.user_id)]).view.text))


def submit_zhejiang(runtime, who: Who, unit_typed: str, picker: list[Step] | None = None) -> Case:
    """A Zhejiang application whose unit is `unit_typed`, with the `picker` presses after it if the wizard
    offers similar registered units."""
    policy = runtime.policies["zhejiang"]
    steps = []
    for s in happy_path(policy):
        steps += [Step("text", unit_typed), *(picker or [])] if s == Step("text", "测试-unit") else [s]
    d = drive(runtime)
    play(d, who, d.new_draft(who).view, steps)
    with Session(runtime.engine) as s:
        return s.exec(select(Case).where(Case.applicant_id == who.user_id).order_by(col(Case.id).desc())).first()


def outbox(runtime, chat_id: int, key: str | None = None) -> list[Outbox]:
    with Session(runtime.engine) as s:
        stmt = select(Outbox).where(Outbox.chat_id == chat_id)
        if key is not None:
            stmt = stmt.where(Outbox.key == key)
        return list(s.exec(stmt.order_by(col(Outbox.id))))


def units_cmd(runtime, *args: str) -> str:
    return drive(runtime).command(ADMIN, "units", *args).view.text


def test_names_are_compared_in_their_normal_form():
    same = ["浙江大学🔬材料学院", "浙江大学 材料学院", " 浙江大学材料学院 ", "浙江大学·材料学院", "浙江大学（材料学院）",
            "浙江大学材料学院\ufe0f", "浙江大学\u200d材料学院"]
    assert {units.normal(n) for n in same} == {"浙江大学材料学院"}
    assert units.normal("ＺＪＵ Materials") == units.normal("zju-materials") == "zjumaterials"
    assert units.normal("浙江大学") != units.normal("浙江大学材料学院")


def test_a_unit_typed_in_another_form_reaches_its_reviewer_and_the_officer_is_told_after_approval(runtime):
    assert "已登记" in units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    assert join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER).menu == MenuChange(Menu.STAFF)
    assert join(runtime, ["officer", "zhejiang"], OFFICER).menu == MenuChange(Menu.STAFF)
    case = submit_zhejiang(runtime, Who(501, "研究员"), "浙江大学🔬材料学院")
    told = outbox(runtime, REVIEWER.user_id, "off.work.reached")
    assert len(told) == 1 and case.number in told[0].text and "单位审核通过" in told[0].text and "三(一)" in told[0].text
    assert told[0].params["buttons"] == [[[f"📂 打开 {case.number}", f"c:o:{case.id}"]]]
    assert not outbox(runtime, OFFICER.user_id, "off.work.reached")  # nothing for the officer to do yet
    assert not outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert case.number in drive(runtime).queue(REVIEWER).view.text
    act(runtime, REVIEWER, case.id, "unit_approve", ["同意报送"])
    told = outbox(runtime, OFFICER.user_id, "off.work.reached")
    assert len(told) == 1 and "受理" in told[0].text and "期限待设定" in told[0].text  # the per-case period
    assert len(outbox(runtime, REVIEWER.user_id, "off.work.reached")) == 1  # the reviewer's part is done


def test_a_case_nobody_can_act_on_goes_before_the_admins_at_once_until_someone_covers_it(runtime):
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    # offered the registered 浙江大学材料学院, the researcher keeps the name they typed: it is proposed
    case = submit_zhejiang(runtime, Who(502, "研究员"), "浙大材料学院", [Step("press", "u:typed")])
    assert len(outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")) == 1
    alerts = outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert len(alerts) == 1 and case.number in alerts[0].text and "浙大材料学院" in alerts[0].text
    assert "尚待管理员确认" in alerts[0].text and "/units merge zhejiang 浙大材料学院" in alerts[0].text  # the fix
    queue = drive(runtime).queue(ADMIN).view
    assert "无人可办理" in queue.text and case.number in queue.text
    assert not outbox(runtime, REVIEWER.user_id, "off.work.reached")
    # the admin sees the case, with a button moving it to the registered unit its typed name resembles
    view = drive(runtime).case(ADMIN, case.number).view
    assert "浙大材料学院" in view.text and "待确认" in view.text
    assert any(d.startswith(f"adm:mv:{case.id}:") for row in view.buttons for _l, d in row)
    # merging the proposed unit into the registered one covers it: the reviewer is told at once, the admin's
    # queue no longer lists it
    assert "并入" in units_cmd(runtime, "merge", "zhejiang", "浙大材料学院", "=", "浙江大学材料学院")
    assert len(outbox(runtime, REVIEWER.user_id, "off.work.reached")) == 1
    assert case.number not in drive(runtime).queue(ADMIN).view.text
    assert len(outbox(runtime, ADMIN.user_id, "off.stranded.alert")) == 1  # told once


def test_a_case_whose_unit_no_registry_name_matches_goes_before_the_admins(runtime):
    """A case without a registry unit (submitted before the picker existed: no CaseUnit row, a typed name
    nothing answers to) still goes before the admins, who may alias the name to a registered unit."""
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    case = submit_zhejiang(runtime, Who(505, "研究员"), "浙江大学材料学院")
    with Session(runtime.engine) as s:
        s.delete(s.get(units.CaseUnit, case.id))
        row = s.get(Case, case.id)
        row.answers = {**row.answers, "project": {**row.answers["project"], "unit": "浙大材料学院"}}
        row.answers["project"].pop("unit_id")
        s.add(row)
        s.commit()
    units_cmd(runtime, "add", "zhejiang", "无关单位")  # a registry change routes every open case again
    alerts = outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert len(alerts) == 1 and case.number in alerts[0].text and "/units alias zhejiang" in alerts[0].text
    assert "未匹配登记册" in drive(runtime).case(ADMIN, case.number).view.text
    assert "已添加别名" in units_cmd(runtime, "alias", "zhejiang", "浙江大学材料学院", "=", "浙大材料学院")
    assert case.number not in drive(runtime).queue(ADMIN).view.text


def test_revoking_the_only_reviewer_puts_the_case_before_the_admins(runtime):
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    case = submit_zhejiang(runtime, Who(503, "研究员"), "浙江大学材料学院")
    assert not outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    members = drive(runtime).members(ADMIN).view
    revoke = next(d for row in members.buttons for _l, d in row if d.startswith("c:r:"))
    drive(runtime).press(ADMIN, revoke)
    alerts = outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert len(alerts) == 1 and case.number in alerts[0].text and "还没有所在单位审核人" in alerts[0].text


def snapshot(runtime, case_id: int) -> dict:
    with Session(runtime.engine) as s:
        case = s.get(Case, case_id)
        return {"answers": case.answers, "state": case.state,
                "events": [(e.id, e.action, e.details) for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                                                       .order_by(col(CaseEvent.id)))],
                "members": [(m.id, m.user_id, m.role, m.unit, m.revoked_at) for m in s.exec(select(Membership))],
                "names": sorted(n.name for n in s.exec(select(units.UnitName)))}


def test_nothing_saved_is_lost_when_a_unit_is_renamed_or_merged_or_a_case_moved(runtime):
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料科学与工程学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    join(runtime, ["unit", "zhejiang", "浙江大学材料科学与工程学院"], OTHER_REVIEWER)
    first = submit_zhejiang(runtime, Who(504, "甲"), "浙江大学材料学院")
    second = submit_zhejiang(runtime, Who(505, "乙"), "浙江大学材料科学与工程学院")
    before = snapshot(runtime, first.id)

    def reaches(who: Who, case: Case) -> bool:
        with Session(runtime.engine) as s:
            return "unit_reviewer" in access.roles_on(s, who.user_id, s.get(Case, case.id))

    assert reaches(REVIEWER, first) and not reaches(REVIEWER, second)
    # rename: the old name stays a former name; the reviewer and the case still meet
    assert "已改名" in units_cmd(runtime, "rename", "zhejiang", "浙江大学材料学院", "=", "浙江大学材料学院（新）")
    assert reaches(REVIEWER, first)
    with Session(runtime.engine) as s:
        assert units.by_name(s, "zhejiang", "浙江大学材料学院").name == "浙江大学材料学院（新）"
    # merge: the first unit becomes part of the second; both reviewers reach both cases
    assert "已合并" in units_cmd(runtime, "merge", "zhejiang", "浙江大学材料学院（新）", "=", "浙江大学材料科学与工程学院")
    assert reaches(REVIEWER, first) and reaches(REVIEWER, second) and reaches(OTHER_REVIEWER, first)
    # move: the case goes to a third unit, recorded on its trail; the answers are as submitted
    units_cmd(runtime, "add", "zhejiang", "之江实验室")
    text = units_cmd(runtime, "move", first.number, "=", "之江实验室")
    assert "已把案件" in text
    assert not reaches(REVIEWER, first) and reaches(REVIEWER, second)
    after = snapshot(runtime, first.id)
    assert after["answers"] == before["answers"] and after["state"] == before["state"]
    assert after["events"][:len(before["events"])] == before["events"]  # nothing rewritten, one line added
    moved = after["events"][len(before["events"]):]
    assert [a for _i, a, _d in moved] == ["move_unit"] and moved[0][2]["to"] == "之江实验室"
    assert [m for m in after["members"]] == [m for m in before["members"]]  # memberships untouched
    assert set(before["names"]) <= set(after["names"])  # every name still there
    view = drive(runtime).case(ADMIN, first.number).view.text
    assert "所属单位由“浙江大学材料科学与工程学院”改为“之江实验室”" in view
    # the moved case now has nobody: the admins were told at once
    assert any(first.number in o.text for o in outbox(runtime, ADMIN.user_id, "off.stranded.alert"))


def test_the_wizard_queries_search_and_propose(runtime):
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    units_cmd(runtime, "add", "zhejiang", "浙江工业大学")
    desk = runtime.officers.units
    with Session(runtime.engine) as s:
        assert [u.name for u in desk.search(s, "zhejiang", "材料")] == ["浙江大学材料学院"]
        assert [u.name for u in desk.search(s, "zhejiang", "浙大材料")] == ["浙江大学材料学院"]  # in order
        assert {u.name for u in desk.search(s, "zhejiang", "浙江")} == {"浙江大学材料学院", "浙江工业大学"}
        unit = desk.propose(s, "zhejiang", "之江实验室", 506)
        again = desk.propose(s, "zhejiang", "之江 实验室", 507)
        assert again.id == unit.id and unit.status == "proposed"
        s.commit()
    alerts = outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")
    assert len(alerts) == 1 and "之江实验室" in alerts[0].text
    confirm = alerts[0].params["buttons"][0][0][1]
    assert "已确认单位" in drive(runtime).press(ADMIN, confirm).view.text
    assert drive(runtime).press(Who(506), confirm).toast  # only admins


def test_invitations_name_their_person_or_wait_for_an_admin_and_are_stored_hashed(runtime):
    d = drive(runtime)
    named = d.invite(ADMIN, ["officer", "dongguan", "@Zhang_San"]).view.text
    code = code_in(named)
    assert "仅限 @Zhang_San 本人" in named
    assert d.start(Who(611, "李四", username="lisi"), payload=code).toast  # not theirs
    assert d.start(Who(612, "张三", username="zhang_san"), payload=code).menu == MenuChange(Menu.STAFF)
    anyone = code_in(d.invite(ADMIN, ["officer", "shanwei"]).view.text)
    waiting = d.start(Who(613, "王五"), payload=anyone)
    assert "管理员确认" in waiting.view.text and waiting.menu is None
    assert d.queue(Who(613)).toast  # not a member yet
    assert d.start(Who(614, "赵六"), payload=anyone).toast  # someone else opened it first
    alert = outbox(runtime, ADMIN.user_id, "off.join.waiting_alert")
    assert len(alert) == 1 and "王五" in alert[0].text and "613" in alert[0].text
    confirm = alert[0].params["buttons"][0][0][1]
    assert d.press(Who(613), confirm).toast  # the opener cannot confirm themself
    reply = d.press(ADMIN, confirm)
    assert reply.menu == MenuChange(Menu.STAFF, 613) and "已确认" in reply.view.text
    assert not d.queue(Who(613)).toast
    assert outbox(runtime, 613, "off.join.confirmed")
    # an open invitation is listed and revoked; its code is then refused
    spare = code_in(d.invite(ADMIN, ["officer", "dongguan"]).view.text)
    members = d.members(ADMIN).view
    assert "未使用的邀请" in members.text and spare not in members.text
    revoke = next(data for row in members.buttons for _l, data in row if data.startswith("adm:ri:"))
    d.press(ADMIN, revoke)
    assert "撤销" in d.start(Who(615), payload=spare).toast
    with Session(runtime.engine) as s:
        rows = s.exec(select(RoleInvitation)).all()
        stored = " ".join(f"{r.code_hash} {r.for_username}" for r in rows)
        assert all(len(r.code_hash) == 64 for r in rows) and code not in stored and spare not in stored


def test_unit_invitations_name_a_registry_unit(runtime):
    text = drive(runtime).invite(ADMIN, ["unit", "zhejiang", "浙江大学材料学院", "602"]).view.text
    assert "不在登记册中" in text and "/units add zhejiang 浙江大学材料学院" in text
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    assert "浙江大学材料学院" in drive(runtime).invite(ADMIN, ["unit", "zhejiang", "浙江大学🔬材料学院", "602"]).view.text


def test_clock_alerts_go_only_to_those_who_can_act(runtime):
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    join(runtime, ["officer", "zhejiang"], OFFICER)
    case = submit_zhejiang(runtime, Who(507, "研究员"), "浙江大学材料学院")
    hooks = OutboxHooks(runtime.settings, runtime.officers)
    with Session(runtime.engine) as s:
        assert hooks.staff_for(s, s.get(Case, case.id)) == [REVIEWER.user_id]
    act(runtime, REVIEWER, case.id, "unit_approve", [None])
    with Session(runtime.engine) as s:
        assert hooks.staff_for(s, s.get(Case, case.id)) == [OFFICER.user_id]  # the reviewer can no longer act
