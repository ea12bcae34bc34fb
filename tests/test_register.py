"""The case register (.xlsx) over a real database: read back with openpyxl — every case the member may
see and no other, dates as real dates, the statistics equal to what the test counts from the events
itself, the Yunnan failure-analysis sheet (第十一条) — then opened by LibreOffice and turned into a PDF."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import statistics
import subprocess
from collections import Counter
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from bot.config import Settings
from bot.documents.register import Column, Sheet, display_width, register_xlsx, sheet_title
from bot.i18n import catalogue
from bot.reply import Who
from bot.runtime import build_runtime
from scheduler.clocks import ClockEvent, clocks_for
from storage import caserepo as cr
from storage.casework import CaseEvent
from storage.models import Case
from tests.casework_scenario import FILE, WALKS, form_inputs
from tests.conftest import fresh_database
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import play

ADMIN = Who(900, "管理员")
YN_OFFICER = Who(611, "云南经办")          # provincial level: sees provincial Yunnan cases only
DG_OFFICER = Who(612, "东莞经办")
EN_OFFICER = Who(613, "Officer", language_code="en")  # a second provincial Yunnan officer, in English
Y1, Y2, Y3, Y4, D1 = (Who(521, "云甲"), Who(522, "云乙"), Who(523, "云丙"), Who(524, "云丁"), Who(525, "莞甲"))
ZH, EN = catalogue("zh"), catalogue("en")
OUTCOMES = {"exempt", "lighter", "not_recognised"}


def code_in(text: str) -> str:
    import re

    return re.search(r"start[= ]([\w-]+)", text).group(1)


def on(runtime, day: dt.date) -> None:
    runtime.settings.today_override = day


def submit(runtime, who: Who, key: str, day: dt.date, level: str | None = None) -> Case:
    on(runtime, day)
    steps = happy_path(runtime.policies[key], start_date=(day - dt.timedelta(days=3)).isoformat())
    if level is not None:  # the source of funds decides which level's officers reach the case
        steps = [type(s)(s.kind, f"c:funding_level.{level}") if s.value.startswith("c:funding_level.") else s
                 for s in steps]
    steps = [s if s.value != "测试-unit" else type(s)(s.kind, f"{who.first_name}研究所") for s in steps]
    flow = drive(runtime)
    play(flow, who, flow.new_draft(who).view, steps)
    with Session(runtime.engine) as s:
        return s.exec(select(Case).where(Case.applicant_id == who.user_id)).one()


def act(runtime, who: Who, case: Case, action: str, values: list) -> None:
    """Open the case, press the action's button, fill its one-screen form and confirm, as a person does."""
    from dialogs.wizard import UploadInfo

    c = drive(runtime)
    view = c.press(who, f"c:o:{case.id}").view
    buttons = [d for row in view.buttons for _label, d in row]
    data = next((d for d in buttons if d.startswith(f"c:a:{case.id}:") and d.endswith(f":{action}")), None)
    assert data is not None, (action, buttons, view.text[-400:])
    reply = c.press(who, data)
    assert reply.toast is None, (action, reply.view.text)
    for kind, field, value in form_inputs(case.policy_key, action, values):
        if kind == "file":
            reply = c.document(who, UploadInfo("", value["file_name"], value["size"], value["file_id"],
                                               value["file_unique_id"]))
        elif kind == "skip":
            reply = c.press(who, f"c:s:{case.id}")
        elif kind == "pick":
            reply = c.press(who, f"c:p:{case.id}:{field}:{value}")
        else:
            reply = c.text(who, value)
        assert reply.toast is None and "⚠" not in reply.view.text, (action, value, reply.view.text)
    reply = c.press(who, f"c:k:{case.id}")
    assert "✅" in reply.view.text, (action, reply.view.text)


def walk_yunnan(runtime, case: Case, start: dt.date, stop_before: str | None = None,
                done: tuple[str, ...] = ()) -> None:
    """The whole Yunnan procedure, one step a day (so the steps take days a median can count)."""
    cast = {"officer": YN_OFFICER, "applicant": Who(case.applicant_id)}
    day = start
    for who, action, values in WALKS["yunnan"]["steps"]:
        if action in done:
            continue
        if action == stop_before:
            return
        on(runtime, day)
        act(runtime, cast[who], case, action, values)
        day += dt.timedelta(days=1)


def build(url: str) -> dict[str, Any]:
    settings = Settings(database_url=url, today_override=dt.date(2025, 12, 1), admin_ids=[ADMIN.user_id],
                        _env_file=None)
    runtime = build_runtime(settings)
    cw = drive(runtime)
    for who, args in ((YN_OFFICER, ["officer", "yunnan", "provincial"]), (EN_OFFICER, ["officer", "yunnan", "provincial"]),
                      (DG_OFFICER, ["officer", "dongguan"])):
        cw.start(who, payload=code_in(cw.invite(ADMIN, [*args, str(who.user_id)]).view.text))
    cw.set_language(EN_OFFICER, "en")
    cases = {"Y1": submit(runtime, Y1, "yunnan", dt.date(2025, 12, 15), "provincial")}
    on(runtime, dt.date(2025, 12, 19))
    act(runtime, YN_OFFICER, cases["Y1"], "accept", [None])
    walk_yunnan(runtime, cases["Y1"], dt.date(2026, 1, 5), done=("accept",))
    cases["Y2"] = submit(runtime, Y2, "yunnan", dt.date(2026, 3, 2), "provincial")
    walk_yunnan(runtime, cases["Y2"], dt.date(2026, 3, 9), stop_before="report")
    cases["Y3"] = submit(runtime, Y3, "yunnan", dt.date(2026, 3, 2), "prefecture")
    cases["Y4"] = submit(runtime, Y4, "yunnan", dt.date(2026, 4, 1), "provincial")
    on(runtime, dt.date(2026, 4, 20))  # late: the 7-working-day acceptance clock is missed
    act(runtime, YN_OFFICER, cases["Y4"], "refuse", ["材料不全，无法研判"])
    cases["D1"] = submit(runtime, D1, "dongguan", dt.date(2026, 4, 1))
    on(runtime, dt.date(2026, 11, 20))
    return {"runtime": runtime, "cases": cases, "flow": Register(cw)}


class Register:
    """/register as a person sends it: through the router, like every other command."""

    def __init__(self, driver) -> None:
        self.driver = driver

    def register(self, who: Who, args: list[str]):
        return self.driver.command(who, "register", *args)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with fresh_database(tmp_path_factory.mktemp("register")) as url:
        yield build(url)


def workbook_of(world, who: Who, args: list[str] | None = None) -> Any:
    reply = world["flow"].register(who, args or [])
    assert reply.files, reply.view
    [f] = reply.files
    assert f.name.endswith(".xlsx") and f.mime_type.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(f.content)), f


def rows_of(ws) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    out = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] is None:
            break  # the notes below the table
        out.append(dict(zip(header, row, strict=True)))
    return out


def events_of(world, case: Case) -> list[CaseEvent]:
    with Session(world["runtime"].engine) as s:
        return [e for e in cr.history(s, case.id) if not e.refused]


# -- the builder on plain rows ---------------------------------------------------------------------------
def test_the_builder_writes_dates_as_dates_freezes_the_header_and_fits_columns():
    sheet = Sheet("案件登记·东莞", [Column("案件编号"), Column("受理日期", "date"), Column("比例", "percent"),
                                    Column("说明")],
                  [["DG-2026-0001", dt.date(2026, 11, 2), 0.5, "=HYPERLINK(\"x\")"],
                   ["DG-2026-0002", None, None, "一" * 40]], notes=[["注：测试"]])
    wb = load_workbook(io.BytesIO(register_xlsx([sheet])))
    ws = wb["案件登记·东莞"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["B2"].value == dt.datetime(2026, 11, 2) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["C2"].number_format == "0.0%"
    assert ws["D2"].value == "=HYPERLINK(\"x\")" and ws["D2"].data_type == "s"  # typed text is never a formula
    assert ws.column_dimensions["A"].width >= len("DG-2026-0001")
    assert ws.column_dimensions["D"].width == 48 and ws["D3"].alignment.wrap_text  # capped, and wrapped
    assert ws["A5"].value == "注：测试"
    assert display_width("东莞") == 4 and display_width("ab") == 2
    taken: set[str] = set()
    assert sheet_title("a/b:c" + "x" * 40, taken) == ("a_b_c" + "x" * 40)[:31]
    assert sheet_title("a/b:c" + "x" * 40, taken).endswith("(2)")


# -- what the member may see ----------------------------------------------------------------------------
def test_the_register_holds_every_case_the_officer_may_see_and_no_other(world):
    cases = world["cases"]
    wb, f = workbook_of(world, YN_OFFICER)
    assert wb.sheetnames == ["案件登记·云南", "年度统计", "云南失败原因分析报告2026"]
    register = rows_of(wb["案件登记·云南"])
    assert [r["案件编号"] for r in register] == [cases[k].number for k in ("Y1", "Y2", "Y4")]  # not Y3 (prefecture)
    assert "3 件" in f.caption
    dongguan, _ = workbook_of(world, DG_OFFICER)
    assert [r["案件编号"] for r in rows_of(dongguan["案件登记·东莞"])] == [cases["D1"].number]
    assert "云南失败原因分析报告2026" not in dongguan.sheetnames
    mine, _ = workbook_of(world, Y2)  # a researcher: their own case only
    assert [r["案件编号"] for r in rows_of(mine.worksheets[0])] == [cases["Y2"].number]
    nobody = world["flow"].register(Who(999, "路人"), [])
    assert not nobody.files and nobody.view.text == ZH["reg.empty"]


def exempt_label(world, lang: str) -> str:
    """The Yunnan decision "exempt" (recorded on Y1) as the policy file names it in `lang`."""
    decide = world["runtime"].policies["yunnan"].procedure.action("decide")
    return next(o.label.get(lang) for f in decide.fields for o in f.options if o.id == "exempt")


def test_every_clock_event_date_is_a_real_date_equal_to_the_trail(world):
    wb, _ = workbook_of(world, YN_OFFICER)
    ws = wb["案件登记·云南"]
    header = [c.value for c in ws[1]]
    policy = world["runtime"].policies["yunnan"]
    starts_and_stops = []
    for limit in policy.time_limits:
        for event in (limit.starts_on, *limit.ends_on):
            if event not in starts_and_stops:
                starts_and_stops.append(event)
    for case_key, row_no in (("Y1", 2), ("Y2", 3), ("Y4", 4)):
        trail = events_of(world, world["cases"][case_key])
        for event in starts_and_stops:
            column = header.index(ZH["reg.col.event"].format(event=ZH[f"reg.event.{event}"]))
            cell = ws.cell(row_no, column + 1)
            first = next((cr.shanghai_date(e.at) for e in trail if e.event == event), None)
            if first is None:
                assert cell.value is None, (case_key, event)
            else:
                assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd"
                assert cell.value.date() == first, (case_key, event)
    y1, y2, y4 = rows_of(ws)
    exempt = exempt_label(world, "zh")
    assert y1["认定结果"] == exempt and exempt.startswith("容错免责") and y1["当前状态"] == "办结"
    assert y4["认定结果"] == "不予受理" and y4["理由"] == "材料不全，无法研判"
    acceptance = "反馈受理意见·是否按期"
    assert (y1[acceptance], y2[acceptance], y4[acceptance]) == ("按期", "按期", "超期")
    due = next(h for h in header if h.startswith("反馈受理意见·期限"))
    assert isinstance(y4[due], dt.datetime) and y4[due].date() < dt.date(2026, 4, 20)


def test_the_statistics_equal_what_the_events_say(world):
    runtime, cases = world["runtime"], world["cases"]
    wb, _ = workbook_of(world, YN_OFFICER)
    stats = {(r["年度"], r["代码"]): r["数值"] for r in rows_of(wb["年度统计"])}
    visible = [cases[k] for k in ("Y1", "Y2", "Y4")]
    trails = {c.number: events_of(world, c) for c in visible}
    expected: Counter[tuple[int, str]] = Counter()
    medians: dict[tuple[int, str], list[int]] = {}
    judged: Counter[int] = Counter()
    met: Counter[int] = Counter()
    policy = runtime.policies["yunnan"]
    for case in visible:
        trail = trails[case.number]
        firsts: dict[str, dt.date] = {}
        for e in trail:
            if e.event and e.event not in firsts:
                firsts[e.event] = cr.shanghai_date(e.at)
        for event, code in (("application_filed", "received"), ("accepted", "accepted"), ("refused", "refused")):
            if event in firsts:
                expected[(firsts[event].year, code)] += 1
        outcome = [e for e in trail if (e.details or {}).get("outcome") in OUTCOMES]
        if outcome:
            year = cr.shanghai_date(outcome[-1].at).year
            expected[(year, "decided")] += 1
            expected[(year, f"outcome:{outcome[-1].details['outcome']}")] += 1
        # the acceptance step, counted by hand: working days from filing to the answer
        answer = firsts.get("accepted") or firsts.get("refused")
        if answer:
            medians.setdefault((answer.year, "median:acceptance"), []).append(
                runtime.calendar.working_days_between(firsts["application_filed"], answer))
        events = [ClockEvent(e.event, cr.shanghai_date(e.at), dict(e.details or {})) for e in trail if e.event]
        for clock in clocks_for(policy, events, runtime.calendar, dt.date(2026, 11, 20)):
            if clock.status == "stopped" and clock.due is not None:
                judged[clock.stopped_on.year] += 1
                met[clock.stopped_on.year] += clock.stopped_on <= clock.due.date
            elif clock.overdue:
                judged[clock.due.date.year] += 1
    assert {y for y, _c in stats} == {2025, 2026}
    for year in (2025, 2026):
        for code in ("received", "accepted", "refused", "decided", "outcome:exempt", "outcome:lighter",
                     "outcome:not_recognised"):
            assert stats[(year, code)] == expected[(year, code)], (year, code)
        assert stats[(year, "clocks_judged")] == judged[year]
        assert stats[(year, "met_share")] == pytest.approx(met[year] / judged[year] if judged[year] else None)
    assert stats[(2025, "received")] == 1 and stats[(2026, "received")] == 2 and stats[(2026, "refused")] == 1
    assert stats[(2026, "outcome:exempt")] == 2 and stats[(2025, "decided")] == 0
    for key, days in medians.items():
        assert stats[key] == statistics.median(days), key
    assert 0 < stats[(2026, "met_share")] < 1  # Y4's acceptance was late
    cell = next(c for c in wb["年度统计"]["D"] if c.row > 1 and wb["年度统计"].cell(c.row, 5).value == "met_share")
    assert cell.number_format == "0.0%"


def test_the_yunnan_sheet_lists_the_reports_due_and_received_in_the_year(world):
    cases = world["cases"]
    wb, _ = workbook_of(world, YN_OFFICER)
    ws = wb["云南失败原因分析报告2026"]
    reports = rows_of(ws)
    assert [r["案件编号"] for r in reports] == [cases["Y1"].number, cases["Y2"].number]
    y1, y2 = reports
    assert y1["报告状态"] == "已收到" and y1["报告文件"] == FILE["file_name"]
    assert isinstance(y1["报告收到日期"], dt.datetime) and y1["报告收到日期"].year == 2026
    assert y2["报告状态"] == "未收到" and y2["报告收到日期"] is None
    assert all(r["报送省科技厅截止"] == dt.datetime(2026, 12, 31) for r in reports)
    assert y1["资金来源"] and y1["认定结果"] == exempt_label(world, "zh")
    notes = [row[0] for row in ws.iter_rows(min_row=len(reports) + 3, values_only=True) if row[0]]
    assert notes[0] == ZH["reg.report.summary"].format(year=2026, due=2, received=1, outstanding=1)
    last_year, _ = workbook_of(world, YN_OFFICER, ["2025"])
    assert rows_of(last_year["云南失败原因分析报告2025"]) == []  # both reports fell due in 2026
    bad = world["flow"].register(YN_OFFICER, ["20x5"])
    assert not bad.files and "/register" in bad.view.text


def test_english_users_get_english_headers(world):
    wb, f = workbook_of(world, EN_OFFICER)
    assert wb.sheetnames == ["Cases - Yunnan", "Yearly statistics", "Yunnan reports 2026"]
    header = [c.value for c in wb["Cases - Yunnan"][1]]
    assert header[:3] == ["Case number", "Policy", "Applicant"] and "Case register" in f.caption
    assert all(h.isascii() for h in header[:8])  # beyond them, clauses keep the document's own numbering
    assert rows_of(wb["Cases - Yunnan"])[0]["Outcome"] == exempt_label(world, "en")
    assert "exempt from liability" in exempt_label(world, "en")


def test_libreoffice_opens_the_register_and_converts_it_to_pdf(world, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice Calc is needed: bash tests/system_packages.sh (libreoffice-calc-nogui)"
    _wb, f = workbook_of(world, YN_OFFICER)
    path = tmp_path / f.name
    path.write_bytes(f.content)
    done = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                          capture_output=True, text=True, timeout=180)
    pdf = path.with_suffix(".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    assert all(world["cases"][k].number in text for k in ("Y1", "Y2", "Y4"))
    assert world["cases"]["Y3"].number not in text


def test_every_clock_event_of_every_policy_has_a_column_title_in_both_languages():
    """A policy file that adds a clock event gets a register column only with its title in desk.po."""
    from bot.register_flow import clock_events_of
    from dialogs.policy import load_policies

    events = {e for policy in load_policies().values() for e in clock_events_of(policy)}
    assert len(events) > 10
    for lang in ("zh", "en"):
        missing = sorted(e for e in events if f"reg.event.{e}" not in catalogue(lang))
        assert not missing, (lang, missing)
