"""Memory: RSS growth of the running bot process per in-progress draft.

    .venv/bin/python -m bench.memory [--drafts 10000] [--database-url URL]

The bot keeps no per-draft state in memory by design (a draft lives in the database and is loaded for one
action), so the resident size of a process that has handled updates for 10,000 drafts should barely
move. Each of N users sends /new (creating a draft, the first screen sent back); RSS of the real bot
process (`python -m bot` with its flow process, from /proc) is read after a warm-up of 500 drafts and again after all N, and
the growth is divided by the drafts in between. Target ≤ 4 KB per draft.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, func, select

from bench.common import machine, process_tree, verdict, write_section
from storage import inbox
from storage.db import make_engine
from storage.models import Draft
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess

TARGET_KB = 4.0


def rss_kb(pid: int) -> int:
    """The resident size of the bot with its flow processes (bot/flowprocess.py), which hold the drafts'
    work as much as the bot does."""
    total = 0
    for each in process_tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:  # ended while we looked
            continue
    if not total:
        raise RuntimeError("no VmRSS")
    return total


def backlog(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return inbox.backlog(s)
    finally:
        engine.dispose()


def create_drafts(server: BotApiServer, url: str, first: int, count: int, chunk: int = 500) -> None:
    """`count` users each send /new; chunked so the server's queue stays short, then wait until the bot
    has handled everything. The server being quiet is not enough: an update is confirmed as soon as it is
    in the inbox, and on a loaded machine the handling lags behind (a first version of this benchmark
    read the RSS with most of the drafts still unhandled), so the inbox must also be empty."""
    for lo in range(first, first + count, chunk):
        for uid in range(lo, min(first + count, lo + chunk)):
            server.user(uid, first_name="研究员").send_text("/new")
        server.wait_idle(timeout=300, quiet=0.3)
    deadline = time.monotonic() + 600
    while backlog(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    server.wait_idle(timeout=300, quiet=0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    warmup = min(args.warmup, args.drafts // 2)
    with tempfile.TemporaryDirectory() as tmp, BotApiServer() as server:
        with fresh_database(Path(tmp)) if args.database_url is None else _Given(args.database_url) as url:
            bot = BotProcess(server, url, Path(tmp), RATE_LIMITER="0").start()
            try:
                pid = bot.proc.pid  # type: ignore[union-attr]
                started = rss_kb(pid)
                create_drafts(server, url, 5_000_000, warmup)
                before = rss_kb(pid)
                began = time.perf_counter()
                create_drafts(server, url, 5_000_000 + warmup, args.drafts - warmup)
                elapsed = time.perf_counter() - began
                after = rss_kb(pid)
                with Session(make_engine(url)) as s:
                    stored = s.exec(select(func.count()).select_from(Draft)).one()
            finally:
                bot.stop()
    per_draft = (after - before) / (args.drafts - warmup)
    print(f"RSS at start {started} KB, after {warmup} drafts {before} KB, after {args.drafts} drafts {after} KB "
          f"({stored} drafts stored); growth {per_draft:.2f} KB/draft (target ≤ {TARGET_KB}); "
          f"{(args.drafts - warmup) / elapsed:.0f} drafts/s")
    db = "PostgreSQL" if args.database_url and args.database_url.startswith("postgres") else "SQLite"
    body = "\n".join([
        f"Measured {machine()} · database {db}.",
        "",
        f"{args.drafts:,} users each start a draft with /new in the real bot process (no rate limiter); RSS "
        f"read from /proc after a warm-up of {warmup} drafts and at the end, once the inbox is empty "
        f"({stored:,} drafts stored).",
        "",
        "| RSS at start | after warm-up | after all drafts | growth per draft |",
        "|---|---|---|---|",
        f"| {started / 1024:.1f} MB | {before / 1024:.1f} MB | {after / 1024:.1f} MB | **{per_draft:.2f} KB** |",
        "",
        f"Target ≤ {TARGET_KB} KB per draft: {verdict(per_draft <= TARGET_KB)}.",
    ])
    path = write_section("memory", "Memory: RSS per in-progress draft", body, args.report)
    print(f"written to {path}")
    return 0


class _Given:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())
