"""One bot process among several: what it may run, and the tasks it runs.

Every process takes updates into the inbox (the poller, or the webhook endpoint) and handles them (the
inbox workers, bot/dispatch.py). On top of that exactly one process is *the scheduler*: it runs the
reminder scan, the 09:00 digest, the December reminder and the outbox sender.

- SQLite: one process only. It holds a file lock beside the database; a second bot is refused with a
  clear message. It is always the scheduler, and every lease left in the inbox or the outbox at start
  belonged to a dead process and is released.
- PostgreSQL: any number of processes in webhook mode; in polling mode exactly one poller (an advisory
  lock; the others are refused). The scheduler is elected by another advisory lock, held on this
  process's own connection: when the holder dies the server drops the lock and a waiting process takes it
  within `LEADER_RETRY_SECONDS`. Each process also holds a presence lock, so the leases of a dead process
  are taken over at once rather than when they run out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

from bot.alerts import ReminderService
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.heap import freeze_startup_heap
from bot.i18n import t
from bot.outbox import OutboxWorker
from bot.polling import poll
from bot.runtime import Runtime
from bot.web.server import web_server
from storage import caserepo, inbox
from storage.db import session_scope, sqlite_path
from storage.locks import POLLER, SCHEDULER, FileLock, PgLocks, live_owners

log = logging.getLogger(__name__)
T = TypeVar("T")
PRUNE_EVERY = dt.timedelta(minutes=10)
OUTBOX_STOP_SECONDS = 10.0  # a send in flight is waited for this long when the scheduler stops


class Refused(RuntimeError):
    """This process must not start; the message (in the operator's language) says why and what to do."""


class Node:
    def __init__(self, engine: Engine, settings: Settings, runtime: Runtime | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.runtime = runtime
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="delivery")
        self.sqlite = engine.dialect.name == "sqlite"
        self.pg: PgLocks | None = None if self.sqlite else PgLocks(engine)
        self.file_lock: FileLock | None = None
        self.owner = 1
        self._live: set[int] | None = None
        self.dispatcher: Dispatcher | None = None
        self.reminders: ReminderService | None = None
        self.outbox_task: asyncio.Task[None] | None = None
        self.outbox: OutboxWorker | None = None
        self.leader = False
        self.leaderships = 0

    # -- who may run ----------------------------------------------------------------------------------
    def claim(self, polling: bool) -> None:
        """Take this process's locks, or raise Refused."""
        lang = self.settings.default_language
        if self.sqlite:
            path = sqlite_path(self.engine.url)
            if path is not None:
                self.file_lock = FileLock(path.with_name(path.name + ".lock"))
                if not self.file_lock.acquire():
                    raise Refused(t("ops.sqlite_busy", lang, pid=self.file_lock.holder(), path=path))
            self.owner = os.getpid()
            with session_scope(self.engine) as s:  # whoever leased rows before us is dead
                released = inbox.release_all(s)
                caserepo.release_messages(s)
            if released:
                log.info("released %s inbox lease(s) left by a previous process", released)
            return
        assert self.pg is not None
        self.owner = self.pg.join()
        if polling and not self.pg.try_lock(POLLER):
            raise Refused(t("ops.poller_busy", lang))

    def live_owners(self) -> set[int] | None:
        return self._live

    def release(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.file_lock is not None:
            self.file_lock.release()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- the inbox ------------------------------------------------------------------------------------
    def _receive(self, batch: list[dict[str, Any]]) -> list[inbox.Stored]:
        with session_scope(self.engine, urgent=True) as s:  # every reply waits on it: first in the writers' queue
            rank = self.runtime.router.commands.priority if self.runtime is not None else None
            return inbox.receive_rows(s, batch, self.settings.now(), rank)

    async def store(self, batch: list[dict[str, Any]]) -> int:
        """Commit a batch to the inbox (raises when the database cannot take it: then it is not confirmed).
        Its quick commands are handed over meanwhile (bot/dispatch.py `early`)."""
        if self.dispatcher is not None and self.runtime is not None:
            self.dispatcher.early(batch, self.runtime.router.commands.priority)
        new = await self._db(self._receive, batch)
        if self.dispatcher is not None and new:
            self.dispatcher.offer(new)
        return len(new)

    def _housekeeping(self, prune: bool) -> None:
        lease = dt.timedelta(seconds=self.settings.inbox_lease_seconds)
        with session_scope(self.engine) as s:
            if self.pg is not None:
                self._live = live_owners(s.connection())
            inbox.renew(s, self.owner, lease)
            if prune:
                inbox.prune(s, self.settings.now())

    async def housekeeping(self, stop: asyncio.Event) -> None:
        """Leases renewed while this process works on them, the live processes read, old rows pruned."""
        every = min(2.0, self.settings.inbox_lease_seconds / 3)
        last_prune = dt.datetime.min.replace(tzinfo=dt.UTC)
        while not stop.is_set():
            now = dt.datetime.now(dt.UTC)
            prune = now - last_prune > PRUNE_EVERY
            try:
                await self._db(self._housekeeping, prune)
                if prune:
                    last_prune = now
            except Exception as exc:  # noqa: BLE001 - the database may be away; try again
                log.info("housekeeping skipped (%s)", type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass

    # -- the one scheduler ----------------------------------------------------------------------------
    async def leadership(self, stop: asyncio.Event, app: Application) -> None:
        """Become the scheduler when no other process is; stop being it when the lock is lost."""
        while not stop.is_set():
            try:
                if not self.leader:
                    if self.pg is None or await self._db(self.pg.try_lock, SCHEDULER):
                        self._lead(app)
                elif self.pg is not None and not await self._db(self.pg.alive):
                    await self._step_down()
            except Exception as exc:  # noqa: BLE001 - the database may be away; try again
                log.info("scheduler election skipped (%s)", type(exc).__name__)
                if self.leader and self.pg is not None and not self.pg.held:
                    await self._step_down()
            try:
                await asyncio.wait_for(stop.wait(), self.settings.leader_retry_seconds)
            except TimeoutError:
                pass
        await self._step_down(lost=False)

    def _lead(self, app: Application) -> None:
        runtime = self.runtime
        assert runtime is not None
        self.reminders = ReminderService(self.engine, runtime.policies, runtime.calendar, self.settings,
                                         runtime.officers, self.executor)
        self.reminders.start()
        self.outbox = OutboxWorker(self.engine, owner=self.owner, executor=self.executor,
                                   live_owners=self.live_owners)
        self.outbox_task = asyncio.get_running_loop().create_task(self.outbox.run(app.bot))
        self.leader = True
        self.leaderships += 1
        log.info("%s", t("ops.leader", self.settings.default_language))

    async def _step_down(self, lost: bool = True) -> None:
        """Stop the scheduler's work. The outbox sender finishes the message it is sending and records it
        (a send cancelled half-way would be sent again by the next sender); it is cancelled only if that
        takes longer than OUTBOX_STOP_SECONDS."""
        if not self.leader:
            return
        self.leader = False
        if self.reminders is not None:
            self.reminders.stop()
        if self.outbox is not None:
            self.outbox.stop_soon()
        task = self.outbox_task
        if task is not None and not task.done():
            _done, pending = await asyncio.wait({task}, timeout=OUTBOX_STOP_SECONDS)
            if pending:
                task.cancel()
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            log.error("the outbox sender ended with an error", exc_info=task.exception())
        if lost:
            log.warning("%s", t("ops.leader_lost", self.settings.default_language))


def run(app: Application, runtime: Runtime, webhook: bool) -> int:
    """Like Application.run_polling / run_webhook (initialize, post_init, start, stop, post_stop, shutdown,
    SIGINT/SIGTERM), with the inbox in between: updates are stored first and handled from there."""
    settings = runtime.settings
    node = Node(runtime.engine, settings, runtime)
    try:
        node.claim(polling=not webhook)
    except Refused as exc:
        print(str(exc), file=sys.stderr)
        node.release()
        return 2
    try:
        asyncio.run(_main(app, node, settings, webhook))
    finally:
        node.release()
    return 0


async def _main(app: Application, node: Node, settings: Settings, webhook: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        if webhook:
            await app.bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES, max_connections=40)
        else:
            await app.bot.delete_webhook(drop_pending_updates=False)
        await app.start()
        node.dispatcher = Dispatcher(app, node.engine, node.owner, workers=settings.update_workers,
                                     lease=dt.timedelta(seconds=settings.inbox_lease_seconds),
                                     executor=node.executor, live_owners=node.live_owners, local=node.sqlite)
        tasks = [asyncio.create_task(node.dispatcher.run(stop), name="inbox"),
                 asyncio.create_task(node.housekeeping(stop), name="housekeeping"),
                 asyncio.create_task(node.leadership(stop, app), name="leadership")]
        # one web server for the webhook endpoint and the desk, whichever are on (bot/web/server.py)
        server = web_server(node.runtime, app.bot, node.store if webhook else None)
        try:
            if server is not None:
                await server.start()
            freeze_startup_heap()
            if webhook:
                await stop.wait()
            else:
                await poll(app.bot, node.store, settings.poll_timeout, stop)
        finally:
            stop.set()
            if server is not None:
                await server.stop()
            await asyncio.wait(tasks, timeout=15)
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
