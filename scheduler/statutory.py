"""The statutory rest days of a year whose State Council arrangement is not yet known.

《全国年节及纪念日放假办法》 as amended on 2024-11-10 (in force 2025-01-01) fixes, for every year:

* 第二条, the holidays of all citizens: 元旦 (1 January); 春节, four days (农历除夕 and 正月初一 to 初三);
  清明节 (the day of the 清明 solar term); 劳动节, two days (1 and 2 May); 端午节 (农历五月初五);
  中秋节 (农历八月十五); 国庆节, three days (1 to 3 October);
* 第六条, "全体公民放假的假日，如果适逢周六、周日，应当在工作日补假": a holiday on a Saturday or Sunday
  is made up by a day off on a working day.

What the yearly notice adds, and what therefore stays unknown until an administrator loads the year,
is the 调休: weekdays bridged into a longer break and the weekend days worked in exchange. The day the
law's 补假 falls on is also the notice's choice; it is placed here on the first weekday after the
holiday, as every notice under this law has done (2025 端午 5/31 Sat → 6/2; 2026 清明 4/5 Sun → 4/6,
劳动节 5/2 Sat → 5/4, 国庆 10/3 Sat → 10/5). Every date computed from these days stays provisional.

The lunar dates and the 清明 solar term come from ``lunar-python`` (a kept library; its 除夕 is the
last day of the lunar year, 腊月廿九 when that month has 29 days), never from a hand-written table.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import cache

from lunar_python import Lunar, Solar

__all__ = ["FIRST_YEAR", "Festival", "statutory_holidays", "statutory_rest_days"]

FIRST_YEAR = 2025  # the first year the 2024 amendment governs; earlier years differ (e.g. 春节 three days)


class Festival(StrEnum):
    NEW_YEAR = "new_year"
    SPRING_FESTIVAL = "spring_festival"
    QINGMING = "qingming"
    LABOUR_DAY = "labour_day"
    DRAGON_BOAT = "dragon_boat"
    MID_AUTUMN = "mid_autumn"
    NATIONAL_DAY = "national_day"


def _solar(lunar_year: int, month: int, day: int) -> dt.date:
    s = Lunar.fromYmd(lunar_year, month, day).getSolar()
    return dt.date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> dt.date:
    """The day the 清明 term begins (Beijing time); it always falls between 4 and 6 April."""
    for day in range(1, 11):
        if Solar.fromYmd(year, 4, day).getLunar().getJieQi() == "清明":
            return dt.date(year, 4, day)
    raise ValueError(f"lunar-python gives no 清明 in early April {year}")  # pragma: no cover


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year must be an int, got {type(year).__name__}")
    if year < FIRST_YEAR:
        raise ValueError(f"{year} is before {FIRST_YEAR}: the 2024 version of the 放假办法 does not govern it")


@cache
def statutory_holidays(year: int) -> dict[dt.date, Festival]:
    """第二条's thirteen days of ``year`` (fewer dates when two holidays fall on the same day)."""
    _check_year(year)
    new_year = _solar(year, 1, 1)  # 正月初一 of the lunar year that begins in this calendar year
    days: dict[dt.date, Festival] = {}

    def add(festival: Festival, *dates: dt.date) -> None:
        for d in dates:
            days.setdefault(d, festival)

    add(Festival.NEW_YEAR, dt.date(year, 1, 1))
    add(Festival.SPRING_FESTIVAL, *(new_year + dt.timedelta(days=i) for i in range(-1, 3)))
    add(Festival.QINGMING, _qingming(year))
    add(Festival.LABOUR_DAY, dt.date(year, 5, 1), dt.date(year, 5, 2))
    add(Festival.DRAGON_BOAT, _solar(year, 5, 5))
    add(Festival.MID_AUTUMN, _solar(year, 8, 15))
    add(Festival.NATIONAL_DAY, dt.date(year, 10, 1), dt.date(year, 10, 2), dt.date(year, 10, 3))
    return dict(sorted(days.items()))


@cache
def statutory_rest_days(year: int) -> frozenset[dt.date]:
    """Weekdays off by law in ``year``: 第二条's holidays plus 第六条's 补假 (weekends are not listed).

    Festivals are taken in date order, so a 补假 never lands on a later festival's day: it moves on to
    the next weekday that is not already a rest day.
    """
    holidays = statutory_holidays(year)
    rest = set(holidays)
    for festival in dict.fromkeys(holidays.values()):
        own = [d for d, f in holidays.items() if f == festival]
        owed = sum(d.weekday() >= 5 for d in own)
        day = max(own)
        while owed:
            day += dt.timedelta(days=1)
            if day.weekday() < 5 and day not in rest:
                rest.add(day)
                owed -= 1
    return frozenset(d for d in rest if d.weekday() < 5)
