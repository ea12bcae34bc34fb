"""The researcher's unit picker over a real database (SQLite, and PostgreSQL with TEST_POSTGRES_URL): a
unit picked from the registry becomes the case's unit at submission and its reviewer is told; a unit the
registry does not list is proposed to the admins once and the case stays with it when they confirm it;
what the draft says of a unit is checked again at submission."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.reply import Who
from storage import units
from storage.models import Case, Draft
from tests.driver import drive
from tests.scenario import Step, happy_path
from tests.test_flow import find, play
from tests.test_units import ADMIN, REVIEWER, join, outbox, runtime, submit_zhejiang, units_cmd  # noqa: F401

RESEARCHER = Who(521, "研究员")


def case_unit_row(runtime, case: Case) -> units.CaseUnit | None:  # noqa: F811
    with Session(runtime.engine) as s:
        return s.get(units.CaseUnit, case.id)


def test_a_researcher_types_part_of_the_name_picks_the_registered_unit_and_its_reviewer_is_told(runtime):  # noqa: F811
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    join(runtime, ["unit", "zhejiang", "浙江大学材料学院"], REVIEWER)
    d = drive(runtime)
    # the picker: the typed text, the registered unit as a button, the typed name, typing again
    steps = happy_path(runtime.policies["zhejiang"])
    before_unit = steps[:steps.index(Step("text", "测试-unit"))]
    play(d, RESEARCHER, d.new_draft(RESEARCHER).view, before_unit)
    picker = d.text(RESEARCHER, "浙大材料").view
    assert "浙大材料" in picker.text and "相近" in picker.text
    labels = {label: data for row in picker.buttons for label, data in row}
    assert labels["浙江大学材料学院"].endswith(":u:0") and any(d_.endswith(":u:typed") for d_ in labels.values())
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == RESEARCHER.user_id)).one()
        assert "unit" not in draft.answers["project"]  # nothing stored until the researcher says which
    after = d.press(RESEARCHER, find(picker, "u:0")).view
    assert "已匹配登记册中的单位：浙江大学材料学院" in after.text
    play(d, RESEARCHER, after, steps[steps.index(Step("text", "测试-unit")) + 1:])
    with Session(runtime.engine) as s:
        case = s.exec(select(Case).where(Case.applicant_id == RESEARCHER.user_id)).one()
        unit = units.by_name(s, "zhejiang", "浙江大学材料学院")
        assert case.answers["project"]["unit"] == "浙江大学材料学院" and case.answers["project"]["unit_id"] == unit.id
        assert units.case_unit(s, case).id == unit.id
    row = case_unit_row(runtime, case)
    assert row is not None and row.unit_id == unit.id and row.assigned_by == RESEARCHER.user_id
    told = outbox(runtime, REVIEWER.user_id, "off.work.reached")
    assert len(told) == 1 and case.number in told[0].text
    assert not outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")
    assert not outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert case.number in drive(runtime).queue(REVIEWER).view.text


def test_an_unknown_unit_is_proposed_once_and_the_case_stays_with_it_when_the_admin_confirms_it(runtime):  # noqa: F811
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    case = submit_zhejiang(runtime, RESEARCHER, "温州医科大学附属第一医院")
    with Session(runtime.engine) as s:
        proposed = units.by_name(s, "zhejiang", "温州医科大学附属第一医院")
        assert proposed is not None and proposed.status == "proposed" and proposed.created_by == RESEARCHER.user_id
        assert case.answers["project"]["unit_new"] is True and "unit_id" not in case.answers["project"]
    assert case_unit_row(runtime, case).unit_id == proposed.id
    alerts = outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")
    assert len(alerts) == 1 and "温州医科大学附属第一医院" in alerts[0].text
    stranded = outbox(runtime, ADMIN.user_id, "off.stranded.alert")
    assert len(stranded) == 1 and case.number in stranded[0].text and "/units confirm zhejiang" in stranded[0].text
    # a second researcher typing the same name gets the proposed unit, and the admins are not asked again
    other = submit_zhejiang(runtime, Who(522, "另一研究员"), "温州医科大学附属第一医院")
    assert other.answers["project"]["unit_id"] == proposed.id
    assert len(outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")) == 1
    assert "已确认" in units_cmd(runtime, "confirm", "zhejiang", f"#{proposed.id}")
    with Session(runtime.engine) as s:
        assert s.get(units.Unit, proposed.id).status == "active"
        assert units.case_unit(s, s.get(Case, case.id)).id == proposed.id
    # now a reviewer can be invited for it, and is told of both cases
    join(runtime, ["unit", "zhejiang", "温州医科大学附属第一医院"], REVIEWER)
    told = outbox(runtime, REVIEWER.user_id, "off.work.reached")
    assert {case.number, other.number} <= {row.params.get("number") for row in told}


def test_the_picked_unit_is_checked_again_at_submission(runtime):  # noqa: F811
    """A unit merged away since it was picked gives its successor; an id that is no unit of the policy
    (a draft edited by hand) is not trusted: the typed name decides."""
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料科学与工程学院")
    units_cmd(runtime, "add", "dongguan", "东莞理工学院")
    with Session(runtime.engine) as s:
        old, new = (units.by_name(s, "zhejiang", n).id for n in ("浙江大学材料学院", "浙江大学材料科学与工程学院"))
        foreign = units.by_name(s, "dongguan", "东莞理工学院").id
    d = drive(runtime)
    steps = happy_path(runtime.policies["zhejiang"])
    cut = steps.index(Step("text", "测试-unit")) + 1
    reply = play(d, RESEARCHER, d.new_draft(RESEARCHER).view, [*steps[:cut - 1], Step("text", "浙江大学材料学院")])
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == RESEARCHER.user_id)).one()
        assert draft.answers["project"]["unit_id"] == old
    # merged away while the draft waits: the case goes to the unit it became part of
    units_cmd(runtime, "merge", "zhejiang", "浙江大学材料学院", "=", "浙江大学材料科学与工程学院")
    play(d, RESEARCHER, reply.view, steps[cut:])
    with Session(runtime.engine) as s:
        case = s.exec(select(Case).where(Case.applicant_id == RESEARCHER.user_id)).one()
    assert case_unit_row(runtime, case).unit_id == new and old != new
    later = submit_zhejiang(runtime, Who(524, "研究员"), "浙江大学材料学院")  # the former name, after the merge
    assert later.answers["project"] == {**later.answers["project"], "unit": "浙江大学材料科学与工程学院",
                                        "unit_id": new}
    assert not outbox(runtime, ADMIN.user_id, "off.units.proposed_alert")
    forged = Who(523, "研究员")
    reply = play(d, forged, d.new_draft(forged).view, [*steps[:cut - 1], Step("text", "仙居县农业技术推广中心")])
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == forged.user_id)).one()
        draft.answers = {**draft.answers, "project": {**draft.answers["project"], "unit_id": foreign}}
        s.add(draft)
        s.commit()
    play(d, forged, reply.view, steps[cut:])
    with Session(runtime.engine) as s:
        case = s.exec(select(Case).where(Case.applicant_id == forged.user_id)).one()
        unit = s.get(units.Unit, s.get(units.CaseUnit, case.id).unit_id)
        assert unit.policy_key == "zhejiang" and unit.name == "仙居县农业技术推广中心" and unit.status == "proposed"


def test_the_picker_is_driven_from_the_console_with_numbered_presses(runtime):  # noqa: F811
    import io

    from bot.console import run_console

    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    d = drive(runtime)
    steps = happy_path(runtime.policies["zhejiang"])
    play(d, RESEARCHER, d.new_draft(RESEARCHER).view, steps[:steps.index(Step("text", "测试-unit"))])
    out = io.StringIO()
    lines = ["/drafts", "#1", "浙大材料", "#1", "/quit"]
    assert run_console(runtime, RESEARCHER.user_id, io.StringIO("\n".join(lines)), out) == 0
    text = out.getvalue()
    assert "[#1] 浙江大学材料学院" in text and "[#2] 使用我输入的名称（提请管理员登记）" in text
    assert "已匹配登记册中的单位：浙江大学材料学院" in text and "Traceback" not in text
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == RESEARCHER.user_id)).one()
        assert draft.answers["project"]["unit_id"] == units.by_name(s, "zhejiang", "浙江大学材料学院").id


def test_forged_and_stale_picker_presses_get_the_stale_button_toast(runtime):  # noqa: F811
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料学院")
    units_cmd(runtime, "add", "zhejiang", "浙江大学材料科学与工程学院")
    d = drive(runtime)
    steps = happy_path(runtime.policies["zhejiang"])
    play(d, RESEARCHER, d.new_draft(RESEARCHER).view, steps[:steps.index(Step("text", "测试-unit"))])
    first = d.text(RESEARCHER, "浙大材料").view
    pick = find(first, "u:1")
    prefix = pick.rsplit(":", 2)[0]
    for forged in ("u:2", "u:99", "u:-1", "u:x", "u:"):
        reply = d.press(RESEARCHER, f"{prefix}:{forged}")
        assert reply.toast and "已过期" in reply.toast, (forged, reply)
    second = d.text(RESEARCHER, "浙大材料学院").view  # typed again: a new search, a new revision
    assert find(second, "u:0") != find(first, "u:0")
    assert "已过期" in d.press(RESEARCHER, pick).toast  # a press on the first picker chooses nothing
    with Session(runtime.engine) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == RESEARCHER.user_id)).one()
        assert "unit" not in draft.answers["project"] and draft.answers["_meta"]["unit_pick"]["typed"] == "浙大材料学院"


def test_the_picker_offers_at_most_six_similar_units(runtime):  # noqa: F811
    for i in range(8):
        units_cmd(runtime, "add", "zhejiang", f"浙江大学材料学院第{'一二三四五六七八'[i]}研究所")
    d = drive(runtime)
    steps = happy_path(runtime.policies["zhejiang"])
    play(d, RESEARCHER, d.new_draft(RESEARCHER).view, steps[:steps.index(Step("text", "测试-unit"))])
    view = d.text(RESEARCHER, "浙大材料").view
    picks = [data.rsplit(":", 1)[1] for row in view.buttons for _l, data in row if ":u:" in data]
    assert picks == ["0", "1", "2", "3", "4", "5", "typed"]
