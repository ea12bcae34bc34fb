"""Scale: per-update latency of the researcher flow (`bot.router.Router` into `bot.flow.Flow`, no Telegram) with 100, 10,000 and
100,000 stored drafts and cases of other users, and whether its queries use indexes.

    .venv/bin/python -m bench.scale [--sizes 100,10000,100000] [--researchers 3] [--database-url URL]

The rows of other users are bulk-inserted with SQLAlchemy core (one executemany per table), then a few new
researchers each complete a full application through the flow; the figure is the median time per update
at each size, printed as a ratio to the smallest size measured in the same run (target ≤ 1.2). Every
distinct statement the flow issued is then EXPLAINed on the largest database: a full scan of a table
that grows with users is reported as a finding.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from bench.common import machine, median_ms, p95_ms, verdict, write_section
from bot.config import Settings
from bot.reply import Reply, Who
from bot.router import Router
from bot.runtime import build_runtime
from dialogs.wizard import UploadInfo
from storage.inbox import InboxUpdate
from storage.models import Case, Draft, Upload, User
from tests import conftest
from tests.conftest import fresh_database
from tests.scenario import Step, happy_path

TARGET = 1.2
GROWING = ("draft", "case", "user", "upload", "processedupdate", "caseevent", "outbox")
TODAY = dt.date(2026, 11, 20)


def _answers(i: int) -> dict[str, Any]:
    """A plausible mid-application answer set: the JSON column is part of what the database holds."""
    return {"policy": "dongguan", "applicant_kind": "person",
            "project": {"name": f"项目-{i}", "number": f"GD-{i:07d}", "amount": 120.5, "unit": "某研究院"},
            "origin": "self", "facts": "项目因关键技术路线选择失误未能完成合同约定目标。" * 3,
            "_meta": {"policy_version": 1}}


def fill(engine: Engine, start: int, stop: int) -> None:
    """Users start..stop-1, each with one draft in progress, one submitted draft and its case, an upload
    and a handled update in the inbox: the tables grow the way real use grows them."""
    now = dt.datetime.now(dt.UTC)
    batch = 20_000
    with engine.begin() as conn:
        for lo in range(start, stop, batch):
            ids = range(lo, min(stop, lo + batch))
            uid = [10_000_000 + i for i in ids]
            conn.execute(insert(User), [{"id": u, "first_name": "x", "created_at": now} for u in uid])
            for status, state in (("active", "facts"), ("submitted", "submitted")):
                conn.execute(insert(Draft), [
                    {"user_id": u, "policy_key": "dongguan", "policy_version": 1, "state": state,
                     "answers": _answers(i), "revision": 12, "status": status, "created_at": now, "updated_at": now}
                    for i, u in zip(ids, uid, strict=True)])
            # ids come from the database, so rows the flow adds between two fills never collide with them
            rows = conn.execute(select(Draft.id, Draft.user_id, Draft.status)  # type: ignore[call-overload]
                                .where(Draft.user_id.between(uid[0], uid[-1]))).all()  # type: ignore[attr-defined]
            active = {u: d for d, u, st in rows if st == "active"}
            submitted = {u: d for d, u, st in rows if st == "submitted"}
            conn.execute(insert(Case), [
                {"number": f"BENCH-{i:07d}", "draft_id": submitted[u], "applicant_id": u,
                 "policy_key": "dongguan", "policy_version": 1, "state": "submitted", "answers": _answers(i),
                 "submitted_at": now} for i, u in zip(ids, uid, strict=True)])
            conn.execute(insert(Upload), [
                {"draft_id": active[u], "material_id": "application", "file_id": f"F{i}", "file_unique_id": f"U{i}",
                 "file_name": "a.pdf", "mime_type": "application/pdf", "size": 2048, "created_at": now}
                for i, u in zip(ids, uid, strict=True)])
            conn.execute(insert(InboxUpdate), [
                {"update_id": 10**12 + i, "lane": u, "payload": {}, "fingerprint": "", "status": "done",
                 "received_at": now, "attempts": 1} for i, u in zip(ids, uid, strict=True)])


def settle(engine: Engine) -> None:
    """Fold the bulk insert's WAL into the database and refresh statistics, so the first measured
    commits do not pay for checkpointing a hundred megabytes the benchmark itself wrote."""
    if engine.dialect.name == "sqlite":  # a checkpoint cannot run inside the BEGIN IMMEDIATE every transaction gets
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _find(reply: Reply, action: str) -> str:
    assert reply.view is not None
    for row in reply.view.buttons:
        for _label, data in row:
            if data == action or data.endswith(":" + action):
                return data
    raise AssertionError(f"no button {action!r}")


def one_application(flow: Router, who: Who, steps: list[Step], update_ids: list[int]) -> list[float]:
    """A full application through the flow; returns the seconds each update took."""
    samples = []
    reply = flow.command(who, "new", [], update_ids.pop())
    for step in steps:
        began = time.perf_counter()
        if step.kind == "press":
            reply = flow.press(who, _find(reply, step.value), update_ids.pop())
        elif step.kind == "text":
            reply = flow.text(who, step.value, update_ids.pop())
        else:
            uid = update_ids.pop()  # each file distinct, as Telegram's file_unique_id is: the same one twice is refused
            reply = flow.document(who, UploadInfo("", step.value, step.size, f"F-{step.value}-{uid}", f"U-{uid}"), uid)
        samples.append(time.perf_counter() - began)
        assert reply.view is not None and "⚠" not in reply.view.text.split("\n")[-1], (step, reply.view.text)
    return samples


class StatementLog:
    """Distinct SQL statements (with one set of parameters each) the flow sends, for EXPLAIN."""

    def __init__(self, engine: Engine) -> None:
        self.seen: dict[str, Any] = {}
        self.on = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on and not many and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            self.seen.setdefault(statement, parameters)


def explain(engine: Engine, log: StatementLog) -> list[tuple[str, str, bool]]:
    """(statement, plan, full scan of a growing table?) for each statement the flow issued."""
    out = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, params in log.seen.items():
            cur = raw.cursor()
            if engine.dialect.name == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                plan = "; ".join(str(row[-1]) for row in cur.fetchall())
                scans = re.findall(r"\bSCAN (\w+)(?! USING)", plan)
                bad = any(t.strip('"').lower() in GROWING for t in scans)
            else:
                cur.execute("EXPLAIN " + statement, params)
                plan = "; ".join(str(row[0]).strip() for row in cur.fetchall())
                scans = re.findall(r"Seq Scan on \"?(\w+)", plan)
                bad = any(t.lower() in GROWING for t in scans)
            cur.close()
            out.append((" ".join(statement.split())[:160], plan[:240], bad))
        conn.rollback()
    return out


def measure(urls: list[str], sizes: list[int], researchers: int) -> tuple[dict[int, list[float]], list[tuple[str, str, bool]]]:
    """One database per size, filled first; then the researchers take turns over the databases, so a
    burst of load from elsewhere on the machine falls on every size alike instead of on one."""
    runtimes = [build_runtime(Settings(database_url=url, today_override=TODAY, _env_file=None)) for url in urls]
    start = (TODAY - dt.timedelta(days=3)).isoformat()
    update_ids = list(range(1, 10_000_000))[::-1]
    for n, (runtime, size) in enumerate(zip(runtimes, sizes, strict=True)):
        fill(runtime.engine, 0, size)
        settle(runtime.engine)
        warm = Who(900 + n, "预热")  # one unmeasured application: caches and statement compilation
        one_application(runtime.router, warm, happy_path(runtime.policies["dongguan"], start_date=start), update_ids)
    log = StatementLog(runtimes[-1].engine)
    log.on = True
    results: dict[int, list[float]] = {size: [] for size in sizes}
    keys = list(runtimes[0].policies)
    for r in range(researchers):
        for runtime, size in zip(runtimes, sizes, strict=True):
            policy = runtime.policies[keys[r % len(keys)]]
            who = Who(1_000 + r, "研究员")
            results[size] += one_application(runtime.router, who, happy_path(policy, start_date=start), update_ids)
    for size, samples in results.items():
        print(f"{size:>7} stored: median {median_ms(samples):.2f} ms/update, p95 {p95_ms(samples):.2f} ms",
              flush=True)
    return results, explain(runtimes[-1].engine, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--researchers", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL to create fresh databases on; default: SQLite files")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if args.database_url:  # a server: one fresh database per size on it
            conftest.PG_SERVER = args.database_url
        urls = []
        for size in sizes:
            (Path(tmp) / str(size)).mkdir()
            urls.append(stack.enter_context(fresh_database(Path(tmp) / str(size))))
        results, plans = measure(urls, sizes, args.researchers)
    base = statistics.median(results[sizes[0]])
    rows = [f"| {size:,} | {median_ms(s):.2f} | {p95_ms(s):.2f} | **{statistics.median(s) / base:.2f}** |"
            for size, s in results.items()]
    growth = statistics.median(results[sizes[-1]]) / base
    print(f"growth {sizes[0]} → {sizes[-1]}: {growth:.2f}× (target ≤ {TARGET})")
    scans = [p for p in plans if p[2]]
    for statement, plan, _bad in scans:
        print(f"FULL SCAN: {statement}\n   plan: {plan}")
    db = "PostgreSQL" if args.database_url and args.database_url.startswith("postgres") else "SQLite"
    body = "\n".join([
        f"Measured {machine()} · database {db} · {args.researchers} researchers × a full application per size.",
        "",
        "Each size is the number of other users, each holding a draft in progress, a submitted draft with its "
        "case, an upload and a handled update in the inbox (so 100,000 means 200,000 drafts and 100,000 cases).",
        "",
        "| stored per table | median ms/update | p95 ms | ratio to smallest |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Growth {sizes[0]:,} → {sizes[-1]:,}: {growth:.2f}× (target ≤ {TARGET}: {verdict(growth <= TARGET)}).",
        "",
        f"EXPLAIN of the {len(plans)} distinct statements the flow issued at the largest size: "
        + ("no full scan of a growing table." if not scans else f"{len(scans)} full scan(s):"),
        *[f"- `{s}` — {p}" for s, p, _b in scans],
    ])
    path = write_section("scale", "Scale: flow latency against stored rows", body, args.report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
