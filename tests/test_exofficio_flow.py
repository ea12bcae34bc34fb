"""Yunnan 第六条(二) through the bot's own entry points: an officer opens a case ex officio with
/exofficio, the bot answers with a single-use `/start exo_…` link, the person who opens it is told who
started the procedure and what is asked of them, completes it, and the officer hears it was taken up."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.reply import Who
from storage.casework import CaseEvent, Outbox
from storage.models import Case
from tests.driver import drive
from tests.test_officer_flow import APPLICANT, CAST, act, buttons, runtime, setup_cast, state_of  # noqa: F401
from tests.test_rules_yunnan import EX_OFFICIO

FIELDS = ["organ", "stage", "subject_kind", "subject", "project", "basis"]
LINE = " | ".join(str(EX_OFFICIO[f]) for f in FIELDS)


def claim_code(text: str) -> str:
    word = next(w for w in text.split() if "exo_" in w)
    return word[word.index("exo_"):]


def test_yunnan_6_2_officer_opens_a_case_and_the_person_concerned_completes_it(runtime):  # noqa: F811
    setup_cast(runtime, "yunnan")
    officer = CAST["officer"]
    bot = drive(runtime)
    # without the fields: the usage names every field in order and the choices it accepts
    usage = bot.command(officer, "exofficio", "yunnan").view.text
    assert "第六条(二)" in usage and "before" in usage and "during" in usage and "6" in usage
    # a part that does not read: nothing is created, the field is named
    bad = bot.command(officer, "exofficio", "yunnan", *LINE.replace("during", "某时").split()).view.text
    assert "启动时点" in bad
    short = bot.command(officer, "exofficio", "yunnan", "省纪委", "|", "during").view.text
    assert "需要 6 项" in short
    with Session(runtime.engine) as s:
        assert s.exec(select(Case).where(Case.policy_key == "yunnan")).first() is None
    # a researcher with no officer role cannot open one
    refused = bot.command(APPLICANT, "exofficio", "yunnan", *LINE.split())
    assert refused.toast is not None
    opened = bot.command(officer, "exofficio", "yunnan", *LINE.split())
    assert "✅" in opened.view.text and "张某" in opened.view.text, opened.view.text
    code = claim_code(opened.view.text)
    assert len(f"/start {code}".encode()) <= 64
    with Session(runtime.engine) as s:
        case = s.exec(select(Case).where(Case.policy_key == "yunnan")).one()
        assert case.state == "ex_officio" and case.answers["ex_officio"]["organ"] == EX_OFFICIO["organ"]
        assert case.answers["project"]["funding_level"] == "provincial"  # the officer's own level
    assert f"c:o:{case.id}" in buttons(opened.view)
    # the officer who opened it cannot take it up as the person concerned
    assert bot.start(officer, payload=code).toast is not None
    # the person concerned opens the link: told by whom, under which clause, and what to do
    told = bot.start(APPLICANT, payload=code)
    assert told.toast is None, told.view.text
    assert EX_OFFICIO["organ"] in told.view.text and "第六条(二)" in told.view.text
    assert "陈述意见" in told.view.text and f"c:o:{case.id}" in buttons(told.view)
    # a second person with the same link is refused; the case stays with the first
    assert bot.start(Who(777, "他人"), payload=code).toast is not None
    with Session(runtime.engine) as s:
        assert s.get(Case, case.id).applicant_id == APPLICANT.user_id
        keys = [o.key for o in s.exec(select(Outbox).where(Outbox.chat_id == officer.user_id))]
        assert keys.count("exo.taken_up") == 1
    # the applicant completes it from the case file; the case runs on to the investigation
    reply = act(runtime, APPLICANT, case.id, "respond", ["技术路线有充分论证，失败系不可预见……", None])
    assert "✅" in reply.view.text and state_of(runtime, case.id) == "investigation"
    with Session(runtime.engine) as s:
        trail = [e.action for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                          .order_by(col(CaseEvent.id)))]
    assert trail[:2] == ["ex_officio", "claim"] and "respond" in trail
    # /status of the person concerned lists the case
    assert case.number in bot.command(APPLICANT, "status").view.text


def test_yunnan_6_2_officer_cannot_open_a_case_at_a_level_not_theirs(runtime):  # noqa: F811
    setup_cast(runtime, "yunnan")  # a provincial officer
    reply = drive(runtime).command(CAST["officer"], "exofficio", "yunnan", "county", *LINE.split())
    assert reply.toast is not None
    with Session(runtime.engine) as s:
        assert s.exec(select(Case).where(Case.policy_key == "yunnan")).first() is None


def test_exofficio_without_arguments_lists_the_policies_that_have_it(runtime):  # noqa: F811
    text = drive(runtime).command(CAST["officer"], "exofficio").view.text
    assert "yunnan" in text and "dongguan" not in text.split("\n")[0]
    assert "没有主动启动程序" in drive(runtime).command(CAST["officer"], "exofficio", "zhejiang").view.text


def test_officer_form_counts_only_the_fields_asked_in_turn(runtime):  # noqa: F811
    """"第 k/n 项" counts the typed fields asked one after the other, not the choices on the keyboard
    (Liaoning 第八条 group: the way and the confirmation are button rows; members and person typed: 第 1/2 项)."""
    from tests.test_officer_flow import submit

    setup_cast(runtime, "liaoning")
    case = submit(runtime, "liaoning")
    group = CAST["group"]
    view = drive(runtime).press(group, f"c:o:{case.id}").view
    data = next(d for d in buttons(view) if d.startswith(f"c:a:{case.id}:") and d.endswith(":group"))
    form = drive(runtime).press(group, data).view.text
    assert "第 1/2 项" in form, form


def test_invite_usage_says_which_policies_need_a_level(runtime):  # noqa: F811
    text = drive(runtime).command(Who(900, "管理员"), "invite").view.text
    assert "yunnan 必填 provincial/prefecture/county" in text and "zhejiang 可选" in text
    assert "云南须加层级" not in text
