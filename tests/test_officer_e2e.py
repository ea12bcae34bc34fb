"""Officers on Telegram: the real bot process against the local Bot API server. Each policy's case is
walked by its officers from submission to the final state and the applicant receives every
notification in order; refusals over the wire; the outbox survives a 500 and a SIGKILL."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.i18n import catalogue
from dialogs.policy import load_policies
from storage.casework import CaseEvent, Outbox
from storage.db import make_engine
from storage.models import Case
from storage.securitylog import SecurityEvent
from tests.botapi import BotApiServer
from tests.casework_scenario import INVITES, WALKS, form_inputs
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher, has_keyboard
from tests.scenario import happy_path

pytestmark = pytest.mark.slow
POLICIES = load_policies()
ADMIN_ID = 90001
TODAY = dt.date.today()
START = (TODAY - dt.timedelta(days=3)).isoformat()
ZH = catalogue("zh")


NOTICES = ("📣", "📥", "⚠ 有案件", "🔑", "🏢", "✅ 管理员已确认")  # outbox messages; their button only opens a case


class Actor(Researcher):
    """Anyone on the officers' side, or the applicant acting on their own case."""

    def screen(self) -> dict[str, Any]:
        """The screen being worked on: the latest message with buttons that is not a notification."""
        for message in reversed(self.user.messages()):
            if has_keyboard(message) and not (message.get("text") or "").startswith(NOTICES):
                return message
        raise AssertionError(f"no screen with buttons; messages: {self.user.texts()[-5:]}")

    def _wait(self, mark: int, timeout: float = 15.0) -> dict[str, Any]:
        return self.user.wait_for(lambda m: has_keyboard(m) and not (m.get("text") or "").startswith(NOTICES),
                                  timeout=timeout, since=mark)

    def press_data(self, data: str) -> dict[str, Any]:
        mark = self.user.mark()
        self.user.press_data(data, self.screen()["message_id"])
        return self._wait(mark)

    def find(self, predicate: Any) -> str | None:
        for row in self.screen()["reply_markup"]["inline_keyboard"]:
            for button in row:
                if predicate(button.get("callback_data", "")):
                    return button["callback_data"]
        return None

    def act(self, case: Case, action: str, values: list, before_confirm: Any = None) -> dict[str, Any]:
        self.command(f"/case {case.number}")
        data = self.find(lambda d: d.startswith(f"c:a:{case.id}:") and d.endswith(f":{action}"))
        assert data, (action, self.screen()["text"][-300:])
        self.press_data(data)
        for kind, field, value in form_inputs(case.policy_key, action, values):
            if kind == "file":
                screen = self.upload(value["file_name"], value["size"])
            elif kind == "skip":
                screen = self.press_data(f"c:s:{case.id}")
            elif kind == "pick":
                screen = self.press_data(f"c:p:{case.id}:{field}:{value}")
            else:
                screen = self.type(value)
            assert "⚠" not in screen["text"], (action, value, screen["text"])
        if before_confirm is not None:
            before_confirm()
        return self.press_data(f"c:k:{case.id}")


def start_bot(server: BotApiServer, url: str, workdir, today: dt.date) -> BotProcess:
    return BotProcess(server, url, workdir, ADMIN_IDS=str(ADMIN_ID), TODAY_OVERRIDE=today.isoformat()).start()


@contextmanager
def running(tmp_path) -> Iterator[dict[str, Any]]:
    """The local Bot API server, a fresh database and the bot started on it (a test may replace the bot
    in the state it is given; whichever runs at the end is stopped). The officer e2e tests' `world`."""
    with BotApiServer() as server, fresh_database(tmp_path) as url:
        bot = start_bot(server, url, tmp_path, TODAY)
        state = {"server": server, "bot": bot, "url": url, "dir": tmp_path}
        try:
            yield state
        finally:
            state["bot"].stop()


@pytest.fixture()
def world(tmp_path) -> Iterator[dict[str, Any]]:
    with running(tmp_path) as state:
        yield state


def invite(world: dict[str, Any], args: list[str], who: Actor) -> None:
    """An invitation naming its person (their user id), opened by them; a unit role's unit is registered
    first (/units add), as an admin must."""
    admin = world["server"].user(ADMIN_ID, first_name="管理员", language_code="zh-hans")
    if args[0] in ("unit", "group"):
        mark = admin.mark()
        admin.send_text(f"/units add {args[1]} {' '.join(args[2:])}")
        admin.wait_for(lambda m: "已登记" in (m.get("text") or "") or "已是" in (m.get("text") or ""), timeout=15,
                       since=mark)
    mark = admin.mark()
    admin.send_text("/invite " + " ".join([*args, str(who.user.id)]))
    text = admin.wait_for_text("邀请码", since=mark, timeout=15)["text"]
    code = re.search(r"start[= ]([\w-]+)", text).group(1)
    screen = who.command(f"/start {code}")
    assert "欢迎" in screen["text"]


def submit(world: dict[str, Any], applicant: Actor, key: str) -> Case:
    applicant.command("/new")
    applicant.run(happy_path(POLICIES[key], start_date=START))
    with Session(make_engine(world["url"])) as s:
        return s.exec(select(Case).where(Case.applicant_id == applicant.user.id)).one()


def notifications(applicant: Actor) -> list[str]:
    return [t for t in applicant.user.texts() if t.startswith("📣")]


def lead(key: str) -> str:
    """The fixed opening of a notification template, to recognise the message."""
    return re.split(r"[{\n]", ZH[key])[0][:8]


def wait_for_notifications(applicant: Actor, count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(notifications(applicant)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return notifications(applicant)


@pytest.mark.parametrize("key", list(WALKS))
def test_officers_walk_each_policy_and_the_applicant_is_told_every_step_in_order(world, key):
    server = world["server"]
    applicant = Actor(server, 70001, "申请人")
    cast = {"officer": Actor(server, 70002, "经办"), "unit": Actor(server, 70003, "单位"),
            "group": Actor(server, 70004, "认定组"), "applicant": applicant}
    for role, args in INVITES[key].items():
        invite(world, args, cast[role])
    assert server.commands({"type": "chat", "chat_id": cast[next(iter(INVITES[key]))].user.id})
    case = submit(world, applicant, key)
    for who, action, values in WALKS[key]["steps"]:
        if who == "travel":  # the publicity must run its 7 days: restart the bot on a later date
            world["bot"].stop()
            world["bot"] = start_bot(server, world["url"], world["dir"], TODAY + dt.timedelta(days=action))
            continue
        screen = cast[who].act(case, action, values)
        assert "✅" in screen["text"], (action, screen["text"])
    expected = WALKS[key]["notes"]
    received = wait_for_notifications(applicant, len(expected))
    assert len(received) == len(expected), received
    for text, note in zip(received, expected, strict=True):
        assert case.number in text and lead(note) in text, (note, text)
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == WALKS[key]["final"]
        assert all(o.status == "delivered" for o in s.exec(select(Outbox).where(Outbox.chat_id == applicant.user.id)))


def test_refusals_over_the_wire_are_answered_audited_and_change_nothing(world):
    server = world["server"]
    applicant, officer = Actor(server, 71001, "申请人"), Actor(server, 71002, "经办")
    outsider = Actor(server, 71003, "他人")
    invite(world, ["officer", "shanwei"], outsider)  # an officer, but of another policy
    invite(world, ["officer", "dongguan"], officer)
    case = submit(world, applicant, "dongguan")
    officer.command(f"/case {case.number}")
    for user, data in ((outsider, f"c:a:{case.id}:received:accept"),      # another policy's officer
                       (applicant, f"c:a:{case.id}:received:accept"),     # own case
                       (officer, f"c:a:{case.id}:received:decide"),       # out of order
                       (officer, f"c:a:{case.id}:meeting:accept"),        # stale / forged state
                       (officer, "c:a:not-a-number"),                     # forged data
                       ):
        if user is officer:
            message_id = officer.screen()["message_id"]
        else:  # the button is pressed on a message of the presser's own chat, as forged data would be
            message_id = user.command("/status")["message_id"]
        user.user.press_data(data, message_id)
        deadline = time.monotonic() + 10
        while not [a for a in user.user.callback_answers() if a.get("show_alert")] and time.monotonic() < deadline:
            time.sleep(0.05)
        answers = [a for a in user.user.callback_answers() if a.get("show_alert")]
        assert answers and answers[-1].get("text"), data
    time.sleep(0.5)
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "received"
        refused = s.exec(select(CaseEvent).where(CaseEvent.refused == True)).all()  # noqa: E712
        strangers = s.exec(select(SecurityEvent)).all()  # no role on the case: counted, not on its trail
        assert len(refused) + sum(r.count for r in strangers) >= 5
        assert outsider.user.id in {r.actor_id for r in strangers} and outsider.user.id not in {e.actor_id for e in refused}


def test_a_notification_survives_a_500_and_a_kill_and_is_delivered_once(world):
    server = world["server"]
    applicant, officer = Actor(server, 72001, "申请人"), Actor(server, 72002, "经办")
    invite(world, ["officer", "shanwei"], officer)
    case = submit(world, applicant, "shanwei")
    officer.user.wait_for_text("待您办理", timeout=10)  # the staff alert is out of the way
    screen = officer.act(case, "accept", [None],
                         before_confirm=lambda: server.fail_next("sendMessage", status=500, times=2))
    assert "✅" in screen["text"]
    # the change is committed and the notification is owed, but Telegram said 500: kill -9 the bot now
    with Session(make_engine(world["url"])) as s:
        assert s.get(Case, case.id).state == "expert_review"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [
            c for c in server.calls("sendMessage")
            if c.status == 500 and str(c.params.get("chat_id")) == str(applicant.user.id)]:
        time.sleep(0.05)  # Telegram has answered 500 to the notification at least once
    world["bot"].kill()
    assert not notifications(applicant)
    server.clear_faults()
    world["bot"] = start_bot(server, world["url"], world["dir"], TODAY)
    received = wait_for_notifications(applicant, 1, timeout=30)
    assert len(received) == 1 and lead("note.accepted") in received[0]
    time.sleep(1.5)
    assert len(notifications(applicant)) == 1  # delivered once
    with Session(make_engine(world["url"])) as s:
        row = s.exec(select(Outbox).where(Outbox.chat_id == applicant.user.id)).one()
        # the kill may land before the worker recorded the 500: either way the row is delivered, once
        assert row.status == "delivered" and row.delivered_at is not None


def test_a_500_then_200_is_delivered_once_it_recovers(world):
    server = world["server"]
    applicant, officer = Actor(server, 73001, "申请人"), Actor(server, 73002, "经办")
    invite(world, ["officer", "shanwei"], officer)
    case = submit(world, applicant, "shanwei")
    officer.user.wait_for_text("待您办理", timeout=10)
    officer.act(case, "accept", [None], before_confirm=lambda: server.fail_next("sendMessage", status=500, times=1))
    received = wait_for_notifications(applicant, 1, timeout=20)
    assert len(received) == 1 and case.number in received[0]
