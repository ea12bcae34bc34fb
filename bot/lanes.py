"""Which inbox row is next, kept in memory by the one process that owns the inbox (SQLite).

With several processes on PostgreSQL the database decides what a worker may take (storage/inbox.claim_next:
first open row of its chat, not leased by a live process, `FOR UPDATE SKIP LOCKED`). A process on SQLite is
the only one (it holds the file lock, bot/services.py), so it knows every row: those it found open when it
started and those it stored since. Asking the database for the next row cost a write transaction per
update (the claim) and another for the finish — a third of the statements in the capacity profile, each
queued on SQLite's one writer. Here the same rules are kept in memory:

- a chat's rows are handed out in order, one at a time (a lane is busy while its head is handled);
- of the lanes that are free, the highest priority first, then the earliest row (quick commands ahead of
  other chats' long work, never ahead of their own chat's);
- a row that is backing off (`not_before`) holds its lane until then.

The database still records every row and its outcome: a row is `applied` in the handler's own transaction
(storage/inbox.claim_update), and finished rows are marked `done` in batches (bot/dispatch.py). A row that
was answered but not yet marked done when the process died is open at the next start and handed over once
more; its handler finds it applied and shows the current screen, as after any crash between commit and reply.
"""

from __future__ import annotations

import datetime as dt
from collections import deque

from storage.inbox import Stored
from storage.models import utcnow


class Lanes:
    def __init__(self) -> None:
        self._lanes: dict[int, deque[Stored]] = {}
        self._busy: set[int] = set()
        self._known: set[int] = set()  # row ids queued or in flight: a row offered twice is queued once

    def __len__(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    def add(self, rows: list[Stored]) -> int:
        """Queue rows in id order; returns how many were new."""
        added = 0
        for row in sorted(rows, key=lambda r: r.id):
            if row.id in self._known:
                continue
            self._known.add(row.id)
            queue = self._lanes.setdefault(row.lane, deque())
            queue.append(row)
            if len(queue) > 1 and queue[-2].id > row.id:  # an earlier row offered late: back in id order,
                head = queue.popleft() if row.lane in self._busy else None  # the one in flight stays first
                ordered = sorted(queue, key=lambda e: e.id)
                queue.clear()
                queue.extend(([head] if head is not None else []) + ordered)
            added += 1
        return added

    def take(self, now: dt.datetime | None = None, min_priority: int | None = None) -> Stored | None:
        """The next row to handle, its lane then busy until `done`, `retry` or `again`; None when every lane
        is busy, backing off or empty (or, with `min_priority`, holds nothing that urgent at its head)."""
        now = now or utcnow()
        best: Stored | None = None
        for lane, queue in self._lanes.items():
            if lane in self._busy or not queue:
                continue
            head = queue[0]
            if head.not_before is not None and head.not_before > now:
                continue
            if min_priority is not None and head.priority < min_priority:
                continue
            if best is None or (-head.priority, head.id) < (-best.priority, best.id):
                best = head
        if best is not None:
            self._busy.add(best.lane)
            best.attempts += 1
        return best

    def done(self, entry: Stored) -> None:
        """Handled: the lane moves on."""
        queue = self._lanes.get(entry.lane)
        if queue and queue[0] is entry:
            queue.popleft()
            if not queue:
                del self._lanes[entry.lane]
        self._known.discard(entry.id)
        self._busy.discard(entry.lane)

    def retry(self, entry: Stored, not_before: dt.datetime, status: str | None = None) -> None:
        """Keep the row at its lane's head: handed over again from `not_before` (the lane waits with it)."""
        entry.not_before = not_before
        if status is not None:
            entry.status = status
        self._busy.discard(entry.lane)

    def free(self, lane: int) -> bool:
        """Nothing of this lane is queued or in flight: an update of it may be handled at once."""
        return lane not in self._busy and not self._lanes.get(lane)

    def hold(self, lane: int) -> None:
        """The lane is busy with an update handled before its row was stored (bot/dispatch.py `early`): its
        later rows queue behind it until `release`."""
        self._busy.add(lane)

    def release(self, lane: int) -> None:
        self._busy.discard(lane)

    def next_due(self) -> dt.datetime | None:
        """The earliest moment a backing-off head becomes claimable (for a worker deciding how long to sleep)."""
        times = [q[0].not_before for lane, q in self._lanes.items()
                 if q and lane not in self._busy and q[0].not_before is not None]
        return min(times) if times else None
