"""The case file in words: the officer reads the negative-list answers, the materials marked "later" and a
log of labels (never field ids, event keys or raw values); the applicant reads every decision with its
reason, what they owe next with its clause, and their documents; a panel shows how far it has come."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.limits import utf16_len
from bot.reply import Who
from bot.runtime import build_runtime
from storage.casework import Outbox
from tests.casework_scenario import WALKS
from tests.driver import drive
from tests.test_officer_flow import APPLICANT, CAST, TODAY, act, setup_cast, submit


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=TODAY, admin_ids=[900], _env_file=None))


RAW = re.compile(r"\b[a-z_]+=|application_filed|procedure_started|clock_set|off\.err\.|proc\.err\.|\bgood\b")


def test_the_officers_file_shows_declarations_later_materials_and_a_log_in_words(runtime):
    setup_cast(runtime, "dongguan")
    case = submit(runtime, "dongguan")
    for who, action, values in WALKS["dongguan"]["steps"][:3]:
        act(runtime, CAST[who], case.id, action, values)
    drive(runtime).press(CAST["officer"], f"c:a:{case.id}:investigation:decide")  # out of order: refused
    text = drive(runtime).case(CAST["officer"], case.number).view.text
    assert "标记为稍后提交" in text
    assert "依职权启动程序：启动日期 2026-11-12" in text and "提交申请" in text
    assert "需补充的材料：请补充经费审计报告" in text or "请补充经费审计报告" in text
    assert "⛔ 已拒绝 · 经办人员 经办" in text and "原因：案件当前所处阶段不能进行这一操作。" in text
    assert not RAW.search(text), RAW.search(text)
    en = drive(runtime)
    en.set_language(CAST["officer"], "en")
    english = en.case(CAST["officer"], case.number).view.text
    assert "Procedure started ex officio" in english
    assert not RAW.search(english), RAW.search(english)


def test_a_panel_shows_how_far_it_has_come_and_what_is_missing(runtime):
    setup_cast(runtime, "zhejiang")
    case = submit(runtime, "zhejiang")
    steps = WALKS["zhejiang"]["steps"]
    for who, action, values in steps[:6]:  # unit, period, accept, experts convened, two technical experts
        act(runtime, CAST[who], case.id, action, values)
    text = drive(runtime).case(CAST["officer"], case.number).view.text
    assert "负面清单（申请人的回答）" in text and "（二(三)1）— 否" in text  # the declarations, as answered
    assert "专家评审：已记录 2/5（技术专家 2，财务专家 0）。还需：3 位专家，须有财务专家。" in text
    for who, action, values in steps[6:9]:
        act(runtime, CAST[who], case.id, action, values)
    view = drive(runtime).case(CAST["officer"], case.number).view
    assert all(utf16_len(part) <= 4096 for part in (*view.preface, view.text))  # a long file: several messages
    text = "\n\n".join((*view.preface, view.text))
    assert "已记录 5/5（技术专家 3，财务专家 2）。人数和类别已满足。" in text
    assert "资金使用的合规性：合规" in text and "原始资料和记录的完整性：完整" in text  # the criterion's words


def test_the_applicants_file_shows_outcomes_reasons_what_they_owe_and_their_documents(runtime):
    setup_cast(runtime, "zhejiang")
    case = submit(runtime, "zhejiang")
    for who, action, values in WALKS["zhejiang"]["steps"]:
        if who == "travel":
            runtime.settings.today_override = runtime.settings.today_override + dt.timedelta(days=action)
            continue
        if action == "report":
            break
        act(runtime, CAST[who], case.id, action, values)
    status = drive(runtime).status(APPLICANT).view.text
    assert case.number in status and "待提交失败原因分析报告" in status and "公示结束" in status
    file = drive(runtime).press(APPLICANT, f"c:o:{case.id}").view
    text = file.text
    assert "结果与理由" in text and "⚖ 集体审定：认定结果：认定为容错免责" in text
    assert "🏁 公示结束：认定结果：认定为容错免责" in text
    assert "❗ 需要您：📤 提交失败原因分析报告（四(二)），文本未规定期限" in text
    assert "· 您可以：📎 补充材料" in text
    assert "佐证材料：evidence.pdf" in text  # their documents, by the material's name
    assert "容错免责认定申请书：" not in text  # the assistant writes the 申请书: it is no upload ...
    assert any(data.endswith(":docx") for row in file.buttons for _l, data in row)  # ... but a button
    assert "调查记录" not in text and "经办人员" not in text  # the applicant reads the public steps only


def test_a_policy_or_level_without_an_officer_is_put_before_the_admins(runtime):
    drive(runtime).command(Who(900), "units")  # the admin is configured; nobody else is
    case = submit(runtime, "yunnan")
    with Session(runtime.engine) as s:
        alerts = s.exec(select(Outbox).where(Outbox.chat_id == 900, Outbox.key == "off.stranded.alert")).all()
    assert len(alerts) == 1 and case.number in alerts[0].text and "/invite officer yunnan" in alerts[0].text
