"""What a bot's CPU is spent on: a summary of py-spy's collapsed stacks (`bench.dialog --profile FILE`).

    .venv/bin/python -m bench.profile FILE [--top 15]

py-spy tries to sample only running threads, but a thread blocked inside C (SQLite waiting for its write
lock, epoll, a pool thread waiting for work) can still be sampled; those samples are counted apart as
waiting, and the shares of the rest are shares of the CPU. Each sample is put in one bucket: walking
from the innermost frame outwards, the first frame whose file belongs to a known library or layer names
the bucket (a JSON encode inside PTB's request counts as Telegram HTTP, a SQL compile inside SQLAlchemy
as database).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# (bucket, substrings of a frame's file path); the first bucket that matches a frame, innermost first, wins
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("document and picture builds (.docx, PNG)", ("/docx/", "/lxml/", "/PIL/", "/graphviz/", "bot/documents",
                                                  "dialogs/documents", "/documents/")),
    ("database (SQLAlchemy, sqlite3, psycopg)", ("/sqlalchemy/", "/sqlmodel/", "sqlite3", "/psycopg",
                                                 "storage/")),
    ("Telegram HTTP and objects (PTB, aiohttp, httpx)", ("/telegram/", "/aiohttp/", "/multidict/", "/yarl/",
                                                         "/httpx/", "/httpcore/", "/h11/", "/anyio/", "/ssl.py",
                                                         "/socket.py", "urllib/" + "parse.py")),  # (a library file, not ours)
    ("our dialog logic and rendering (bot/, dialogs/)", ("/bot/", "/dialogs/")),
    ("JSON", ("/json/",)),
    ("event loop and threads (asyncio, concurrent.futures)", ("/asyncio/", "/concurrent/", "/threading.py",
                                                              "/selectors.py")),
    ("policy YAML and validation (pydantic, yaml)", ("/pydantic", "/yaml/")),
    ("i18n (Babel)", ("/babel/",)),
]
# samples of a thread that is waiting, not computing: (label, substring of the innermost frames)
WAITING: list[tuple[str, str]] = [
    ("waiting for the SQLite write lock", "_sqlite_begin"),
    ("event loop idle (epoll)", "EpollSelector.select"),
    ("pool thread idle", "concurrent/futures/" + "thread.py:81"),  # (a library file, not ours)
]
OURS = re.compile(r"(^|/)(bot|dialogs|storage)/")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


PROCESS = re.compile(r"^process \d+:")
BOT, FLOW = "bot process", "flow process"


def parse(path: Path) -> list[tuple[str, list[tuple[str, str]], int, str]]:
    """[(raw stack, frames outermost first as (function, file), samples, process)]. With py-spy's
    `--subprocesses` each stack starts with the processes it is in, outermost first: a stack under a second
    one is the flow process's (bot/flowprocess.py)."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        processes = 0
        for part in stack.split(";"):
            if PROCESS.match(part.strip()):
                processes += 1
                continue
            m = FRAME.match(part.strip())
            frames.append((m["func"], m["file"]) if m else (part.strip(), ""))
        stacks.append((stack, frames, int(count), FLOW if processes > 1 else BOT))
    return stacks


def waiting(stack: str) -> str | None:
    for label, marker in WAITING:
        if marker in stack.rsplit(";", 1)[-1] or (marker == "_sqlite_begin" and marker in stack
                                                    and "do_execute" in stack.rsplit(";", 1)[-1]):
            return label
    return None


def bucket_of(frames: list[tuple[str, str]]) -> str:
    json_seen = False
    for _func, file in reversed(frames):
        if OURS.search(file) and "site-packages" not in file:
            return "our dialog logic and rendering (bot/, dialogs/)" if not file.startswith("storage/") \
                and "/storage/" not in file else "database (SQLAlchemy, sqlite3, psycopg)"
        for name, parts in BUCKETS:
            if any(p in "/" + file for p in parts):  # py-spy names files relative to their sys.path entry
                if name == "JSON":  # counted as JSON only when no caller names a library or layer
                    json_seen = True
                    break
                return name
    return "JSON" if json_seen else "other (interpreter, imports, GC)"


def short(func: str, file: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/bench2/", "/work/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{func} ({file})"


def summarise(path: Path, top: int = 15) -> str:
    stacks = parse(path)
    waits: Counter[str] = Counter()
    busy = []
    for stack, frames, n, process in stacks:
        label = waiting(stack)
        if label is None:
            busy.append((frames, n, process))
        else:
            waits[label] += n
    everything = sum(n for _s, _f, n, _p in stacks) or 1
    total = sum(n for _f, n, _p in busy) or 1
    buckets: Counter[str] = Counter()
    by_process: Counter[tuple[str, str]] = Counter()
    per_process: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, n, process in busy:
        bucket = bucket_of(frames)
        buckets[bucket] += n
        by_process[(process, bucket)] += n
        per_process[process] += n
        if frames:
            leaves[short(*frames[-1])] += n
        seen = set()
        for func, file in frames:  # inclusive time of our own functions (counted once per sample)
            if OURS.search(file) and "site-packages" not in file:
                key = short(func, file)
                if key not in seen:
                    seen.add(key)
                    ours[key] += n
    lines = [f"{everything} samples at 100 Hz; {everything - total} of them threads waiting: "
             + ", ".join(f"{label} {n / everything:.0%}" for label, n in waits.most_common()) + ".",
             f"The {total} computing samples"
             + (": " + ", ".join(f"{p} {per_process[p]} ({per_process[p] / total:.0%})" for p in (BOT, FLOW))
                if per_process[FLOW] else ":"), ""]
    if per_process[FLOW]:
        lines += ["| where the CPU goes | bot process | flow process | both |", "|---|---|---|---|"]
        lines += [f"| {name} | {by_process[(BOT, name)] / (per_process[BOT] or 1):.0%} "
                  f"| {by_process[(FLOW, name)] / per_process[FLOW]:.0%} | {n / total:.0%} |"
                  for name, n in buckets.most_common()]
    else:
        lines += ["| where the CPU goes | share |", "|---|---|"]
        lines += [f"| {name} | {n / total:.0%} |" for name, n in buckets.most_common()]
    lines += ["", "| our functions, inclusive (top) | share |", "|---|---|"]
    lines += [f"| `{name}` | {n / total:.0%} |" for name, n in ours.most_common(top)]
    lines += ["", "| innermost frames, self time (top) | share |", "|---|---|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in leaves.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    print(summarise(args.file, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
