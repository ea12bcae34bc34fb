"""The bot's own small web server: one aiohttp Application, run inside the bot process.

Why in the bot process: the desk must see exactly what the chat sees (same database, same policies,
same calendar, same clock) and must be able to make the bot send a message; a second service would
need its own copy of all of that. Why aiohttp and not PTB's webhook server: PTB's tornado handler
answers Telegram 200 before an update is handled, so a crash loses it; a webhook endpoint that writes
each update durably first can live on this server instead.

How to add routes (several modules share one server). Each module builds its own sub-application
with its own middlewares — authentication is a property of the routes, not of the server — and
mounts it under a path prefix before the server starts:

    server = WebServer(settings.desk_listen, settings.desk_port)
    server.mount("/desk/", desk_app(...))         # bot/web/desk.py
    server.mount("/telegram/", webhook_app(...))  # e.g. a durable webhook endpoint
    await server.start()                          # bot/app.py post_init
    ...
    await server.stop()                           # bot/app.py post_stop

`mount` after `start` is refused (aiohttp freezes the router when the server starts). Every response
gets the same protective headers; a sub-application may add its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Nothing served here may be sniffed into another type, cached by a proxy, or leak its URL."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class WebServer:
    def __init__(self, listen: str, port: int) -> None:
        self.listen = listen
        self.port = port
        self.app = web.Application(middlewares=[_headers])
        self._runner: web.AppRunner | None = None
        self.mounted: list[str] = []

    def mount(self, prefix: str, subapp: web.Application) -> None:
        """Serve `subapp` under `prefix` (e.g. "/desk/"); only before `start`."""
        if self._runner is not None:
            raise RuntimeError("routes must be mounted before the web server starts")
        self.app.add_subapp(prefix.rstrip("/") or "/", subapp)
        self.mounted.append(prefix)

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        """Routes at the root (e.g. a health check); only before `start`."""
        if self._runner is not None:
            raise RuntimeError("routes must be mounted before the web server starts")
        self.app.add_routes(routes)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        try:
            await site.start()
        except OSError:
            log.error("the web server cannot listen on %s:%s (DESK_LISTEN / DESK_PORT): is the port taken?",
                      self.listen, self.port)
            await self._runner.cleanup()
            self._runner = None
            raise
        log.info("web server listening on %s:%s (%s)", self.listen, self.port, ", ".join(self.mounted) or "-")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
