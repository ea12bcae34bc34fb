"""PTB's HTTP requests made with aiohttp instead of httpx.

Measured: under load the bot's own process spent over a third of its CPU below PTB's `_do_post`, most of
it in httpx, httpcore, h11 and anyio (py-spy, bench.dialog --profile). aiohttp (already here for the web
server, bot/web/server.py) parses HTTP in C: `python -m bench.transport` puts its CPU per call at 0.3–0.5×
httpx's (docs/BENCHMARKS.md). PTB supports other HTTP libraries through
`telegram.request.BaseRequest`; this is one, and it keeps PTB's contract: (status, body) for every
answer, `TimedOut` for a timeout, `NetworkError` for a connection that failed, the same timeouts.

`REQUEST_BACKEND=httpx` (bot/config.py) puts PTB's own HTTPXRequest back.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


def _given(value: Any, default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a pool of keep-alive connections. Timeouts mean what they mean in
    HTTPXRequest: `connect` to open a connection, `read` to wait for each part of the answer, `pool` to wait
    for a free connection. aiohttp has no write timeout of its own: the request as a whole is given at most
    the sum of the four."""

    def __init__(self, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size),
                headers={"User-Agent": self.USER_AGENT}, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept-Encoding",))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        phases = (pool, connect, write, read)
        timeout = aiohttp.ClientTimeout(  # (aiohttp's `connect` includes the wait for a pooled connection)
            total=None if None in phases else sum(phases),  # type: ignore[arg-type]
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect, sock_read=read)
        body: Any = None
        if files and request_data is not None:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():  # (PTB's UploadFileDict: always these three)
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        elif request_data is not None and request_data.parameters:
            # a JSON body, which the Bot API takes as well as a form: percent-encoding the form's Chinese
            # text (urllib's quote, in Python) was 1.7 % of the bot's CPU in the capacity profile
            body = aiohttp.JsonPayload(request_data.parameters)
        try:
            async with session.request(method, url, data=body, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
