"""What every benchmark shares: the machine description and writing results to docs/BENCHMARKS.md.

Each benchmark owns one section of the report, delimited by HTML comments, and replaces it on every
run: the file then always shows the latest figure of each benchmark with the machine it came from,
instead of growing without bound.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "BENCHMARKS.md"
HEADER = """# Benchmarks

Each benchmark is one command and replaces its own section below (`.venv/bin/python -m bench.dialog`,
`-m bench.responsiveness`, `-m bench.replicas`, `-m bench.scale`, `-m bench.memory`, `-m bench.reminders`;
`-m bench.dialog --profile FILE` then `-m bench.profile FILE` for the capacity profile). Machines are noisy:
speed figures are ratios against a baseline measured in the same run, each measured several times (median
and spread), and the tests never assert on wall-clock time (`tests/test_bench_smoke.py` only runs each
benchmark with tiny sizes so it cannot rot).
"""

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    """One line naming what the figures were measured on, since they mean little without it."""
    return (f"{dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} · nproc {os.cpu_count()} · "
            f"{cpu_model()} · Python {platform.python_version()} · {platform.system()} {platform.release()}")


def write_section(name: str, title: str, body: str, report: Path | None = None) -> Path:
    """Replace (or append) the section `name` of the report with `body`."""
    path = report or REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    block = f"<!-- bench:{name} -->\n## {title}\n\n{body.strip()}\n<!-- /bench:{name} -->\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")
    return path


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


def p95_ms(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000.0


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def process_tree(pid: int) -> list[int]:
    """A process and every process under it, from /proc (a bot and its flow processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # ended while we looked
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found
