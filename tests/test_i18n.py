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
