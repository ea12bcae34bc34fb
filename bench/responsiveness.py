"""Responsiveness: the p99 latency of /help from an idle user while 20 others submit applications (each
submission builds a .docx), against the same user's /help p99 on the same bot when nobody else is there.

    .venv/bin/python -m bench.responsiveness [--users 20] [--probes 150] [--rounds 3] [--database-url URL]

One bot process (no rate limiter: the figure is what the bot's own work does to a waiting user, not
Telegram's 30/s); each round measures the idle p99 first and then the loaded p99 on the same process, so
the two share the machine's state as closely as a shared machine allows. Under load the researchers keep
starting new applications (fresh users each time) until the prober has its samples, so every probe is
taken while submissions are going on. The printed figure is the median over the rounds of loaded p99 ÷
idle p99, with the spread.

The same rounds are then run against the bare PTB echo bot (bench/echo_bot.py: it answers /help, as every
text, with one message), its 20 users sending the same kinds of updates back to back: what the shared
machine and the Bot API test server alone do to a waiting user's p99 under load, read beside ours.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import machine, verdict, write_section
from bench.dialog import POLICY_KEYS, Patient, _echo, _given, _ours, cpu_seconds, workload
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher
from tests.scenario import Step

TARGET = 2.0
PROBE_ID = 4_000_000


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def probe(server: BotApiServer, count: int, user_id: int = PROBE_ID) -> list[float]:
    """Seconds from sending /help to its answer being visible, `count` times, one after another."""
    user = Researcher(server, user_id).user
    samples = []
    for _ in range(count):
        mark = user.mark()
        began = time.perf_counter()
        user.send_text("/help")
        user.wait_for(None, timeout=60, since=mark)
        samples.append(time.perf_counter() - began)
        time.sleep(0.02)  # a person reads; also keeps the prober from being a load of its own
    return samples


def apply(r: Researcher, plan: list[Step], think: float, echo: bool = False) -> None:
    """One application, pausing `think` seconds after each answer as a person reading the screen would."""
    if echo:
        _echo(r, plan)
        return
    if think <= 0:
        _ours(r, plan)
        return
    r.command(plan[0].value)
    for step in plan[1:]:
        time.sleep(think)
        r.do(step)


def under_load(server: BotApiServer, users: int, count: int, first_id: int,
               think: float = 0.0, echo: bool = False) -> tuple[list[float], int]:
    """Probe while `users` researchers keep completing applications; returns (samples, submissions)."""
    stop = threading.Event()
    submitted = [0] * users
    errors: list[BaseException] = []

    def researcher(slot: int) -> None:
        n = 0
        try:
            while not stop.is_set():
                plan = workload(POLICY_KEYS[slot % len(POLICY_KEYS):] + POLICY_KEYS[:slot % len(POLICY_KEYS)], 1)[0]
                apply(Patient(server, first_id + n * users + slot), plan, think, echo)
                submitted[slot] += 1
                n += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=researcher, args=(i,), daemon=True) for i in range(users)]
    for th in threads:
        th.start()
    time.sleep(1.0)  # every researcher is under way before the first probe
    try:
        samples = probe(server, count)
    finally:
        stop.set()
        for th in threads:
            th.join(300)
    if errors:
        raise RuntimeError(f"{len(errors)} researcher(s) failed; first: {errors[0]!r}") from errors[0]
    return samples, sum(submitted)


def measure(users: int, probes: int, rounds: int, database_url: str | None, workdir: Path,
            think: float = 0.0, echo: bool = False) -> list[dict[str, float]]:
    results = []
    workdir.mkdir(parents=True, exist_ok=True)
    with BotApiServer() as server, (fresh_database(workdir) if database_url is None else _given(database_url)) as url:
        bot = (BotProcess(server, "sqlite://", workdir, module="bench.echo_bot", ECHO_RATE_LIMITER="0",
                          ECHO_CONCURRENT="1") if echo
               else BotProcess(server, url, workdir, RATE_LIMITER="0")).start()
        try:
            probe(server, 20)  # warm-up: imports, connections, the help screen's first render
            (_echo if echo else _ours)(Patient(server, 4_900_000), workload(["dongguan"], 1)[0])  # and one .docx
            for n in range(rounds):
                idle = probe(server, probes)
                cpu, began = cpu_seconds(bot.proc.pid), time.perf_counter()  # type: ignore[union-attr]
                loaded, submitted = under_load(server, users, probes, 5_000_000 + n * 1_000_000, think, echo)
                busy = (cpu_seconds(bot.proc.pid) - cpu) / (time.perf_counter() - began)  # type: ignore[union-attr]
                results.append({"idle_p99": p99(idle), "idle_median": statistics.median(idle),
                                "loaded_p99": p99(loaded), "loaded_median": statistics.median(loaded),
                                "ratio": p99(loaded) / p99(idle), "submitted": submitted, "bot_busy": busy})
                r = results[-1]
                print(f"{'echo ' if echo else ''}round {n + 1}: idle p99 {r['idle_p99'] * 1000:.0f} ms, loaded p99 "
                      f"{r['loaded_p99'] * 1000:.0f} ms, ratio {r['ratio']:.2f}; {submitted} submissions, "
                      f"bot CPU busy {busy:.0%}", flush=True)
        finally:
            bot.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.responsiveness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--probes", type=int, default=150, help="/help samples per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each researcher pauses after every answer (default 0: back to back)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--report", type=Path, default=None, help="default: docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args.users, args.probes, args.rounds, args.database_url, Path(tmp) / "ours", args.think)
        echoed = measure(args.users, args.probes, args.rounds, None, Path(tmp) / "echo", args.think, echo=True)
    ratios = [r["ratio"] for r in results]
    ratio = statistics.median(ratios)
    echo_ratios = [r["ratio"] for r in echoed]
    db = "PostgreSQL" if args.database_url and args.database_url.startswith("postgres") else "SQLite"
    rows = [f"| {who} {i + 1} | {r['idle_median'] * 1000:.0f} / {r['idle_p99'] * 1000:.0f} ms | "
            f"{r['loaded_median'] * 1000:.0f} / {r['loaded_p99'] * 1000:.0f} ms | {int(r['submitted'])} | "
            f"{r['bot_busy']:.0%} | **{r['ratio']:.2f}** |"
            for who, rs in (("ours", results), ("echo bot", echoed)) for i, r in enumerate(rs)]
    body = "\n".join([
        f"Measured {machine()} · {args.users} researchers submitting, database {db}, no rate limiter, "
        f"{args.probes} /help probes per phase, researchers pausing {args.think:g} s after each answer.",
        "",
        "One idle user sends /help, waits for the answer, and sends it again; first with nobody else on the bot, "
        f"then while {args.users} researchers keep completing applications (each submission builds its .docx). "
        "Each round measures both phases on the same bot process. The echo bot rows: the same against the bare PTB "
        "echo bot (`bench/echo_bot.py`, every update in a task of its own), its users sending the same kinds of "
        "updates back to back.",
        "",
        "| bot, round | idle median / p99 | loaded median / p99 | applications completed in the loaded phase "
        "| bot CPU busy (loaded) "
        "| loaded p99 ÷ idle p99 |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Median ratio **{ratio:.2f}×** (spread {min(ratios):.2f}–{max(ratios):.2f} over {len(ratios)} rounds); "
        f"target ≤ {TARGET}: {verdict(ratio <= TARGET)}. The bare echo bot under its own load, same rounds: "
        f"median **{statistics.median(echo_ratios):.2f}×** (spread {min(echo_ratios):.2f}–{max(echo_ratios):.2f}).",
    ])
    print(body)
    name = "responsiveness" if args.think <= 0 else "responsiveness-paced"
    title = "Responsiveness: /help while 20 others submit" + ("" if args.think <= 0 else
                                                             f" (pausing {args.think:g} s per answer)")
    path = write_section(name, title, body, args.report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
