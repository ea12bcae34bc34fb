"""Every message key the code uses exists in both languages, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import catalogue

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(r"""\b(?:msg|t|Msg)\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogues_have_the_same_keys_and_placeholders():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en)
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def test_every_key_used_in_code_is_in_the_catalogue():
    zh = catalogue("zh")
    used = set()
    for folder in ("bot", "dialogs", "storage", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(KEY_USE.findall(path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in zh)
    assert not missing, missing
    assert len(used) > 100


def test_dynamic_keys_exist():
    zh = catalogue("zh")
    for step in ("policy", "applicant", "project", "origin", "conditions", "grounds", "negative", "facts",
                 "materials", "summary", "declaration", "barred", "submitted"):
        assert f"step.{step}" in zh
    for status in ("draft_for_comment", "in_force", "reform_plan", "lapsed"):
        assert f"status.{status}" in zh


def test_babels_extractor_finds_exactly_the_catalogues_keys():
    """`python -m bot.i18n_tools check`: every key in the code (and the policies' notify keys) is in both
    catalogues, and the catalogues hold no key the code never uses — so Babel can maintain them."""
    from bot.i18n_tools import check, extract

    assert check() == []
    assert len(extract()) > 300


def test_update_adds_a_missing_key_to_its_domain_and_keeps_every_translation(tmp_path, monkeypatch):
    import shutil

    import bot.i18n_tools as tools

    copy = tmp_path / "locales"
    shutil.copytree(tools.LOCALE_DIR, copy)
    monkeypatch.setattr(tools, "LOCALE_DIR", copy)
    before = {p.relative_to(copy): p.read_text(encoding="utf-8") for p in copy.rglob("*.po")}
    real_extract = tools.extract
    monkeypatch.setattr(tools, "extract", lambda: {**real_extract(), "wiz.brand_new": False, "off.brand_new": True})
    tools.update()
    for locale in ("zh_CN", "en"):
        added = {p.stem: {str(m.id) for m in tools._read(p) if m.id} for p in (copy / locale / "LC_MESSAGES").glob("*.po")}
        assert "wiz.brand_new" in added["messages"] and "('off.brand_new', 'off.brand_new')" in added["officer"]
    monkeypatch.setattr(tools, "extract", real_extract)
    for locale in ("zh_CN", "en"):
        for path in sorted((copy / locale / "LC_MESSAGES").glob("*.po")):
            after = {str(m.id): m.string for m in tools._read(path) if m.id and "brand_new" not in str(m.id)}
            original = {str(m.id): m.string for m in tools._read(tools.ROOT / "bot" / "locales" / locale /
                                                              "LC_MESSAGES" / path.name) if m.id}
            assert after == original, path
    assert set(before) == {p.relative_to(copy) for p in copy.rglob("*.po")}


def test_counts_choose_plural_forms_in_both_languages():
    from bot.i18n import tn

    assert tn("wiz.days.working", 1, "en") == "1 working day"
    assert tn("wiz.days.working", 2, "en") == "2 working days"
    assert tn("wiz.days.working", 1, "zh") == tn("wiz.days.working", 1, "zh") == "1 个工作日"
    assert tn("wiz.days.calendar", 3, "zh") == "3 天"
    assert tn("wiz.materials.uploaded", 1, "en") == "1 file uploaded"
