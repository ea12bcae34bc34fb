"""Locks that live exactly as long as a process: who may poll, who runs the scheduler, who is alive.

- **SQLite** stays single-process: the bot takes an exclusive `flock` on `<database>.lock` and a second bot
  on the same file is refused. The kernel drops the lock when the process dies (kill -9 included), so a
  restart never finds a stale lock.
- **PostgreSQL**: session-level advisory locks held on one dedicated connection per process. The server
  drops them when that connection ends — the process exiting, being killed, or losing the network — so a
  lock is never left behind, and another process can take over within the seconds it takes to retry.
  Each process also holds a *presence* lock under a random key; a lease in the inbox or the outbox whose
  owner key is not among the held presence locks belonged to a dead process and is taken over at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
from pathlib import Path

from sqlalchemy import pool, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import create_engine

log = logging.getLogger(__name__)

NAMESPACE = 0x52434D5A  # "RCMZ": the first key of every advisory lock this program takes
POLLER = 1
SCHEDULER = 2


class FileLock:
    """An exclusive, non-blocking flock on a file next to the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PgLocks:
    """One connection of its own (autocommit, never pooled) holding this process's advisory locks."""

    def __init__(self, engine: Engine) -> None:
        # the same URL, but a connection nobody else borrows: a pooled one could be closed or reused
        self._engine = create_engine(engine.url, poolclass=pool.NullPool,
                                     connect_args={"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                                                   "keepalives_interval": 2, "keepalives_count": 2})
        self._conn: Connection | None = None
        self._mutex = threading.Lock()
        self.held: set[int] = set()
        self.presence = random.randrange(1 << 20, (1 << 31) - 1)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.held.clear()
            self._take(self.presence)
        return self._conn

    def _take(self, key: int) -> bool:
        assert self._conn is not None
        got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                      {"ns": NAMESPACE, "key": key}).scalar())
        if got:
            self.held.add(key)
        return got

    def join(self) -> int:
        """Connect and hold the presence lock (a fresh random key if another process has this one)."""
        with self._mutex:
            self._connection()
            while self.presence not in self.held:
                self.presence = random.randrange(1 << 20, (1 << 31) - 1)
                self._take(self.presence)
            return self.presence

    def try_lock(self, key: int) -> bool:
        with self._mutex:
            conn_was = self._conn
            self._connection()
            if key in self.held and self._conn is conn_was:
                return True
            return self._take(key)

    def alive(self) -> bool:
        """Whether the connection that holds the locks is still there; False means they are gone."""
        with self._mutex:
            if self._conn is None or self._conn.closed:
                return False
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - any failure means the locks may be gone
                log.warning("lost the connection holding this process's locks")
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._conn = None
                self.held.clear()
                return False

    def unlock(self, key: int) -> None:
        with self._mutex:
            if self._conn is not None and key in self.held:
                self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": NAMESPACE, "key": key})
                self.held.discard(key)

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._conn = None
            self.held.clear()
        self._engine.dispose()


# The presence locks held right now in this database (one per live process, objid its key); :ns is NAMESPACE
PRESENCE_HELD = ("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
                 "AND classid = :ns AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def live_owners(conn: Connection) -> set[int]:
    """The presence keys held right now in this database: the processes that are alive."""
    rows = conn.execute(text(PRESENCE_HELD), {"ns": NAMESPACE}).all()
    return {int(r[0]) for r in rows if int(r[0]) >= (1 << 20)}
