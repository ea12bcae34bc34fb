"""Two bot processes on one PostgreSQL against one, same load, same run: bot CPU seconds per update,
updates/s, and how many answers were lost or applied twice.

    .venv/bin/python -m bench.replicas [--users 20] [--report PATH]

Both configurations run in webhook mode behind the round-robin proxy of the replica test
(tests/replicas.py), without PTB's rate limiter (the capacity, not Telegram's 30/s), on a private
PostgreSQL server started for the run, so its CPU can be read apart from anything else on the machine.
Each configuration gets a fresh database and the same researchers' workload as bench/dialog.py. The CPU of
the bot processes, of PostgreSQL and of this process (the Bot API server and the simulated users) is
reported for each, because on a 2-core machine they share the cores and a ratio means little without them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlmodel import Session, select

from bench.common import machine, verdict, write_section
from bench.dialog import _ours, cpu_seconds, drive, workload
from dialogs.policy import load_policies
from storage.db import make_engine
from storage.inbox import DONE, InboxUpdate
from storage.models import Case, Upload
from tests.botapi import BotApiServer
from tests.pgserver import PrivatePostgres
from tests.replicas import RoundRobinProxy, WebhookBot, free_port

POLICY_KEYS = ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"]
CPU_TARGET, SPEED_TARGET = 1.15, 1.3


def postgres_cpu(server: PrivatePostgres) -> float:
    """CPU seconds of the server: the postmaster and every backend it forked."""
    master = int((server.dir / "data" / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == master or int(stat[1]) == master:
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def check(url: str, first_id: int, users: int) -> tuple[int, int]:
    """(lost, doubled): researchers without their case, and answers applied twice (a second case, an
    upload stored twice)."""
    policies = load_policies()
    engine = make_engine(url)
    lost = doubled = 0
    try:
        with Session(engine) as s:
            for i in range(users):
                policy = policies[POLICY_KEYS[i % len(POLICY_KEYS)]]
                cases = s.exec(select(Case).where(Case.applicant_id == first_id + i)).all()
                if not cases:
                    lost += 1
                    continue
                doubled += len(cases) - 1
                uploads = s.exec(select(Upload).where(Upload.draft_id == cases[0].draft_id)).all()
                doubled += max(0, len(uploads) - sum(m.required for m in policy.materials))
    finally:
        engine.dispose()
    return lost, doubled


def inbox_accounting(url: str, sent: int) -> tuple[int, int]:
    """(updates lost, updates handled twice) as the inbox saw them: every update the simulated users sent
    must be one row, finished; an update id stored twice would be a second row."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            rows = s.exec(select(InboxUpdate.update_id, InboxUpdate.status)).all()
    finally:
        engine.dispose()
    done = sum(1 for _uid, status in rows if status == DONE)
    twice = len(rows) - len({uid for uid, _status in rows})
    return max(0, sent - done), twice


def measure(server: PrivatePostgres, processes: int, users: int, workdir: Path, run: int = 0) -> dict[str, float]:
    name = f"bench_{processes}_{run}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server.url.rsplit('/', 1)[0]}/{name}"
    plans = workload(POLICY_KEYS, users)
    first = 3_000_000 + processes * 100_000 + run * 1_000_000
    with BotApiServer() as api, RoundRobinProxy([free_port() for _ in range(processes)]) as proxy:
        bots = [WebhookBot(api, url, workdir, proxy.url, port, name=f"bench{processes}-{i}-run{run}", RATE_LIMITER="0",
                            FLOW_PROCESSES="0")
                for i, port in enumerate(proxy.backends)]
        for bot in bots:
            bot.start()
        try:
            deadline = time.monotonic() + 30
            while api.webhook() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            warm, _secs = drive(api, first - 1000, workload(["dongguan"], processes), _ours)  # warm-up: every process
            bot_cpu = sum(cpu_seconds(b.proc.pid) for b in bots)  # type: ignore[union-attr]
            pg_cpu, own_cpu = postgres_cpu(server), time.process_time()
            n, secs = drive(api, first, plans, _ours)
            result = {
                "updates": n, "rate": n / secs,
                "bot_cpu_per_update": (sum(cpu_seconds(b.proc.pid) for b in bots) - bot_cpu) / n,  # type: ignore[union-attr]
                "bot_busy": (sum(cpu_seconds(b.proc.pid) for b in bots) - bot_cpu) / secs,  # type: ignore[union-attr]
                "pg_busy": (postgres_cpu(server) - pg_cpu) / secs,
                "harness_busy": (time.process_time() - own_cpu) / secs,
            }
        finally:
            for bot in bots:
                bot.stop()
    result["lost"], result["doubled"] = check(url, first, users)
    result["updates_lost"], result["updates_twice"] = inbox_accounting(url, warm + n)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--report", type=Path, default=None, help="default: docs/BENCHMARKS.md")
    parser.add_argument("--repeats", type=int, default=3, help="runs of one and two processes, alternating")
    parser.add_argument("--logs", type=Path, default=None, help="keep the bot processes' logs here")
    args = parser.parse_args(argv)
    runs: list[tuple[dict[str, float], dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp, PrivatePostgres() as server:
        workdir = args.logs or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in range(args.repeats):
            one = measure(server, 1, args.users, workdir, n)
            two = measure(server, 2, args.users, workdir, n)
            runs.append((one, two))
            print(f"run {n + 1}: one {one['rate']:.1f}/s {one['bot_cpu_per_update'] * 1000:.1f} ms CPU/update, "
                  f"two {two['rate']:.1f}/s {two['bot_cpu_per_update'] * 1000:.1f} ms; speed "
                  f"{two['rate'] / one['rate']:.2f}×, CPU {two['bot_cpu_per_update'] / one['bot_cpu_per_update']:.2f}×; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    cpu_ratios = [b["bot_cpu_per_update"] / a["bot_cpu_per_update"] for a, b in runs]
    speed_ratios = [b["rate"] / a["rate"] for a, b in runs]
    cpu_ratio, speed_ratio = statistics.median(cpu_ratios), statistics.median(speed_ratios)
    rows = []
    for n, (one, two) in enumerate(runs):
        for k, r in (("one process", one), ("two processes", two)):
            rows.append(f"| {n + 1} | {k} | {int(r['updates'])} | {r['rate']:.1f} | "
                        f"{r['bot_cpu_per_update'] * 1000:.1f} ms | {r['bot_busy']:.0%} / {r['pg_busy']:.0%} / "
                        f"{r['harness_busy']:.0%} | {int(r['lost'])} / {int(r['doubled'])} | "
                        f"{int(r['updates_lost'])} / {int(r['updates_twice'])} |")
    every = [r for pair in runs for r in pair]
    bad = sum(r["lost"] + r["doubled"] + r["updates_lost"] + r["updates_twice"] for r in every)
    body = "\n".join([
        f"Measured {machine()} · {args.users} researchers at once, PostgreSQL (a private server), webhook mode "
        f"behind a round-robin proxy, no rate limiter · load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        "| run | configuration | updates | updates/s | bot CPU per update | CPU busy: bots / PostgreSQL / Bot API "
        "server + proxy + users | applications lost / doubled | updates lost / handled twice |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Two ÷ one, median of {len(runs)} runs: bot CPU per update **{cpu_ratio:.2f}×** (spread "
        f"{min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}; target ≤ {CPU_TARGET}: {verdict(cpu_ratio <= CPU_TARGET)}), "
        f"updates/s **{speed_ratio:.2f}×** (spread {min(speed_ratios):.2f}–{max(speed_ratios):.2f}; target ≥ "
        f"{SPEED_TARGET}: {verdict(speed_ratio >= SPEED_TARGET)}); lost and doubled, applications and updates, "
        f"over all runs: {int(bad)} (target 0: {verdict(bad == 0)}).",
    ])
    print(body)
    write_section("replicas", "Replicas: two processes on PostgreSQL against one", body, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
