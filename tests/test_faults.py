"""Faults on the way to and from Telegram, against the real bot process and the local Bot API server:
kill -9 at random points of dialogs, a Bot API that answers 429/403/500 or drops connections, and the
same update delivered twice."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from dialogs.policy import load_policies
from storage.db import make_engine
from storage.models import Case, Draft, User
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher, wait_inbox_done
from tests.scenario import FACTS, Step, happy_path, identity_steps

POLICIES = load_policies()
START = (dt.date.today() - dt.timedelta(days=3)).isoformat()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[BotApiServer, BotProcess, str]]:
    workdir = tmp_path_factory.mktemp("faults")
    with BotApiServer() as server, fresh_database(workdir) as url:
        bot = BotProcess(server, url, workdir).start()
        try:
            yield server, bot, url
        finally:
            bot.stop()


_ids = iter(range(300_000, 400_000))


def draft_of(url: str, user_id: int) -> dict[str, Any] | None:
    with Session(make_engine(url)) as s:
        d = s.exec(select(Draft).where(Draft.user_id == user_id, Draft.status != "deleted")
                   .order_by(Draft.id.desc())).first()  # type: ignore[union-attr]
        return None if d is None else {"id": d.id, "state": d.state, "answers": d.answers, "revision": d.revision,
                                       "status": d.status}


def send_only(r: Researcher, step: Step) -> None:
    """Act without waiting for the answer: the kill may come while the bot works on it."""
    if step.kind == "press":
        r.user.press_data(r.button_data(step.value), r.screen()["message_id"])
    elif step.kind == "text":
        r.user.send_text(step.value)
    else:
        r.user.send_document(step.value, b"%PDF-1.4\n" + b"0" * step.size, mime_type="application/pdf")


def resume(r: Researcher, draft_id: int, via_latest: bool, revision: int) -> None:
    """Back to the draft: the latest screen when its buttons are current, else /drafts → resume."""
    if via_latest:
        latest = r.user.messages()[-1] if r.user.messages() else {}
        rows = latest.get("reply_markup", {}).get("inline_keyboard") or [[{}]]
        if rows[0][0].get("callback_data", "").startswith(f"w:{draft_id}:{revision}:"):
            return
        # killed after the old keyboard was stripped and before the new screen went out: /drafts it is
    listing = r.command("/drafts")
    assert f"#{draft_id}" in listing["text"] or str(draft_id) in listing["text"]
    r.press(f"dr:r:{draft_id}")


@pytest.mark.slow
def test_kill_9_at_random_points_loses_no_saved_answer(world):
    server, bot, url = world
    rng = random.Random(20260214)
    for trial in range(20):
        policy = POLICIES[rng.choice(sorted(POLICIES))]
        steps = happy_path(policy, start_date=START)
        r = Researcher(server, next(_ids))
        r.command("/new")
        k = rng.randrange(1, len(steps) - 1)
        inflight = rng.random() < 0.6
        r.run(steps[:k])
        before = draft_of(url, r.user.id)
        assert before is not None
        if inflight:  # the next update is on its way or being processed when the process dies
            send_only(r, steps[k])
            time.sleep(rng.uniform(0.0, 0.08))
        bot.kill()
        at_kill = draft_of(url, r.user.id)
        assert at_kill is not None
        assert at_kill["revision"] in (before["revision"], before["revision"] + (1 if inflight else 0)), trial
        if at_kill["revision"] == before["revision"]:
            assert at_kill == before, f"trial {trial}: a half-applied action survived the crash"
        bot.start()
        server.wait_idle(timeout=20)
        wait_inbox_done(url)  # the update in flight, and the screen of one applied before the kill, come first
        after = draft_of(url, r.user.id)
        assert after is not None
        # nothing saved is lost; the update in flight is applied exactly once (bot/polling.py confirms an
        # update only after handling it, so one killed mid-way is delivered again and applied once)
        assert after["revision"] - before["revision"] == (1 if inflight else 0), trial
        for key, value in before["answers"].items():
            assert key in after["answers"], f"trial {trial}: answer {key!r} lost"
            if not inflight:
                assert after["answers"][key] == value, f"trial {trial}: answer {key!r} changed"
        if not inflight:
            assert after == at_kill == before
        applied = after["revision"] == before["revision"] + 1
        resume(r, after["id"], via_latest=rng.random() < 0.5, revision=after["revision"])
        step_line = next(line for line in r.screen()["text"].split("\n") if line.startswith("步骤"))
        assert step_line.split(" · ")[1] in r.screen()["text"]
        final = r.run(steps[k + 1 if applied else k:])
        assert f"{policy.case_prefix}-" in final["text"], trial
        with Session(make_engine(url)) as s:
            [case] = s.exec(select(Case).where(Case.applicant_id == r.user.id)).all()
            assert case.answers["facts"] == FACTS and case.policy_key == policy.key


class PatientResearcher(Researcher):
    """Looks at the newest screen of the draft, not the newest message: a retried send whose first try
    did arrive (connection dropped after delivery) leaves a late duplicate of an older screen below."""

    def screen(self) -> dict[str, Any]:
        def revision(message: dict[str, Any]) -> int:
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    parts = button.get("callback_data", "").split(":")
                    if parts[0] == "w" and len(parts) > 2 and parts[2].isdigit():
                        return int(parts[2])
            return -1

        screens = [m for m in self.user.messages() if m.get("reply_markup", {}).get("inline_keyboard")]
        if not screens:
            return super().screen()
        best = max(revision(m) for m in screens)
        return [m for m in screens if revision(m) == best][-1]


def walk(r: Researcher, steps: list[Step], errors: list[BaseException]) -> None:
    try:
        r.command("/new")
        r.run(steps)
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


def keep_walking(server: BotApiServer, key: str, steps: list[Step], errors: list[BaseException],
                 until: threading.Event, done_by: list[tuple[Researcher, str]]) -> None:
    """Applications one after another, each by a new researcher, until `until` is set: the traffic the
    injected faults land on never runs out, however fast or slow the machine and the database are."""
    while not errors:
        r = PatientResearcher(server, next(_ids))
        walk(r, steps, errors)
        if not errors:
            done_by.append((r, key))
        if until.is_set():
            return


@pytest.mark.slow
def test_api_faults_are_honoured_retried_or_recorded_and_others_are_served(world):
    server, bot, url = world
    blocked = PatientResearcher(server, next(_ids))
    blocked.command("/new")
    blocked.press("p:dongguan")
    blocked.press("k:person")
    blocked.run(identity_steps() + [Step("press", "next")])
    server.block_user(blocked.user.id)
    blocked.user.send_text("测试-屏蔽")  # typed just before blocking the bot: the answer's screen gets 403
    errors: list[BaseException] = []
    done = threading.Event()
    done_by: list[tuple[Researcher, str]] = []
    threads = [threading.Thread(target=keep_walking, args=(server, "yunnan", happy_path(POLICIES["yunnan"],
                                                                                           start_date=START),
                                                           errors, done, done_by)),
               threading.Thread(target=keep_walking, args=(server, "liaoning", happy_path(POLICIES["liaoning"],
                                                                                             role="leader"),
                                                           errors, done, done_by))]
    for th in threads:
        th.start()
    # the dialog's traffic is editMessageText (buttons and typed answers both update the screen in place);
    # sendMessage failures are the outbox's and are tested in tests/test_outbox.py and test_officer_e2e.py
    faults = [lambda: server.fail_next("editMessageText", 429, retry_after=1),
              lambda: server.fail_next("answerCallbackQuery", 429, retry_after=1),
              lambda: server.fail_next("editMessageText", 500),
              lambda: server.fail_next("editMessageText", 500, times=2),
              lambda: server.fail_next("editMessageText", 502),
              lambda: server.drop_next("editMessageText"),
              lambda: server.drop_next("answerCallbackQuery"),
              lambda: server.drop_next("editMessageText", after_processing=True),
              lambda: server.drop_next("answerCallbackQuery", after_processing=True)]
    def recovered(seen: int) -> bool:
        """The injected fault was met and the same method has since succeeded: the trouble has passed."""
        calls = server.calls()[seen:]
        failed = next((i for i, c in enumerate(calls) if c.status not in (None, 200)), None)
        return failed is not None and any(c.method == calls[failed].method and c.status == 200
                                          for c in calls[failed + 1:])

    for inject in faults * 2:  # one fault at a time, each over before the next: transient trouble
        seen = len(server.calls())
        inject()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(t.is_alive() for t in threads) and not recovered(seen):
            time.sleep(0.05)
    done.set()
    for th in threads:
        th.join(240)
    assert not errors, errors
    server.clear_faults()
    assert {key for _r, key in done_by} == {"yunnan", "liaoning"}
    for r, key in done_by:
        with Session(make_engine(url)) as s:
            [case] = s.exec(select(Case).where(Case.applicant_id == r.user.id)).all()
            assert case.policy_key == key
    failed = [c for c in server.calls() if c.status not in (None, 200) and c.method != "getUpdates"]
    assert any(c.status == 429 for c in failed) and any(c.status == 500 for c in failed)
    assert any(c.status == 0 for c in failed), "connections were dropped"
    with Session(make_engine(url)) as s:
        assert s.get(User, blocked.user.id).blocked_bot  # 403 recorded
        draft = s.exec(select(Draft).where(Draft.user_id == blocked.user.id)).one()
        assert draft.answers["project"]["name"] == "测试-屏蔽"  # the answer was saved before the 403
    # the blocked user comes back: served again, no longer marked
    server.unblock_user(blocked.user.id)
    blocked.command("/drafts")
    with Session(make_engine(url)) as s:
        assert not s.get(User, blocked.user.id).blocked_bot
    assert "update failed" not in bot.log(), "every fault was retried away or recorded"


def test_the_same_update_delivered_twice_is_applied_once(world):
    server, bot, url = world
    r = Researcher(server, next(_ids))
    r.command("/new")
    r.press("p:zhejiang")
    r.press("k:person")
    r.run(identity_steps() + [Step("press", "next")])
    before = draft_of(url, r.user.id)

    def screens() -> list[str]:
        """Screens shown to this user: a typed answer edits the draft's screen in place."""
        return [c.params.get("text", "") for c in server.calls() if c.method in ("sendMessage", "editMessageText")
                and str(c.params.get("chat_id")) == str(r.user.id)]

    # the last reply is confirmed in the inbox before the kill: a row left applied would (rightly) be shown
    # once more after the restart, which is the crash path of tests/test_dispatch.py, not this one
    wait_inbox_done(url)
    sent = len(screens())
    bot.kill()  # so that both deliveries wait for the bot and reach it in one batch
    update_id = r.user.send_text("测试-重复投递")  # the project name, typed once ...
    [update] = [u for u in server.pending_updates() if u["update_id"] == update_id]
    server.push_update(update)  # ... and delivered again with the same update_id
    bot.start()
    server.wait_idle(timeout=20)
    # Telegram is told an update arrived once it is in the inbox, before it is handled: wait for the inbox
    wait_inbox_done(url)
    after = draft_of(url, r.user.id)
    assert after["revision"] == before["revision"] + 1
    assert after["answers"]["project"]["name"] == "测试-重复投递"
    # the inbox keeps one copy: one answer, one screen (the next question), no second reply
    assert len(screens()) - sent == 1 and "项目编号" in screens()[-1], screens()[sent:]
    server.push_update(update)  # a later redelivery of an update already answered changes nothing
    server.wait_idle(timeout=10)
    wait_inbox_done(url)
    assert draft_of(url, r.user.id)["revision"] == after["revision"] and len(screens()) - sent == 1
