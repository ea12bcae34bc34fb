"""Engine and session handling; one place decides how SQLite and PostgreSQL are opened.

Transactions are made explicit on both databases, because the bot's invariants (one update applied once,
a case acted on by one party at a time) rest on them:

- SQLite: Python's sqlite3 only sends BEGIN at the first write, so the reads before it sit outside any
  transaction and go stale by the time the write waits for the lock. SQLAlchemy's documented recipe turns
  the driver's own transaction handling off (`isolation_level = None`) and emits `BEGIN IMMEDIATE` when a
  transaction starts: every transaction holds the write lock from its first statement, so two writers are
  serialised as wholes. WAL with `synchronous=NORMAL`: a commit is durable once it is in the WAL file, which
  survives a killed process (kill -9); only a power cut or kernel crash can lose the last commits.
- PostgreSQL: READ COMMITTED with row locks where the code needs them (`FOR UPDATE`, `SKIP LOCKED`); a
  lock wait or an unreachable server ends after `lock_timeout` seconds with an OperationalError, which the
  update dispatcher treats as "not the user's fault: retry later".
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, create_engine

from storage import casework, clocktable, inbox, invitations, models, publicity, securitylog, units  # noqa: F401  (registers the tables)
from storage.migrate import upgrade

DEFAULT_LOCK_TIMEOUT = 30.0
# Execution options (engine.execution_options(...)) that change how a SQLite transaction begins:
READ_ONLY = "sqlite_read_only"  # a plain BEGIN: a snapshot read that takes no writer lock (WAL never blocks it)
URGENT = "sqlite_urgent"  # served before the other waiting writers of this process (the inbox's own writes)


class WriterLock:
    """One writer at a time among this process's threads; urgent waiters go first. A plain lock wakes its
    waiters in no set order: the poller's inbox write (on which every reply waits) queued behind the
    handlers' long transactions, half of the loaded /help latency (docs/BENCHMARKS.md). A release wakes one
    waiter (an urgent one if any), not all of them: waking every waiter showed in the capacity profile."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._urgent_turn = threading.Condition(self._mutex)
        self._normal_turn = threading.Condition(self._mutex)
        self._held = False
        self._urgent = 0  # urgent threads waiting

    def acquire(self, timeout: float = -1, urgent: bool = False) -> bool:
        wait = None if timeout < 0 else timeout
        with self._mutex:
            if urgent:
                self._urgent += 1
                try:
                    got = self._urgent_turn.wait_for(lambda: not self._held, wait)
                finally:
                    self._urgent -= 1
            else:
                got = self._normal_turn.wait_for(lambda: not self._held and not self._urgent, wait)
            if got:
                self._held = True
            else:
                self._hand_on()  # (a waiter that gave up may have been the one a release woke)
            return got

    def release(self) -> None:
        with self._mutex:
            self._held = False
            self._hand_on()

    def _hand_on(self) -> None:
        if self._held:
            return
        if self._urgent:
            self._urgent_turn.notify()
        else:
            self._normal_turn.notify()

    def locked(self) -> bool:
        return self._held


# Between tries for the file lock. With 1 ms the lock stood free a median 0.97 ms at each handover between
# the processes, 13 % of the capacity run in which it was the bottleneck; 0.1 ms brought that to 0.26 ms and
# 7 % (a try is one non-blocking fcntl call; docs/BENCHMARKS.md).
FILE_LOCK_POLL = 0.0001


class FileWriterLock:
    """The same order across the processes that write one SQLite file (the bot and its flow processes,
    bot/flowprocess.py). Between processes SQLite only has its busy handler, which sleeps 1, 2, 5 … 100 ms
    between tries: a process that just committed takes the lock again long before the sleeper wakes, so the
    poller's inbox write could wait behind a flow process's back-to-back transactions for as long as they
    went on (tests/test_flowprocess.py: over a thousand of them without the gate). Here a writer takes
    `<db>.writer` before BEGIN IMMEDIATE; an urgent one first closes `<db>.gate`, which every ordinary writer
    passes before queueing, so it is next.

    POSIX record locks belong to a process, not a thread: the in-process WriterLock is taken first, so one
    thread per process at most is here. A lock dies with its process. Waits are tries FILE_LOCK_POLL apart up to the
    timeout, after which the writer goes on to SQLite's own wait, as before."""

    _shared: dict[tuple[int, str], FileWriterLock] = {}
    _shared_lock = threading.Lock()

    def __init__(self, database: Path) -> None:
        self._paths = (database.with_name(database.name + ".gate"), database.with_name(database.name + ".writer"))
        self._fds: tuple[int, int] | None = None
        self._pid = -1

    @classmethod
    def of(cls, database: Path) -> FileWriterLock:
        """One per database file and process: every engine on the file shares its two descriptors (closing
        one would drop the process's locks on the file, and one pair per engine leaked descriptors)."""
        key = (os.getpid(), str(database.resolve()))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(database)
            return cls._shared[key]

    def _files(self) -> tuple[int, int]:
        if self._fds is None or self._pid != os.getpid():  # (a forked child opens its own)
            self._fds = tuple(os.open(p, os.O_RDWR | os.O_CREAT, 0o600) for p in self._paths)  # type: ignore[assignment]
            self._pid = os.getpid()
        assert self._fds is not None
        return self._fds

    @staticmethod
    def _take(fd: int, mode: int, deadline: float) -> bool:
        while True:
            try:
                fcntl.lockf(fd, mode | fcntl.LOCK_NB)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(FILE_LOCK_POLL)

    def acquire(self, timeout: float, urgent: bool = False) -> bool:
        gate, writer = self._files()
        deadline = time.monotonic() + timeout
        if urgent:
            if not self._take(gate, fcntl.LOCK_EX, deadline):
                return False
        elif self._take(gate, fcntl.LOCK_SH, deadline):
            fcntl.lockf(gate, fcntl.LOCK_UN)
        else:
            return False
        if self._take(writer, fcntl.LOCK_EX, deadline):
            return True
        if urgent:
            fcntl.lockf(gate, fcntl.LOCK_UN)
        return False

    def release(self, urgent: bool = False) -> None:
        gate, writer = self._files()
        fcntl.lockf(writer, fcntl.LOCK_UN)
        if urgent:
            fcntl.lockf(gate, fcntl.LOCK_UN)


# Each SQLite engine's writer lock (see make_engine), so a test can see when it is held.
_WRITERS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def database_url(url: str | URL) -> URL:
    """The SQLAlchemy URL for a configured one: `postgresql://` means psycopg 3. Parsing (not string
    surgery) keeps a URL-encoded password such as `p%40ss` intact."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return database_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL (None for an in-memory database)."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str | URL, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": lock_timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        writer = _WRITERS[engine] = WriterLock()
        files = FileWriterLock.of(path) if path is not None else None
        holding: dict[int, bool | None] = {}  # raw connection holding `writer` → urgent, None: not `files`

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # noqa: ANN001
            # The threads of this process queue on a lock of their own before BEGIN IMMEDIATE: SQLite's busy
            # handler sleeps 1, 2, 5 … up to 100 ms between tries, so a thread waiting in SQLite for a
            # 2 ms transaction sleeps long after the lock is free (measured: the bot idle a third of the
            # time under load, docs/BENCHMARKS.md). Another process still waits in SQLite as before; a
            # thread that cannot get this lock within the timeout goes on to SQLite's own wait.
            options = conn.get_execution_options()
            if options.get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            urgent = bool(options.get(URGENT))
            if writer.acquire(timeout=lock_timeout, urgent=urgent):
                across = files is not None and files.acquire(lock_timeout, urgent)
                holding[id(_raw(conn.connection))] = urgent if across else None
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn.connection)
                raise

        def _release(dbapi_conn) -> None:  # noqa: ANN001  (the pool's proxied DBAPI connection, or the raw one)
            key = id(_raw(dbapi_conn))
            if key in holding:
                urgent = holding.pop(key)
                if urgent is not None and files is not None:
                    files.release(urgent)
                writer.release()

        # The lock is given up once SQLite's COMMIT or ROLLBACK has run. SQLAlchemy's "commit" and "rollback"
        # events fire *before* the dialect ends the transaction, so releasing there let the next thread's
        # BEGIN IMMEDIATE meet a transaction still open and sleep in SQLite's busy handler (seen in the
        # capacity profile); wrapping the dialect's own calls on this engine orders them right.
        dialect = engine.dialect
        base_commit, base_rollback = dialect.do_commit, dialect.do_rollback

        def _do_commit(dbapi_conn) -> None:  # noqa: ANN001
            try:
                base_commit(dbapi_conn)
            finally:
                _release(dbapi_conn)

        def _do_rollback(dbapi_conn) -> None:  # noqa: ANN001
            try:
                base_rollback(dbapi_conn)
            finally:
                _release(dbapi_conn)

        dialect.do_commit = _do_commit  # type: ignore[method-assign]
        dialect.do_rollback = _do_rollback  # type: ignore[method-assign]

        return engine
    millis = int(lock_timeout * 1000)
    return create_engine(parsed, pool_pre_ping=True,
                         connect_args={"connect_timeout": max(1, int(lock_timeout)),
                                       "options": f"-c lock_timeout={millis}"})


def sqlite_writer(engine: Engine) -> WriterLock | None:
    """The lock this process's threads take before BEGIN IMMEDIATE on a SQLite engine (None otherwise)."""
    return _WRITERS.get(engine)


def _raw(dbapi_conn: object) -> object:
    """The driver's own connection behind the pool's proxy (the pool hands either to the dialect)."""
    return getattr(dbapi_conn, "dbapi_connection", None) or dbapi_conn


def create_schema(engine: Engine) -> None:
    """Every schema change goes through Alembic: this upgrades to the newest migration (or raises
    storage.migrate.SchemaError with what to do)."""
    upgrade(engine)


def _with_option(engine: Engine, option: str) -> Engine:
    """The engine with one SQLite begin option set (made once per engine, kept on it: a weak map from the
    engine would be held alive by its own value; the same pool and events)."""
    if engine.dialect.name != "sqlite":
        return engine
    made: dict[str, Engine] = engine.__dict__.setdefault("_begin_options", {})
    if option not in made:
        made[option] = engine.execution_options(**{option: True})
    return made[option]


@contextmanager
def session_scope(engine: Engine, urgent: bool = False) -> Iterator[Session]:
    """One transaction: everything inside commits together or not at all. `urgent`: ahead of the other
    writers of this process waiting for SQLite's one write lock (the inbox's writes, which every reply waits
    on)."""
    bind = _with_option(engine, URGENT) if urgent else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read-only transaction: on SQLite a snapshot that waits for no writer (nothing is flushed; whatever
    the block changed is rolled back, and `session.new`/`session.dirty` show it was tried)."""
    bind = _with_option(engine, READ_ONLY)
    with Session(bind, expire_on_commit=False, autoflush=False) as session:
        try:
            yield session
        finally:
            session.rollback()
