"""HTTP under PTB: the bot's CPU per Bot API call with aiohttp (bot/transport.py) against PTB's own httpx,
measured in the same run against the same Bot API test server (in a process of its own, so only the
bot side's CPU is counted).

    .venv/bin/python -m bench.transport [--calls 1200] [--concurrency 8] [--repeats 3] [--report PATH]

Each call is a sendMessage of a 400-character text with a six-button keyboard, as a screen of ours is;
`concurrency` of them are in flight at once, as the inbox workers send. The printed figure is aiohttp's CPU
per call ÷ httpx's (the median over the repeats, the two alternating).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import machine, write_section

CHAT = 777


def _serve(ready: Any, stop: Any) -> None:
    from tests.botapi import BotApiServer

    with BotApiServer() as server:
        server.user(CHAT, first_name="研究员").send_text("/start")
        ready.put(server.base_url)
        stop.wait()


async def _calls(base_url: str, backend: str, calls: int, concurrency: int) -> tuple[float, float]:
    """(CPU ms per call, calls per second)."""
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.request import HTTPXRequest

    from bot.transport import AiohttpRequest
    from tests.botapi import DEFAULT_TOKEN

    request = AiohttpRequest() if backend == "aiohttp" else HTTPXRequest(connection_pool_size=256)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(f"选项 {i}", callback_data=f"w:{i}")] for i in range(6)])
    async with Bot(DEFAULT_TOKEN, base_url=base_url, request=request) as bot:
        await bot.send_message(CHAT, "warm-up")

        async def one(n: int) -> None:
            for i in range(n):
                await bot.send_message(CHAT, "申" * 400 + str(i), reply_markup=markup)

        cpu, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*[one(calls // concurrency) for _ in range(concurrency)])
        done = calls // concurrency * concurrency
        return (time.process_time() - cpu) / done * 1000, done / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--report", type=Path, default=None, help="default: docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(ready, stop), daemon=True)
    server.start()
    rows, ratios = [], []
    try:
        base_url = ready.get(timeout=60)
        for n in range(args.repeats):
            httpx_cpu, httpx_rate = asyncio.run(_calls(base_url, "httpx", args.calls, args.concurrency))
            aio_cpu, aio_rate = asyncio.run(_calls(base_url, "aiohttp", args.calls, args.concurrency))
            ratios.append(aio_cpu / httpx_cpu)
            rows.append(f"| {n + 1} | {httpx_cpu:.2f} ms ({httpx_rate:.0f}/s) | {aio_cpu:.2f} ms ({aio_rate:.0f}/s) "
                        f"| **{ratios[-1]:.2f}** |")
            print(f"run {n + 1}: CPU per call httpx {httpx_cpu:.2f} ms, aiohttp {aio_cpu:.2f} ms, "
                  f"ratio {ratios[-1]:.2f}", flush=True)
    finally:
        stop.set()
        server.join(30)
    body = "\n".join([
        f"Measured {machine()} · {args.calls} sendMessage calls per run, {args.concurrency} in flight, "
        "the Bot API test server in a process of its own.",
        "",
        "The bot side's CPU per call (and calls per second) with PTB's HTTPXRequest and with our AiohttpRequest "
        "(bot/transport.py), one after the other in each run.",
        "",
        "| run | httpx | aiohttp | aiohttp ÷ httpx |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Median ratio **{statistics.median(ratios):.2f}** (spread {min(ratios):.2f}–{max(ratios):.2f}).",
    ])
    print(body)
    path = write_section("transport", "HTTP under PTB: aiohttp against httpx", body, args.report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
