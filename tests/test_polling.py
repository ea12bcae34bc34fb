"""bot/polling.py confirms a batch to Telegram only once it is committed to the inbox: a crash or a
database outage before that means the batch is fetched again (and the inbox drops what it already has).
409 Conflict and 5xx answers are retried, not fatal."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import Conflict, InvalidToken, NetworkError

from bot.polling import poll


class Upd:
    def __init__(self, update_id: int) -> None:
        self.update_id = update_id

    def to_dict(self) -> dict:
        return {"update_id": self.update_id, "message": {"chat": {"id": 7}}}


class FakeBot:
    """Answers getUpdates like Telegram: everything from `offset` on, until confirmed; or a queued error."""

    def __init__(self, ids: list[int], errors: list[Exception] | None = None) -> None:
        self.pending = list(ids)
        self.errors = list(errors or [])
        self.offsets: list[int | None] = []

    async def get_updates(self, offset: int | None = None, timeout: int = 0, **_kw: object) -> list:
        self.offsets.append(offset)
        if offset is not None:
            self.pending = [i for i in self.pending if i >= offset]
        if self.errors:
            raise self.errors.pop(0)
        if self.pending:
            return [Upd(i) for i in self.pending]
        if timeout:
            await asyncio.sleep(3600)
        return []


class Store:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.stored: list[int] = []

    async def __call__(self, batch: list[dict]) -> int:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database unreachable")
        new = [u["update_id"] for u in batch if u["update_id"] not in self.stored]
        self.stored += new
        return len(new)


async def run_until(bot: FakeBot, store: Store, done, timeout: float = 30) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(poll(bot, store, 1, stop))
    try:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.01)
                if task.done():
                    task.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_batch_is_confirmed_only_after_it_is_stored():
    bot, store = FakeBot([10, 11, 12]), Store()
    await run_until(bot, store, lambda: len(bot.offsets) >= 2)
    assert store.stored == [10, 11, 12]
    assert bot.offsets[:2] == [None, 13]  # the second request confirms what the first returned


async def test_a_database_outage_leaves_the_batch_unconfirmed_and_it_is_fetched_again(monkeypatch):
    monkeypatch.setattr("bot.polling.MAX_BACKOFF", 0.05)
    bot, store = FakeBot([1, 2]), Store(fail=2)
    await run_until(bot, store, lambda: store.stored == [1, 2] and len(bot.offsets) >= 4)
    assert bot.offsets[:3] == [None, None, None]  # nothing confirmed while the store failed
    assert bot.offsets[3] == 3


async def test_conflict_and_server_errors_are_retried_not_fatal(monkeypatch):
    monkeypatch.setattr("bot.polling.MAX_BACKOFF", 0.05)
    bot = FakeBot([5], errors=[Conflict("terminated by other getUpdates request"),
                               NetworkError("Bad Gateway"), NetworkError("Internal Server Error")])
    store = Store()
    await run_until(bot, store, lambda: store.stored == [5])
    assert len(bot.offsets) >= 4


async def test_an_invalid_token_ends_polling():
    bot = FakeBot([], errors=[InvalidToken("Unauthorized")])
    with pytest.raises(InvalidToken):
        await poll(bot, Store(), 1, asyncio.Event())


async def test_stopping_confirms_what_was_stored():
    bot, store = FakeBot([1, 2, 3]), Store()
    stop = asyncio.Event()
    task = asyncio.create_task(poll(bot, store, 1, stop))
    while not store.stored:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert bot.offsets[-1] == 4
