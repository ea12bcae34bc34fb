"""The flow process (bot/flowprocess.py) beside the bot: it does the handlers' work, it dies with the bot, a
flow process that dies alone is replaced and the update it was working on is handled once; and the writer
order between the processes that write one SQLite file (storage/db.FileWriterLock)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialogs.policy import load_policies
from storage.db import FileWriterLock
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher, wait_inbox_done
from tests.scenario import happy_path
from tests.test_faults import draft_of, send_only

POLICIES = load_policies()
START = (dt.date.today() - dt.timedelta(days=3)).isoformat()


def flow_children(pid: int) -> list[int]:
    """The flow processes of a bot: its children started by multiprocessing's spawn (not its resource
    tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path(f"/proc/{pid}/stat")).read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = 15.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture()
def world(tmp_path) -> Iterator[tuple[BotApiServer, BotProcess, str]]:
    with BotApiServer() as server, fresh_database(tmp_path) as url:
        bot = BotProcess(server, url, tmp_path).start()
        try:
            yield server, bot, url
        finally:
            bot.stop()


def test_the_handlers_run_in_a_flow_process_that_dies_with_the_bot(world):
    server, bot, url = world
    assert bot.proc is not None
    children = flow_children(bot.proc.pid)
    assert len(children) == 1, children  # FLOW_PROCESSES=1, started with the bot, not on the first update
    r = Researcher(server, 880_001)
    r.command("/new")
    policy = POLICIES["zhejiang"]
    r.run(happy_path(policy, start_date=START)[:3])
    assert draft_of(url, r.user.id) is not None
    bot.kill()  # kill -9: no shutdown code runs in the bot
    assert wait_until(lambda: not alive(children[0])), "the flow process outlived the bot"


def test_a_flow_process_killed_alone_is_replaced_and_the_update_is_applied_once(world):
    server, bot, url = world
    assert bot.proc is not None
    policy = POLICIES["dongguan"]
    steps = happy_path(policy, start_date=START)
    r = Researcher(server, 880_002)
    r.command("/new")
    r.run(steps[:2])
    before = draft_of(url, r.user.id)
    assert before is not None
    (child,) = flow_children(bot.proc.pid)
    os.kill(child, 9)
    assert wait_until(lambda: not alive(child))
    send_only(r, steps[2])  # handled by a flow process that is gone: a passing failure, handed over again
    assert wait_until(lambda: draft_of(url, r.user.id)["revision"] > before["revision"], 20), bot.log()[-2000:]  # type: ignore[index]
    wait_inbox_done(url)
    assert draft_of(url, r.user.id)["revision"] == before["revision"] + 1  # type: ignore[index]
    assert "a flow process died" in bot.log()
    replacement = flow_children(bot.proc.pid)
    assert len(replacement) == 1 and replacement[0] != child
    r.run(steps[3:5])  # and the dialog goes on
    assert draft_of(url, r.user.id)["revision"] == before["revision"] + 3  # type: ignore[index]
    assert bot.proc.poll() is None


def _ordinary_writer(path: str, transactions, stop) -> None:  # noqa: ANN001
    """Another process writing back to back, as a flow process under load does."""
    lock = FileWriterLock(Path(path))
    while not stop.is_set():
        assert lock.acquire(10.0)
        transactions.value += 1
        time.sleep(0.005)
        lock.release()


def test_an_urgent_writer_of_another_process_goes_next(tmp_path):
    """Without the gate, a writer that tries every millisecond loses to one that takes the lock again the
    moment it lets it go, for as long as that one keeps writing."""
    database = tmp_path / "bot.db"
    ctx = multiprocessing.get_context("spawn")
    transactions, stop = ctx.Value("i", 0), ctx.Event()
    other = ctx.Process(target=_ordinary_writer, args=(str(database), transactions, stop))
    other.start()
    try:
        assert wait_until(lambda: transactions.value > 3)
        lock = FileWriterLock(database)
        waited = []
        for _ in range(20):
            seen = transactions.value
            assert lock.acquire(10.0, urgent=True)
            waited.append(transactions.value - seen)
            lock.release(urgent=True)
            time.sleep(0.01)
        assert max(waited) <= 2, waited  # the transaction under way, and at most one that passed the gate
        seen = transactions.value
        assert wait_until(lambda: transactions.value > seen + 2)  # and the other writer goes on after it
    finally:
        stop.set()
        other.join(10)


def test_a_flow_process_freezes_the_heap_it_built_at_start(tmp_path):
    """The start-up heap is out of the collector's full passes (bot/heap.py): 80-94 ms each, run inside a
    flow transaction otherwise. Asked of the child itself, through its own pool."""
    import asyncio
    import gc

    from bot.config import Settings
    from bot.flowprocess import FlowProcesses
    from storage.db import create_schema, make_engine

    async def frozen_in_child() -> int:
        with fresh_database(tmp_path) as url:
            create_schema(make_engine(url))
            flows = FlowProcesses(Settings(database_url=url, _env_file=None), "rcmz_bot")
            try:
                flows.start()
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(flows._pool, gc.get_freeze_count)
            finally:
                flows.shutdown()

    assert asyncio.run(frozen_in_child()) > 50_000  # the runtime's policies, calendar, mappers: not a handful
