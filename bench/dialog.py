"""Dialog throughput: N simulated researchers at once, each completing a full application through the
local Bot API server against the real bot process, against a bare PTB echo bot doing the same number of
updates of the same kinds on the same server in the same run.

    .venv/bin/python -m bench.dialog [--users 20] [--database-url URL] [--report PATH]

Printed figure: our updates/s ÷ echo updates/s (each update gets exactly one visible answer, a new or an
edited message, so updates/s is messages/s). Both bots are measured twice: without PTB's AIORateLimiter
(the processing capacity, where our dialog logic and database show) and with it, as deployed (both are
then capped by the limiter's 30 chat messages/s, the Telegram flood limit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import machine, process_tree, verdict, write_section
from dialogs.policy import load_policies
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher, has_keyboard
from tests.scenario import Step, happy_path

TARGET = 0.8
POLICY_KEYS = ["dongguan", "zhejiang", "yunnan", "liaoning", "shanwei"]


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process and of every process under it (the bot's flow processes,
    bot/flowprocess.py): shows whether a bot was the bottleneck of its run."""
    ticks = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])  # (+ children reaped)
    return ticks / os.sysconf("SC_CLK_TCK")


def workload(policy_keys: list[str], users: int) -> list[list[Step]]:
    """Per researcher: /new, then a complete application for a policy (round robin over the five)."""
    policies = load_policies()
    start = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    return [[Step("text", "/new"), *happy_path(policies[policy_keys[i % len(policy_keys)]], start_date=start)]
            for i in range(users)]


class Patient(Researcher):
    """A simulated researcher who waits up to two minutes for an answer: on a machine shared with other
    work an answer can take longer than the end-to-end tests' 15 s, and a benchmark should measure that
    rather than fail on it."""

    def _wait(self, mark: int, timeout: float = 120.0) -> dict[str, Any]:
        return super()._wait(mark, max(timeout, 120.0))


def _ours(r: Researcher, steps: list[Step]) -> None:
    r.command(steps[0].value)
    r.run(steps[1:])


def _echo(r: Researcher, steps: list[Step]) -> None:
    """The same sequence of update kinds against the echo bot: texts, presses, documents."""
    for step in steps:
        mark = r.user.mark()
        if step.kind == "press" and r.user.messages():
            r.user.press_data("echo", r.screen()["message_id"])
        elif step.kind == "doc":
            r.user.send_document(step.value, b"%PDF-1.4\n" + b"0" * max(0, step.size - 9), "application/pdf")
        else:
            r.user.send_text(step.value if step.kind == "text" else "start")
        r.user.wait_for(has_keyboard, timeout=60, since=mark)


def drive(server: BotApiServer, first_id: int, plans: list[list[Step]],
          one: Callable[[Researcher, list[Step]], None]) -> tuple[int, float]:
    """All researchers start together; returns (updates sent, seconds until the last one finished)."""
    researchers = [Patient(server, first_id + i) for i in range(len(plans))]
    barrier = threading.Barrier(len(plans) + 1)
    errors: list[BaseException] = []

    def run(r: Researcher, steps: list[Step]) -> None:
        barrier.wait()
        try:
            one(r, steps)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r, p), daemon=True) for r, p in zip(researchers, plans, strict=True)]
    for th in threads:
        th.start()
    barrier.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - began
    drive.harness_cpu = (time.process_time() - cpu) / elapsed  # type: ignore[attr-defined]
    if errors:
        raise RuntimeError(f"{len(errors)} researcher(s) failed; first: {errors[0]!r}") from errors[0]
    return sum(len(p) for p in plans), elapsed


def profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the bot while it is measured (collapsed stacks, one line per distinct stack): what
    its CPU per update is spent on. Only the thread holding the GIL is sampled: a thread waiting for the GIL
    or a lock was otherwise counted in whatever frame it waited (asyncio's `_write_to_self` came out at 12 %).
    Sampling at 100 Hz without pausing the process barely slows it."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "100",
                             "--nonblocking", "--gil", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the first update
    return proc


def measure(users: int, database_url: str | None, workdir: Path, limiter: bool,
            profile: Path | None = None) -> dict[str, float]:
    plans = workload(POLICY_KEYS, users)
    flag = "1" if limiter else "0"
    result: dict[str, float] = {}
    with BotApiServer() as server:
        echo = BotProcess(server, "sqlite://", workdir, module="bench.echo_bot", ECHO_RATE_LIMITER=flag).start()
        try:
            drive(server, 900_000, workload(["dongguan"], 1), _echo)  # warm-up: imports, connections
            cpu = cpu_seconds(echo.proc.pid)  # type: ignore[union-attr]
            n, secs = drive(server, 1_000_000, plans, _echo)
            result["echo"] = n / secs
            result["echo_cpu"] = (cpu_seconds(echo.proc.pid) - cpu) / secs  # type: ignore[union-attr]
            result["echo_harness"] = drive.harness_cpu  # type: ignore[attr-defined]
        finally:
            echo.stop()
        with fresh_database(workdir) if database_url is None else _given(database_url) as url:
            ours = BotProcess(server, url, workdir, RATE_LIMITER=flag).start()
            try:
                drive(server, 1_900_000, workload(["dongguan"], 1), _ours)
                cpu = cpu_seconds(ours.proc.pid)  # type: ignore[union-attr]
                spy = profiler(ours.proc.pid, profile) if profile else None  # type: ignore[union-attr]
                try:
                    n, secs = drive(server, 2_000_000, plans, _ours)
                finally:
                    if spy is not None:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(60)
                result["ours"] = n / secs
                result["ours_cpu"] = (cpu_seconds(ours.proc.pid) - cpu) / secs  # type: ignore[union-attr]
                result["ours_harness"] = drive.harness_cpu  # type: ignore[attr-defined]
                result["updates"] = n
            finally:
                ours.stop()
    return result


class _given:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dialog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--report", type=Path, default=None, help="default: docs/BENCHMARKS.md")
    parser.add_argument("--only", choices=["capacity", "deployed"], default=None,
                        help="measure one configuration (the smoke test does)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy collapsed stacks of our bot during the capacity run (see bench/profile.py)")
    parser.add_argument("--repeats", type=int, default=1, help="measure each configuration this many times")
    args = parser.parse_args(argv)
    rows = []
    ratios: dict[bool, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for limiter in [c == "deployed" for c in ([args.only] if args.only else ["capacity", "deployed"])]:
            label = "with AIORateLimiter (as deployed)" if limiter else "without rate limiter (capacity)"
            for n in range(args.repeats):
                workdir = Path(tmp) / f"{'limited' if limiter else 'unlimited'}-{n}"
                workdir.mkdir()
                profile = args.profile if (args.profile and not limiter and n == 0) else None
                r = measure(args.users, args.database_url, workdir, limiter, profile)
                ratio = r["ours"] / r["echo"]
                cpu_ratio = (r["ours_cpu"] / r["ours"]) / (r["echo_cpu"] / r["echo"])
                ratios.setdefault(limiter, []).append(ratio)
                rows.append(f"| {label} | {n + 1} | {int(r['updates'])} | {r['echo']:.1f} | {r['ours']:.1f} "
                            f"| **{ratio:.2f}** | {r['echo_cpu']:.0%} / {r['ours_cpu']:.0%} | {cpu_ratio:.2f}× |")
                print(f"{label} #{n + 1}: echo {r['echo']:.1f} msg/s, ours {r['ours']:.1f} msg/s, ratio {ratio:.2f}; "
                      f"bot CPU busy echo {r['echo_cpu']:.0%} ours {r['ours_cpu']:.0%} (CPU per update "
                      f"{cpu_ratio:.2f}× echo's); harness (server+users) CPU "
                      f"{r['echo_harness']:.0%} / {r['ours_harness']:.0%}; load {os.getloadavg()[0]:.1f}", flush=True)
    db = "PostgreSQL" if args.database_url and args.database_url.startswith("postgres") else "SQLite"
    summary = ", ".join(
        f"{'with' if limited else 'without'} the limiter median **{statistics.median(rs):.2f}** "
        f"(spread {min(rs):.2f}–{max(rs):.2f}, {len(rs)} run{'s' if len(rs) > 1 else ''}): "
        f"{verdict(statistics.median(rs) >= TARGET)}" for limited, rs in ratios.items())
    body = "\n".join([
        f"Measured {machine()} · {args.users} researchers at once, database {db} · "
        f"load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        "Each researcher sends /new and completes a full application (`tests/scenario.happy_path`, the five "
        "policies in turn) through the local Bot API server against the real bot process; the baseline is a "
        "bare PTB echo bot (`bench/echo_bot.py`) given the same number of updates of the same kinds, measured "
        "just before ours in each run.",
        "",
        "| configuration | run | updates | echo msg/s | ours msg/s | ours ÷ echo | bot process CPU busy (echo / ours) "
        "| our CPU per update ÷ echo's |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Target ≥ {TARGET}: {summary}.",
    ])
    path = write_section("dialog", "Dialog throughput", body, args.report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
