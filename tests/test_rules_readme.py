"""The README's "Reading the texts: interpretations we made" names where each reading lives in the policy
files: every one of those places exists, and the readings the rules audit asked to disclose are listed."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from tests.rules_kit import POLICIES

ROOT = Path(__file__).resolve().parent.parent


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index("## Reading the texts: interpretations we made"):]


def _keys() -> list[str]:
    return re.findall(r"\*\*`([a-z]+/[a-z0-9_/]+)`\*\*", _section())


def resolve(path: str) -> object:
    """`policy/attr/…`: attributes of the policy model; in a list, the element with that id."""
    key, *parts = path.split("/")
    node: object = POLICIES[key]
    for part in parts:
        if isinstance(node, list):
            node = next((x for x in node if getattr(x, "id", None) == part), None)
        elif isinstance(node, BaseModel):
            node = getattr(node, part, None)
        else:
            node = None
        assert node is not None, f"{path}: no {part!r}"
    return node


def test_every_interpretation_names_a_place_that_exists():
    keys = _keys()
    assert len(keys) >= 35
    for key in keys:
        resolve(key)


def test_the_readings_the_audit_asked_to_disclose_are_listed():
    keys = set(_keys())
    for needed in ("yunnan/conditions/groups/core", "yunnan/procedure/actions/decide/fields/correction",
                   "liaoning/procedure/actions/conclude/fields/level/options/basically",
                   "zhejiang/procedure/actions/experts_done/fields/small_reason", "zhejiang/time_limits/publicity",
                   "yunnan/procedure/actions/feedback", "zhejiang/gates/acceptance_entered",
                   "zhejiang/procedure/actions/expert/fields/innovative", "zhejiang/procedure/states/returned",
                   "dongguan/procedure/actions/more_material", "dongguan/time_limits/feedback",
                   "shanwei/procedure"):
        assert needed in keys, needed
    section = _section()
    assert "passed or entered its acceptance check is barred" not in section  # the v1 reading, now wrong
    assert "at least one" in section and "all four must hold" in section
