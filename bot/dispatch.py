"""Workers that hand the inbox to the application: per chat in order, one at a time; chats side by side.

Each worker loops: in one transaction it marks the rows it finished `done` and leases the next claimable
row (storage/inbox.py decides what is claimable: the first open row of its chat, not leased by a live
process); then it gives the update to `Application.process_update`. The handler applies it with
`claim_update` in its own transaction. What happened is reported back through `Handling` (a ContextVar
the error handler writes, `report_failure`):

- no error: the row is done (also when no handler claimed it: an ignored kind of update);
- a failure that is not the user's doing (the database unreachable, a lock timeout, a version conflict):
  the handler's transaction rolled back, the row stays as it was and is retried with back-off — the chat
  waits, nothing is lost, nothing is confirmed as done;
- any other failure: logged once by the error handler (the user was told "internal error"); the row is
  done, unless its answer had been committed, in which case it is handed over once more so the user
  sees the current screen.

A row left `applied` by a process that died between its commit and its reply is claimed like any other
(once its lease is free) and given to the application again: `claim_update` says "already applied" and
the handler shows the current screen (`pending_rerenders` counts them).

`local=True` (SQLite: this process is the inbox's only reader and writer) keeps the same rules in memory
(bot/lanes.py): rows are taken without a claim transaction, finished rows are marked done in batches, and
one extra worker takes only quick commands, so /help never waits for a worker to come free.

In local mode a quick command (/help, /status …) whose chat has nothing queued or in flight is also handed
to the application straight from the poll (`early`), while its batch is being stored: storing waits for
SQLite's one write lock, behind whichever handler holds it. Its chat's later updates wait for it as for any
row. The handler may only read (bot/actions.py `look`); if answering would change something (a first
contact) it declines and the stored row is handled as usual. An answered row is marked done once stored; a
crash in between shows /help once more, which changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError
from telegram import Update
from telegram.ext import Application

from bot.flowprocess import FlowUnavailable
from bot.lanes import Lanes
from storage import inbox
from storage.db import session_scope
from storage.inbox import Claimed, Handling, Stored, current_handling
from storage.models import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = 30.0  # an update that failed for a reason not the user's is tried again at least this often
UNREACHABLE_BACKOFF = 5.0  # and the inbox itself is looked at again this often while the database is away
GIVE_UP_AFTER = dt.timedelta(hours=24)  # as long as Telegram itself keeps an undelivered update
FINISH_EVERY = 0.1  # seconds: finished rows (local mode) are marked done together, at most this late
EARLY_FORGET = dt.timedelta(minutes=10)  # an update answered early whose row was never stored as new
EARLY_AT_ONCE = 4  # quick commands in flight from the poll at most; a flood of them waits in the inbox instead


def is_transient(error: BaseException | None) -> bool:
    """A failure that says nothing about the update: retrying it later is right, telling the user it
    failed for good is not. SQLAlchemy wraps driver errors: OperationalError covers a server that went
    away, "database is locked" and PostgreSQL's lock_timeout; a version conflict means another writer
    won the row and a second try reads the new state."""
    if isinstance(error, FlowUnavailable):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) or error.connection_invalidated
    return isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError, StaleDataError))


def report_failure(error: BaseException | None) -> bool:
    """Called by the application's error handler: records the failure on the update being handled and
    says whether it will be retried (True: tell the user it is delayed, not failed)."""
    handling = current_handling.get()
    transient = is_transient(error)
    if handling is not None and error is not None:
        handling.errors.append(error)
        handling.transient = handling.transient or transient
    return transient


def first_attempt() -> bool:
    """Whether the update being handled is on its first try (a retry need not say "delayed" again)."""
    handling = current_handling.get()
    return handling is None or handling.attempt <= 1


def backoff(attempt: int) -> dt.timedelta:
    seconds = min(MAX_BACKOFF, 0.5 * 2 ** max(attempt - 1, 0)) * random.uniform(0.8, 1.2)
    return dt.timedelta(seconds=seconds)


class Dispatcher:
    def __init__(self, app: Application, engine: Engine, owner: int, *, workers: int = 8,
                 lease: dt.timedelta = dt.timedelta(seconds=60), executor: Executor | None = None,
                 live_owners: Callable[[], set[int] | None] = lambda: None, idle: float = 1.0,
                 local: bool = False) -> None:
        self.app = app
        self.engine = engine
        self.owner = owner
        self.workers = workers
        self.lease = lease
        self.executor = executor
        self.live_owners = live_owners
        self.idle = idle
        self._waiting: list[asyncio.Future[None]] = []  # idle workers, first come first woken
        self._generation = 0  # moves on with every kick: a kick during a claim is not missed
        self._unreachable = False
        self.handled = 0
        self.lanes: Lanes | None = Lanes() if local else None
        self._quick_waiting: list[asyncio.Future[None]] = []  # the quick-commands worker, when idle
        self._finished: list[int] = []  # local mode: handled, not yet marked done in the database
        self._finished_event = asyncio.Event()
        self.loaded = False
        # local mode, by update id: updates taken early, their outcome (None while in flight) and when;
        # and the stored rows of those still in flight
        self._early: dict[int, tuple[str | None, dt.datetime]] = {}
        self._early_rows: dict[int, Stored] = {}
        self._early_tasks: set[asyncio.Task[None]] = set()  # (the loop keeps only weak references)
        self.early_handled = 0

    def kick(self, rows: int | None = None) -> None:
        """`rows` new rows were written (by this process): wake as many idle workers, not all of them. Waking
        every worker for one row had the others each run an empty claim transaction (a third of the claims
        in the capacity profile); a worker that finishes a row claims the next one itself."""
        self._generation += 1
        self._wake(self._waiting, rows)

    def offer(self, rows: list[Stored]) -> None:
        """Rows this process just stored (committed): in local mode they are queued here; either way as many
        idle workers are woken."""
        if self.lanes is None:
            self.kick(len(rows))
            return
        if self._early:
            rows = [r for r in rows if not self._stored_early(r)]
        added = self.lanes.add(rows)
        if added:
            self.kick(added)
            if any(r.priority > 0 for r in rows):
                self._wake(self._quick_waiting, None)

    # -- quick commands straight from the poll (local mode) ------------------------------------------
    def early(self, batch: list[dict[str, Any]], rank: Callable[[dict[str, Any]], int]) -> int:
        """Hand the batch's quick commands to the application now, each whose chat is free (nothing queued
        or in flight, no earlier update of it in this batch); returns how many were taken."""
        if self.lanes is None or not self.loaded:
            return 0
        now = utcnow()
        for uid in [u for u, (outcome, at) in self._early.items() if outcome is not None and now - at > EARLY_FORGET]:
            del self._early[uid]
        seen: set[int] = set()
        taken = 0
        for payload in batch:
            lane = inbox.lane_of(payload)
            first = lane not in seen
            seen.add(lane)
            update_id = int(payload["update_id"])
            if not first or update_id in self._early or not self.lanes.free(lane) or rank(payload) <= 0:
                continue
            if len(self._early_tasks) >= EARLY_AT_ONCE:
                break
            self.lanes.hold(lane)
            self._early[update_id] = (None, now)
            task = asyncio.get_running_loop().create_task(self._handle_early(update_id, lane, payload),
                                                          name=f"early-{update_id}")
            self._early_tasks.add(task)
            task.add_done_callback(self._early_tasks.discard)
            taken += 1
        return taken

    async def _handle_early(self, update_id: int, lane: int, payload: dict[str, Any]) -> None:
        outcome = "declined"
        try:
            update = Update.de_json(payload, self.app.bot)
            handling = Handling(-1, update_id, 1, early=True)
            token = current_handling.set(handling)
            try:
                await self.app.process_update(update)
            finally:
                current_handling.reset(token)
            if not handling.declined and not (handling.errors and handling.transient):
                outcome = "answered"
                self.early_handled += 1
        except Exception:  # noqa: BLE001 - left to the inbox: the stored row is handled as usual
            log.exception("update %s could not be handled early; handled from the inbox", update_id)
        assert self.lanes is not None
        self.lanes.release(lane)
        self._early[update_id] = (outcome, utcnow())
        row = self._early_rows.pop(update_id, None)
        if row is not None:
            self._settle_early(row, outcome)
        self.kick()

    def _stored_early(self, row: Stored) -> bool:
        """Whether a stored row is kept out of the lanes: its update was taken early and is still in flight
        (settled when it ends) or was answered (marked done). A declined one is queued as any row."""
        entry = self._early.get(row.update_id)
        if entry is None:
            return False
        if entry[0] is None:
            self._early_rows[row.update_id] = row
            return True
        del self._early[row.update_id]
        if entry[0] == "answered":
            self._mark_done(row)
            return True
        return False

    def _mark_done(self, row: Stored) -> None:
        self._finished.append(row.id)
        self._finished_event.set()

    def _settle_early(self, row: Stored, outcome: str) -> None:
        assert self.lanes is not None
        del self._early[row.update_id]
        if outcome == "answered":
            self._mark_done(row)
        else:
            self.lanes.add([row])
            self._wake(self._quick_waiting, None)  # (its caller wakes the others)

    def _wake(self, waiting: list[asyncio.Future[None]], rows: int | None) -> None:
        woken = len(waiting) if rows is None else max(rows, 0)
        for waiter in waiting[:woken]:
            if not waiter.done():
                waiter.set_result(None)
        del waiting[:woken]

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- one transaction per step ----------------------------------------------------------------
    def _finish_and_claim(self, finished: list[int]) -> list[Claimed]:
        with session_scope(self.engine) as s:
            inbox.finish(s, self.owner, finished)
            return inbox.claim_next(s, self.owner, self.lease, 1, self.live_owners())

    def _finish(self, finished: list[int]) -> None:
        with session_scope(self.engine) as s:
            inbox.finish(s, self.owner, finished)

    def _retry(self, row: Claimed, error: str) -> None:
        with session_scope(self.engine) as s:
            inbox.retry_later(s, self.owner, row.id, backoff(row.attempts), error)

    def _give_up(self, row: Claimed, error: str) -> None:
        with session_scope(self.engine) as s:
            inbox.give_up(s, self.owner, row.id, error)

    def _open_rows(self) -> list[Stored]:
        with session_scope(self.engine) as s:
            return inbox.open_rows(s)

    def _finish_unleased(self, finished: list[int]) -> None:
        with session_scope(self.engine) as s:
            inbox.finish(s, None, finished)

    # -- the loop ----------------------------------------------------------------------------------
    async def load(self, stop: asyncio.Event) -> None:
        """Local mode: queue the rows a previous process left open (retried while the database is away)."""
        failures = 0
        while self.lanes is not None and not self.loaded and not stop.is_set():
            try:
                self.lanes.add(await self._db(self._open_rows))
                self.loaded = True
                self.kick()
            except Exception as exc:  # noqa: BLE001 - the database is away: wait and look again
                failures += 1
                log.warning("inbox unreachable at start (%s); retrying", type(exc).__name__)
                await self._sleep(stop, min(UNREACHABLE_BACKOFF, backoff(failures).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        if self.lanes is not None:
            await self.load(stop)
            tasks = [asyncio.create_task(self._local_worker(stop), name=f"inbox-worker-{n}")
                     for n in range(self.workers)]
            tasks.append(asyncio.create_task(self._local_worker(stop, quick=True), name="inbox-quick"))
            tasks.append(asyncio.create_task(self._mark_finished(stop), name="inbox-finished"))
        else:
            tasks = [asyncio.create_task(self._worker(stop), name=f"inbox-worker-{n}")
                     for n in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            if self._early_tasks:  # a /help being answered is let finish (its row is open: shown again)
                await asyncio.wait(set(self._early_tasks), timeout=5)

    async def _local_worker(self, stop: asyncio.Event, quick: bool = False) -> None:
        """Local mode: take the next row from memory; only the outcome of a failure is written at once."""
        assert self.lanes is not None
        while not stop.is_set():
            generation = self._generation
            entry = self.lanes.take(min_priority=1 if quick else None)
            if entry is None:
                await self._wait_for_work(stop, generation, self._quick_waiting if quick else self._waiting,
                                          self.lanes.next_due())
                continue
            outcome, error = await self._handle(entry.claimed())
            if outcome == "done" or (outcome == "failed" and entry.status == inbox.APPLIED):
                self._done(entry)
            elif outcome == "retry" and not self._too_old(entry.claimed()):
                wait = backoff(entry.attempts)
                try:
                    await self._db(self._retry_unleased, entry.id, wait, error)
                except Exception:  # noqa: BLE001 - kept in memory all the same; retried from there
                    log.warning("could not record the retry of update %s", entry.update_id)
                self.lanes.retry(entry, utcnow() + wait)
                self.kick()  # another row of higher priority may be free now that this lane waits
            else:
                try:
                    status = await self._db(self._give_up_unleased, entry.id, error)
                except Exception:  # noqa: BLE001 - tried again later, as if it had been a passing failure
                    log.warning("could not record the outcome of update %s; it will be handled again",
                                entry.update_id)
                    self.lanes.retry(entry, utcnow() + backoff(entry.attempts))
                    continue
                if status == inbox.APPLIED:  # its answer was committed: shown once more
                    self.lanes.retry(entry, utcnow(), inbox.APPLIED)
                else:
                    self.lanes.done(entry)
                self.kick()

    def _done(self, entry: Stored) -> None:
        assert self.lanes is not None
        self.lanes.done(entry)
        self._finished.append(entry.id)
        self._finished_event.set()
        if len(self.lanes):
            self.kick(1)  # the lane's next row (or another lane's) for an idle worker

    def _retry_unleased(self, row_id: int, wait: dt.timedelta, error: str) -> None:
        with session_scope(self.engine) as s:
            inbox.retry_later(s, None, row_id, wait, error)

    def _give_up_unleased(self, row_id: int, error: str) -> str | None:
        with session_scope(self.engine) as s:
            return inbox.give_up(s, None, row_id, error)

    async def _mark_finished(self, stop: asyncio.Event) -> None:
        """Local mode: the rows handled in the last FINISH_EVERY seconds marked done in one transaction. Until
        then a row is `applied` (or still `pending`, when no handler claimed it): after a crash it is handed
        over once more, which shows the current screen and changes nothing."""
        failures = 0
        while True:
            if not self._finished:
                self._finished_event.clear()
                if stop.is_set():
                    return
                stopper = asyncio.create_task(stop.wait())
                waiter = asyncio.create_task(self._finished_event.wait())
                try:
                    await asyncio.wait({stopper, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopper.cancel()
                    waiter.cancel()
                continue
            if not stop.is_set():
                await self._sleep(stop, FINISH_EVERY)
            ids, self._finished = self._finished, []
            try:
                await self._db(self._finish_unleased, ids)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - kept, and tried again; a crash now shows them again
                self._finished = ids + self._finished
                failures += 1
                if stop.is_set() and failures > 3:
                    log.info("could not mark %s update(s) finished before stopping (%s)", len(ids), exc)
                    return
                await self._sleep(stop, min(UNREACHABLE_BACKOFF, backoff(failures).total_seconds()))

    async def _worker(self, stop: asyncio.Event) -> None:
        finished: list[int] = []
        failures = 0
        while not stop.is_set():
            generation = self._generation
            try:
                claimed = await self._db(self._finish_and_claim, finished)
                finished = []
                failures = 0
                if self._unreachable:
                    self._unreachable = False
                    log.info("inbox reachable again")
            except Exception as exc:  # noqa: BLE001 - the database is away: wait, keep what to finish
                failures += 1
                delay = min(UNREACHABLE_BACKOFF, backoff(failures).total_seconds())
                if not self._unreachable:  # once per outage, not once per worker and attempt
                    self._unreachable = True
                    log.warning("inbox unreachable (%s: %s); the workers keep retrying", type(exc).__name__, exc)
                await self._sleep(stop, delay)
                continue
            if not claimed:
                await self._wait_for_work(stop, generation)
                continue
            row = claimed[0]
            outcome, error = await self._handle(row)
            if outcome == "done" or (outcome == "failed" and row.status == inbox.APPLIED):
                finished.append(row.id)  # (showing an applied update once more is tried once)
                continue
            try:
                if outcome == "retry" and not self._too_old(row):
                    await self._db(self._retry, row, error)
                else:
                    await self._db(self._give_up, row, error)
            except Exception:  # noqa: BLE001 - the lease runs out and the row is taken again
                log.warning("could not record the outcome of update %s; it will be handled again", row.update_id)
        if finished:
            try:
                await self._db(self._finish, finished)
            except Exception:  # noqa: BLE001 - left applied: shown again on the next start
                log.info("could not mark %s update(s) finished before stopping", len(finished))

    def _too_old(self, row: Claimed) -> bool:
        return row.attempts > 1 and row.attempts * MAX_BACKOFF > GIVE_UP_AFTER.total_seconds()

    async def _wait_for_work(self, stop: asyncio.Event, generation: int,
                             waiting: list[asyncio.Future[None]] | None = None,
                             due: dt.datetime | None = None) -> None:
        if self._generation != generation:  # rows arrived while we were looking: look again
            return
        waiting = self._waiting if waiting is None else waiting
        timeout = self.idle if due is None else max(0.0, min(self.idle, (due - utcnow()).total_seconds()))
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting.append(waiter)
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if waiter in waiting:
                waiting.remove(waiter)
            waiter.cancel()
            stopper.cancel()

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass

    async def _handle(self, row: Claimed) -> tuple[str, str]:
        """("done" | "retry" | "failed", error text)."""
        try:
            update = Update.de_json(row.payload, self.app.bot)
        except Exception as exc:  # noqa: BLE001 - nothing any handler could do with it
            log.error("update %s could not be read and is skipped: %s", row.update_id, exc)
            return "done", f"unreadable: {exc}"
        handling = Handling(row.id, row.update_id, row.attempts)
        token = current_handling.set(handling)
        try:
            await self.app.process_update(update)
        except Exception as exc:  # noqa: BLE001 - process_update normally hands errors to on_error
            report_failure(exc)
            log.exception("update %s failed outside any handler", row.update_id)
        finally:
            current_handling.reset(token)
        self.handled += 1
        if not handling.errors:
            return "done", ""
        error = f"{type(handling.errors[-1]).__name__}: {handling.errors[-1]}"
        return ("retry" if handling.transient else "failed"), error


def pending_rerenders(engine: Engine) -> int:
    """How many updates were applied but their reply never confirmed (a process died in between); the
    workers hand each to the application once more, whose handler then shows the current screen."""
    with session_scope(engine) as s:
        table = inbox.InboxUpdate.__table__
        return int(s.execute(select(func.count()).select_from(table).where(table.c.status == inbox.APPLIED))
                   .scalar() or 0)
