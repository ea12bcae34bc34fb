"""The inbox (storage/inbox.py): duplicates only within the window, per-chat order, exactly-once claims,
and leases that several workers (and processes, on PostgreSQL) share without taking the same row."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import Session, select

from storage import inbox
from storage.db import create_schema, make_engine, session_scope
from storage.inbox import InboxUpdate
from storage.models import utcnow

LEASE = dt.timedelta(seconds=60)
DAY1 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture()
def engine(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    return engine


def message(update_id: int, chat: int, text: str = "hi") -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1, "text": text,
                                                "chat": {"id": chat, "type": "private"},
                                                "from": {"id": chat, "is_bot": False, "first_name": "x"}}}


def rows(engine) -> list[InboxUpdate]:
    with Session(engine) as s:
        return list(s.exec(select(InboxUpdate).order_by(InboxUpdate.id)))


def test_a_redelivered_update_is_stored_once(engine):
    with session_scope(engine) as s:
        assert inbox.receive(s, [message(1, 7), message(2, 7)], DAY1) == 2
    with session_scope(engine) as s:  # the batch again (offset not confirmed before a crash), plus one new
        assert inbox.receive(s, [message(1, 7), message(2, 7), message(3, 7)], DAY1) == 1
    assert [r.update_id for r in rows(engine)] == [1, 2, 3]


def test_an_old_id_after_the_window_is_a_new_update(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7, "first")], DAY1)
    [claimed] = claim(engine)
    with session_scope(engine) as s:
        assert inbox.claim_update(s, 1)
        inbox.finish(s, 99, [claimed.id])
    week_later = DAY1 + dt.timedelta(days=7)
    with session_scope(engine) as s:  # Telegram picked id 1 again after a quiet week
        assert inbox.receive(s, [message(1, 7, "a week later")], week_later) == 1
    [row] = rows(engine)
    assert row.status == "pending" and row.payload["message"]["text"] == "a week later"
    with session_scope(engine) as s:
        assert inbox.claim_update(s, 1)  # and it is applied


def test_a_reused_id_in_a_batch_keeps_the_batchs_order(engine):
    """A batch is inserted first and looked at only on a conflict; when an old row gives way, the batch is
    written again after it, so its rows stay in the order Telegram sent them (a chat's order is the ids')."""
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7, "first")], DAY1)
    [claimed] = claim(engine)
    with session_scope(engine) as s:
        inbox.finish(s, 99, [claimed.id])
    week_later = DAY1 + dt.timedelta(days=7)
    with session_scope(engine) as s:
        stored = inbox.receive_rows(s, [message(1, 7, "a week later"), message(2, 7, "and then")], week_later)
    assert [r.update_id for r in stored] == [1, 2] and stored[0].id < stored[1].id
    assert [r.payload["message"]["text"] for r in sorted(rows(engine), key=lambda r: r.id)] == \
        ["a week later", "and then"]
    with session_scope(engine) as s:  # and a redelivery of both, within the window, is dropped
        assert inbox.receive_rows(s, [message(1, 7, "a week later"), message(2, 7, "and then")], week_later) == []


def test_within_the_window_a_different_update_with_a_done_id_is_not_dropped(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(5, 7, "old")], DAY1)
        inbox.claim_update(s, 5)
    [claimed] = claim(engine)
    with session_scope(engine) as s:
        inbox.finish(s, 99, [claimed.id])
    with session_scope(engine) as s:  # a local Bot API server restarted and counts from low ids again
        assert inbox.receive(s, [message(5, 8, "new")], DAY1 + dt.timedelta(hours=1)) == 1
    assert [r.payload["message"]["text"] for r in rows(engine)] == ["new"]


def test_prune_keeps_the_window_and_open_rows(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7), message(2, 8)], DAY1)
    done = claim(engine, limit=2)
    with session_scope(engine) as s:
        inbox.finish(s, 99, [done[0].id])  # 1 done, 2 still open
        assert inbox.prune(s, DAY1 + dt.timedelta(hours=47)) == 0
        assert inbox.prune(s, DAY1 + dt.timedelta(hours=49)) == 1
    assert [r.update_id for r in rows(engine)] == [2]


def claim(engine, owner: int = 99, limit: int = 1) -> list[inbox.Claimed]:
    with session_scope(engine) as s:
        return inbox.claim_next(s, owner, LEASE, limit)


def test_one_chat_in_order_one_at_a_time_other_chats_alongside(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7), message(2, 7), message(3, 8), message(4, 7)], DAY1)
    first = claim(engine, limit=10)
    assert [c.update_id for c in first] == [1, 3]  # the head of each chat, nothing behind them
    assert claim(engine, owner=98) == []  # both heads are leased; chat 7's next waits for its head
    with session_scope(engine) as s:
        inbox.claim_update(s, 1)  # applied, reply on its way: still in progress
    assert claim(engine, owner=98) == []
    with session_scope(engine) as s:
        inbox.finish(s, 99, [first[0].id])
    assert [c.update_id for c in claim(engine, owner=98)] == [2]


def test_claim_update_applies_once_even_when_handled_twice(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7)], DAY1)
    with session_scope(engine) as s:
        assert inbox.claim_update(s, 1) is True
    with session_scope(engine) as s:  # e.g. a lease ran out while the first handler was still working
        assert inbox.claim_update(s, 1) is False
    try:  # a handling that rolled back leaves the update pending, to be applied by the retry
        with session_scope(engine) as s:
            inbox.receive(s, [message(2, 7)], DAY1)
        with session_scope(engine) as s:
            assert inbox.claim_update(s, 2)
            raise RuntimeError("the answer failed")
    except RuntimeError:
        pass
    with session_scope(engine) as s:
        assert inbox.state_of(s, 2) == "pending"
        assert inbox.claim_update(s, 2) is True


def test_an_update_from_outside_the_inbox_is_claimed_once(engine):
    with session_scope(engine) as s:
        assert inbox.claim_update(s, 777)
    with session_scope(engine) as s:
        assert not inbox.claim_update(s, 777)
        assert inbox.claim_update(s, None)  # no update at all (the console): nothing to deduplicate


def test_a_failure_not_the_users_keeps_the_row_and_holds_its_chat(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7), message(2, 7)], DAY1)
    [head] = claim(engine)
    with session_scope(engine) as s:
        inbox.retry_later(s, 99, head.id, dt.timedelta(minutes=5), "OperationalError: database is locked")
    assert claim(engine) == []  # backing off, and update 2 waits behind it
    with session_scope(engine) as s:
        s.get(InboxUpdate, head.id).not_before = utcnow() - dt.timedelta(seconds=1)
    [again] = claim(engine)
    assert again.update_id == 1 and again.attempts == 2


def test_a_dead_workers_lease_is_taken_over(engine):
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7)], DAY1)
    assert claim(engine, owner=1)
    assert claim(engine, owner=2) == []
    with session_scope(engine) as s:  # owner 1 is no longer among the live processes
        assert [c.update_id for c in inbox.claim_next(s, 2, LEASE, 1, live_owners={2})] == [1]


def test_a_live_process_missing_from_a_stale_list_keeps_its_lease(engine):
    """The list of live processes is read every few seconds: one that started since is missing from it, and
    taking its lease over would handle its update twice (its screen shown again, out of order). On PostgreSQL
    the claim also asks whether the owner's presence lock is held at that moment."""
    from storage.locks import PgLocks

    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7)], DAY1)
    if engine.dialect.name != "postgresql":  # one process (a file lock): no list, a lease runs its time
        assert claim(engine, owner=1)
        with session_scope(engine) as s:
            assert inbox.claim_next(s, 2, LEASE, 1, live_owners=None) == []
        return
    newcomer = PgLocks(engine)
    owner = newcomer.join()
    try:
        assert claim(engine, owner=owner)
        with session_scope(engine) as s:  # the stale list does not name the newcomer: its lease stays
            assert inbox.claim_next(s, 2, LEASE, 1, live_owners={2}) == []
    finally:
        newcomer.close()
    with session_scope(engine) as s:  # its process gone (the presence lock with it): taken over at once
        assert [c.update_id for c in inbox.claim_next(s, 2, LEASE, 1, live_owners={2})] == [1]


def test_concurrent_workers_never_share_a_row_or_a_chat(engine):
    chats = 12
    with session_scope(engine) as s:
        inbox.receive(s, [message(i, 1000 + i % chats) for i in range(1, 121)], DAY1)
    order: list[int] = []
    active: set[int] = set()
    errors: list[str] = []
    lock = threading.Lock()

    def work(owner: int) -> None:
        while True:
            try:
                with session_scope(engine) as s:
                    got = inbox.claim_next(s, owner, LEASE, 1)
            except Exception as exc:  # noqa: BLE001 - SQLite's busy lock under contention is retried
                if "locked" in str(exc):
                    continue
                errors.append(repr(exc))
                return
            if not got:
                with session_scope(engine) as s:
                    if inbox.backlog(s) == 0:
                        return
                continue
            [row] = got
            chat = 1000 + row.update_id % chats
            with lock:
                if chat in active:
                    errors.append(f"chat {chat} handled twice at once")
                active.add(chat)
                order.append(row.update_id)
            with session_scope(engine) as s:
                assert inbox.claim_update(s, row.update_id)
            with lock:
                active.discard(chat)
            with session_scope(engine) as s:
                inbox.finish(s, owner, [row.id])

    threads = [threading.Thread(target=work, args=(w,)) for w in range(1, 5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert sorted(order) == list(range(1, 121))  # each once
    for c in range(chats):  # and each chat in its own order
        mine = [u for u in order if u % chats == c]
        assert mine == sorted(mine)


def test_the_sqlite_writer_lock_is_held_until_the_commit_has_run(database_url):
    """Given up in SQLAlchemy's "commit" event (which fires before the COMMIT), the next thread's BEGIN
    IMMEDIATE met a transaction still open and slept in SQLite's busy handler."""
    from sqlalchemy import event

    from storage.db import sqlite_writer

    engine = make_engine(database_url)
    create_schema(engine)
    writer = sqlite_writer(engine)
    if engine.dialect.name != "sqlite":
        assert writer is None
        return
    assert writer is not None
    held_at_commit: list[bool] = []
    event.listen(engine, "commit", lambda conn: held_at_commit.append(writer.locked()))
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7)], DAY1)
        assert writer.locked()
    assert held_at_commit == [True] and not writer.locked()
    with pytest.raises(RuntimeError), session_scope(engine) as s:  # a rollback gives it up too
        inbox.receive(s, [message(2, 7)], DAY1)
        raise RuntimeError("rolled back")
    assert not writer.locked()


def test_a_quick_row_of_another_chat_is_claimed_first_but_never_ahead_of_its_own_chat(engine):
    """/help of an idle user is answered before twenty others' long updates; within a chat, order holds."""
    quick = {3, 5}
    with session_scope(engine) as s:
        inbox.receive(s, [message(1, 7), message(2, 8), message(3, 9), message(4, 10), message(5, 10)], DAY1,
                      rank=lambda p: 1 if p["update_id"] in quick else 0)
    order = []
    for _ in range(5):
        with session_scope(engine) as s:
            got = inbox.claim_next(s, 1, LEASE, 1)
            order.append(got[0].update_id)
            inbox.finish(s, 1, [got[0].id])
    # 3 jumps the queue; 5 is quick too but waits behind 4, the earlier row of its own chat
    assert order == [3, 1, 2, 4, 5]


def test_the_inbox_write_goes_before_the_handlers_waiting_for_sqlites_write_lock():
    """storage/db.WriterLock: the poller's write (on which every reply waits) queued behind the handlers'
    transactions under a plain lock, which wakes its waiters in no set order."""
    import threading
    import time

    from storage.db import WriterLock

    lock = WriterLock()
    lock.acquire()
    order: list[str] = []

    def wait(name: str, urgent: bool) -> None:
        assert lock.acquire(timeout=30, urgent=urgent)
        order.append(name)
        lock.release()

    def waiters() -> int:  # (CPython's Condition keeps its waiters in `_waiters`)
        return len(lock._urgent_turn._waiters) + len(lock._normal_turn._waiters)  # type: ignore[attr-defined]

    threads = []
    for name, urgent in (("handler 1", False), ("handler 2", False), ("inbox", True)):
        th = threading.Thread(target=wait, args=(name, urgent))
        th.start()
        threads.append(th)
        while waiters() < len(threads):  # each is waiting before the next comes
            time.sleep(0.001)
    lock.release()
    for th in threads:
        th.join(30)
    assert order[0] == "inbox" and sorted(order[1:]) == ["handler 1", "handler 2"]
    assert not lock.locked() and lock.acquire(timeout=0)  # free again once they are through


def test_the_writer_lock_lets_one_thread_in_at_a_time_and_loses_no_wake_up():
    """A release wakes one waiter, not all: with urgent and ordinary threads contending, each gets its
    turn (none is left sleeping while the lock is free) and no two hold it at once."""
    import threading

    from storage.db import WriterLock

    lock = WriterLock()
    inside, most, turns = [0], [0], []

    def work(name: str, urgent: bool) -> None:
        for _ in range(200):
            assert lock.acquire(timeout=30, urgent=urgent)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            inside[0] -= 1
            turns.append(name)
            lock.release()

    threads = [threading.Thread(target=work, args=(f"t{i}", i % 3 == 0)) for i in range(9)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    assert most[0] == 1 and len(turns) == 9 * 200 and not lock.locked()


def test_the_pollers_inbox_write_asks_for_the_writer_lock_as_urgent(tmp_path, monkeypatch):
    """bot/services.Node._receive (the poller's and the webhook's write) is the urgent writer the lock
    serves first; the handlers' transactions are not."""
    from bot.config import Settings
    from bot.services import Node
    from storage.db import WriterLock

    asked: list[bool] = []
    real = WriterLock.acquire

    def acquire(self, timeout=-1, urgent=False):
        asked.append(urgent)
        return real(self, timeout, urgent)

    engine = make_engine(f"sqlite:///{tmp_path}/bot.db")
    create_schema(engine)
    monkeypatch.setattr(WriterLock, "acquire", acquire)
    node = Node(engine, Settings(database_url=f"sqlite:///{tmp_path}/bot.db", bot_token="1:x", _env_file=None))
    try:
        assert [r.update_id for r in node._receive([message(1, 7)])] == [1]
        with session_scope(engine) as s:
            inbox.claim_update(s, 1)
    finally:
        node.release()
    assert asked == [True, False]
