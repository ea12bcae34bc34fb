"""Status in full (issue 9 item 4, X-3/X-4): every policy file's status note and status facts come out of
dialogs.status in both languages, and the README's status table says what the bot shows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.i18n import render
from dialogs.status import confirmation_prompt, needs_confirmation, short_status, status_lines
from tests.rules_kit import POLICIES

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize("key", list(POLICIES))
def test_status_lines_carry_the_status_note_and_facts_in_both_languages(key):
    policy = POLICIES[key]
    for lang in ("zh", "en"):
        lines = [render(line, lang) for line in status_lines(policy, TODAY)]
        assert lines[0].endswith(f"({policy.status_clause})") or lines[0].endswith(f"（{policy.status_clause}）")
        assert policy.status_note is not None and policy.status_note.get(lang) in lines
        if policy.doc_number:
            assert any(policy.doc_number in line for line in lines)
        if policy.valid_until:
            assert any(policy.valid_until.isoformat() in line for line in lines)


def test_what_each_status_line_says():
    zh = {k: [render(line, "zh") for line in status_lines(p, TODAY)] for k, p in POLICIES.items()}
    assert zh["dongguan"][:3] == ["文件状态：征求意见稿（6(7)）", "文号：无。", "有效期至 2028-12-31（6(7)）。"]
    assert zh["zhejiang"][:2] == ["文件状态：征求意见稿（文件标题）", "文号：无。"]
    assert zh["yunnan"][:3] == ["文件状态：有效期已于 2025-02-09 届满（第十七条）", "文号：云科规〔2023〕1号",
                                "自 2023-02-09 起施行。"]
    assert "是否延续适用请向云南省科学技术厅核实" in zh["yunnan"][-1]
    assert zh["liaoning"][2:] == ["自 2025-12-19 起施行。", POLICIES["liaoning"].status_note.zh]
    assert "未规定有效期" in zh["liaoning"][-1]  # said by the note, not twice
    assert "拟出台" in zh["shanwei"][-1]


@pytest.mark.parametrize("key", list(POLICIES))
def test_status_lines_say_each_fact_once(key):
    """No phrase twice: the lapse only in the head, "尚未正式印发" only in the note, no "（标题（…））"."""
    lines = [render(line, "zh") for line in status_lines(POLICIES[key], TODAY)]
    text = "\n".join(lines)
    for phrase in ("尚未正式印发", "未规定有效期", "改革实施方案，不是", "征求意见稿，尚未"):
        assert text.count(phrase) <= 1, (phrase, lines)
    assert "\n".join(lines[:-1]).count("届满") <= 1, lines  # the file's own note may explain the lapse
    assert "（标题" not in lines[0] and "（征求意见稿））" not in lines[0]


def test_only_a_lapsed_document_asks_for_confirmation():
    assert [k for k, p in POLICIES.items() if needs_confirmation(p, TODAY)] == ["yunnan"]
    assert "2025-02-09" in render(confirmation_prompt(POLICIES["yunnan"], TODAY), "zh")
    assert not needs_confirmation(POLICIES["yunnan"], dt.date(2025, 2, 9))  # the last day of validity


def _readme_status_table() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|", text, flags=re.M)
    return {key: (shown.strip(), full.strip()) for key, shown, full in rows}


def test_readme_status_table_says_what_the_screen_headers_show():
    table = _readme_status_table()
    assert set(table) == set(POLICIES)
    for key, policy in POLICIES.items():
        shown, full = table[key]
        assert shown == render(short_status(policy, TODAY), "en"), (key, shown)
        for day in (policy.valid_from, policy.valid_until):
            if day is not None:
                assert day.isoformat() in full, (key, day)
