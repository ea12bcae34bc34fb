"""The files people get: the application .docx (read back, and rendered by LibreOffice to check the
Chinese), the timeline PNG and the .ics, built through the transport-free flow over a real database."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from docx import Document
from icalendar import Calendar
from PIL import Image, ImageStat
from sqlmodel import Session, select

from bot.config import Settings
from bot.documents import fonts
from bot.documents.calendar_file import case_ics
from bot.documents.timeline import timeline_png
from bot.reply import Who
from bot.runtime import build_runtime
from scheduler.calendar import WorkCalendar
from scheduler.clocks import ClockEvent, due_date
from storage import caserepo
from storage.clockevents import clock_events, local_date, submission_events
from storage.models import Case, Draft
from tests.driver import drive
from tests.scenario import FACTS, happy_path
from tests.test_flow import find, play

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
    doc = Document(io.BytesIO(content))
    return "\n".join(p.text for p in doc.paragraphs)


@pytest.mark.parametrize("key", ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"])
def test_submission_sends_the_filled_in_application(runtime, key):
    policy = runtime.policies[key]
    reply = submit(runtime, key, 700)
    [out] = reply.files
    assert out.name.endswith(".docx") and out.kind == "document"
    text = docx_text(out.content)
    with Session(runtime.engine) as s:
        case = s.exec(select(Case)).one()
    assert text.startswith("容错免责认定申请书") and case.number in text
    assert policy.document.zh in text and policy.decider.zh in text
    assert "测试-name" in text and FACTS in text
    assert policy.grounds.for_role(case.answers.get("role"))[0].clause in text
    assert policy.declaration.text.zh in text
    if policy.negative is not None:
        assert policy.negative.clause in text
    if any(o.asks_start_date for o in policy.origins):
        assert START in text and "申请期限" in text
    for material in policy.materials:
        assert material.label.zh in text
        if material.required and material.id not in ("application", "statement"):
            assert f"{material.id}.pdf" in text, "uploaded file names are listed"
    assert "申请人（签字）" in text and "盖章" in text and "年　　月　　日" in text
    assert "☑ 申请人已确认上述声明" in text


def test_east_asian_fonts_are_set_on_every_style(runtime):
    content = submit(runtime, "dongguan", 701).files[0].content
    doc = Document(io.BytesIO(content))
    for name in ("Normal", "Title", "Heading 1"):
        rfonts = doc.styles[name].element.rPr.rFonts
        assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia").startswith("Noto")


def test_english_ui_gets_english_headings_and_the_button_works_on_a_draft(runtime):
    flow = drive(runtime)
    who = Who(702, "Res", language_code="en")
    steps = happy_path(runtime.policies["liaoning"], start_date=START)
    reply = play(flow, who, flow.new_draft(who).view, steps[:-3])  # at the summary, not yet submitted
    pressed = flow.press(who, find(reply.view, "docx"))
    assert pressed.files and pressed.view is None
    text = docx_text(pressed.files[0].content)
    assert text.startswith("Application for Liability Exemption")
    assert "DRAFT (not yet submitted)" in text and "1. Policy and clauses" in text
    assert "Applicant (signature)" in text and ". Statement of facts" in text
    assert "☐ The applicant has not yet confirmed" in text


def test_someone_elses_draft_is_refused_in_their_language(runtime):
    flow = drive(runtime)
    owner, other = Who(703, "A"), Who(704, "B", language_code="en")
    reply = flow.new_draft(owner)
    with Session(runtime.engine) as s:
        draft_id = s.exec(select(Draft)).one().id
    refused = flow.press(other, f"w:{draft_id}:0:docx")
    assert refused.toast and "not found" in refused.toast and not getattr(refused, "files", [])
    assert reply.view is not None


def test_libreoffice_renders_the_chinese_with_a_cjk_font(runtime, tmp_path):
    """The document opened as a person would: LibreOffice makes a PDF, poppler rasterises page one."""
    missing = [tool for tool in ("soffice", "pdffonts", "pdftotext", "pdftoppm") if shutil.which(tool) is None]
    assert not missing, f"missing {missing}: test.sh installs libreoffice-writer-nogui and poppler-utils"
    docx = tmp_path / "app.docx"
    docx.write_bytes(submit(runtime, "zhejiang", 705).files[0].content)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(docx)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "app.pdf"
    fonts_used = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "CJK" in fonts_used, f"no CJK font embedded: install fonts-noto-cjk\n{fonts_used}"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "容错免责认定申请书" in text and "浙江省科学技术厅" in text
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert page.width > 400 and ImageStat.Stat(page).stddev[0] > 10


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
def test_clock_events_come_from_the_audit_trail_else_from_the_submission(runtime):
    submit(runtime, "yunnan", 730)
    with Session(runtime.engine) as s:
        case = s.exec(select(Case)).one()
        from_trail = clock_events(s, case)
        derived = submission_events(case)
    assert [e.event for e in from_trail] == ["procedure_started", "application_filed"]
    assert from_trail[0].on == dt.date.fromisoformat(START)
    assert [(e.event, e.on) for e in derived][0] == (from_trail[0].event, from_trail[0].on)
    assert derived[1].event == "application_filed" and derived[1].on == local_date(case.submitted_at)

