"""The statutory rest days of 《全国年节及纪念日放假办法》 (2024 version) for years with no arrangement,
checked against lunar-python's own festival labels and against the arrangements the State Council did
publish (chinese-calendar), so that neither the lunar dates nor the 补假 rule rest on our word."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from lunar_python import LunarMonth, Solar

from scheduler.statutory import FIRST_YEAR, Festival, statutory_holidays, statutory_rest_days

D = date


def _lunar_of(d: date):
    return Solar.fromYmd(d.year, d.month, d.day).getLunar()


def _days(year: int, festival: Festival) -> list[date]:
    return [d for d, f in statutory_holidays(year).items() if f == festival]


def test_article_2_holidays_of_2027_are_lunar_pythons_own_dates():
    h = statutory_holidays(2027)
    assert _days(2027, Festival.NEW_YEAR) == [D(2027, 1, 1)]
    assert _days(2027, Festival.LABOUR_DAY) == [D(2027, 5, 1), D(2027, 5, 2)]
    assert _days(2027, Festival.NATIONAL_DAY) == [D(2027, 10, 1), D(2027, 10, 2), D(2027, 10, 3)]
    spring = _days(2027, Festival.SPRING_FESTIVAL)
    assert len(spring) == 4 and spring == [spring[0] + timedelta(days=i) for i in range(4)]
    assert "除夕" in _lunar_of(spring[0]).getFestivals() and "春节" in _lunar_of(spring[1]).getFestivals()
    assert _lunar_of(spring[3]).getDayInChinese() == "初三"
    (qingming,) = _days(2027, Festival.QINGMING)
    assert _lunar_of(qingming).getJieQi() == "清明"
    (dragon,) = _days(2027, Festival.DRAGON_BOAT)
    assert "端午节" in _lunar_of(dragon).getFestivals()
    (mid_autumn,) = _days(2027, Festival.MID_AUTUMN)
    assert "中秋节" in _lunar_of(mid_autumn).getFestivals()
    assert len(h) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3


@pytest.mark.parametrize("year", range(2025, 2036))
def test_article_2_eve_is_the_last_day_of_the_twelfth_month_even_when_it_has_29_days(year):
    eve = _days(year, Festival.SPRING_FESTIVAL)[0]
    twelfth = LunarMonth.fromYm(year - 1, 12)
    lunar = _lunar_of(eve)
    assert lunar.getMonth() == 12 and lunar.getDay() == twelfth.getDayCount()
    assert _lunar_of(eve + timedelta(days=1)).getDayInChinese() == "初一"


def test_the_range_above_holds_short_twelfth_months():
    # 2025, 2026 and 2027 all have a 29-day 腊月, so 除夕 is 廿九 there: the case the brief warns about.
    assert [LunarMonth.fromYm(y - 1, 12).getDayCount() for y in (2025, 2026, 2027)] == [29, 29, 29]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_rest_day_was_a_holiday_in_the_published_arrangements(year):
    # The two years the 2024 text has governed: every weekday we would take off (第二条 days and
    # 第六条 补假) was off in the State Council's own arrangement; only its 调休 adds more.
    rest = statutory_rest_days(year)
    assert rest and all(chinese_calendar.is_holiday(d) for d in rest), sorted(rest)
    assert all(chinese_calendar.is_holiday(d) for d in statutory_holidays(year))


@pytest.mark.parametrize("year", range(2008, 2027))
def test_lunar_dates_match_every_published_arrangement_since_2008(year):
    # 初一, 初二, 清明, 端午 and 中秋 have been holidays since 2008 (除夕 in 2008–2013 and from 2025): the
    # dates lunar-python gives for them were holidays in every arrangement the package knows.
    days = []
    # where these festivals can fall: 春节 21/1–20/2, 清明 4–6/4, 端午 28/5–25/6, 中秋 7/9–8/10
    windows = [(D(year, 1, 15), 42), (D(year, 4, 1), 10), (D(year, 5, 25), 33), (D(year, 9, 5), 36)]
    for d in (begin + timedelta(days=i) for begin, length in windows for i in range(length)):
        s = Solar.fromYmd(d.year, d.month, d.day)
        lunar = s.getLunar()
        names = set(lunar.getFestivals())
        if names & {"春节", "端午节", "中秋节"} or lunar.getJieQi() == "清明" or \
                (lunar.getMonth() == 1 and lunar.getDay() == 2) or \
                ("除夕" in names and (year <= 2013 or year >= 2025)):
            days.append(D(s.getYear(), s.getMonth(), s.getDay()))
    assert len(days) >= 5
    assert all(chinese_calendar.is_holiday(d) for d in days), [d for d in days if not chinese_calendar.is_holiday(d)]


def test_article_6_substitute_day_is_the_first_weekday_after_the_holiday():
    assert D(2026, 4, 6) in statutory_rest_days(2026)  # 清明 2026-04-05 Sun → Mon (as published)
    assert D(2026, 5, 4) in statutory_rest_days(2026)  # 劳动节 5/2 Sat → Mon 5/4 (as published)
    rest = statutory_rest_days(2027)
    assert {D(2027, 5, 3), D(2027, 5, 4)} <= rest and D(2027, 5, 5) not in rest  # 5/1–5/2 Sat–Sun
    assert {D(2027, 10, 4), D(2027, 10, 5)} <= rest and D(2027, 10, 6) not in rest  # 10/2–10/3 Sat–Sun
    assert {D(2027, 2, 9), D(2027, 2, 10)} <= rest and D(2027, 2, 11) not in rest  # 初一/初二 Sat–Sun
    assert all(d.weekday() < 5 for d in rest)
    assert len(rest) == 13 - 6 + 6  # 13 days, 6 of them on a weekend, so 6 weekdays owed


def test_years_before_the_2024_text_are_refused():
    assert FIRST_YEAR == 2025
    with pytest.raises(ValueError, match="2024"):
        statutory_holidays(2024)
    with pytest.raises(TypeError):
        statutory_holidays("2027")  # type: ignore[arg-type]
