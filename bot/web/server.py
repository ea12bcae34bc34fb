"""The bot's own small web server: one aiohttp Application, run inside the bot process.

Why in the bot process: the desk must see exactly what the chat sees (same database, same policies,
same calendar, same clock) and must be able to make the bot send a message; a second service would
need its own copy of all of that. Why aiohttp and not PTB's webhook server: PTB's tornado handler
answers Telegram 200 before an update is handled, so a crash loses it; a webhook endpoint that writes
each update durably first can live on this server instead.

One server per process, whatever it serves (`web_server` below, started by bot/services.py): in webhook
mode the webhook endpoint (bot/webhook.py) on WEBHOOK_LISTEN:WEBHOOK_PORT, with the desk beside it under
/desk/ when DESK_URL is set; in polling mode the desk alone on DESK_LISTEN:DESK_PORT. Each module brings
its own routes and middlewares — authentication is a property of the routes, not of the server — and
mounts them before the server starts.

`mount` after `start` is refused (aiohttp freezes the router when the server starts). Every response
gets the same protective headers; a sub-application may add its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

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


def web_server(runtime: Any, bot: Any, store: Any = None) -> WebServer | None:
    """The process's one web server: the webhook endpoint when `store` (the inbox's, bot/services.py) is
    given, the desk when DESK_URL is set; None when there is nothing to serve (polling without a desk)."""
    from bot.web.desk import PREFIX, Desk  # the desk needs the runtime; the server itself does not
    from bot.webhook import mount

    settings = runtime.settings
    desk = bool(settings.desk_url)
    if store is None and not desk:
        return None
    if store is not None:
        server = WebServer(settings.webhook_listen, settings.webhook_port)
        path = urlparse(settings.webhook_url).path or "/"
        mount(server.app, path=path, secret=settings.webhook_secret, store=store)
        server.mounted.append(path)
    else:
        server = WebServer(settings.desk_listen, settings.desk_port)
    if desk:
        server.mount(PREFIX, Desk(runtime, bot).app())
    return server
