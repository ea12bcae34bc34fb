"""The five policy files: they load, they say what the source texts say, and a broken file is refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dialogs.policy import POLICY_DIR, LText, Policy, PolicyError, load_policies

KEYS = ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"]

EVENTS = {
    "procedure_started", "application_filed", "unit_approved", "accepted", "refused",
    "evaluation_started", "evaluation_ended", "hearing_started", "hearing_ended", "decided",
    "feedback_sent", "publicity_started", "publicity_ended", "correction_started",
    "correction_notice_sent", "interview_held", "rectification_done", "conclusion_sent",
    "conclusion_confirmed", "review_requested", "review_done", "expert_review_done",
}

_ARTICLE = r"^第[一二三四五六七八九十]+条(\([一二三四五六七八九十]+\))?$"
# How each document numbers its clauses, for list items and time limits.
CLAUSE_FORMS = {
    "dongguan": r"^\d\(\d\)\d{0,2}$",
    "zhejiang": r"^[一二三四五六]\([一二三四五六]\)\d?$",
    "yunnan": _ARTICLE,
    "liaoning": _ARTICLE + r"|^第七条第[二三]段$",
    "shanwei": r"^任务\d+$",
}


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return load_policies()


def _walk(obj: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every (dotted path, value) of a policy, so checks reach fields nested at any depth."""
    yield path, obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, list | tuple):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{path}.{i}")


# --- every file -------------------------------------------------------------------------------------

def test_all_five_policies_load_in_order(policies):
    assert list(policies) == KEYS
    for key, policy in policies.items():
        assert policy.key == key
    # the four files the rules audit changed are at version 2; drafts and cases of version 1 continue
    # (tests/test_rules_versions.py)
    assert {k: p.version for k, p in policies.items()} == {
        "dongguan": 2, "zhejiang": 2, "yunnan": 2, "liaoning": 2, "shanwei": 1}


def test_case_prefixes_and_stages(policies):
    assert {k: p.case_prefix for k, p in policies.items()} == {
        "dongguan": "DG", "zhejiang": "ZJ", "yunnan": "YN", "liaoning": "LN", "shanwei": "SW"}
    assert {k: p.stage for k, p in policies.items()} == {
        "dongguan": "draft_for_comment", "zhejiang": "draft_for_comment", "yunnan": "issued",
        "liaoning": "issued", "shanwei": "reform_plan"}
    assert policies["yunnan"].doc_number == "云科规〔2023〕1号"
    assert policies["liaoning"].doc_number == "辽科办发〔2025〕135号"
    for key in ("dongguan", "zhejiang", "shanwei"):
        assert policies[key].doc_number is None
    for key in ("dongguan", "zhejiang"):
        assert policies[key].document.zh.endswith("（征求意见稿）")


@pytest.mark.parametrize("key", KEYS)
def test_every_text_has_both_languages(policies, key):
    texts = [(path, v) for path, v in _walk(policies[key]) if isinstance(v, LText)]
    assert len(texts) > 20
    for path, text in texts:
        assert text.zh.strip(), f"{key}: {path}.zh is empty"
        assert text.en.strip(), f"{key}: {path}.en is empty"
        assert re.search(r"[\u4e00-\u9fff]", text.zh), f"{key}: {path}.zh is not Chinese"


@pytest.mark.parametrize("key", KEYS)
def test_every_clause_is_non_empty(policies, key):
    policy = policies[key]
    for path, value in _walk(policy):
        if path.rsplit(".", 1)[-1].endswith("clause") and value is not None:
            assert isinstance(value, str) and value.strip(), f"{key}: {path} is empty"
    # Questions and deadlines always show their clause; only materials that no text lists may lack one.
    for list_name in ("conditions", "grounds", "negative"):
        item_list = getattr(policy, list_name)
        for item in item_list.items if item_list else []:
            assert item.clause.strip()
    for limit in policy.time_limits:
        assert limit.clause.strip()
        if limit.extension:
            assert limit.extension_clause


@pytest.mark.parametrize("key", KEYS)
def test_clauses_use_the_documents_own_numbering(policies, key):
    policy = policies[key]
    form = re.compile(CLAUSE_FORMS[key])
    clauses = [t.clause for t in policy.time_limits]
    for list_name in ("conditions", "grounds", "negative"):
        item_list = getattr(policy, list_name)
        clauses += [i.clause for i in item_list.items] if item_list else []
    for clause in clauses:
        assert form.match(clause), f"{key}: clause {clause!r} does not follow the document's numbering"


@pytest.mark.parametrize("key", KEYS)
def test_time_limits_use_known_events(policies, key):
    for limit in policies[key].time_limits:
        assert limit.starts_on in EVENTS, limit.id
        assert set(limit.ends_on) <= EVENTS, limit.id
        assert set(limit.pauses_on) <= EVENTS and set(limit.resumes_on) <= EVENTS, limit.id
        assert len(limit.pauses_on) == len(limit.resumes_on), limit.id
        assert (limit.length is None) == limit.set_per_case, limit.id


@pytest.mark.parametrize("key", KEYS)
def test_every_policy_has_own_application_and_a_grounds_choice(policies, key):
    policy = policies[key]
    assert policy.origins[0].id == "own"
    assert policy.grounds.mode == "at_least_one"
    assert "请" in policy.grounds.intro.zh
    field_ids = [f.id for f in policy.project_fields]
    level = {"liaoning": ["transfer_mode"], "yunnan": ["funding_level", "fund_kind"],
             "zhejiang": ["funding_level", "activity"]}.get(key, ["funding_level"])
    assert field_ids == ["name", "number", *level, "amount", "unit", "contact"]
    amount = next(f for f in policy.project_fields if f.id == "amount")
    assert amount.kind == "number"


def test_no_file_points_at_the_shared_folder():
    for path in sorted(POLICY_DIR.glob("*.yaml")):
        assert "shared" not in path.read_text(encoding="utf-8"), path.name


# --- spot checks against the source texts -------------------------------------------------------------

def test_dongguan_conditions_all_five_and_eleven_grounds(policies):
    dg = policies["dongguan"]
    assert dg.conditions is not None
    assert dg.conditions.mode == "all"
    assert [i.clause for i in dg.conditions.items] == [f"3(1){n}" for n in range(1, 6)]
    assert [i.clause for i in dg.grounds.items] == [f"3(2){n}" for n in range(1, 12)]
    assert dg.negative is None
    assert dg.valid_until == dt.date(2028, 12, 31) and dg.status_clause == "6(7)"
    assert dg.status(dt.date(2026, 1, 1)) == "draft_for_comment"
    assert dg.status(dt.date(2029, 1, 1)) == "lapsed"
    assert dg.declaration.clause == "6(2)"


def test_dongguan_clocks(policies):
    dg = policies["dongguan"]
    authority = dg.origin("authority")
    assert authority is not None and authority.asks_start_date and authority.filing_limit == "filing"
    filing = dg.time_limit("filing")
    assert (filing.length, filing.unit, filing.party, filing.clause) == (10, "working_days", "applicant", "4(1)2")
    acceptance = dg.time_limit("acceptance")
    assert (acceptance.length, acceptance.clause, acceptance.ends_on) == (10, "4(2)1", ["accepted", "refused"])
    decision = dg.time_limit("decision")
    assert (decision.length, decision.extension, decision.clause) == (30, 15, "4(3)")
    assert decision.starts_on == "accepted"
    assert decision.pauses_on == ["evaluation_started"] and decision.resumes_on == ["evaluation_ended"]
    feedback = dg.time_limit("feedback")
    assert (feedback.length, feedback.starts_on, feedback.clause) == (10, "decided", "4(4)")


def test_yunnan_filing_and_decision(policies):
    yn = policies["yunnan"]
    filing = yn.time_limit("filing")
    assert (filing.length, filing.unit, filing.clause, filing.party) == (
        20, "working_days", "第六条(一)", "applicant")
    assert yn.origin("authority").filing_limit == "filing"
    assert yn.time_limit("acceptance").length == 7
    decision = yn.time_limit("decision")
    assert (decision.length, decision.extension) == (14, 14)
    assert set(decision.pauses_on) == {"evaluation_started", "hearing_started"}
    assert set(decision.resumes_on) == {"evaluation_ended", "hearing_ended"}
    assert yn.time_limit("feedback").length == 10
    assert (yn.time_limit("correction_notice").length, yn.time_limit("correction_notice").unit) == (
        7, "calendar_days")
    assert (yn.time_limit("interview").length, yn.time_limit("interview").starts_on) == (
        10, "correction_notice_sent")
    assert yn.time_limit("rectification").set_per_case
    assert yn.conditions is not None and yn.conditions.mode == "grouped"
    assert [(g.mode, g.items) for g in yn.conditions.groups] == [
        ("all", ["c1", "c2", "c3", "c4"]), ("at_least_one", ["c5", "c6"])]
    assert len(yn.conditions.items) == 6 and len(yn.grounds.items) == 10
    assert [o.id for o in yn.project_fields[2].options] == ["provincial", "prefecture", "county", "policy_unit"]


def test_yunnan_status_lapsed(policies):
    yn = policies["yunnan"]
    assert (yn.valid_from, yn.valid_until) == (dt.date(2023, 2, 9), dt.date(2025, 2, 9))
    assert yn.status(dt.date(2024, 1, 1)) == "in_force"
    assert yn.status(dt.date(2025, 2, 9)) == "in_force"
    assert yn.status(dt.date(2026, 11, 22)) == "lapsed"


def test_zhejiang_acceptance_gate_and_publicity(policies):
    zj = policies["zhejiang"]
    assert [(g.id, g.bars_if, g.warns_if, g.clause) for g in zj.gates] == [
        ("termination_filed", False, None, "二(一)"), ("acceptance_done", True, None, "三(一)"),
        ("acceptance_entered", None, True, "三(一)")]
    assert "终止申请" in zj.gates[0].question.zh and "验收" in zj.gates[1].question.zh
    publicity = zj.time_limit("publicity")
    assert (publicity.length, publicity.unit, publicity.clause) == (7, "calendar_days", "三(五)")
    for limit_id in ("acceptance", "decision"):
        assert zj.time_limit(limit_id).set_per_case
    assert [i.clause for i in zj.grounds.items] == [f"二(二){n}" for n in range(1, 6)]
    assert [i.clause for i in zj.negative.items] == [f"二(三){n}" for n in range(1, 5)]
    assert zj.conditions is None
    assert "省自然科学基金委员会办公室" in zj.decider.zh
    records = next(m for m in zj.materials if m.id == "research_records")
    assert records.clause == "三(三)" and not records.required


def test_liaoning_grounds_and_negative_differ_by_role(policies):
    ln = policies["liaoning"]
    assert [r.id for r in ln.roles] == ["leader", "manager", "researcher"]
    assert len(ln.grounds.for_role("leader")) == 9
    assert len(ln.grounds.for_role("manager")) == 9
    assert [i.clause for i in ln.grounds.for_role("researcher")] == ["第六条"]
    assert [i.clause for i in ln.negative.items] == ["第七条(一)", "第七条第二段", "第七条第三段", "第七条(四)",
                                                     "第七条(五)"]
    assert [i.clause for i in ln.negative.for_role("leader")] == ["第七条(一)", "第七条第二段", "第七条(四)", "第七条(五)"]
    assert [i.clause for i in ln.negative.for_role("researcher")] == [
        "第七条(一)", "第七条第三段", "第七条(四)", "第七条(五)"]
    assert [i.clause for i in ln.conditions.for_role("leader")] == ["第五条"]
    assert [i.clause for i in ln.conditions.for_role("researcher")] == ["第六条"]
    assert ln.valid_from == dt.date(2025, 12, 19) and ln.valid_until is None
    assert [m.id for m in ln.materials] == ["evidence"] and ln.materials_clause is None
    assert ln.time_limit("review_request").party == "applicant"


def test_shanwei_four_virtues_and_one_ground(policies):
    sw = policies["shanwei"]
    assert sw.conditions is not None and sw.conditions.mode == "all"
    assert [i.text.zh[:2] for i in sw.conditions.items] == ["诚信", "勤勉", "尽责", "无过"]
    assert len(sw.grounds.items) == 1 and sw.grounds.items[0].clause == "任务10"
    assert "拟出台" in sw.status_note.zh
    assert sw.time_limit("expert_review").ends_on == ["expert_review_done"]


LISTED = ["application", "statement", "evidence", "unit_certificate", "audit_report", "performance"]


@pytest.mark.parametrize("key", ["dongguan", "zhejiang", "yunnan"])
def test_listed_materials(policies, key):
    """Dongguan 4(1)2 lists the last three under "包括但不限于" (examples of 佐证材料); Zhejiang 三(一) and
    Yunnan 第六条(一) list all six in one series closed by "等", which widens the list without making
    listed items optional — so there all six are required (each may be marked "submit later")."""
    policy = policies[key]
    required = {m.id for m in policy.materials if m.required}
    expected = {"dongguan": set(LISTED[:3]), "zhejiang": {*LISTED, "termination"}, "yunnan": set(LISTED)}[key]
    assert required == expected
    ids = [m.id for m in policy.materials if m.id != "termination"]
    assert ids[:6] == LISTED
    assert all(m.clause for m in policy.materials)


# --- malformed files are refused ----------------------------------------------------------------------

def _raw(key: str) -> dict:
    return yaml.safe_load((POLICY_DIR / f"{key}.yaml").read_text(encoding="utf-8"))


def _write(directory: Path, name: str, raw: dict) -> None:
    (directory / name).write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_unchanged_copy_loads(tmp_path):
    for key in KEYS:
        _write(tmp_path, f"{key}.yaml", _raw(key))
    assert list(load_policies(tmp_path)) == KEYS


def _drop_grounds(raw: dict) -> None:
    del raw["grounds"]


def _drop_ground_clause(raw: dict) -> None:
    del raw["grounds"]["items"][0]["clause"]


def _unknown_role(raw: dict) -> None:
    raw["grounds"]["items"][0]["roles"] = ["dean"]


def _unknown_filing_limit(raw: dict) -> None:
    raw["origins"][1]["filing_limit"] = "no_such_limit"


MALFORMED: list[tuple[str, str, Callable[[dict], None], list[str]]] = [
    ("missing_grounds", "dongguan", _drop_grounds, ["grounds", "Field required"]),
    ("ground_without_clause", "yunnan", _drop_ground_clause, ["grounds.items.0.clause"]),
    ("unknown_role", "liaoning", _unknown_role, ["grounds.items.g5_1.roles", "'dean'"]),
    ("unknown_time_limit", "dongguan", _unknown_filing_limit,
     ["origins.authority.filing_limit", "'no_such_limit'"]),
]


@pytest.mark.parametrize(("case", "key", "mutate", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_is_refused(tmp_path, case, key, mutate, expected):
    raw = _raw(key)
    mutate(raw)
    _write(tmp_path, f"{key}.yaml", raw)
    with pytest.raises(PolicyError) as err:
        load_policies(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{key}.yaml: "), message
    for fragment in expected:
        assert fragment in message, message


def test_key_not_matching_file_name_is_refused(tmp_path):
    _write(tmp_path, "dongguanx.yaml", _raw("dongguan"))
    with pytest.raises(PolicyError, match=r"^dongguanx\.yaml: key: 'dongguan' does not match"):
        load_policies(tmp_path)


def test_invalid_yaml_is_refused(tmp_path):
    text = (POLICY_DIR / "zhejiang.yaml").read_text(encoding="utf-8")
    (tmp_path / "zhejiang.yaml").write_text(text.replace("version: 2", "version: [2", 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"^zhejiang\.yaml: not valid YAML") as err:
        load_policies(tmp_path)
    assert "line" in str(err.value)


def test_one_bad_file_spoils_the_directory(tmp_path):
    for key in KEYS:
        raw = _raw(key)
        if key == "shanwei":
            raw["time_limits"][0]["unit"] = "fortnights"
        _write(tmp_path, f"{key}.yaml", raw)
    with pytest.raises(PolicyError, match=r"^shanwei\.yaml: time_limits\.0\.unit"):
        load_policies(tmp_path)
