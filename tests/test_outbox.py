"""The outbox worker against a fake bot: retries, RetryAfter, blocked users, nothing lost on a crash."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.outbox import OutboxWorker, backoff
from storage import caserepo as cr
from storage.casework import Outbox
from storage.db import create_schema, make_engine, session_scope
from storage.models import User, utcnow


class FakeBot:
    """Answers with the queued failures first, then succeeds; records what was confirmed."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str) -> SimpleNamespace:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))


@pytest.fixture()
def engine(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    return engine


def queue(engine, chat_id: int = 7, text: str = "您的申请已受理", key: str = "k1") -> None:
    with session_scope(engine) as s:
        s.add(User(id=chat_id, first_name="x"))
        cr.enqueue(s, chat_id, "note.accepted", {}, text, key)


def row(engine) -> Outbox:
    with Session(engine) as s:
        return s.exec(select(Outbox)).one()


def make_due(engine) -> None:
    with session_scope(engine) as s:
        for r in s.exec(select(Outbox)):
            r.next_attempt_at = utcnow() - dt.timedelta(seconds=1)


async def test_a_failed_send_is_retried_and_delivered_once_telegram_recovers(engine):
    queue(engine)
    bot = FakeBot([NetworkError("Internal Server Error (500)")])
    worker = OutboxWorker(engine)
    assert await worker.deliver_due(bot) == 0
    failed = row(engine)
    assert failed.status == "pending" and failed.attempts == 1 and "500" in failed.last_error
    assert cr.aware(failed.next_attempt_at) > utcnow()  # backs off, not hammering
    assert await worker.deliver_due(bot) == 0  # not due yet
    make_due(engine)
    assert await worker.deliver_due(bot) == 1
    done = row(engine)
    assert done.status == "delivered" and done.delivered_at is not None and done.message_id == 1
    assert bot.sent == [(7, "您的申请已受理")]
    assert await worker.deliver_due(bot) == 0 and len(bot.sent) == 1  # never sent twice


async def test_retry_after_is_honoured(engine):
    queue(engine)
    bot = FakeBot([RetryAfter(30)])
    await OutboxWorker(engine).deliver_due(bot)
    r = row(engine)
    wait = (cr.aware(r.next_attempt_at) - utcnow()).total_seconds()
    assert 25 < wait <= 31 and r.status == "pending"


async def test_a_user_who_blocked_the_bot_is_marked_and_not_retried(engine):
    queue(engine)
    await OutboxWorker(engine).deliver_due(FakeBot([Forbidden("Forbidden: bot was blocked by the user")]))
    assert row(engine).status == "blocked"
    with Session(engine) as s:
        assert s.get(User, 7).blocked_bot is True
    make_due(engine)
    assert await OutboxWorker(engine).deliver_due(FakeBot()) == 0


async def test_bad_requests_give_up_after_a_few_attempts(engine):
    queue(engine)
    bot = FakeBot([BadRequest("Chat not found")] * 5)
    worker = OutboxWorker(engine)
    for _ in range(5):
        make_due(engine)
        await worker.deliver_due(bot)
    assert row(engine).status == "failed"


async def test_nothing_is_lost_when_the_process_dies_between_the_change_and_the_send(engine):
    """The row is committed with the state change; a fresh worker (after a restart) delivers it."""
    queue(engine)
    first = OutboxWorker(engine)
    del first  # killed before any pass ran
    bot = FakeBot()
    assert await OutboxWorker(engine).deliver_due(bot) == 1
    assert bot.sent and row(engine).status == "delivered"


def test_the_same_notification_is_queued_once(engine):
    queue(engine)
    with session_scope(engine) as s:
        assert cr.enqueue(s, 7, "note.accepted", {}, "again", "k1") is None
    with Session(engine) as s:
        assert len(s.exec(select(Outbox)).all()) == 1


def test_backoff_grows_and_is_capped():
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(50) == dt.timedelta(minutes=10)


async def test_the_officer_is_told_when_the_applicant_blocked_the_bot(engine):
    from storage.casework import Membership
    from storage.models import Case

    with session_scope(engine) as s:
        s.add(User(id=7, first_name="申请人"))
        s.add(User(id=8, first_name="经办", language="en"))
        s.add(Membership(user_id=8, role="officer", policy_key="dongguan"))
        case = Case(number="DG-2026-0042", draft_id=1, applicant_id=7, policy_key="dongguan", policy_version=1,
                    answers={"project": {}})
        s.add(case)
        s.flush()
        cr.enqueue(s, 7, "note.accepted", {}, "您的申请已受理", "k-accepted", case.id)
    await OutboxWorker(engine).deliver_due(FakeBot([Forbidden("Forbidden: bot was blocked by the user")]))
    with Session(engine) as s:
        rows = {r.chat_id: r for r in s.exec(select(Outbox))}
    assert rows[7].status == "blocked"
    assert rows[8].status == "pending" and "DG-2026-0042" in rows[8].text and "blocked this bot" in rows[8].text
    assert "您的申请已受理" in rows[8].text


async def test_two_senders_never_send_the_same_message(engine):
    import asyncio

    with session_scope(engine) as s:
        for i in range(30):
            s.add(User(id=100 + i, first_name="x"))
        s.flush()
        for i in range(30):
            cr.enqueue(s, 100 + i, "note.accepted", {}, f"消息 {i}", f"k{i}")
    bots = [FakeBot(), FakeBot()]
    workers = [OutboxWorker(engine, batch=5, owner=1, messages_per_second=1000),
               OutboxWorker(engine, batch=5, owner=2, messages_per_second=1000)]
    for _ in range(10):
        await asyncio.gather(*(w.deliver_due(b) for w, b in zip(workers, bots, strict=True)))
    sent = bots[0].sent + bots[1].sent
    assert sorted(chat for chat, _text in sent) == list(range(100, 130))  # each once, none twice
    assert bots[0].sent and bots[1].sent  # both took a share


async def test_a_claim_held_by_a_dead_sender_is_taken_over(engine):
    queue(engine)
    with session_scope(engine) as s:
        [claimed] = cr.claim_messages(s, owner=1, lease=dt.timedelta(minutes=5))
    alive = OutboxWorker(engine, owner=2, live_owners=lambda: {1, 2})
    assert await alive.deliver_due(FakeBot()) == 0  # sender 1 is alive and holds it
    bot = FakeBot()
    after_crash = OutboxWorker(engine, owner=2, live_owners=lambda: {2})
    assert await after_crash.deliver_due(bot) == 1  # sender 1's process is gone: its claim with it
    assert bot.sent == [(7, "您的申请已受理")] and row(engine).status == "delivered"


async def test_a_sender_asked_to_stop_records_the_message_in_flight_and_sends_no_more(engine):
    """A graceful stop (a deploy, the scheduler moving to another process) never leaves a message that
    Telegram took unrecorded: the next sender would send it again."""
    queue(engine, 7, "第一条", "k1")
    queue(engine, 8, "第二条", "k2")
    worker = OutboxWorker(engine, messages_per_second=1000)
    in_flight, release = asyncio.Event(), asyncio.Event()

    class SlowBot(FakeBot):
        async def send_message(self, chat_id: int, text: str) -> SimpleNamespace:
            in_flight.set()
            await release.wait()  # Telegram has the message; its answer is on the way
            return await super().send_message(chat_id, text)

    bot = SlowBot()
    task = asyncio.create_task(worker.run(bot))
    await asyncio.wait_for(in_flight.wait(), 10)
    worker.stop_soon()
    release.set()
    await asyncio.wait_for(task, 10)
    assert bot.sent == [(7, "第一条")]
    with Session(engine) as s:
        rows = {r.text: r for r in s.exec(select(Outbox))}
    assert rows["第一条"].status == "delivered" and rows["第一条"].attempts == 1
    assert rows["第二条"].status == "pending" and rows["第二条"].lease_owner is None  # left for the next sender
