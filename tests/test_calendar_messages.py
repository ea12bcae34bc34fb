"""The calendar's notes in both languages: days left in their unit with English plurals (the catalogue's
Plural-Forms, read through bot.i18n.ngettext), and the 民法典 第二百零三条 note."""

from __future__ import annotations

import datetime as dt
import string

from bot.i18n import _read, catalogue, ngettext, render
from scheduler.calendar import Due
from scheduler.clocks import left_text, rolled_text

PLURAL_KEYS = ("cal.left.working", "cal.left.calendar", "cal.overdue.working", "cal.overdue.calendar",
               "cal.n.working", "cal.n.calendar")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_plural_entries_have_every_form_with_the_same_placeholders():
    for lang, count in (("zh", 1), ("en", 2)):
        _, plurals, _ = _read(lang)
        for key in PLURAL_KEYS:
            assert len(plurals[key]) == count, (lang, key)
            assert all(_fields(form) == {"n"} for form in plurals[key]), (lang, key)
            assert key in catalogue(lang)


def test_english_days_left_is_plural_correct():
    assert render(left_text(1, True), "en") == "1 working day left"
    assert render(left_text(2, True), "en") == "2 working days left"
    assert render(left_text(0, True), "en") == "0 working days left"
    assert render(left_text(1, False), "en") == "1 calendar day left"
    assert render(left_text(7, False), "en") == "7 calendar days left"
    assert render(left_text(-1, True), "en") == "overdue by 1 working day"
    assert render(left_text(-3, False), "en") == "overdue by 3 calendar days"


def test_chinese_days_left_names_the_unit():
    assert render(left_text(1, True), "zh") == "还剩 1 个工作日"
    assert render(left_text(5, False), "zh") == "还剩 5 天（自然日）"
    assert render(left_text(-2, True), "zh") == "已超期 2 个工作日"
    assert render(left_text(-2, False), "zh") == "已超期 2 天（自然日）"


def test_ngettext_on_a_plain_key_is_gettext():
    assert ngettext("cal.rolled_short", 3, "zh") == catalogue("zh")["cal.rolled_short"]


def test_rolled_note_cites_article_203_only_when_rolled():
    rolled = Due(dt.date(2026, 10, 8), rolled_from=dt.date(2026, 10, 7))
    zh = render(rolled_text(rolled), "zh")
    assert zh.startswith("期末逢休息日顺延（民法典第二百零三条）") and "2026-10-07" in zh and "2026-10-08" in zh
    assert "Civil Code Art. 203" in render(rolled_text(rolled), "en")
    assert rolled_text(Due(dt.date(2026, 10, 9))) is None and rolled_text(None) is None
    assert catalogue("zh")["cal.rolled_short"] == "期末逢休息日顺延（民法典第二百零三条）"
