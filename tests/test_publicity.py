"""The publicity in public (Zhejiang 三(五)–(六)) through the router, on SQLite and PostgreSQL: the notice
prepared for the officer at the decision, the publication recorded with its address and day, the channel,
the applicant, the unit and the followers told once each, objections from strangers through the deep link
(late, forged, duplicate, own case, closed), the officers' verification, and the end edited into the post."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.reply import Who
from bot.runtime import build_runtime
from storage.casework import CaseEvent, Outbox
from storage.models import Case, User
from storage.publicity import Follower, Objection, Publicity
from tests.casework_scenario import WALKS
from tests.driver import drive
from tests.test_officer_flow import CAST, TODAY, act, setup_cast, submit

STEPS = WALKS["zhejiang"]["steps"]
UNTIL_DECIDED = STEPS[: [s[1] for s in STEPS].index("decide") + 1]
PUBLISH = STEPS[[s[1] for s in STEPS].index("publicise")]
STRANGER = Who(7001, "路人")
CHANNEL = "@zjkjt_gs"


@pytest.fixture()
def runtime(database_url):
    settings = Settings(database_url=database_url, today_override=TODAY, admin_ids=[900],
                        publicity_channel=CHANNEL, _env_file=None)
    rt = build_runtime(settings)
    rt.officers.bot_username = "test_bot"
    return rt


def rows(runtime, **where) -> list[Outbox]:
    with Session(runtime.engine) as s:
        stmt = select(Outbox).order_by(col(Outbox.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Outbox, key) == value)
        return list(s.exec(stmt))


def case_applicant(case: Case) -> Who:
    return Who(case.applicant_id)


def decided_case(runtime) -> Case:
    setup_cast(runtime, "zhejiang")
    case = submit(runtime, "zhejiang")
    for who, action, values in UNTIL_DECIDED:
        reply = act(runtime, CAST[who], case.id, action, values)
        assert reply.toast is None, (action, reply.view.text)
    return case


def publish(runtime, case: Case, on: dt.date = TODAY) -> None:
    reply = act(runtime, CAST["officer"], case.id, "publicise", [PUBLISH[2][0], on.isoformat()])
    assert reply.toast is None, reply.view.text


def payload_of(runtime, case: Case) -> str:
    with Session(runtime.engine) as s:
        return s.exec(select(Publicity).where(Publicity.case_id == case.id)).one().payload


def object_(runtime, who: Who, payload: str, grounds: str = "原始记录与实际不符") -> str:
    d = drive(runtime)
    first = d.start(who, payload=payload).view.text
    if "⚠" in first:
        return first
    d.text(who, "王某某")
    d.text(who, "13800000000")
    d.text(who, grounds)
    d.press(who, "pb:fd")
    return d.press(who, "pb:ok").view.text


def test_the_decision_prepares_the_notice_for_the_officer_with_the_clocks_dates(runtime):
    case = decided_case(runtime)
    officer = CAST["officer"].user_id
    keys = [r.key for r in rows(runtime, chat_id=officer)]
    assert "publicity.officer.notice" in keys and "publicity.officer.prepared" in keys
    [notice] = rows(runtime, chat_id=officer, key="publicity.officer.notice")
    # published 2026-11-20 (a Friday): the day is not counted, 11-21 … 11-27 (a Friday, a working day)
    assert "2026年11月21日至2026年11月27日" in notice.text
    assert "13800" not in notice.text and "stmt" not in notice.text
    reply = drive(runtime).press(CAST["officer"], f"pb:nd:{case.id}")
    [docx] = reply.files
    assert docx.name.endswith(".docx") and docx.content[:2] == b"PK"
    # a stranger cannot have it
    assert drive(runtime).press(STRANGER, f"pb:nd:{case.id}").alert


def test_publication_posts_to_the_channel_and_tells_applicant_unit_and_followers_once(runtime):
    case = decided_case(runtime)
    assert "✅" in drive(runtime).command(STRANGER, "follow", "zhejiang").view.text
    assert "已经关注" in drive(runtime).command(STRANGER, "follow", "zhejiang").view.text
    publish(runtime, case)
    [post] = rows(runtime, key="publicity.channel.post")
    assert post.params["chat"] == CHANNEL and "提出异议" in str(post.params["buttons"])
    assert post.params["buttons"][0][0][1] == {"start": payload_of(runtime, case)}
    assert len(rows(runtime, chat_id=STRANGER.user_id, key="publicity.push.notice")) == 1
    assert len(rows(runtime, chat_id=CAST["unit"].user_id, key="publicity.push.notice")) == 1
    assert len(rows(runtime, chat_id=case.applicant_id, key="note.publicity_started")) == 1
    for r in [post, *rows(runtime, key="publicity.push.notice")]:
        assert "https://kjt.zj.gov.cn" in r.text and "13800" not in r.text


def test_an_objection_from_a_stranger_reaches_the_officers_and_the_applicant_never_learns_who(runtime):
    case = decided_case(runtime)
    publish(runtime, case)
    receipt = object_(runtime, STRANGER, payload_of(runtime, case))
    assert "✅" in receipt and re.search(r"ZJYY-2026-\d{4}", receipt)
    [to_officer] = rows(runtime, chat_id=CAST["officer"].user_id, key="publicity.officer.objection")
    assert "王某某" in to_officer.text and "13800000000" in to_officer.text
    [to_applicant] = rows(runtime, chat_id=case.applicant_id, key="publicity.note.objection")
    assert "王某某" not in to_applicant.text and "13800000000" not in to_applicant.text
    assert "正在核实" in to_applicant.text
    with Session(runtime.engine) as s:  # the audit trail carries the reference, not the person
        [line] = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "objection")).all()
        assert "王某某" not in str(line.details) and "13800000000" not in str(line.details)
    # the same person again: merged into the first, no new number
    again = object_(runtime, STRANGER, payload_of(runtime, case), grounds="补充：实验记录缺页")
    assert "并入" in again
    assert "经办" in object_(runtime, CAST["officer"], payload_of(runtime, case))  # the case's own staff
    with Session(runtime.engine) as s:
        [objection] = s.exec(select(Objection).where(Objection.case_id == case.id)).all()
        assert len(objection.supplements) == 1
    # evidence: a file sent during the dialog reaches the officers, and only them
    from dialogs.model import UploadInfo
    d = drive(runtime)
    other = Who(7003, "另一人")
    d.start(other, payload=payload_of(runtime, case))
    for answer in ("李某", "li@example.com", "经费使用与公告不符"):
        d.text(other, answer)
    shown = d.document(other, UploadInfo("", "证据.pdf", 2000, "F-ev", "U-ev")).view.text
    assert "证据.pdf" in shown
    d.press(other, "pb:fd")
    assert "ZJYY-2026-" in d.press(other, "pb:ok").view.text
    with Session(runtime.engine) as s:
        second = s.exec(select(Objection).where(Objection.objector_id == other.user_id)).one()
        assert second.number == 2 and second.evidence[0]["file_id"] == "F-ev"
    assert d.press(CAST["officer"], f"pb:ev:{second.id}").document == "F-ev"
    assert d.press(case_applicant(case), f"pb:ev:{second.id}").document is None
    assert d.press(STRANGER, f"pb:ev:{second.id}").document is None
    act(runtime, CAST["officer"], case.id, "answer", ["2", "经核实，经费使用合规", "异议不成立"])
    # the end cannot pass over the open objection, even after the 7 days
    runtime.settings.today_override = TODAY + dt.timedelta(days=8)
    refused = drive(runtime).press(CAST["officer"], f"c:a:{case.id}:publicity:publicity_end")
    assert refused.toast and "异议" in refused.toast
    act(runtime, CAST["officer"], case.id, "answer", ["1", "经核实，记录完整", "异议不成立"])
    [told] = rows(runtime, chat_id=STRANGER.user_id, key="publicity.obj.answered")
    assert "异议不成立" in told.text and "记录完整" not in told.text  # the opinion, not the verification
    runtime.settings.today_override = TODAY + dt.timedelta(days=6)  # within the period again
    assert "已经核实处理" in object_(runtime, STRANGER, payload_of(runtime, case))  # answered: no second one
    runtime.settings.today_override = TODAY + dt.timedelta(days=8)
    act(runtime, CAST["officer"], case.id, "publicity_end", ["exempt", None])
    [edit] = rows(runtime, key="publicity.channel.edit")
    assert edit.params["edit_of"] == rows(runtime, key="publicity.channel.post")[0].id
    assert "异议已核实处理" in edit.text
    for chat in (STRANGER.user_id, CAST["unit"].user_id):
        assert len(rows(runtime, chat_id=chat, key="publicity.push.ended")) == 1
    assert len(rows(runtime, chat_id=case.applicant_id, key="note.publicity_ended")) == 1


def test_late_forged_own_and_closed_objections_are_refused(runtime):
    case = decided_case(runtime)
    assert "尚未登记发布" in object_(runtime, STRANGER, payload_of(runtime, case))
    publish(runtime, case)
    payload = payload_of(runtime, case)
    assert "无效" in object_(runtime, STRANGER, "gs-" + "A" * 24)
    assert "无效" in object_(runtime, STRANGER, "gs-../../etc")
    assert "申请人" in object_(runtime, CAST["applicant"], payload)
    runtime.settings.today_override = TODAY + dt.timedelta(days=8)  # 11-28: the last day was 11-27
    late = object_(runtime, STRANGER, payload)
    assert "已过异议期限" in late and "2026年11月27日" in late and "2026年11月28日" in late
    act(runtime, CAST["officer"], case.id, "publicity_end", ["exempt", None])
    closed = object_(runtime, Who(7002), payload)
    assert "已经结束" in closed
    with Session(runtime.engine) as s:
        assert not s.exec(select(Objection)).all()
    [edit] = rows(runtime, key="publicity.channel.edit")
    assert "公示期满，无异议" in edit.text


def test_a_link_to_a_case_of_a_policy_without_public_publicity_is_refused(runtime):
    setup_cast(runtime, "dongguan")
    case = submit(runtime, "dongguan")
    with Session(runtime.engine) as s:  # even a well-formed link naming it (no such link is ever issued)
        s.add(Publicity(case_id=case.id, policy_key="dongguan", payload="gs-" + "B" * 24))
        s.commit()
    assert "无效" in object_(runtime, STRANGER, "gs-" + "B" * 24)


def test_a_follower_can_stop_and_a_blocked_follower_is_skipped(runtime):
    case = decided_case(runtime)
    d = drive(runtime)
    for uid in (7101, 7102, 7103):
        d.command(Who(uid), "follow", "zhejiang")
    assert "已取消" in d.command(Who(7102), "unfollow").view.text
    assert "没有关注" in d.command(Who(7102), "unfollow").view.text
    assert "没有" in d.command(Who(7104), "follow", "dongguan").view.text  # no public publicity there
    with Session(runtime.engine) as s:
        s.get(User, 7103).blocked_bot = True
        s.commit()
        assert s.exec(select(Follower).where(Follower.user_id == 7102)).first() is None
    publish(runtime, case)
    told = {r.chat_id for r in rows(runtime, key="publicity.push.notice")}
    assert 7101 in told and 7102 not in told and 7103 not in told
    with Session(runtime.engine) as s:
        assert s.get(Case, case.id).state == "publicity"
