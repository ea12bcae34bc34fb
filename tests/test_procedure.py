"""Each policy's procedure machine on its own: pure, no database, no Telegram."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import pytest
import yaml

from bot.i18n import catalogue
from dialogs.policy import CLOCK_EVENTS, GUARDS, PolicyError, load_policies, load_policy
from dialogs.procedure import _GUARDS, CaseFile, Procedures, Record
from scheduler.calendar import WorkCalendar
from tests.casework_scenario import WALKS, on_day

POLICIES = load_policies()
PROCS = Procedures(POLICIES, WorkCalendar())
TODAY = dt.date(2026, 11, 20)
MEET = {"meeting": "局长办公会", "meeting_date": "2026-11-18", "participants": "张三、李四、王五"}  # collective decisions
ROLE = {"officer": "officer", "unit": "unit_reviewer", "group": "determination_group", "applicant": "applicant"}


def values_for(policy_key: str, action_id: str, given: list, case: CaseFile | None = None) -> dict:
    """The walk's values, in the order the form asks them (a field that does not apply is not asked),
    keyed by field id (None = skipped)."""
    spec = PROCS.procedure(policy_key).action(action_id)
    case = case or CaseFile(PROCS.initial(policy_key))
    out: dict = {}
    queue = list(given)
    for f in spec.fields:
        if not PROCS.asks(policy_key, case, spec, f, out, TODAY):
            continue
        value = on_day(queue.pop(0), TODAY)
        if value is None:
            continue
        out[f.id] = float(value) if f.kind == "number" and "." in value else int(value) if f.kind == "number" \
            else value
    assert not queue, (action_id, queue)
    return out


def fire(policy_key: str, case: CaseFile, role: str, action_id: str, values: dict, today: dt.date = TODAY):
    result = PROCS.apply(policy_key, case, action_id, role, values, today)
    if result.ok:
        case.history.append(Record(action_id, today, values, tuple(e.event for e in result.events)))
    return result


def test_every_policy_declares_a_procedure_that_builds_one_machine():
    assert set(PROCS.machines) == set(POLICIES)
    assert PROCS.initial("zhejiang") == "unit_review"
    for key in POLICIES:
        proc = PROCS.procedure(key)
        finals = [s.id for s in proc.states if s.final]
        assert finals, key
        for action in proc.actions:
            assert len(f"c:a:999999:{max((s.id for s in proc.states), key=len)}:{action.id}".encode()) <= 64


@pytest.mark.parametrize("policy_key", list(WALKS))
def test_each_walk_reaches_the_final_state_with_its_notifications(policy_key):
    case = CaseFile(PROCS.initial(policy_key), answers={"project": {"funding_level": "provincial"}})
    today = TODAY
    notes: list[str] = []
    for who, action, given in WALKS[policy_key]["steps"]:
        if who == "travel":
            today += dt.timedelta(days=action)
            continue
        result = fire(policy_key, case, ROLE[who], action, values_for(policy_key, action, given, case), today)
        assert result.ok, (action, result.error)
        notes += result.notify
    assert case.state == WALKS[policy_key]["final"]
    assert PROCS.is_final(policy_key, case.state)
    assert notes == WALKS[policy_key]["notes"]


def test_every_notification_and_guard_message_exists_in_both_languages_with_the_same_fields():
    zh, en = catalogue("zh"), catalogue("en")
    for policy in POLICIES.values():
        for state in policy.procedure.states:
            if state.notify:
                assert state.notify in zh and state.notify in en
        for action in policy.procedure.actions:
            if action.notify:
                assert action.notify in zh and action.notify in en, action.notify
                used = {f for _, f, _, _ in string.Formatter().parse(zh[action.notify]) if f}
                known = {f.id for f in action.fields} | {"number", "policy", "state"}
                assert used <= known, (policy.key, action.id, used - known)
    for guard in GUARDS:
        assert f"proc.guard.{guard}" in zh and f"proc.guard.{guard}" in en
        assert guard in _GUARDS


def test_emitted_events_are_only_the_clock_engines_names():
    for policy in POLICIES.values():
        for action in policy.procedure.actions:
            for event in [*action.events, *(e for r in action.events_if for e in r.events)]:
                assert event in CLOCK_EVENTS


def test_no_decision_before_acceptance_and_wrong_role_is_refused():
    case = CaseFile("received")
    assert fire("dongguan", case, "officer", "decide", {"outcome": "exempt"}).error.key == "proc.err.wrong_state"
    assert fire("dongguan", case, "applicant", "accept", {}).error.key == "proc.err.wrong_role"
    assert fire("dongguan", case, "officer", "nonsense", {}).error.key == "proc.err.unknown_action"
    assert case.state == "received" and not case.history


def test_refusal_and_negative_decision_need_reasons():
    case = CaseFile("received")
    assert fire("dongguan", case, "officer", "refuse", {}).error.key == "proc.err.missing"
    assert fire("dongguan", case, "officer", "refuse", {"reason": "材料不属于适用范围"}).ok
    meeting = CaseFile("meeting")
    assert fire("dongguan", meeting, "officer", "decide", {"outcome": "not_recognised"}).error.key == \
        "proc.err.missing"
    assert fire("dongguan", meeting, "officer", "decide", {"outcome": "bogus"}).error.key == "proc.err.choice"
    no_meeting = fire("dongguan", meeting, "officer", "decide", {"outcome": "not_recognised", "reason": "未尽职"})
    assert no_meeting.error.key == "proc.err.missing"  # a collective decision names its meeting, date, participants
    result = fire("dongguan", meeting, "officer", "decide", {"outcome": "not_recognised", "reason": "未尽职", **MEET})
    assert result.ok and [e.event for e in result.events] == ["decided"]


def test_extension_once_with_its_reason_in_the_event():
    case = CaseFile("investigation")
    result = fire("dongguan", case, "officer", "extend", {"reason": "复杂"})
    assert result.ok and result.events[0].event == "extension_granted"
    assert result.events[0].details == {"time_limit": "decision", "reason": "复杂"}
    assert fire("dongguan", case, "officer", "extend", {"reason": "再延"}).error.key == "proc.err.once"


def test_evaluation_pauses_until_ended_and_blocks_the_section_opinion():
    case = CaseFile("investigation")
    assert fire("dongguan", case, "officer", "eval_end", {"text": "x"}).error.key == "proc.guard.evaluation_open"
    assert fire("dongguan", case, "officer", "eval_start", {"text": "评估"}).events[0].event == "evaluation_started"
    assert fire("dongguan", case, "officer", "eval_start", {"text": "again"}).error is not None
    assert fire("dongguan", case, "officer", "section_opinion", {"opinion": "免责"}).error.key == \
        "proc.guard.not_paused"
    assert fire("dongguan", case, "officer", "eval_end", {"text": "完毕"}).ok
    assert fire("dongguan", case, "officer", "section_opinion", {"opinion": "免责"}).ok


def _expert(name: str, kind: str) -> dict:
    crit = dict.fromkeys(["innovative", "strategic", "necessary", "inspiring", "records", "funds"], "good")
    return {"name": name, "kind": kind, **crit, "opinion": "同意"}


def test_zhejiang_panel_needs_both_kinds_of_expert():
    case = CaseFile("expert_review")
    for i in range(5):
        assert fire("zhejiang", case, "officer", "expert", _expert(f"专家{i}", "technical")).ok
    result = fire("zhejiang", case, "officer", "experts_done", {"conclusion": "diligent", "summary": "x"})
    assert result.error.key == "proc.guard.panel_kinds" and result.error.params["n"] == 5
    fire("zhejiang", case, "officer", "expert", _expert("专家4", "financial"))  # same person again: not a sixth
    assert PROCS.why_not("zhejiang", case, PROCS.procedure("zhejiang").action("experts_done"), {}, TODAY,
                         check_fields=False) is None  # both kinds now on record under five distinct names
    assert fire("zhejiang", case, "officer", "experts_done", {"conclusion": "diligent", "summary": "x"}).ok
    assert case.state == "collective"


def test_zhejiang_expert_opinion_needs_all_six_criteria():
    case = CaseFile("expert_review")
    partial = _expert("甲", "technical")
    del partial["records"]
    assert fire("zhejiang", case, "officer", "expert", partial).error.key == "proc.err.missing"


def test_zhejiang_unfavourable_decision_skips_publicity():
    case = CaseFile("collective")
    fire("zhejiang", case, "officer", "decide", {"outcome": "not_recognised", "reason": "不符合", **MEET})
    assert fire("zhejiang", case, "officer", "publicise", {}).error.key == "proc.guard.favourable"
    assert fire("zhejiang", case, "officer", "feedback_no", {}).ok and case.state == "closed"


def test_yunnan_decision_needs_finance_and_audit_and_correction_is_conditional():
    case = CaseFile("deliberation")
    decision = {"outcome": "lighter", "correction": "not_start", "correction_reason": "已自行纠正", **MEET}
    assert fire("yunnan", case, "officer", "decide", decision).error.key == "proc.guard.consulted_required"
    fire("yunnan", case, "officer", "consult", {"department": "finance", "text": "同意"})
    assert fire("yunnan", case, "officer", "decide", decision).error is not None
    fire("yunnan", case, "officer", "consult", {"department": "audit", "text": "同意"})
    result = fire("yunnan", case, "officer", "decide", decision)
    assert [e.event for e in result.events] == ["decided"]
    assert fire("yunnan", case, "officer", "notice", {"grounds": "x", "demands": "y"}).error.key == \
        "proc.guard.correction_ordered"
    fire("yunnan", case, "officer", "file_copy", {"department": "组织部", "date": "2026-11-20"})
    # 从轻、减轻 is not 免责: no fund return, no failure report (第十条、第十一条)
    assert fire("yunnan", case, "officer", "feedback", {"funds": 0}).error.key == "proc.guard.exempted"
    assert fire("yunnan", case, "officer", "feedback_other", {}).ok and case.state == "closed"


def test_yunnan_interview_sets_the_rectification_clock():
    case = CaseFile("correction", [Record("decide", TODAY, {"outcome": "exempt", "correction": "yes"},
                                          ("decided", "correction_started"))])
    assert fire("yunnan", case, "officer", "schedule", {"date": "2026-12-01", "place": "x"}).error.key == \
        "proc.err.after"
    fire("yunnan", case, "officer", "notice", {"grounds": "事由", "demands": "要求"})
    fire("yunnan", case, "officer", "schedule", {"date": "2026-12-01", "place": "302"})
    result = fire("yunnan", case, "officer", "interview", {"record": "记录", "days": 30})
    assert [(e.event, e.details) for e in result.events] == [
        ("interview_held", {}), ("clock_set", {"time_limit": "rectification", "length": 30})]
    assert fire("yunnan", case, "officer", "severe", {"reason": "未整改"}).error.key == "proc.err.missing"
    assert fire("yunnan", case, "officer", "severe", {"finding": "repeated", "reason": "同一错误再次发生"}).ok
    assert case.state == "closed"


def test_liaoning_review_only_within_the_period_the_unit_set():
    case = CaseFile("determination")
    body = {"body": "党委会", "body_date": "2026-11-19"}
    assert fire("liaoning", case, "determination_group", "conclude",
                {"level": "meets", "reason": "r", "days": 10, **body}).error.key == "proc.err.after"
    fire("liaoning", case, "determination_group", "group", {"mode": "third_party", "members": "某事务所", "subject": "李某", "excluded": "confirmed"})
    result = fire("liaoning", case, "determination_group", "conclude",
                  {"level": "fails", "reason": "r", "days": 10, **body, "participants": MEET["participants"]})
    assert [e.event for e in result.events] == ["conclusion_sent", "clock_set"]
    late = TODAY + dt.timedelta(days=11)
    assert fire("liaoning", case, "applicant", "ask_review", {"grounds": "g"}, late).error.key == \
        "proc.err.period_over"
    assert fire("liaoning", case, "applicant", "ask_review", {"grounds": "g"}, TODAY + dt.timedelta(days=10)).ok


def test_shanwei_needs_an_expert_opinion_before_terminating():
    case = CaseFile("expert_review")
    assert fire("shanwei", case, "officer", "terminate", {}).error.key == "proc.err.after"
    fire("shanwei", case, "officer", "expert", {"name": "甲", "opinion": "勤勉尽责"})
    result = fire("shanwei", case, "officer", "terminate", {})
    assert result.ok and [e.event for e in result.events] == ["expert_review_done", "decided"]


def _broken(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load((Path("dialogs/policies/shanwei.yaml")).read_text(encoding="utf-8"))
    change(raw["procedure"])
    path = tmp_path / "shanwei.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "needle"), [
    (lambda p: p["actions"][0].update(to="nowhere"), "unknown state"),
    (lambda p: p["actions"][0].update(events=["lunch"]), "unknown event"),
    (lambda p: p["actions"][0].update(when=["moon_is_full"]), "unknown guard"),
    (lambda p: p.update(initial="limbo"), "initial"),
    (lambda p: p["actions"][2].update(clock_set={"time_limit": "nope", "length_field": "length"}), "time limit"),
    (lambda p: p["actions"][0].update({"from": ["terminated"]}), "final"),
])
def test_a_broken_procedure_fails_on_load_naming_the_problem(tmp_path, change, needle):
    with pytest.raises(PolicyError, match=needle):
        load_policy(_broken(tmp_path, change))
