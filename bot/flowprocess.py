"""The flow calls in a process of their own, so the bot uses two cores.

Measured (docs/BENCHMARKS.md): with everything in one process the bot is bound to one core — the Telegram
transport (PTB, httpx, the event loop) and the handlers' database work and document builds take turns on
one GIL — while the machine has two. Here the handlers' calls into the router (a press, a typed answer, a
file, a command that changes something) run in FLOW_PROCESSES child processes, each with a runtime of its
own on the same database; the parent keeps the transport, the inbox, the quick commands (read-only
snapshots, bot/actions.py `look`), the scheduler and the outbox.

What crosses: the call's arguments (`Who`, texts, ids) and the `Reply`, whose files are built in the child
after the call's transaction committed, as the parent's pool would have built them. Nothing else is shared:
every state a handler changes is in the database, as with several processes on PostgreSQL.

A child dies with its parent (PR_SET_PDEATHSIG), so a killed bot leaves no process writing behind it. A
child that dies on its own makes the calls waiting on it fail as passing failures (the inbox hands those
updates over again) and a new child is started.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from operator import attrgetter
from typing import Any

from bot.config import Settings
from bot.heap import freeze_startup_heap
from bot.reply import Reply

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1

_runtime: Any = None  # the child's own runtime (bot/runtime.py), built once when the child starts


class FlowUnavailable(ConnectionError):
    """The flow process died under a call: a passing failure, the update is handed over again."""


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the child still ends when its call queue closes with a clean stop
        log.warning("flow process: cannot ask to end with the bot (no prctl)")


def _start(settings: Settings, bot_username: str | None) -> None:
    _die_with_parent()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a terminal's Ctrl-C or a service manager's stop reaches the
        signal.signal(sig, signal.SIG_IGN)  # whole group: the bot stops it after its last call
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s flow %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bot.runtime import build_runtime

    global _runtime
    _runtime = build_runtime(settings, migrate=False)
    _runtime.officers.bot_username = bot_username
    freeze_startup_heap()


def _ready() -> bool:
    return _runtime is not None


def _invoke(path: str, args: tuple[Any, ...]) -> Any:
    result = attrgetter(path)(_runtime)(*args)
    if isinstance(result, Reply):
        for f in result.files:
            _ = f.content  # built here, after the call's transaction committed; bytes cross, not a function
    return result


def _report_start(warming: asyncio.Future[list[Any]]) -> None:
    """A child that cannot start (its runtime raised) would otherwise show only as every update delayed."""
    failures = [r for r in warming.result() if isinstance(r, BaseException)] if not warming.cancelled() else []
    if failures:
        log.error("a flow process could not start: %r", failures[0])


class FlowProcesses:
    def __init__(self, settings: Settings, bot_username: str | None) -> None:
        self.settings = settings
        self.bot_username = bot_username
        self._pool = self._new_pool()
        self._warming: asyncio.Future[list[Any]] | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.settings.flow_processes,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=(self.settings, self.bot_username))

    def start(self) -> None:
        """Start the children now, not on the first update, and without waiting for them: a child takes a
        second or so to import and build its runtime, and the bot polls meanwhile (the first calls wait in
        the pool's queue). Measured in docs/BENCHMARKS.md: waiting put the start at 3.0 s against 1.8 s."""
        loop = asyncio.get_running_loop()
        warm = [loop.run_in_executor(self._pool, _ready) for _ in range(self.settings.flow_processes)]
        self._warming = asyncio.ensure_future(asyncio.gather(*warm, return_exceptions=True))
        self._warming.add_done_callback(_report_start)

    async def call(self, path: str, *args: Any) -> Any:
        """`path` names a method of the runtime ("router.press"); it runs in a child on `args`."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _invoke, path, args)
        except BrokenProcessPool as exc:
            if pool is self._pool:
                log.error("a flow process died; starting a new one")
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise FlowUnavailable("the flow process died") from exc

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
