"""Deadline arithmetic against the real 2026 State Council arrangement (as shipped in chinese-calendar
1.11.0), the statutory holidays of years nobody has loaded yet, 民法典 第二百零一条/第二百零三条 for
calendar-day periods, and a clearly fictitious 2027 test arrangement written to a temporary directory."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
import yaml
from lunar_python import Lunar

from scheduler import Due, WorkCalendar, YearArrangement, load_arrangement, save_arrangement
from scheduler import calendar as calmod
from scheduler import holiday_file as filemod
from scheduler.holiday_file import ArrangementError

D = date

FICTITIOUS_2027 = {
    "year": 2027,
    "source": "TEST FIXTURE - fictitious arrangement, not a State Council notice",
    "holidays": [{"start": "2027-01-01", "end": "2027-01-05"}],
    "makeup_workdays": ["2027-02-06"],  # a Saturday
}


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(filemod.ENV_DATA_DIR, raising=False)
    d = tmp_path / "holidays"
    d.mkdir()
    return d


@pytest.fixture
def cal(empty_dir: Path) -> WorkCalendar:
    return WorkCalendar(extra_dir=empty_dir)


def write_yaml(directory: Path, name: str, data: dict) -> Path:
    p = directory / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


# -- facts about the package this module relies on ---------------------------------------------------


def test_package_facts_2026():
    assert calmod.OFFICIAL_YEARS == range(2004, 2027)
    for d in (D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)):
        assert d.weekday() >= 5 and chinese_calendar.is_workday(d), d
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))
    # The trap: find_workday is one day late when the event falls on a rest day.
    assert chinese_calendar.find_workday(10, D(2026, 9, 25)) == D(2026, 10, 16)


# -- working days ---------------------------------------------------------------------------------------


def test_national_day_10_working_days(cal: WorkCalendar):
    # 09-25 (Fri, 中秋 holiday) not counted; 09-26/27 holiday; 09-28 Mon=1, 09-29=2, 09-30=3;
    # 10-01..10-07 holiday; 10-08 Thu=4, 10-09 Fri=5, 10-10 Sat make-up=6, 10-11 Sun rest;
    # 10-12 Mon=7, 10-13=8, 10-14=9, 10-15=10.
    assert cal.add_working_days(D(2026, 9, 25), 10) == Due(D(2026, 10, 15), False, ())


def test_spring_festival_10_working_days(cal: WorkCalendar):
    # 02-12 (Thu) not counted; 02-13 Fri=1; 02-14 Sat make-up=2; 02-15..02-23 holiday;
    # 02-24 Tue=3, 02-25=4, 02-26=5, 02-27 Fri=6; 02-28 Sat make-up=7; 03-01 Sun rest;
    # 03-02 Mon=8, 03-03=9, 03-04 Wed=10.
    due = cal.add_working_days(D(2026, 2, 12), 10)
    assert due.date == D(2026, 3, 4)
    assert due.provisional is False


def test_is_workday_makeup_and_holiday(cal: WorkCalendar):
    assert cal.is_workday(D(2026, 2, 28)) is True  # Saturday, make-up working day
    assert cal.is_workday(D(2026, 10, 5)) is False  # Monday, National Day holiday
    assert cal.is_workday(D(2026, 3, 7)) is False  # ordinary Saturday
    assert cal.is_workday(D(2026, 3, 9)) is True  # ordinary Monday


def test_start_day_not_counted(cal: WorkCalendar):
    # 09-28 Mon is a working day; the first counted day is 09-29.
    assert cal.add_working_days(D(2026, 9, 28), 1).date == D(2026, 9, 29)
    # 10-09 Fri is a working day; the next working day is the make-up Saturday 10-10.
    assert cal.add_working_days(D(2026, 10, 9), 1).date == D(2026, 10, 10)
    assert cal.add_working_days(D(2026, 10, 9), 0).date == D(2026, 10, 9)


def test_matches_day_by_day_reference_for_all_2026_starts(cal: WorkCalendar):
    def reference(start: date, n: int) -> date:
        d, k = start, 0
        while k < n:
            d = date.fromordinal(d.toordinal() + 1)
            k += chinese_calendar.is_workday(d)
        return d

    for o in range(D(2026, 1, 1).toordinal(), D(2026, 10, 1).toordinal(), 3):
        start = date.fromordinal(o)
        for n in (1, 5, 15, 30, 60):
            assert cal.add_working_days(start, n).date == reference(start, n), (start, n)


def test_rejects_bad_arguments(cal: WorkCalendar):
    from datetime import datetime

    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 1, 5), -1)
    with pytest.raises(TypeError):
        cal.add_working_days(datetime(2026, 1, 5, 23, 0), 1)  # type: ignore[arg-type]


# -- unknown years ------------------------------------------------------------------------------------


def test_crossing_into_unknown_2027_then_admin_file(
    cal: WorkCalendar, empty_dir: Path, caplog: pytest.LogCaptureFixture
):
    # 12-16 Wed=1 .. 12-18=3, 12-21..25=4..8, 12-28..31=9..12; 2027 unknown → weekends and statutory
    # holidays: 01-01 Fri is 元旦; 01-04..08=13..17, 01-11=18, 01-12=19, 01-13=20.
    caplog.set_level(logging.WARNING, logger="scheduler.calendar")
    assert cal.year_status(2027) == "provisional"
    due = cal.add_working_days(D(2026, 12, 15), 20)
    assert due == Due(D(2027, 1, 13), True, (2027,))
    cal.add_working_days(D(2026, 12, 15), 25)
    cal.is_workday(D(2027, 3, 3))
    assert cal.unknown_years_seen() == (2027,)
    assert len([r for r in caplog.records if "2027" in r.getMessage()]) == 1  # warned once

    save_arrangement(YearArrangement.model_validate(FICTITIOUS_2027), empty_dir)
    cal.reload()
    assert cal.year_status(2027) == "admin"
    # Fictitious holiday 01-01..01-05: 01-06..08=13..15, 01-11..15=16..20: exact now, and moved.
    assert cal.add_working_days(D(2026, 12, 15), 20) == Due(D(2027, 1, 15), False, ())
    assert cal.is_workday(D(2027, 2, 6)) is True  # fictitious make-up Saturday
    assert cal.unknown_years_seen() == ()


def test_year_status(cal: WorkCalendar):
    assert cal.year_status(2026) == "official"
    assert cal.year_status(2004) == "official"
    assert cal.year_status(2003) == "provisional"
    assert cal.year_status(2027) == "provisional"
    assert cal.unknown_years_seen() == ()  # asking the status is not using the year


def test_admin_file_overrides_package_year(empty_dir: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="scheduler.calendar")
    write_yaml(empty_dir, "2026.yaml", {
        "year": 2026,
        "source": "TEST FIXTURE - fictitious correction",
        "holidays": ["2026-01-01"],
        "makeup_workdays": [],
    })
    cal = WorkCalendar(extra_dir=empty_dir)
    assert cal.year_status(2026) == "admin"
    assert cal.is_workday(D(2026, 10, 5)) is True  # the file, not the package, decides
    assert any("overrides chinese-calendar" in r.getMessage() for r in caplog.records)


def test_env_var_selects_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    save_arrangement(YearArrangement.model_validate(FICTITIOUS_2027), tmp_path)
    monkeypatch.setenv(filemod.ENV_DATA_DIR, str(tmp_path))
    assert WorkCalendar().year_status(2027) == "admin"
    monkeypatch.setenv(filemod.ENV_DATA_DIR, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        WorkCalendar()


def test_shipped_data_dir_has_no_year_files():
    shipped = Path(filemod.__file__).parent / "holidays"
    assert sorted(p.name for p in shipped.iterdir() if not p.name.startswith(".")) == ["README.md"]


# -- calendar days: 民法典 第二百零一条 and 第二百零三条 -------------------------------------------------


def test_civil_code_201_first_day_is_the_day_after_the_start(cal: WorkCalendar):
    # 03-02 (Mon) not counted: 03-03 is day 1, 03-09 (Mon) day 7, a working day, so nothing moves.
    assert cal.add_calendar_days(D(2026, 3, 2), 7) == Due(D(2026, 3, 9))
    assert cal.add_calendar_days(D(2026, 3, 2), 0) == Due(D(2026, 3, 2))


def test_civil_code_203_last_day_on_a_holiday_ends_on_the_first_working_day_after(cal: WorkCalendar):
    # 09-30 + 7 = 10-07, the last day of National Day 2026 → 10-08 (Thu).
    assert cal.add_calendar_days(D(2026, 9, 30), 7) == Due(D(2026, 10, 8), False, (), D(2026, 10, 7))
    # 02-08 + 7 = 02-15, first day of the Spring Festival break 02-15..02-23 → 02-24 (Tue).
    due = cal.add_calendar_days(D(2026, 2, 8), 7)
    assert due.date == D(2026, 2, 24) and due.rolled_from == D(2026, 2, 15) and due.rolled


def test_civil_code_203_last_day_on_an_ordinary_weekend_rolls_to_monday(cal: WorkCalendar):
    assert cal.add_calendar_days(D(2026, 3, 2), 5) == Due(D(2026, 3, 9), False, (), D(2026, 3, 7))
    assert cal.add_calendar_days(D(2026, 3, 2), 6) == Due(D(2026, 3, 9), False, (), D(2026, 3, 8))


def test_civil_code_203_a_make_up_working_day_is_not_a_rest_day(cal: WorkCalendar):
    # 10-03 + 7 = 10-10, a Saturday worked under the 2026 arrangement (调休上班): not moved.
    assert cal.add_calendar_days(D(2026, 10, 3), 7) == Due(D(2026, 10, 10))
    # 02-07 + 7 = 02-14, the make-up Saturday before the Spring Festival: not moved either.
    assert cal.add_calendar_days(D(2026, 2, 7), 7) == Due(D(2026, 2, 14))


def test_calendar_days_into_an_unknown_year_are_provisional(cal: WorkCalendar):
    # The count itself needs no arrangement, but whether the last day is a rest day does.
    assert cal.add_calendar_days(D(2026, 12, 20), 30) == Due(D(2027, 1, 19), True, (2027,))
    # 12-02 + 31 = 2027-01-02, a Saturday → 01-04 (Mon).
    assert cal.add_calendar_days(D(2026, 12, 2), 31) == Due(D(2027, 1, 4), True, (2027,), D(2027, 1, 2))
    # 12-22 + 10 = 2027-01-01, 元旦 (a statutory holiday even with no arrangement loaded) → 01-04.
    assert cal.add_calendar_days(D(2026, 12, 22), 10) == Due(D(2027, 1, 4), True, (2027,), D(2027, 1, 1))
    # Within 2026 nothing provisional is consulted.
    assert cal.add_calendar_days(D(2026, 12, 1), 30) == Due(D(2026, 12, 31))


def test_calendar_days_with_pauses(cal: WorkCalendar):
    # 03-02 + 7 with 03-04..03-06 paused (the pause opened on 03-03, which counts): 03-12 (Thu).
    assert cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, [(D(2026, 3, 3), D(2026, 3, 6))]) == \
        Due(D(2026, 3, 12))
    # Overlapping pauses are merged, not counted twice: 03-04..03-08 paused → 03-14 (Sat) → 03-16.
    pauses = [(D(2026, 3, 3), D(2026, 3, 6)), (D(2026, 3, 5), D(2026, 3, 8))]
    assert cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, pauses) == \
        Due(D(2026, 3, 16), False, (), D(2026, 3, 14))
    # An open pause leaves the date unknown, unless the period had already ended before it.
    assert cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, [(D(2026, 3, 5), None)]) is None
    assert cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, [(D(2026, 3, 9), None)]) == Due(D(2026, 3, 9))
    assert cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, []) == cal.add_calendar_days(D(2026, 3, 2), 7)
    with pytest.raises(ValueError):
        cal.add_calendar_days_with_pauses(D(2026, 3, 2), 7, [(D(2026, 3, 9), D(2026, 3, 4))])


# -- years nobody has loaded: weekends and the statutory holidays --------------------------------------


def _lunar(year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(year, month, day).getSolar()
    return D(s.getYear(), s.getMonth(), s.getDay())


def test_unknown_year_keeps_the_fixed_statutory_holidays(cal: WorkCalendar):
    for d in (D(2027, 1, 1), D(2027, 5, 1), D(2027, 10, 1)):
        assert cal.is_workday(d) is False, d
    # 2027-05-01/02 are Saturday and Sunday: 第六条 owes two weekdays off, the first after them.
    assert cal.is_workday(D(2027, 5, 3)) is False and cal.is_workday(D(2027, 5, 4)) is False
    assert cal.is_workday(D(2027, 5, 5)) is True
    assert cal.unknown_years_seen() == (2027,)


def test_spring_festival_2027_from_lunar_python(cal: WorkCalendar):
    first_day = _lunar(2027, 1, 1)  # 正月初一
    eve = first_day - timedelta(days=1)
    assert Lunar.fromYmd(2026, 12, 29).getSolar().toYmd() == eve.isoformat()  # a 29-day 腊月: 除夕 is 廿九
    festival = [eve + timedelta(days=i) for i in range(4)]  # 除夕, 初一, 初二, 初三
    assert all(not cal.is_workday(d) for d in festival)
    on_weekend = sum(d.weekday() >= 5 for d in festival)
    after = [d for d in (festival[-1] + timedelta(days=i) for i in range(1, 8)) if d.weekday() < 5]
    assert [cal.is_workday(d) for d in after[:on_weekend + 1]] == [False] * on_weekend + [True]
    # The same, spelt out for 2027: 除夕 Fri 02-05 .. 初三 Mon 02-08, 补假 02-09 and 02-10.
    # A 10-working-day window from Mon 02-01: 02-02=1, 02-03=2, 02-04=3, 02-11=4, 02-12=5,
    # 02-15..02-19 = 6..10.
    assert (eve, on_weekend) == (D(2027, 2, 5), 2)
    assert cal.add_working_days(D(2027, 2, 1), 10) == Due(D(2027, 2, 19), True, (2027,))


def test_year_2030_works_too(cal: WorkCalendar):
    # 10-01..10-03 (Tue–Thu) are 国庆; from Mon 09-30: 10-04=1, 10-07..11=2..6, 10-14=7.
    assert cal.add_working_days(D(2030, 9, 30), 7) == Due(D(2030, 10, 14), True, (2030,))
    assert not cal.is_workday(_lunar(2030, 8, 15)) and not cal.is_workday(_lunar(2030, 5, 5))
    # 除夕 2030 is a Saturday, 初一 a Sunday: 初二, 初三 and two 补假 days are off, Mon 02-04 .. Thu 02-07.
    assert _lunar(2030, 1, 1) == D(2030, 2, 3)
    assert [cal.is_workday(D(2030, 2, d)) for d in range(4, 9)] == [False, False, False, False, True]


def test_years_before_the_2024_law_with_no_data_count_weekends_only(cal: WorkCalendar):
    # 2003 predates both the package's data and the 2024 text: still provisional, never silent.
    assert cal.is_workday(D(2003, 10, 1)) is True
    assert cal.add_working_days(D(2003, 9, 30), 1) == Due(D(2003, 10, 1), True, (2003,))


def test_loaded_year_replaces_the_statutory_guess(cal: WorkCalendar, empty_dir: Path):
    assert cal.is_workday(D(2027, 5, 3)) is False  # provisional 补假
    save_arrangement(YearArrangement.model_validate({
        **FICTITIOUS_2027, "holidays": ["2027-05-01..2027-05-05"], "makeup_workdays": ["2027-05-08"]}), empty_dir)
    cal.reload()
    assert cal.year_status(2027) == "admin"
    assert cal.is_workday(D(2027, 1, 1)) is True  # the file decides everything once loaded
    assert cal.is_workday(D(2027, 5, 8)) is True and cal.is_workday(D(2027, 5, 5)) is False


# -- days left ------------------------------------------------------------------------------------------


def test_working_days_between(cal: WorkCalendar):
    # (09-30, 10-15]: 10-08, 10-09, 10-10 (make-up), 10-12, 10-13, 10-14, 10-15.
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 15)) == 7
    assert cal.working_days_between(D(2026, 10, 15), D(2026, 9, 30)) == -7
    assert cal.working_days_between(D(2026, 10, 15), D(2026, 10, 15)) == 0
    # Across a year boundary: (2025-12-30, 2026-01-05]: 12-31, 01-04 (Sun make-up), 01-05.
    assert cal.working_days_between(D(2025, 12, 30), D(2026, 1, 5)) == 3
    start = D(2026, 2, 12)
    assert cal.working_days_between(start, cal.add_working_days(start, 37).date) == 37


# -- pauses ---------------------------------------------------------------------------------------------


def test_pause_worked_example(cal: WorkCalendar):
    start = D(2026, 3, 2)  # Monday
    assert cal.add_working_days(start, 10).date == D(2026, 3, 16)
    # 03-03=1, 03-04=2 (the pause's own day counts); 03-05..03-10 paused; 03-11=3, 03-12=4,
    # 03-13=5, 03-16=6, 03-17=7, 03-18=8, 03-19=9, 03-20=10.
    due = cal.add_working_days_with_pauses(start, 10, [(D(2026, 3, 4), D(2026, 3, 10))])
    assert due == Due(D(2026, 3, 20), False, ())


def test_pause_across_holiday_and_merging(cal: WorkCalendar):
    # Start 09-24 (Thu). Pauses (09-28, 09-30) and (09-29, 10-09) merge to paused 09-29..10-09.
    # 09-28 Mon=1 (pause day counts); paused through 10-09; 10-10 Sat make-up=2, 10-12=3, 10-13=4.
    pauses = [(D(2026, 9, 29), D(2026, 10, 9)), (D(2026, 9, 28), D(2026, 9, 30))]
    assert cal.add_working_days_with_pauses(D(2026, 9, 24), 4, pauses) == Due(D(2026, 10, 13), False, ())
    # A pause that started before the start date only removes the days after start it covers.
    # Paused 03-01..03-05 → counting from 03-06 Fri=1, 03-09 Mon=2.
    assert cal.add_working_days_with_pauses(D(2026, 3, 2), 2, [(D(2026, 2, 28), D(2026, 3, 5))]).date == D(2026, 3, 9)
    # No pauses and a zero-length pause equal the plain count.
    assert cal.add_working_days_with_pauses(D(2026, 9, 25), 10, []).date == D(2026, 10, 15)
    assert cal.add_working_days_with_pauses(D(2026, 9, 25), 10, [(D(2026, 9, 29), D(2026, 9, 29))]).date == D(
        2026, 10, 15
    )


def test_open_pause(cal: WorkCalendar):
    start = D(2026, 3, 2)
    assert cal.add_working_days_with_pauses(start, 10, [(D(2026, 3, 4), None)]) is None
    # The clock ran out on 03-16 before the pause began: the due date stands.
    assert cal.add_working_days_with_pauses(start, 10, [(D(2026, 3, 16), None)]) == Due(D(2026, 3, 16), False, ())
    with pytest.raises(ValueError):
        cal.add_working_days_with_pauses(start, 10, [(D(2026, 3, 10), D(2026, 3, 4))])


def test_pause_into_unknown_year_is_provisional(cal: WorkCalendar):
    # Paused 12-01..12-31 of 2026, so all counted days fall in 2027: 01-01 Fri is 元旦, 01-04 Mon=1.
    due = cal.add_working_days_with_pauses(D(2026, 11, 30), 1, [(D(2026, 11, 30), D(2026, 12, 31))])
    assert due == Due(D(2027, 1, 4), True, (2027,))


# -- year files ------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(empty_dir: Path):
    arr = YearArrangement.model_validate({
        **FICTITIOUS_2027,
        "holidays": ["2027-01-01", "2027-05-01..2027-05-03", {"start": "2027-10-01", "end": "2027-10-07"}],
    })
    path = save_arrangement(arr, empty_dir)
    assert path == empty_dir / "2027.yaml"
    assert load_arrangement(path) == arr
    assert D(2027, 5, 2) in arr.holiday_dates() and len(arr.holiday_dates()) == 1 + 3 + 7
    with pytest.raises(FileExistsError):
        save_arrangement(arr, empty_dir)
    save_arrangement(arr, empty_dir, overwrite=True)
    assert sorted(p.name for p in empty_dir.iterdir()) == ["2027.yaml"]  # no temp files left


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"makeup_workdays": ["2027-01-06"]}, "makeup_workdays", "Wednesday"),
        ({"makeup_workdays": ["2028-01-08"]}, "makeup_workdays", "outside year 2027"),
        ({"holidays": ["2026-12-31"]}, "holidays", "outside year 2027"),
        ({"holidays": [{"start": "2027-12-30", "end": "2028-01-02"}]}, "holidays", "outside year 2027"),
        ({"holidays": [{"start": "2027-01-03", "end": "2027-01-01"}]}, "holidays", "before its start"),
        ({"makeup_workdays": ["2027-01-02"]}, "makeup_workdays", "also listed in holidays"),
        ({"holidays": [20270101]}, "holidays", "not a date"),
        ({"source": "  "}, "source", "notice"),
        ({"year": "2027"}, "year", "integer"),
        ({"holiday": ["2027-01-01"]}, "holiday", "Extra inputs"),
    ],
)
def test_malformed_file_refused(empty_dir: Path, change: dict, field: str, fragment: str):
    path = write_yaml(empty_dir, "2027.yaml", {**FICTITIOUS_2027, **change})
    with pytest.raises(ArrangementError) as exc:
        load_arrangement(path)
    text = str(exc.value)
    assert str(path) in text
    assert f"field '{field}'" in text
    assert fragment in text
    # The calendar refuses to start on it, and a reload keeps the previous good state.
    with pytest.raises(ArrangementError):
        WorkCalendar(extra_dir=empty_dir)


def test_reload_keeps_state_on_bad_file(empty_dir: Path):
    save_arrangement(YearArrangement.model_validate(FICTITIOUS_2027), empty_dir)
    cal = WorkCalendar(extra_dir=empty_dir)
    write_yaml(empty_dir, "2027.yaml", {**FICTITIOUS_2027, "makeup_workdays": ["2027-01-06"]})
    with pytest.raises(ArrangementError):
        cal.reload()
    assert cal.year_status(2027) == "admin"
    assert cal.is_workday(D(2027, 1, 1)) is False


def test_file_name_must_match_year(empty_dir: Path):
    path = write_yaml(empty_dir, "2028.yaml", FICTITIOUS_2027)
    with pytest.raises(ArrangementError, match=r"2028\.yaml: field 'year'"):
        load_arrangement(path)
    path.rename(empty_dir / "holidays-2027.yaml")
    with pytest.raises(ArrangementError, match="YYYY.yaml"):
        WorkCalendar(extra_dir=empty_dir)


# -- speed -----------------------------------------------------------------------------------------------


def test_hot_path_does_not_call_package(cal: WorkCalendar, monkeypatch: pytest.MonkeyPatch):
    cal.add_working_days(D(2026, 1, 5), 60)  # warm the 2026 table
    calls = []
    monkeypatch.setattr(chinese_calendar, "is_workday", lambda d: calls.append(d) or True)
    for o in range(D(2026, 1, 1).toordinal(), D(2026, 9, 1).toordinal()):
        cal.add_working_days(date.fromordinal(o), 60)
    assert calls == []


def test_add_working_days_is_fast(cal: WorkCalendar):
    starts = [date.fromordinal(o) for o in range(D(2026, 1, 1).toordinal(), D(2026, 10, 1).toordinal())]
    for s in starts:
        cal.add_working_days(s, 60)
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for s in starts:
            cal.add_working_days(s, 60)
        samples.append((time.perf_counter() - t0) / len(starts))
    # Generous bound (the target is well under 50 µs; typically a few µs) so CI noise cannot trip it.
    assert statistics.median(samples) < 50e-6
