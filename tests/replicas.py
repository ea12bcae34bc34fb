"""Several bot processes behind one webhook URL: the harness of the replica and webhook fault tests.

`WebhookBot` is the real bot (`python -m bot --webhook`) on a port of its own; `RoundRobinProxy` is the
reverse proxy a deployment puts in front of them (like nginx with `proxy_next_upstream error`): each
request goes to the next backend, and to the one after when a backend refuses the connection; a
backend that dies mid-request makes the proxy answer 502, and Telegram (here tests/botapi) delivers the
update again.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.botapi import BotApiServer
from tests.e2e import BotProcess

SECRET = "replica-test-secret_0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class WebhookBot(BotProcess):
    def __init__(self, server: BotApiServer, database_url: str, workdir: Path, public_url: str, port: int,
                 name: str = "bot", **env: str) -> None:
        super().__init__(server, database_url, workdir, WEBHOOK_URL=public_url, WEBHOOK_SECRET=SECRET,
                         WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), **env)
        self.port = port
        self.name = name

    def logfile(self, n: int | None = None) -> Path:
        return self.workdir / f"{self.name}-{n or self.starts}.log"

    def start(self, timeout: float = 60.0) -> WebhookBot:
        self.starts += 1
        log = open(self.logfile(), "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, "--webhook"], cwd=self.workdir,
                                     env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not listening(self.port):
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not listen within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.logfile().read_text(errors="replace")

    def all_logs(self) -> str:
        return "".join(self.logfile(n).read_text(errors="replace") for n in range(1, self.starts + 1)
                       if self.logfile(n).exists())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class RoundRobinProxy:
    """POST /<path> forwarded to the backends in turn; a refused connection tries the next one."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = free_port()
        self.forwarded = 0
        self.failed = 0
        self._turn = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type",
                                                                          "x-telegram-bot-api-secret-token")}
        start = next(self._turn)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for i in range(len(self.backends)):
                port = self.backends[(start + i) % len(self.backends)]
                try:
                    async with session.post(f"http://127.0.0.1:{port}{request.path}", data=body,
                                            headers=headers) as resp:
                        await resp.read()
                        self.forwarded += 1
                        return web.Response(status=resp.status)
                except aiohttp.ClientConnectorError:
                    continue  # that backend is down: the next one
                except (aiohttp.ClientError, TimeoutError):
                    self.failed += 1
                    return web.Response(status=502)  # died mid-request: Telegram will deliver it again
        self.failed += 1
        return web.Response(status=502)

    def _run(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(main())

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
