"""bot/polling.py confirms an update to Telegram only after it was handled, so a crash while handling
loses nothing: the update is delivered again (and the processed-updates table applies it once)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.polling import poll


class Crash(BaseException):
    """Stands for the process dying in the middle of handling an update."""


class FakeBot:
    def __init__(self, batches: list[list[SimpleNamespace]]) -> None:
        self.batches = batches
        self.offsets: list[int | None] = []

    async def get_updates(self, offset: int | None = None, timeout: int = 0, **_kw: object) -> list:
        self.offsets.append(offset)
        if self.batches:
            return self.batches.pop(0)
        if timeout:  # a long poll with nothing to deliver waits; timeout=0 answers at once
            await asyncio.sleep(3600)
        return []


class FakeApp:
    def __init__(self, bot: FakeBot, crash_on: int | None = None) -> None:
        self.bot = bot
        self.crash_on = crash_on
        self.handled: list[int] = []

    async def process_update(self, update: SimpleNamespace) -> None:
        if update.update_id == self.crash_on:
            raise Crash()
        self.handled.append(update.update_id)


def updates(*ids: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(update_id=i) for i in ids]


async def test_a_batch_is_confirmed_only_after_every_update_in_it_was_handled():
    bot = FakeBot([updates(10, 11, 12)])
    app = FakeApp(bot, crash_on=12)
    with pytest.raises(Crash):
        await poll(app, 1, asyncio.Event())  # type: ignore[arg-type]
    assert app.handled == [10, 11]
    # the only request so far asked for everything from the start: 12 (and 10, 11) are still unconfirmed
    assert bot.offsets == [None]


async def test_handled_batches_are_confirmed_by_the_next_request_and_on_stop():
    bot = FakeBot([updates(1, 2), updates(3)])
    app = FakeApp(bot)
    stop = asyncio.Event()
    task = asyncio.create_task(poll(app, 1, stop))  # type: ignore[arg-type]
    while len(bot.offsets) < 3:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert app.handled == [1, 2, 3]
    assert bot.offsets[:3] == [None, 3, 4] and bot.offsets[-1] == 4
