"""The inbox workers (bot/dispatch.py) against a stand-in application: a failure that is not the user's
keeps the update and retries it, applied once; other failures and ignored updates finish it; an update
applied by a process that died before replying is handed over once more and changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot import dispatch
from bot.dispatch import Dispatcher, report_failure
from storage import inbox
from storage.db import create_schema, make_engine, session_scope
from storage.inbox import InboxUpdate

NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture()
def engine(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    return engine


def text(update_id: int, chat: int, body: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1_780_000_000, "text": body,
                                                "chat": {"id": chat, "type": "private"},
                                                "from": {"id": chat, "is_bot": False, "first_name": "x"}}}


class App:
    """Applies an update the way a handler does (claim_update in its transaction), and fails as told."""

    bot = None

    def __init__(self, engine, fail: dict[str, list[BaseException]] | None = None) -> None:
        self.engine = engine
        self.fail = fail or {}
        self.applied: list[str] = []
        self.duplicates: list[str] = []
        self.seen: list[str] = []

    async def process_update(self, update) -> None:
        body = update.message.text
        self.seen.append(body)
        try:
            with session_scope(self.engine) as s:
                if body.startswith("ignored"):
                    return  # no handler claims it
                if not inbox.claim_update(s, update.update_id):
                    self.duplicates.append(body)
                    return
                if self.fail.get(body):
                    raise self.fail[body].pop(0)
            self.applied.append(body)
        except Exception as exc:  # noqa: BLE001 - what PTB does: hand it to the error handler
            report_failure(exc)


@pytest.fixture(params=[False, True], ids=["claims in the database", "claims in memory"])
def local(request) -> bool:
    """Each outcome holds with both ways of claiming: in SQL (several processes on PostgreSQL) and in
    memory (the one process on SQLite, bot/lanes.py)."""
    return request.param


@asynccontextmanager
async def running(d: Dispatcher, timeout: float = 30):
    """The dispatcher's workers running for the block (which must end within `timeout`), then stopped."""
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    try:
        async with asyncio.timeout(timeout):
            yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def all_finished(engine) -> None:
    """Until every row of the inbox is marked done."""
    while True:
        with session_scope(engine) as s:
            if inbox.backlog(s) == 0:
                return
        await asyncio.sleep(0.02)


async def drain(engine, app, until, workers: int = 3, local: bool = False) -> None:
    if local:  # as a process starting on SQLite does (bot/services.Node.claim): earlier leases are dead
        with session_scope(engine) as s:
            inbox.release_all(s)
    d = Dispatcher(app, engine, owner=42, workers=workers, lease=dt.timedelta(seconds=30), idle=0.05,
                   local=local)
    async with running(d, timeout=60):
        while not until():
            await asyncio.sleep(0.02)
        await all_finished(engine)


def receive(engine, *payloads) -> None:
    with session_scope(engine) as s:
        inbox.receive(s, list(payloads), NOW)


async def test_a_database_failure_keeps_the_update_and_it_is_applied_once_when_it_returns(engine, monkeypatch,
                                                                                           local):
    monkeypatch.setattr(dispatch, "backoff", lambda attempt: dt.timedelta(milliseconds=50))
    locked = OperationalError("UPDATE draft …", {}, Exception("database is locked"))
    receive(engine, text(1, 7, "answer"), text(2, 7, "next answer"), text(3, 8, "other chat"))
    app = App(engine, fail={"answer": [locked, locked]})
    await drain(engine, app, lambda: len(app.applied) == 3, local=local)
    assert app.applied.count("answer") == 1 and app.duplicates == []
    assert app.seen.count("answer") == 3  # two failures, then applied
    # chat 7's next update waited for the failed one: order is kept
    assert [b for b in app.applied if b != "other chat"] == ["answer", "next answer"]


async def test_other_failures_and_ignored_updates_are_finished_not_retried(engine, local):
    receive(engine, text(1, 7, "boom"), text(2, 7, "ignored sticker"), text(3, 7, "fine"))
    app = App(engine, fail={"boom": [ValueError("a bug")]})
    await drain(engine, app, lambda: "fine" in app.applied, local=local)
    assert app.seen == ["boom", "ignored sticker", "fine"]  # each handed over once, in order
    with session_scope(engine) as s:
        assert {r.update_id: r.status for r in s.exec(select(InboxUpdate))} == {1: "done", 2: "done", 3: "done"}


async def test_an_update_applied_before_a_crash_is_handed_over_again_and_changes_nothing(engine, local):
    receive(engine, text(1, 7, "answer"), text(2, 7, "after"))
    with session_scope(engine) as s:  # a process applied update 1, then died before its reply
        inbox.claim_next(s, owner=13, lease=dt.timedelta(seconds=30))
        assert inbox.claim_update(s, 1)
    with session_scope(engine) as s:
        s.get(InboxUpdate, 1).lease_until = NOW  # its lease is over (on PostgreSQL: its process is gone)
    app = App(engine)
    await drain(engine, app, lambda: "after" in app.applied, local=local)
    assert app.duplicates == ["answer"]  # shown again (the handler renders the current screen), not re-applied
    assert app.applied == ["after"]
    with session_scope(engine) as s:
        assert dispatch.pending_rerenders(engine) == 0 and inbox.backlog(s) == 0


async def test_the_user_hears_once_that_an_answer_is_delayed_not_that_it_failed(tmp_path):
    from types import SimpleNamespace

    from telegram import Update

    from bot.app import TelegramBot
    from bot.config import Settings
    from bot.i18n import t
    from bot.runtime import build_runtime
    from storage.inbox import Handling, current_handling

    settings = Settings(database_url=f"sqlite:///{tmp_path}/bot.db", bot_token="1:x", _env_file=None)
    bot = TelegramBot(build_runtime(settings))
    sent: list[str] = []

    async def send_message(chat_id: int, text: str) -> None:
        sent.append(text)

    update = Update.de_json(text(1, 7, "answer"), None)
    context = SimpleNamespace(error=OperationalError("SELECT 1", {}, Exception("database is locked")),
                              bot=SimpleNamespace(send_message=send_message))
    for attempt in (1, 2, 3):
        token = current_handling.set(Handling(1, 1, attempt))
        try:
            await bot.on_error(update, context)
        finally:
            current_handling.reset(token)
    assert sent == [t("ops.retrying", "zh")]
    context.error = ValueError("a bug")
    await bot.on_error(update, context)
    assert sent[-1] == t("err.internal", "zh")


async def test_a_kick_for_one_new_row_wakes_one_idle_worker_not_all(engine, monkeypatch):
    """Waking every worker for one row had the others each run an empty claim transaction."""
    claims: list[int] = []
    real = Dispatcher._finish_and_claim

    def counted(self, finished):
        found = real(self, finished)
        claims.append(len(found))
        return found

    monkeypatch.setattr(Dispatcher, "_finish_and_claim", counted)
    app = App(engine)
    d = Dispatcher(app, engine, owner=42, workers=6, lease=dt.timedelta(seconds=30), idle=30.0)
    async with running(d):
        while len(d._waiting) < 6:  # every worker looked once, found nothing and waits
            await asyncio.sleep(0.01)
        before = len(claims)
        receive(engine, text(1, 7, "answer"))
        d.kick(1)
        while app.applied != ["answer"] or len(d._waiting) < 6:
            await asyncio.sleep(0.01)
    # the woken worker claimed the row, then looked once more (finishing it) and found nothing
    assert claims[before:] == [1, 0]


async def test_in_memory_claims_take_no_claim_transaction_and_mark_rows_done_together(engine, monkeypatch):
    """The capacity profile spent a third of its statements claiming and finishing rows one by one."""
    finishes: list[int] = []
    real = inbox.finish

    def counted(session, owner, ids):
        finishes.append(len(ids))
        return real(session, owner, ids)

    monkeypatch.setattr(inbox, "finish", counted)
    monkeypatch.setattr(inbox, "claim_next", lambda *a, **k: pytest.fail("claimed through the database"))
    monkeypatch.setattr(dispatch, "FINISH_EVERY", 0.3)
    app = App(engine)
    d = Dispatcher(app, engine, owner=42, workers=3, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    async with running(d):
        while not d.loaded:
            await asyncio.sleep(0.01)
        payloads = [text(i, 100 + i % 4, f"answer {i}") for i in range(1, 13)]
        with session_scope(engine) as s:  # stored after the start, as the poller does: offered, not read
            d.offer(inbox.receive_rows(s, payloads, NOW))
        while len(app.applied) < 12:
            await asyncio.sleep(0.01)
        await all_finished(engine)
    assert sorted(app.applied) == sorted(f"answer {i}" for i in range(1, 13))
    assert sum(finishes) == 12 and len(finishes) < 12  # in batches, not one transaction per row
    for chat in range(4):  # each chat in its order
        mine = [int(b.split()[1]) for b in app.applied if int(b.split()[1]) % 4 == chat]
        assert mine == sorted(mine)


async def test_a_quick_command_is_handled_while_every_worker_is_busy(engine):
    """/help of an idle user is not queued behind the chats being handled: a worker of its own takes it."""
    release = asyncio.Event()

    class Slow(App):
        async def process_update(self, update) -> None:
            if update.message.text.startswith("slow"):
                self.seen.append(update.message.text)
                await release.wait()
            await super().process_update(update)

    app = Slow(engine)
    d = Dispatcher(app, engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    async with running(d):
        try:
            with session_scope(engine) as s:
                d.offer(inbox.receive_rows(s, [text(1, 7, "slow 1"), text(2, 8, "slow 2"), text(3, 9, "slow 3")],
                                           NOW))
            while len(app.seen) < 2:  # both workers are held
                await asyncio.sleep(0.01)
            with session_scope(engine) as s:
                d.offer(inbox.receive_rows(s, [text(4, 10, "/help")], NOW, rank=lambda p: 1))
            while "/help" not in app.applied:
                await asyncio.sleep(0.01)
            assert app.applied == ["/help"]  # while "slow 1" and "slow 2" are still being handled
        finally:
            release.set()  # (before the workers are stopped: a held one would not stop)
        while len(app.applied) < 4:
            await asyncio.sleep(0.01)
    assert app.applied[0] == "/help" and sorted(app.applied[1:]) == ["slow 1", "slow 2", "slow 3"]


class Quick(App):
    """A quick command handled as bot/app.py does: taken early, /help is answered from a read (nothing
    claimed); anything that would write declines and is handled from the inbox."""

    def __init__(self, engine, writes: tuple[str, ...] = ()) -> None:
        super().__init__(engine)
        self.writes = writes
        self.early: list[str] = []

    async def process_update(self, update) -> None:
        handling = inbox.current_handling.get()
        body = update.message.text
        if handling is not None and handling.early:
            with session_scope(self.engine) as s:  # (bot/actions.py `look` reads the same)
                stored = inbox.is_stored(s, update.update_id)
            if body in self.writes or stored:
                handling.declined = True
                return
            self.early.append(body)
            return
        await super().process_update(update)


def quick_rank(payload: dict) -> int:
    return 1 if payload["message"]["text"].startswith("/") else 0


async def started(d: Dispatcher) -> None:
    while not d.loaded:
        await asyncio.sleep(0.01)


async def test_a_quick_command_is_answered_from_the_poll_before_its_batch_is_stored(engine):
    """Storing waits for SQLite's one write lock: /help of a free chat does not wait with it. Its row, once
    stored, is marked done and never handed to a handler again."""
    app = Quick(engine)
    d = Dispatcher(app, engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    batch = [text(1, 7, "answer 1"), text(2, 8, "/help")]
    async with running(d):
        await started(d)
        assert d.early(batch, quick_rank) == 1  # not "answer 1": only quick commands
        while app.early != ["/help"]:
            await asyncio.sleep(0.01)
        assert app.seen == [] and app.applied == []  # nothing stored yet, nothing else handled
        with session_scope(engine) as s:
            d.offer(inbox.receive_rows(s, batch, NOW, quick_rank))
        while app.applied != ["answer 1"]:
            await asyncio.sleep(0.01)
        await all_finished(engine)
    assert app.early == ["/help"] and app.seen == ["answer 1"] and d.early_handled == 1


async def test_a_quick_command_never_overtakes_its_own_chat(engine):
    """Taken early only when its chat has nothing before it: not behind an earlier update in its batch, not
    while its chat's row is being handled; and a chat's later update waits for the early one."""
    release = asyncio.Event()

    class Held(Quick):
        async def process_update(self, update) -> None:
            if update.message.text == "slow":
                self.seen.append("slow")
                await release.wait()
            elif update.message.text == "/help" and inbox.current_handling.get().early:
                self.early.append("/help")  # answered, its reply still on the way
                await release.wait()
                return
            await super().process_update(update)

    app = Held(engine)
    d = Dispatcher(app, engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    async with running(d):
        await started(d)
        try:
            assert d.early([text(1, 7, "answer 1"), text(2, 7, "/status")], quick_rank) == 0
            with session_scope(engine) as s:
                d.offer(inbox.receive_rows(s, [text(3, 9, "slow")], NOW, quick_rank))
            while app.seen != ["slow"]:
                await asyncio.sleep(0.01)
            assert d.early([text(4, 9, "/help")], quick_rank) == 0  # chat 9 is being handled
            assert d.early([text(5, 10, "/help")], quick_rank) == 1
            while not app.early:
                await asyncio.sleep(0.01)
            with session_scope(engine) as s:  # chat 10's next update, stored while its /help is in flight
                d.offer(inbox.receive_rows(s, [text(5, 10, "/help"), text(6, 10, "answer 6")], NOW, quick_rank))
            await asyncio.sleep(0.3)
            assert "answer 6" not in app.seen
        finally:
            release.set()
        while "answer 6" not in app.applied:
            await asyncio.sleep(0.01)
    assert "answer 6" in app.applied and "/help" not in app.seen  # the early /help was not handled again


async def test_a_quick_command_that_would_change_something_is_handled_once_from_the_inbox(engine):
    """A first contact writes (the user is recorded): declined early, handled from its stored row, once."""
    app = Quick(engine, writes=("/help",))
    d = Dispatcher(app, engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    batch = [text(1, 7, "/help")]
    async with running(d):
        await started(d)
        assert d.early(batch, quick_rank) == 1
        while 1 in {uid for uid, (outcome, _at) in d._early.items() if outcome is None}:
            await asyncio.sleep(0.01)
        with session_scope(engine) as s:
            d.offer(inbox.receive_rows(s, batch, NOW, quick_rank))
        while app.applied != ["/help"]:
            await asyncio.sleep(0.01)
        await all_finished(engine)
        d.early(batch, quick_rank)  # delivered again (a confirmation lost): the inbox holds it, declined
        while any(outcome is None for outcome, _at in d._early.values()):
            await asyncio.sleep(0.01)
        with session_scope(engine) as s:
            assert inbox.receive_rows(s, batch, NOW, quick_rank) == []  # and dropped as a duplicate
    assert app.early == [] and app.applied == ["/help"] and d.early_handled == 0


async def test_a_flood_of_quick_commands_is_taken_from_the_poll_only_a_few_at_a_time(engine):
    """Hundreds of /help from as many chats in one batch: a few are answered straight from the poll, the rest
    wait in the inbox for the quick worker (a task per update would grow without bound); each once."""
    app = Quick(engine)
    d = Dispatcher(app, engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05, local=True)
    batch = [text(i, 1000 + i, "/help") for i in range(1, 201)]
    async with running(d, timeout=60):
        await started(d)
        taken = d.early(batch, quick_rank)
        assert taken == dispatch.EARLY_AT_ONCE
        while len(app.early) < taken:  # (answered before the batch is stored, as when storing waits)
            await asyncio.sleep(0.01)
        with session_scope(engine) as s:
            d.offer(inbox.receive_rows(s, batch, NOW, quick_rank))
        while len(app.early) + len(app.applied) < 200:
            await asyncio.sleep(0.01)
        await all_finished(engine)
    assert len(app.early) == taken and len(app.applied) == 200 - taken and not app.duplicates
