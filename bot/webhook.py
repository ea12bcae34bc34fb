"""The webhook endpoint: an update is committed to the inbox before Telegram hears 200.

PTB's own webhook server (tornado) answers 200 as soon as the update is queued in memory, so a crash
loses whatever is queued. Here the request handler verifies the secret token, writes the update to the
inbox table and commits, and only then answers 200; when the database cannot take it the answer is 500
and Telegram delivers the update again later. Handling happens from the inbox (bot/dispatch.py), in any
process that shares the database, so any number of bot processes can serve the same webhook URL
behind a proxy.

`mount(app, …)` adds the route to an `aiohttp.web.Application` (the web desk shares the same server);
`serve(…)` runs one on its own.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Store = Callable[[list[dict[str, Any]]], Awaitable[int]]
MAX_BODY = 1 << 20  # Telegram's updates are small; anything bigger is not one


def mount(app: web.Application, *, path: str, secret: str, store: Store) -> None:
    """POST `path` takes one update: 403 without the secret, 400 when it is not an update, 500 when it
    could not be stored (Telegram retries), 200 once it is committed."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400)
        try:
            await store([payload])
        except Exception as exc:  # noqa: BLE001 - not stored: Telegram must deliver it again
            log.warning("could not store update %s (%s: %s); answering 500 so it is delivered again",
                        payload["update_id"], type(exc).__name__, exc)
            return web.Response(status=500)
        return web.Response(status=200)

    app.router.add_post("/" + path.lstrip("/"), receive)


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app` (with the routes mounted on it); the caller cleans the runner up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("webhook listening on %s:%s", host, port)
    return runner
