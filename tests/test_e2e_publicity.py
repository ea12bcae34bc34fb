"""Zhejiang 三(五): when the 7-day publicity ends with no objection, the case moves on by itself and the
applicant is told — through the real bot process and the local Bot API server. With an objection on
record, the officers are alerted to weigh it instead and the case waits for them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import Session, select

from storage.casework import CaseEvent
from storage.db import make_engine
from storage.models import Case
from tests.casework_scenario import INVITES, WALKS
from tests.test_officer_e2e import TODAY, Actor, invite, start_bot, submit, world  # noqa: F401

pytestmark = pytest.mark.slow
_STEPS = WALKS["zhejiang"]["steps"]
UNTIL_PUBLICITY = _STEPS[: [s[1] for s in _STEPS].index("publicise") + 1]


def walk_to_publicity(env, with_objection: bool) -> tuple[Actor, Actor, Case]:
    server = env["server"]
    applicant, officer, unit = Actor(server, 81001, "申请人"), Actor(server, 81002, "经办"), Actor(server, 81003, "单位")
    cast = {"officer": officer, "unit": unit, "applicant": applicant}
    for role, args in INVITES["zhejiang"].items():
        invite(env, args, cast[role])
    case = submit(env, applicant, "zhejiang")
    steps = UNTIL_PUBLICITY + ([("officer", "objection", ["有人反映原始记录不全"])] if with_objection else [])
    for who, action, values in steps:
        assert "✅" in cast[who].act(case, action, values)["text"], action
    return applicant, officer, case


def travel(env, days: int) -> None:
    env["bot"].stop()
    env["bot"] = start_bot(env["server"], env["url"], env["dir"], TODAY + dt.timedelta(days=days))


def wait_for(actor: Actor, needle: str, timeout: float = 20.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [t for t in actor.user.texts() if needle in t]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no message with {needle!r}: {actor.user.texts()[-4:]}")


def test_publicity_without_objection_ends_by_itself_and_the_applicant_is_told(world):  # noqa: F811
    applicant, _officer, case = walk_to_publicity(world, with_objection=False)
    travel(world, 7)  # the 7th day of publicity: not over yet
    world["server"].wait_idle(timeout=10, quiet=1.0)
    assert not [t for t in applicant.user.texts() if "公示结束" in t]
    travel(world, 8)
    text = wait_for(applicant, "公示结束")
    assert case.number in text and "认定为容错免责" in text
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "feedback"
        [ended] = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.event == "publicity_ended")).all()
        assert ended.actor_role == "system" and ended.details.get("outcome") == "exempt"


def test_publicity_with_an_objection_waits_for_an_officer(world):  # noqa: F811
    applicant, officer, case = walk_to_publicity(world, with_objection=True)
    travel(world, 8)
    alert = wait_for(officer, "公示期已届满")
    assert case.number in alert and "异议" in alert
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "publicity"


# -- the publicity in public, end to end (issue 15) ---------------------------------------------------------
# The case is decided and its notice published on Saturday 2026-11-21: the day is not counted, the 7th day
# (Saturday 11-28) is a rest day, so the period is 11-22 … Monday 11-30 (the last day rolled).
PUBLIC_DAY = dt.date(2026, 11, 21)
ROLLED_LAST = dt.date(2026, 11, 30)
CHANNEL_NAME = "zj_kjt_gs"
FOLLOWERS = 50
UNTIL_DECIDED = _STEPS[: [s[1] for s in _STEPS].index("decide") + 1]


def public_bot(server, url, workdir, today: dt.date):
    from tests.e2e import BotProcess
    from tests.test_officer_e2e import ADMIN_ID

    return BotProcess(server, url, workdir, ADMIN_IDS=str(ADMIN_ID), TODAY_OVERRIDE=today.isoformat(),
                      PUBLICITY_CHANNEL=f"@{CHANNEL_NAME}").start()


@pytest.fixture()
def public(tmp_path):
    from tests.botapi import BotApiServer
    from tests.conftest import fresh_database

    with BotApiServer() as server, fresh_database(tmp_path) as url:
        owner = server.user(89000, first_name="厅办公室")
        channel = server.channel("浙江省科技厅公示", username=CHANNEL_NAME, creator=owner)
        channel.add_bot(by=owner)
        state = {"server": server, "url": url, "dir": tmp_path, "channel": channel,
                 "bot": public_bot(server, url, tmp_path, PUBLIC_DAY)}
        try:
            yield state
        finally:
            state["bot"].stop()


def say(user, text: str, needle: str, timeout: float = 20.0) -> str:
    mark = user.mark()
    user.send_text(text)
    return user.wait_for_text(needle, since=mark, timeout=timeout)["text"]


def pdf_text(docx: bytes, workdir) -> str:
    import subprocess

    path = workdir / "notice.docx"
    path.write_bytes(docx)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{workdir}/lo", "--convert-to", "pdf",
                    "--outdir", str(workdir), str(path)], check=True, capture_output=True, timeout=180)
    return subprocess.run(["pdftotext", "-layout", str(workdir / "notice.pdf"), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode()


def test_publicity_in_public_from_the_decision_to_the_edited_post(public):  # noqa: C901 - one story
    from tests.casework_scenario import PORTAL_URL
    from tests.scenario import happy_path
    from tests.test_officer_e2e import POLICIES

    server, channel = public["server"], public["channel"]
    applicant, officer, unit = Actor(server, 81001, "申请人"), Actor(server, 81002, "经办"), Actor(server, 81003, "单位")
    cast = {"officer": officer, "unit": unit, "applicant": applicant}
    for role, args in INVITES["zhejiang"].items():
        invite(public, args, cast[role])
    followers = [server.user(82000 + n, first_name=f"关注者{n}") for n in range(FOLLOWERS)]
    for user in followers:
        assert "已关注" in say(user, "/follow zhejiang", "关注")
    quitter, blocker = server.user(82100, first_name="退订"), server.user(82101, first_name="拉黑")
    for user in (quitter, blocker):
        say(user, "/follow zhejiang", "已关注")
    assert "已取消关注" in say(quitter, "/unfollow", "取消")
    blocker.block_bot()

    applicant.command("/new")
    applicant.run(happy_path(POLICIES["zhejiang"], start_date=(PUBLIC_DAY - dt.timedelta(days=3)).isoformat()))
    with Session(make_engine(public["url"])) as s:
        case = s.exec(select(Case).where(Case.applicant_id == applicant.user.id)).one()
    for who, action, values in UNTIL_DECIDED:
        assert "✅" in cast[who].act(case, action, values)["text"], action

    # the notice, prepared for the officer: the .docx converted and read, its dates the clock's
    prepared = officer.user.wait_for_text("须在门户网站公示7天", timeout=20)
    mark = officer.user.mark()
    officer.user.press_data(f"pb:nd:{case.id}", prepared["message_id"])
    officer.user.wait_for(lambda m: "document" in m, since=mark, timeout=30)
    [docx] = [d for d in officer.user.documents_received() if (d.file_name or "").startswith("公示")]
    text = pdf_text(docx.content, public["dir"])
    assert "2026年11月22日至2026年11月30日" in text.replace(" ", ""), text
    assert "13800" not in text and "申请人" not in text

    # published: the channel post with its deep link, the followers, the unit, the applicant
    assert "✅" in officer.act(case, "publicise", [PORTAL_URL, PUBLIC_DAY.isoformat()])["text"]
    post = channel.wait_for(lambda m: "公示" in (m.get("text") or ""), timeout=30)
    assert "2026年11月22日至2026年11月30日" in post["text"] and PORTAL_URL in post["text"]
    [(label, link)] = channel.buttons(post)
    assert "异议" in label and link.startswith(f"https://t.me/{server.bot_username}?start=gs-")
    for user in followers:
        user.wait_for_text("容错免责认定结果公示", timeout=60)
    unit.user.wait_for_text("承担单位的审核人", timeout=20)
    applicant.user.wait_for_text("认定结果开始在门户网站公示", timeout=20)
    server.wait_idle(timeout=15, quiet=1.0)
    assert not [t for t in quitter.texts() if "容错免责认定结果公示" in t]
    assert not [t for t in blocker.texts() if "容错免责认定结果公示" in t]
    ids = {str(u.id) for u in followers}
    sends = sorted(c[2] for c in server.calls("sendMessage")
                   if str(c[1].get("chat_id")) in ids and "容错免责认定结果公示" in str(c[1].get("text")))
    assert len(sends) == FOLLOWERS
    assert all(b - a >= 0.9 for a, b in zip(sends, sends[30:], strict=False))  # paced: no burst of 31
    for user in followers:
        assert len([t for t in user.texts() if "容错免责认定结果公示" in t]) == 1
    with Session(make_engine(public["url"])) as s:
        from storage.models import User as Person
        assert s.get(Person, blocker.id).blocked_bot  # recorded when its notice bounced

    # a stranger objects through the deep link
    stranger = Actor(server, 83001, "路人")
    mark = stranger.user.mark()
    stranger.user.open_link(link)
    assert "公示期：2026年11月22日至2026年11月30日" in stranger.user.wait_for_text("提出异议", since=mark)["text"]
    stranger.type("王某某")
    stranger.type("13800000000")
    stranger.type("原始记录与实际不符")
    stranger.press("fd")
    mark = stranger.user.mark()
    stranger.user.press_data("pb:ok", stranger.screen()["message_id"])
    receipt = stranger.user.wait_for_text("异议已提交", since=mark)["text"]
    reference = re.search(r"ZJYY-2026-\d{4}", receipt).group(0)
    alert = officer.user.wait_for_text("收到公示异议", timeout=20)["text"]
    assert "王某某" in alert and "13800000000" in alert and reference in alert
    told = applicant.user.wait_for_text("正在核实", timeout=20)["text"]
    assert "王某某" not in told and "13800000000" not in told
    again = Actor(server, 83001, "路人")
    mark = again.user.mark()
    again.user.open_link(link)
    again.user.wait_for_text("提出异议", since=mark)
    for answer in ("王某某", "13800000000", "补充：实验记录缺页"):
        again.type(answer)
    again.press("fd")
    mark = again.user.mark()
    again.user.press_data("pb:ok", again.screen()["message_id"])
    assert reference in again.user.wait_for_text("并入", since=mark)["text"]

    # the officers verify; the objector is told the opinion
    assert "✅" in officer.act(case, "answer", ["1", "经核实，记录完整", "异议不成立"])["text"]
    opinion = stranger.user.wait_for_text("调查处理意见", timeout=20)["text"]
    assert "异议不成立" in opinion and "记录完整" not in opinion

    # the rolled last day: still open; the day after: a late objection is refused with the dates
    public["bot"].stop()
    public["bot"] = public_bot(server, public["url"], public["dir"], ROLLED_LAST + dt.timedelta(days=1))
    late = Actor(server, 83002, "迟到")
    mark = late.user.mark()
    late.user.open_link(link)
    refusal = late.user.wait_for_text("异议期限", since=mark, timeout=20)["text"]
    assert "2026年11月30日" in refusal and "2026年12月1日" in refusal
    assert "✅" in officer.act(case, "publicity_end", ["exempt", None])["text"]
    edited = channel.wait_for(lambda m: "异议已核实处理" in (m.get("text") or ""), timeout=30)
    assert edited["message_id"] == post["message_id"] and not channel.buttons(edited)
    applicant.user.wait_for_text("公示结束", timeout=20)
    stranger.user.wait_for_text("您对本公示提出过异议", timeout=20)
    unit.user.wait_for_text("·公示结果", timeout=20)
    for user in followers:
        user.wait_for_text("·公示结果", timeout=60)
    server.wait_idle(timeout=15, quiet=1.0)
    for user in followers:
        assert len([t for t in user.texts() if "·公示结果" in t]) == 1
    assert len([t for t in stranger.user.texts() if "·公示结果" in t]) == 1
    assert not [t for t in blocker.texts() if "·公示结果" in t]
    assert len([t for t in applicant.user.texts() if "公示结束" in t]) == 1
    assert len([t for t in applicant.user.texts() if "公示期7天" in t]) == 1
    assert len([t for t in unit.user.texts() if "·公示结果" in t]) == 1
    assert len(channel.posts()) == 1
