"""The files people get: the application .docx (its content read back; LibreOffice's rendering of it is
tests/test_application_pdf.py), the timeline PNG and the .ics, built through the transport-free flow over a real database."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from docx import Document
from docx.oxml.ns import qn
from icalendar import Calendar
from PIL import Image, ImageStat
from sqlmodel import Session, select

from bot.config import Settings
from bot.documents import fonts
from bot.documents.application import application_docx
from bot.documents.calendar_file import case_ics
from bot.documents.statements import declare
from bot.documents.timeline import timeline_png
from bot.i18n import catalogue, render
from bot.reply import Who
from bot.runtime import build_runtime
from dialogs.policy import load_policies
from dialogs.status import status_lines
from dialogs.wizard import DraftView
from scheduler.calendar import WorkCalendar
from scheduler.clockevents import case_clock_events as clock_events
from scheduler.clocks import ClockEvent, due_date
from storage import caserepo
from storage.models import Case, Draft
from tests.application_answers import (
    FILE_NAMES,
    FILED,
    PERSON,
    PROMPTS,
    answers_for,
    draft_for,
    leaked_ids,
    uploads_for,
)
from tests.driver import drive
from tests.scenario import FACTS, happy_path
from tests.test_flow import find, play

POLICIES = load_policies()
TODAY = dt.date(2026, 11, 20)
START = "2026-11-13"


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=TODAY, _env_file=None))


def submit(runtime, key: str, user_id: int, lang: str = "zh"):
    flow = drive(runtime)
    who = Who(user_id, "研究员", language_code=lang)
    reply = play(flow, who, flow.new_draft(who).view, happy_path(runtime.policies[key], start_date=START))
    assert reply.files, "the submission carries the application document"
    return reply


def docx_text(content: bytes) -> str:
    """The body's paragraphs, then the cells of its tables (the unit's review box)."""
    doc = Document(io.BytesIO(content))
    cells = [c.text for table in doc.tables for row in table.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _sections(text: str) -> list[str]:
    return [line for line in text.split("\n") if re.match(r"^[一二三四五六七八九十]+、", line)]


@pytest.mark.parametrize("key", ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"])
def test_submission_sends_the_filled_in_application(runtime, key):
    """Through the real flow: what the wizard stored becomes the filed document."""
    policy = runtime.policies[key]
    reply = submit(runtime, key, 700)
    [out] = reply.files
    assert out.name.endswith(".docx") and out.kind == "document"
    text = docx_text(out.content)
    with Session(runtime.engine) as s:
        case = s.exec(select(Case)).one()
    title = "尽职免责认定申请书" if key == "liaoning" else "容错免责认定申请书"
    assert text.startswith(title) and case.number in text
    assert f"致：{policy.decider_short.name_for(case.answers['project'], 'zh')}\n" in text
    assert policy.decider.zh not in text, "the addressee is a name, not the decider's procedure"
    assert policy.document.zh in text and "测试-name" in text and FACTS in text
    assert policy.grounds.for_role(case.answers.get("role"))[0].clause in text
    assert policy.declaration.text.zh in text
    if policy.negative is not None:
        assert policy.negative.clause in text and "是否" not in text and "？" not in text
    if any(o.asks_start_date for o in policy.origins):
        assert "程序启动日期：2026年11月13日" in text
    for material in policy.materials:
        assert material.label.zh in text
        if material.required and material.id not in ("application", "statement"):
            assert f"{material.id}.pdf" in text, "uploaded file names are listed"
    for prompt in PROMPTS:
        assert prompt not in text, prompt
    assert "张三" in text and "0769-12345678" in text, "the identity given in the wizard"
    assert "申请人（签字）" in text and "盖章" in text and "年　　月　　日" in text
    assert "申请人已于提交时确认上述声明。" in text
    typed = {f.id for f in policy.project_fields} | {m.id for m in policy.materials}  # 测试-name, evidence.pdf
    assert not leaked_ids(text, policy, "zh") - typed


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"])
def test_the_application_states_what_the_applicant_declares(key, lang):
    policy = POLICIES[key]
    draft = draft_for(policy, choice=-1)
    content = application_docx(policy, draft, None, lang, today=FILED, case_number=f"{policy.case_prefix}-2026-0007",
                               submitted_on=FILED)
    text = docx_text(content)
    body = policy.decider_short.name_for(draft.answers["project"], lang)
    assert (f"致：{body}\n" if lang == "zh" else f"To: {body}\n") in text
    for value in PERSON.values():
        assert value in text, "the applicant's identity"
    for prompt in PROMPTS:
        assert prompt not in text, prompt
    assert not leaked_ids(text, policy, lang)
    assert "?" not in text and "？" not in text, "declarations are statements, not the wizard's questions"
    status = [render(line, lang) for line in status_lines(policy, FILED)]
    assert "\n".join(status) in text, "the status in full, as dialogs.status gives it for the filing day"
    if lang == "zh":
        assert "2026年12月2日" in text and "还剩" not in text
        if policy.negative is not None:
            assert text.count("不存在") + text.count("未发生") >= len(policy.negative.items) - 1
        if policy.conditions is not None and policy.conditions.mode == "grouped":
            for group in policy.conditions.groups:
                rule = "同时符合下列全部条件" if group.mode == "all" else "符合下列条件中的至少一项"
                assert f"本人确认{rule}（{group.clause}）：" in text
        elif policy.conditions is not None:
            assert f"本人确认{'同时符合下列全部条件' if policy.conditions.mode == 'all' else '符合下列条件'}" in text
        for gate in policy.gates:  # a warning answered is stated like any other answer, not barred
            answer = gate.warns_if if gate.warns_if is not None else not gate.bars_if
            assert f"本人确认：{declare(gate.question.zh, answer, 'zh')[:-1]}" in text
        assert "本申请书" in text or not any(m.id == "application" for m in policy.materials)
        if any(m.id == "statement" for m in policy.materials):
            facts = next(s for s in _sections(text) if s.endswith("情况说明"))
            assert f"情况说明：见本申请书第{facts.split('、')[0]}部分“情况说明”" in text
        uploaded = {u.material_id for u in draft.uploads}
        for m in policy.materials:
            if m.id not in ("application", "statement"):
                assert f"{m.label.zh}：{'已提供（' if m.id in uploaded else '未提供'}" in text, m.id
        assert text.count(FILE_NAMES[0]) == 1, "the same file sent twice is listed once"
        assert "（征求意见稿）（征求意见稿）" not in text
    else:
        assert "2 December 2026" in text and "Name: 王晓明" in text and "Statement of facts" in text
        chinese = catalogue("zh")
        for key, value in chinese.items():
            if key.startswith("app.") and "{" not in value and len(value) > 1 and re.search(r"[\u4e00-\u9fff]", value):
                assert value not in text, f"Chinese form text {key} in the English document"


def test_zhejiang_has_the_undertaking_units_review_box_and_basic_public_goes_to_the_foundation():
    policy = POLICIES["zhejiang"]
    for choice, body in ((0, "浙江省科学技术厅"), (-1, "浙江省自然科学基金委员会办公室")):
        content = application_docx(policy, draft_for(policy, choice=choice), None, "zh", today=FILED,
                                   case_number="ZJ-2026-0001", submitted_on=FILED)
        assert f"致：{body}\n" in docx_text(content)
    doc = Document(io.BytesIO(content))
    [box] = doc.tables
    cells = [row.cells[0].text for row in box.rows]
    assert cells[0].startswith("项目承担单位审核意见（三(一)）") and "浙江大学材料学院" in cells[0]
    assert cells[1] == "" and "负责人（签字）" in cells[2] and "单位（盖章）" in cells[2]
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in box.rows)
    english = docx_text(application_docx(policy, draft_for(policy), None, "en", today=FILED))
    assert "Review opinion of the undertaking unit" in "\n".join(
        c.text for t in Document(io.BytesIO(application_docx(policy, draft_for(policy), None, "en", today=FILED))).tables
        for r in t.rows for c in r.cells) and "DRAFT (not yet submitted)" in english
    for other in ("dongguan", "yunnan", "liaoning", "shanwei"):
        p = POLICIES[other]
        assert not Document(io.BytesIO(application_docx(p, draft_for(p), None, "zh", today=FILED))).tables


def test_a_unit_applicant_is_named_with_its_responsible_person_and_seals_as_applicant():
    policy = POLICIES["dongguan"]
    text = docx_text(application_docx(policy, draft_for(policy, kind="unit"), None, "zh", today=FILED,
                                      case_number="DG-2026-0002", submitted_on=FILED))
    assert "单位名称：东莞市松山湖示范科技有限公司" in text and "负责人：李建国" in text and "负责人职务：总经理" in text
    assert "本单位依据《" in text and "本单位确认同时符合下列全部条件" in text
    assert "申请单位（盖章）" in text and "负责人（签字）" in text


def test_missing_identity_leaves_lines_to_fill_in_and_liaoning_goes_to_the_research_unit():
    policy = POLICIES["liaoning"]
    draft = draft_for(policy, identity={"name": "赵六"})
    text = docx_text(application_docx(policy, draft, None, "zh", today=FILED, case_number="LN-2026-0001",
                                      submitted_on=FILED))
    assert "姓名：赵六" in text and "职务（职称）：＿＿" in text and "联系电话：＿＿" in text
    assert "致：浙江大学材料学院\n" in text, "Liaoning 第八条: the research unit determines internally"
    assert text.startswith("尽职免责认定申请书") and "申请尽职免责认定" in text


def test_a_draft_says_so_on_every_page_and_leaves_open_items_visibly_open():
    policy = POLICIES["dongguan"]
    answers = answers_for(policy)
    answers["conditions"] = answers["conditions"][:3]
    answers["declared"] = False
    del answers["start_date"]
    content = application_docx(policy, DraftView("summary", answers, []), None, "zh", today=FILED)
    doc = Document(io.BytesIO(content))
    text = docx_text(content)
    assert "草稿（尚未提交）" in doc.sections[0].header.paragraphs[0].text
    assert "草稿（尚未提交）· 生成于2026年12月2日" in text and "案件编号" not in text
    assert "下列条件尚未确认（提交前须全部确认）：" in text and "〔尚未确认〕申请人尚未确认上述声明" in text
    assert "程序启动日期：＿＿" in text
    assert "相关佐证材料：未提供" in text


def test_yunnan_grouped_conditions_and_materials_promised_for_later():
    """Yunnan 第四条 as the v2 file groups it: (一)–(四) confirmed together, of (五)/(六) the ones that
    apply; in a draft what is still open stays open, group by group. A required material the applicant
    will hand in later (第六条(一) lists six, each may come later) says so rather than just 未提供."""
    policy = POLICIES["yunnan"]
    answers = answers_for(policy)
    answers["conditions"] = ["c1", "c2", "c3"]
    answers["materials_later"] = ["audit_report"]
    uploads = [u for u in uploads_for(policy) if u.material_id not in ("audit_report", "performance")]
    text = docx_text(application_docx(policy, DraftView("summary", answers, uploads), None, "zh", today=FILED))
    core = text.index("本人确认同时符合下列全部条件（第四条(一)至(四)）：")
    pending = text.index("下列条件尚未确认（提交前须全部确认）：", core)
    kind = text.index("本人确认符合下列条件中的至少一项（第四条(五)(六)）：", pending)
    assert "（第四条(三)）" in text[core:pending] and "（第四条(四)）" in text[pending:kind]
    assert text[kind:].split("\n")[1] == "1. 〔尚未选择〕"
    assert "经费审计报告：未提供（将另行补交）" in text and "实施绩效资料：未提供\n" in text
    filed = docx_text(application_docx(policy, draft_for(policy), None, "en", today=FILED, case_number="YN-2026-0003",
                                       submitted_on=FILED))
    assert "I confirm that all of the following conditions are met (第四条(一)至(四)):" in filed
    assert "I confirm that at least one of the following conditions is met (第四条(五)(六)):" in filed
    assert "Not yet confirmed" not in filed


def test_zhejiang_states_the_termination_application_and_a_warning_answered():
    """二(一): the termination application is declared and listed as a material; 三(一): a project that has
    entered, not finished, its acceptance is stated as such (a warning the applicant read), not barred."""
    policy = POLICIES["zhejiang"]
    text = docx_text(application_docx(policy, draft_for(policy), None, "zh", today=FILED, case_number="ZJ-2026-0004",
                                      submitted_on=FILED))
    assert "本人确认：已就该科技计划项目提出（或同时提出）项目终止申请（二(一)）。" in text
    assert "本人确认：该科技计划项目尚未完成验收（未作出验收结论）（三(一)）。" in text
    assert "本人确认：该项目已进入验收程序（尚未作出验收结论）（三(一)）。" in text
    assert "科技计划项目终止申请：已提供（" in text


def test_a4_with_gb_t_9704_margins_and_headings_kept_with_their_text():
    content = application_docx(POLICIES["yunnan"], draft_for(POLICIES["yunnan"]), None, "zh", today=FILED,
                               case_number="YN-2026-0001", submitted_on=FILED)
    doc = Document(io.BytesIO(content))
    section = doc.sections[0]
    measured = {name: round(getattr(section, name).mm, 1) for name in
                ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin", "right_margin")}
    assert measured == {"page_width": 210, "page_height": 297, "top_margin": 37, "bottom_margin": 35,
                        "left_margin": 28, "right_margin": 26}
    assert round(section.page_width.mm - 28 - 26) == 156 and round(section.page_height.mm - 37 - 35) == 225
    headings = [p for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert len(headings) >= 9 and all(p.style.paragraph_format.keep_with_next for p in headings)
    tail = doc.paragraphs[[p.text for p in doc.paragraphs].index(headings[-1].text):]
    assert all(p.paragraph_format.keep_with_next for p in tail[1:-1] if p.text), "declaration and seal stay together"
    assert "PAGE" in section.footer._element.xml


def test_east_asian_fonts_are_set_on_every_style_and_run(runtime):
    content = submit(runtime, "dongguan", 701).files[0].content
    doc = Document(io.BytesIO(content))
    east_asia = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
    for name in ("Normal", "Heading 1"):
        assert doc.styles[name].element.rPr.rFonts.get(east_asia).startswith("Noto")
    for p in doc.paragraphs:
        for run in p.runs:
            fonts = run._r.rPr.rFonts if run._r.rPr is not None else None
            if fonts is not None:
                assert fonts.get(east_asia).startswith("Noto")


def test_english_ui_gets_english_headings_and_the_button_works_on_a_draft(runtime):
    flow = drive(runtime)
    who = Who(702, "Res", language_code="en")
    steps = happy_path(runtime.policies["liaoning"], start_date=START)
    reply = play(flow, who, flow.new_draft(who).view, steps[:-3])  # at the summary, not yet submitted
    pressed = flow.press(who, find(reply.view, "docx"))
    assert pressed.files and pressed.view is None
    text = docx_text(pressed.files[0].content)
    assert text.startswith("Application for a Determination of Due-Diligence Exemption")
    assert "DRAFT (not yet submitted)" in text and "1. Basis of the application" in text
    assert "Applicant (signature)" in text and ". Statement of facts" in text
    assert "[not yet confirmed] The applicant has not yet confirmed" in text


def test_someone_elses_draft_is_refused_in_their_language(runtime):
    flow = drive(runtime)
    owner, other = Who(703, "A"), Who(704, "B", language_code="en")
    reply = flow.new_draft(owner)
    with Session(runtime.engine) as s:
        draft_id = s.exec(select(Draft)).one().id
    refused = flow.press(other, f"w:{draft_id}:0:docx")
    assert refused.toast and "not found" in refused.toast and not getattr(refused, "files", [])
    assert reply.view is not None


def test_every_negative_item_and_gate_of_every_policy_reads_as_a_statement():
    """statements.py knows each question form the policy files use, in both languages and both answers."""
    for policy in POLICIES.values():
        questions = [i.text for i in (policy.negative.items if policy.negative else [])]
        questions += [g.question for g in policy.gates]
        for q in questions:
            for lang in ("zh", "en"):
                for answer in (False, True):
                    stated = declare(q.get(lang), answer, lang)
                    assert stated is not None, f"{policy.key}: no rule for {q.get(lang)!r}"
                    assert "是否" not in stated and "?" not in stated and "？" not in stated
                    if lang == "zh" and not answer:  # a denial leaves nothing affirmed (Liaoning 第七条(四))
                        assert not re.search(r"(?<![不也])存在|（已", stated), stated
    assert declare("是否存在其他违反法律法规的情形？", False, "zh") == "不存在其他违反法律法规的情形。"
    assert declare("是否发生甲，或存在乙？", False, "zh") == "未发生甲，也不存在乙。"
    assert declare("Did you use your position?", False, "en") == "I (we) did not use my (our) position."
    assert declare("Is there any other violation?", False, "en") == "There is not any other violation."
    assert declare("Has a termination application been filed?", True, "en") == \
        "A termination application has been filed."
    assert declare("Why?", False, "en") is None
    assert declare("是否存在甲；或在乙过程中，存在丙？", False, "zh") == "不存在甲；在乙过程中，也不存在丙。"
    assert declare("是否已经完成验收（已作出验收结论）？", False, "zh") == "尚未完成验收（未作出验收结论）。"
    assert declare("单位是否为省属高校？", False, "zh") == "单位不是省属高校。"
    assert declare("本事项是否属于甲？", True, "zh") == "本事项属于甲。"
    assert declare("Does the matter concern a transfer?", False, "en") == "The matter does not concern a transfer."
    assert declare("Does the matter concern a transfer?", True, "en") == "The matter concerns a transfer."
    assert declare("Is the unit concerned a provincial university?", False, "en") == \
        "The unit concerned is not a provincial university."
    assert declare("Has an application been filed (or is it filed with this one)?", False, "en") == \
        "An application has not been filed (nor is it filed with this one)."
    assert declare("Has the check been completed (an acceptance conclusion given)?", False, "en") == \
        "The check has not been completed (no acceptance conclusion given)."


# -- timeline ---------------------------------------------------------------------------------------------
EVENTS = [ClockEvent("procedure_started", dt.date(2026, 10, 12)), ClockEvent("application_filed", dt.date(2026, 10, 20)),
          ClockEvent("accepted", dt.date(2026, 10, 28)), ClockEvent("evaluation_started", dt.date(2026, 11, 2)),
          ClockEvent("evaluation_ended", dt.date(2026, 11, 9))]


class _Case:
    number = "DG-2026-0009"


def _image(content: bytes) -> Image.Image:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(content)).convert("RGB")


def _red_pixels(img: Image.Image) -> int:
    return sum(1 for r, g, b in img.get_flattened_data() if r > 180 and g < 80 and b < 80)


def test_timeline_png_shows_clocks_and_overdue_in_red(runtime):
    policy = runtime.policies["dongguan"]
    on_time = _image(timeline_png(_Case(), EVENTS, policy, WorkCalendar(), TODAY, "zh"))
    assert on_time.width >= 800 and on_time.height >= 300
    assert ImageStat.Stat(on_time.convert("L")).stddev[0] > 20, "not blank"
    late = _image(timeline_png(_Case(), EVENTS, policy, WorkCalendar(), dt.date(2027, 1, 20), "en"))
    assert _red_pixels(late) > 10 * max(_red_pixels(on_time), 50), "the overdue decision clock is red"


def test_timeline_needs_a_cjk_font_and_falls_back_clearly(runtime, monkeypatch):
    assert fonts.cjk_font_path() is not None, "no CJK font: test.sh installs fonts-noto-cjk"
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    png = timeline_png(_Case(), EVENTS, runtime.policies["dongguan"], WorkCalendar(), TODAY, "zh")
    assert ImageStat.Stat(_image(png).convert("L")).stddev[0] > 20


def test_timeline_command_answers_bad_input_in_the_users_language(runtime):
    docs = drive(runtime)
    assert docs.timeline(Who(710, language_code="en"), []).view.text.startswith("You have no submitted case")
    assert "找不到案件“XX-1”" in docs.timeline(Who(710), ["XX-1"]).view.text
    submit(runtime, "dongguan", 711)
    with Session(runtime.engine) as s:
        number = s.exec(select(Case)).one().number
    assert "not yours" in docs.timeline(Who(712, language_code="en"), [number]).view.text
    [photo] = docs.timeline(Who(711), []).files
    assert photo.kind == "photo" and number in photo.caption
    assert ImageStat.Stat(_image(photo.content).convert("L")).stddev[0] > 20


# -- calendar file ---------------------------------------------------------------------------------------
def _events(content: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(content)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_ics_has_the_computed_due_dates_stable_uids_and_alarms(runtime):
    policy, calendar = runtime.policies["dongguan"], WorkCalendar()
    events = _events(case_ics(_Case(), EVENTS[:3], policy, calendar, TODAY, "zh"))
    decision = events["DG-2026-0009-decision@rcmz"]
    expected, _ = due_date(policy, "decision", dt.date(2026, 10, 28), calendar)
    assert decision["DTSTART"].dt == expected.date
    assert len(decision.walk("VALARM")) == 2 and "截止" in str(decision["SUMMARY"])
    assert "已完成" in str(events["DG-2026-0009-filing@rcmz"]["SUMMARY"])
    assert not events["DG-2026-0009-filing@rcmz"].walk("VALARM")
    # an evaluation pauses the clock: same UID, later date, higher SEQUENCE, so a re-import moves it
    moved = _events(case_ics(_Case(), EVENTS, policy, calendar, TODAY, "zh"))["DG-2026-0009-decision@rcmz"]
    assert moved["DTSTART"].dt > decision["DTSTART"].dt and int(moved["SEQUENCE"]) > int(decision["SEQUENCE"])


def test_ics_marks_provisional_dates(runtime):
    policy = runtime.policies["dongguan"]
    late = [ClockEvent("application_filed", dt.date(2026, 12, 28)), ClockEvent("accepted", dt.date(2026, 12, 30))]
    events = _events(case_ics(_Case(), late, policy, WorkCalendar(), dt.date(2026, 12, 30), "en"))
    decision = events["DG-2026-0009-decision@rcmz"]
    assert decision["DTSTART"].dt.year == 2027
    assert str(decision["SUMMARY"]).startswith("[provisional]") and "Provisional" in str(decision["DESCRIPTION"])
    assert str(decision["STATUS"]) == "TENTATIVE"


def test_ics_command_for_a_case_and_for_an_officer(runtime):
    docs = drive(runtime)
    submit(runtime, "dongguan", 720)
    submit(runtime, "dongguan", 721)
    [own] = docs.ics(Who(720), []).files
    assert own.name.endswith(".ics") and len(_events(own.content)) >= 1
    with Session(runtime.engine) as s:
        caserepo.redeem_invitation(s, caserepo.create_invitation(s, "officer", "dongguan", 1,
                                                                 dt.timedelta(days=1)).code, 722)
        s.commit()
    [everything] = docs.ics(Who(722), []).files
    numbers = {uid.split("@")[0].rsplit("-", 1)[0] for uid in _events(everything.content)}
    assert numbers == {"DG-2026-0001", "DG-2026-0002"}
    assert "找不到" in docs.ics(Who(720), ["DG-2026-0002"]).view.text


# -- events ---------------------------------------------------------------------------------------------------
def test_clock_events_come_from_the_audit_trail(runtime):
    submit(runtime, "yunnan", 730)
    with Session(runtime.engine) as s:
        case = s.exec(select(Case)).one()
        from_trail = clock_events(s, case)
    assert [e.event for e in from_trail] == ["procedure_started", "application_filed"]
    assert from_trail[0].on == dt.date.fromisoformat(START)
    assert from_trail[1].on == TODAY  # stamped on the product's today (TODAY_OVERRIDE)



def test_each_policy_addresses_the_body_its_text_names():
    """decider_short against the seeds: Dongguan 2(2) 市科技局; Zhejiang 三(一) 省科技厅 and 三(末段) the
    foundation's office for 省基础公益研究专项; Yunnan 第六条 the level that issued the project; Liaoning
    第八条 the research unit itself; Shanwei 任务10 the science and technology bureau (the lead unit)."""
    def to(key, **project):
        return POLICIES[key].decider_short.name_for(project, "zh")
    assert to("dongguan", funding_level="municipal") == "东莞市科学技术局"
    assert to("zhejiang", funding_level="provincial") == "浙江省科学技术厅"
    assert to("zhejiang", funding_level="basic_public") == "浙江省自然科学基金委员会办公室"
    assert to("yunnan", funding_level="provincial") == "云南省科学技术厅"
    assert to("yunnan", funding_level="prefecture") == "＿＿＿＿＿＿州（市）科学技术局"
    assert to("yunnan", funding_level="county") == "＿＿＿＿＿＿县（市、区）科技行政管理部门"
    assert to("liaoning", unit="大连理工大学") == "大连理工大学" and to("liaoning") == "所在科研单位"
    assert to("shanwei") == "汕尾市科学技术局"
    assert POLICIES["zhejiang"].decider_short.name_for({"funding_level": "basic_public"}, "en") == \
        "Office of the Zhejiang Provincial Natural Science Foundation Committee"


def test_body_text_sizes_and_emoji_left_out_of_print():
    policy = POLICIES["zhejiang"]
    draft = draft_for(policy)
    draft.answers["project"]["unit"] = "浙江大学🔬材料学院"
    zh = Document(io.BytesIO(application_docx(policy, draft, None, "zh", today=FILED)))
    en = Document(io.BytesIO(application_docx(policy, draft, None, "en", today=FILED)))
    assert zh.styles["Normal"].font.size.pt == 14 and en.styles["Normal"].font.size.pt == 12
    text = "\n".join(p.text for p in zh.paragraphs)
    assert "科技计划项目承担单位：浙江大学材料学院" in text and "🔬" not in text


@pytest.mark.parametrize(("change", "needle"), [
    (("by_field: funding_level", "by_field: amount"), "is not a choice project field"),
    (("    basic_public:\n      zh: 浙江省自然", "    basic_pub:\n      zh: 浙江省自然"), "unknown options"),
    (("  by_field: funding_level\n", "  from_field: nowhere\n  by_field: funding_level\n"), "not both"),
])
def test_a_broken_decider_short_fails_on_load_naming_it(tmp_path, change, needle):
    from dialogs.policy import POLICY_DIR, PolicyError, load_policy

    text = (POLICY_DIR / "zhejiang.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "zhejiang.yaml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(PolicyError, match="decider_short") as err:
        load_policy(path)
    assert needle in str(err.value)
