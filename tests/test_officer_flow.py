"""The officers' side over a real database: invitations, each policy walked to its final state with the
applicant told of every step in order, and every refusal path (refused, audited, state unchanged)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.reply import Menu, MenuChange, Reply, View, Who
from bot.runtime import build_runtime
from storage.casework import CaseDocument, CaseEvent, Outbox
from storage.invitations import RoleInvitation, code_hash
from storage.models import Case
from tests.casework_scenario import INVITES, WALKS, form_inputs, registry_setup
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import play

ADMIN = Who(900, "管理员")
APPLICANT = Who(501, "研究员")
CAST = {"officer": Who(601, "经办"), "unit": Who(602, "单位"), "group": Who(603, "认定组"), "applicant": APPLICANT}
TODAY = dt.date(2026, 11, 20)


@pytest.fixture()
def runtime(database_url):
    settings = Settings(database_url=database_url, today_override=TODAY, admin_ids=[900],
                        _env_file=None)
    return build_runtime(settings)


def cw(runtime):
    return drive(runtime)


def buttons(view: View) -> list[str]:
    return [data for row in view.buttons for _label, data in row]


def submit(runtime, policy_key: str, who: Who = APPLICANT) -> Case:
    flow = drive(runtime)
    play(flow, who, flow.new_draft(who).view, happy_path(runtime.policies[policy_key], start_date="2026-11-12"))
    with Session(runtime.engine) as s:
        return s.exec(select(Case).where(Case.applicant_id == who.user_id).order_by(col(Case.id).desc())).first()


def code_in(text: str) -> str:
    return re.search(r"start[= ]([\w-]+)", text).group(1)


def invite_and_join(runtime, args: list[str], who: Who) -> Reply:
    """An invitation naming its person (their user id), opened by them."""
    return drive(runtime).start(who, payload=code_in(cw(runtime).invite(ADMIN, [*args, str(who.user_id)]).view.text))


def policy_of(runtime, case_id: int) -> str:
    with Session(runtime.engine) as s:
        return s.get(Case, case_id).policy_key


def act(runtime, who: Who, case_id: int, action: str, values: list) -> Reply:
    """Open the case, press the action's button, fill its one-screen form and confirm — as a user would."""
    c = cw(runtime)
    view = c.press(who, f"c:o:{case_id}").view
    data = next((d for d in buttons(view) if d.startswith(f"c:a:{case_id}:") and d.endswith(f":{action}")), None)
    assert data is not None, (action, buttons(view), view.text[-400:])
    reply = c.press(who, data)
    for kind, field, value in form_inputs(policy_of(runtime, case_id), action, values, runtime.settings.today_override):
        if kind == "file":
            reply = drive(runtime).document(who, _upload(value))
        elif kind == "skip":
            reply = c.press(who, f"c:s:{case_id}")
        elif kind == "pick":
            assert f"c:p:{case_id}:{field}:{value}" in buttons(reply.view), (action, field, buttons(reply.view))
            reply = c.press(who, f"c:p:{case_id}:{field}:{value}")
        else:
            reply = drive(runtime).text(who, value)
        assert reply.toast is None and "⚠" not in reply.view.text, (action, value, reply.view.text)
    return c.press(who, f"c:k:{case_id}")


def _upload(value: dict):
    from dialogs.wizard import UploadInfo
    return UploadInfo("", value["file_name"], value["size"], value["file_id"], value["file_unique_id"])


def state_of(runtime, case_id: int) -> str:
    with Session(runtime.engine) as s:
        return s.get(Case, case_id).state


def notes_to(runtime, chat_id: int) -> list[str]:
    with Session(runtime.engine) as s:
        return [o.key for o in s.exec(select(Outbox).where(Outbox.chat_id == chat_id).order_by(col(Outbox.id)))]


def setup_cast(runtime, policy_key: str) -> None:
    for args in registry_setup(policy_key):
        drive(runtime).command(ADMIN, "units", *args)
    for role, args in INVITES[policy_key].items():
        reply = invite_and_join(runtime, args, CAST[role])
        assert reply.toast is None and reply.menu == MenuChange(Menu.STAFF), reply.view.text


@pytest.mark.parametrize("policy_key", list(WALKS))
def test_each_policy_is_walked_to_its_final_state_and_the_applicant_told_in_order(runtime, policy_key):
    setup_cast(runtime, policy_key)
    case = submit(runtime, policy_key)
    assert case.state == runtime.policies[policy_key].procedure.initial
    walk = WALKS[policy_key]
    for who, action, values in walk["steps"]:
        if who == "travel":
            runtime.settings.today_override = runtime.settings.today_override + dt.timedelta(days=action)
            continue
        reply = act(runtime, CAST[who], case.id, action, values)
        assert reply.toast is None and "✅" in reply.view.text, (action, reply.view.text)
    assert state_of(runtime, case.id) == walk["final"]
    assert notes_to(runtime, APPLICANT.user_id) == walk["notes"]
    with Session(runtime.engine) as s:
        trail = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).all()
        assert trail[0].event in ("application_filed", "procedure_started")
        assert not any(e.refused for e in trail)
        texts = [o.text for o in s.exec(select(Outbox).where(Outbox.chat_id == APPLICANT.user_id))]
        assert all(case.number in t for t in texts)
    # whoever acts first was told the case reached them; every state where staff act was announced to them
    first = CAST[walk["steps"][0][0]].user_id
    assert notes_to(runtime, first)[0] == "off.work.reached"
    with Session(runtime.engine) as s:
        told = s.exec(select(Outbox).where(Outbox.key == "off.work.reached", Outbox.case_id == case.id)).all()
        assert len({o.dedupe_key for o in told}) == len(told) >= 2
        assert all(o.params.get("buttons") == [[[f"📂 打开 {case.number}", f"c:o:{case.id}"]]] for o in told)
        assert APPLICANT.user_id not in {o.chat_id for o in told}


def test_dongguan_clock_events_are_recorded_with_their_details(runtime):
    setup_cast(runtime, "dongguan")
    case = submit(runtime, "dongguan")
    for who, action, values in WALKS["dongguan"]["steps"][:8]:
        act(runtime, CAST[who], case.id, action, values)
    with Session(runtime.engine) as s:
        rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, col(CaseEvent.event).is_not(None))
                      .order_by(col(CaseEvent.id))).all()
        assert [r.event for r in rows] == ["procedure_started", "application_filed", "accepted", "evaluation_started",
                                           "evaluation_ended", "extension_granted"]
        assert rows[-1].details["time_limit"] == "decision" and rows[-1].details["reason"]
        assert s.exec(select(CaseDocument)).one().kind == "add_material"
    view = cw(runtime).case(CAST["officer"], case.number).view
    assert "⏳" in view.text and "c:f:d:" in " ".join(buttons(view))
    assert cw(runtime).press(CAST["officer"], next(d for d in buttons(view) if d.startswith("c:f:d:"))).document


def test_authority_started_case_records_procedure_started_on_the_start_date(runtime):
    case = submit(runtime, "yunnan")
    with Session(runtime.engine) as s:
        first = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).first()
    assert first.event == "procedure_started"
    from storage.caserepo import shanghai_date
    assert shanghai_date(first.at) == dt.date(2026, 11, 12)


def refusals(runtime, case_id: int | None = None) -> list[CaseEvent]:
    with Session(runtime.engine) as s:
        stmt = select(CaseEvent).where(CaseEvent.refused == True)  # noqa: E712
        if case_id is not None:
            stmt = stmt.where(CaseEvent.case_id == case_id)
        return list(s.exec(stmt))


def last_refusal(runtime, user_id: int) -> tuple[str, str, str]:
    """(where, why, action) of the user's latest refusal: the case trail ("case") or the security log."""
    from storage.securitylog import of_actor
    with Session(runtime.engine) as s:
        trail = s.exec(select(CaseEvent).where(CaseEvent.refused == True, CaseEvent.actor_id == user_id)  # noqa: E712
                       .order_by(col(CaseEvent.id).desc())).first()
        logged = of_actor(s, user_id)
        latest = max(logged, key=lambda r: r.last_at) if logged else None
        if latest is not None and (trail is None or cr_aware(latest.last_at) >= cr_aware(trail.at)):
            return "security", latest.why, latest.action
        assert trail is not None
        return "case", trail.details["why"], trail.action


def cr_aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_refusals_are_answered_audited_and_change_nothing(runtime):
    setup_cast(runtime, "dongguan")
    setup_cast(runtime, "shanwei")  # the shanwei officer is 601 too: give shanwei another person
    c = cw(runtime)
    case = submit(runtime, "dongguan")
    stranger, other_officer = Who(777, "路人"), Who(604, "汕尾经办")
    invite_and_join(runtime, ["officer", "shanwei"], other_officer)
    accept = f"c:a:{case.id}:received:accept"

    cases = [  # strangers go to the security log, people with a role on the case to its trail
        (stranger, accept, "off.err.no_case", "security"),                           # wrong role: nobody
        (other_officer, accept, "off.err.no_case", "security"),                      # another policy's officer
        (APPLICANT, accept, "off.err.own_case", "case"),                             # acting on one's own case
        (CAST["officer"], f"c:a:{case.id}:received:decide", "proc.err.wrong_state", "case"),  # out of order
        (CAST["officer"], f"c:a:{case.id}:meeting:accept", "off.err.stale", "case"),  # stale state in the data
        (CAST["officer"], f"c:a:{case.id}:received:explode", "off.err.forged", "case"),  # forged action
        (CAST["officer"], "c:zz:1", "off.err.forged", "security"),                   # forged verb, no case
        (CAST["officer"], f"c:k:{case.id}", "off.err.stale", "case"),                # confirm without a form
    ]
    for who, data, why, where in cases:
        reply = c.press(who, data)
        assert reply.toast and reply.alert, data
        assert state_of(runtime, case.id) == "received"
        assert last_refusal(runtime, who.user_id)[:2] == (where, why), data
    # a stranger pressing the same forged button a hundred times is one counted row, not a hundred case lines
    before = len(refusals(runtime, case.id))
    for _ in range(100):
        c.press(stranger, accept)
    assert len(refusals(runtime, case.id)) == before
    officer_view = c.case(CAST["officer"], case.number).view.text
    assert "102 次尝试已记入安全日志" in officer_view  # 101 by the stranger, 1 by the other officer and "路人" not in officer_view
    # the applicant sees the file, but no officer buttons
    own = c.case(APPLICANT, case.number).view
    assert not [d for d in buttons(own) if d.endswith(":accept")]
    assert "c:a:" in " ".join(buttons(own))  # add_material is theirs
    assert c.case(stranger, case.number).toast  # a stranger cannot even open it
    assert c.queue(stranger).toast and c.invite(stranger, ["officer", "dongguan"]).toast
    assert last_refusal(runtime, stranger.user_id) == ("security", "off.err.not_admin", "invite")


def test_an_officer_who_applied_cannot_act_on_their_own_case(runtime):
    setup_cast(runtime, "dongguan")
    officer = CAST["officer"]
    own = submit(runtime, "dongguan", officer)
    view = cw(runtime).case(officer, own.number).view
    assert not [d for d in buttons(view) if d.endswith(":accept")]
    reply = cw(runtime).press(officer, f"c:a:{own.id}:received:accept")
    assert "申请人" in reply.toast and state_of(runtime, own.id) == "received"
    assert "本人为申请人" in cw(runtime).queue(officer).view.text


def test_validation_no_extension_twice_panel_of_four_and_reasons_for_refusal(runtime):
    setup_cast(runtime, "zhejiang")
    case = submit(runtime, "zhejiang")
    officer = CAST["officer"]
    # before the unit approved, the officer cannot accept
    assert cw(runtime).press(officer, f"c:a:{case.id}:unit_review:accept").toast
    for who, action, values in WALKS["zhejiang"]["steps"][:8]:  # four experts only
        act(runtime, CAST[who], case.id, action, values)
    # 三(三) "一般不少于5人": four experts of both kinds may close the review only with the reason recorded
    cw(runtime).press(officer, f"c:a:{case.id}:expert_review:experts_done")
    cw(runtime).press(officer, f"c:v:{case.id}:diligent")
    reply = drive(runtime).text(officer, "四位专家一致认为已履行勤勉尽责义务")
    assert "少于5人" in reply.view.text
    assert cw(runtime).press(officer, f"c:s:{case.id}").toast and state_of(runtime, case.id) == "expert_review"

    setup_cast(runtime, "dongguan")
    dg = submit(runtime, "dongguan", Who(502, "另一位"))
    act(runtime, officer, dg.id, "accept", [None])
    act(runtime, officer, dg.id, "extend", ["复杂"])
    view = cw(runtime).case(officer, dg.number).view
    assert not [d for d in buttons(view) if d.endswith(":extend")]
    assert "只能进行一次" in cw(runtime).press(officer, f"c:a:{dg.id}:investigation:extend").toast
    # refusal at acceptance needs reasons: the reason field cannot be skipped
    dg2 = submit(runtime, "dongguan", Who(503, "第三位"))
    cw(runtime).press(officer, f"c:a:{dg2.id}:received:refuse")
    assert cw(runtime).press(officer, f"c:s:{dg2.id}").toast
    bad = drive(runtime).text(officer, "   ")
    assert "⚠" in bad.view.text


def test_form_input_validation_in_the_users_language(runtime):
    setup_cast(runtime, "yunnan")
    case = submit(runtime, "yunnan")
    officer = CAST["officer"]
    act(runtime, officer, case.id, "accept", [None])
    cw(runtime).press(officer, f"c:a:{case.id}:investigation:hear_start")
    assert "YYYY-MM-DD" in drive(runtime).text(officer, "下周二").view.text
    drive(runtime).set_language(officer, "en")
    cw(runtime).press(officer, f"c:x:{case.id}")
    cw(runtime).press(officer, f"c:a:{case.id}:investigation:hear_start")
    assert "Not a date" in drive(runtime).text(officer, "next tuesday").view.text


def test_publicity_cannot_end_early_or_with_an_open_objection(runtime):
    setup_cast(runtime, "zhejiang")
    case = submit(runtime, "zhejiang")
    steps = WALKS["zhejiang"]["steps"]
    for who, action, values in steps[:steps.index(("travel", 8, None))]:
        if action == "answer":
            continue
        act(runtime, CAST[who], case.id, action, values)
    officer = CAST["officer"]
    assert "7" in cw(runtime).press(officer, f"c:a:{case.id}:publicity:publicity_end").toast
    runtime.settings.today_override = TODAY + dt.timedelta(days=8)
    assert "异议" in cw(runtime).press(officer, f"c:a:{case.id}:publicity:publicity_end").toast
    act(runtime, officer, case.id, "answer", ["1", "经核实", "不成立"])
    act(runtime, officer, case.id, "publicity_end", ["exempt", None])
    assert state_of(runtime, case.id) == "feedback"


def test_invitations_are_single_use_expiring_and_revocable(runtime):
    c = cw(runtime)
    assert "provincial" in c.invite(ADMIN, ["officer", "yunnan"]).view.text  # a level is needed
    assert c.invite(ADMIN, ["unit", "dongguan", "某大学"]).view.text.startswith("单位审核人只用于浙江")
    text = c.invite(ADMIN, ["officer", "dongguan", "611"]).view.text
    code = code_in(text)
    assert drive(runtime).start(Who(612), payload=code).toast  # not theirs: refused, and the code still works
    assert drive(runtime).start(Who(611), payload=code).menu == MenuChange(Menu.STAFF)
    assert drive(runtime).start(Who(612), payload=code).toast  # used
    text = c.invite(ADMIN, ["officer", "dongguan", "613"]).view.text
    late = code_in(text)
    with Session(runtime.engine) as s:
        row = s.exec(select(RoleInvitation).where(RoleInvitation.code_hash == code_hash(late))).one()
        row.expires_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        s.add(row)
        s.commit()
    assert "过期" in drive(runtime).start(Who(613), payload=late).toast
    members = c.members(ADMIN).view
    revoke = next(d for d in buttons(members) if d.startswith("c:r:"))
    assert late not in members.text  # the code is shown once, at creation, and never stored
    assert c.press(Who(611), revoke).toast  # only admins revoke
    assert c.press(ADMIN, revoke).menu == MenuChange(Menu.USER, 611)
    assert c.queue(Who(611)).toast  # no longer staff


def test_status_lists_the_applicants_cases_and_where_each_stands(runtime):
    setup_cast(runtime, "shanwei")
    case = submit(runtime, "shanwei")
    act(runtime, CAST["officer"], case.id, "accept", [None])
    view = cw(runtime).status(APPLICANT).view
    assert case.number in view.text and "专家评审中" in view.text
    assert cw(runtime).status(Who(4242)).view.text.startswith("您还没有")


def test_liaoning_review_request_after_the_set_period_is_refused(runtime):
    setup_cast(runtime, "liaoning")
    case = submit(runtime, "liaoning")
    for who, action, values in WALKS["liaoning"]["steps"][:4]:
        act(runtime, CAST[who], case.id, action, values)
    # 15 days from 11-20 end on Sat 12-05; under 民法典 第二百零三条 the period runs to Mon 12-07, and the
    # procedure's guard counts on the same calendar as the clocks: 12-08 is the first day after it
    runtime.settings.today_override = TODAY + dt.timedelta(days=18)
    reply = cw(runtime).press(APPLICANT, f"c:a:{case.id}:conclusion_sent:ask_review")
    assert "期限已过" in reply.toast and state_of(runtime, case.id) == "conclusion_sent"
    assert act(runtime, APPLICANT, case.id, "confirm", []).toast is None
    assert state_of(runtime, case.id) == "closed"


def test_the_audit_trail_cannot_be_rewritten(runtime):
    from storage.casework import AuditTrailIsAppendOnly

    case = submit(runtime, "shanwei")
    with Session(runtime.engine) as s:
        row = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).first()
        row.action = "forged"
        s.add(row)
        with pytest.raises(AuditTrailIsAppendOnly):
            s.commit()
    with Session(runtime.engine) as s:
        row = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).first()
        s.delete(row)
        with pytest.raises(AuditTrailIsAppendOnly):
            s.commit()
