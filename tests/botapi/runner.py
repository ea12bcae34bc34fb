"""Run a real PTB Application in a background thread, polling the fake server.

Why: the ``User`` helpers block (``wait_for``), so the bot cannot share the test's thread or
event loop.  Running the Application in its own thread + loop keeps tests plain synchronous
code and mirrors production (the bot polls, the "user" acts independently).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

__all__ = ["ApplicationThread"]


class ApplicationThread:
    """Context manager: ``with ApplicationThread(app): ...`` starts polling, then stops cleanly.

    Handler exceptions are collected in ``errors`` (via an error handler added to the app), so
    tests can assert the bot did not crash silently.
    """

    def __init__(self, application: Any, *, poll_timeout: int = 1, drop_pending_updates: bool = False,
                 startup_timeout: float = 15.0) -> None:
        self.application = application
        self.poll_timeout = poll_timeout
        self.drop_pending_updates = drop_pending_updates
        self.startup_timeout = startup_timeout
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    async def _on_error(self, update: object, context: Any) -> None:
        if context.error is not None:
            self.errors.append(context.error)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        app = self.application
        app.add_error_handler(self._on_error)
        try:
            async with app:
                await app.start()
                await app.updater.start_polling(
                    poll_interval=0, timeout=self.poll_timeout, drop_pending_updates=self.drop_pending_updates
                )
                self._started.set()
                await self._stop.wait()
                await app.updater.stop()
                await app.stop()
        except BaseException as exc:  # reported to the test thread
            self._failure = exc
            raise
        finally:
            self._started.set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException:  # noqa: BLE001 - stored in self._failure
            pass
        finally:
            loop.close()

    def start(self) -> ApplicationThread:
        """Start the thread and block until the Application is polling."""
        self._thread = threading.Thread(target=self._run, name="ptb-application", daemon=True)
        self._thread.start()
        if not self._started.wait(self.startup_timeout):
            raise RuntimeError("Application did not start polling in time")
        if self._failure is not None:
            raise RuntimeError("Application failed to start") from self._failure
        return self

    def run_coroutine(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run ``coro`` (e.g. ``app.bot.send_message(...)``) on the application's loop."""
        assert self._loop is not None  # noqa: S101
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop polling (PTB confirms fetched updates), shut the Application down, join the thread."""
        loop, stop = self._loop, self._stop
        if self._thread is None or loop is None or stop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        self._thread = None
        if self._failure is not None:
            raise RuntimeError("Application failed while running") from self._failure

    def __enter__(self) -> ApplicationThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
