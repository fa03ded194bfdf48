"""The Bot API transport: python-telegram-bot's request interface (`BaseRequest`) over aiohttp's client.

PTB's own transport (httpx) cost about 0.8 ms of CPU per call on this machine, aiohttp's 0.16 ms (bench: the same
POST to a local server); with one or two Bot API calls and one Rasa call a turn, httpx was a fifth of the service's
CPU under load (py-spy, BENCHMARKS.md "Cutting a turn's CPU, third round"). The behaviour PTB expects is kept:
its form-encoded (or multipart, for files) bodies, its timeouts (a default per kind, overridable per call), a
timeout raised as `TimedOut` and any other transport failure as `NetworkError`. At most `connections` calls are
handed to aiohttp at once; the others wait here, in order (the pool timeout bounds that wait, as PTB's does).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 8  # Bot API calls at once: a handful of kept-alive connections keeps up with Telegram's rate


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connections: int = CONNECTIONS,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connections
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout}
        self._pool_timeout, self._media_write_timeout = pool_timeout, media_write_timeout
        self._in_flight = asyncio.Semaphore(connections)
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data and request_data.contains_files)
        read = self._timeouts["read"] if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._timeouts["connect"] if isinstance(connect_timeout, DefaultValue) else connect_timeout
        write = write_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if files else self._timeouts["write"]
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp has no write timeout of its own: the whole call is bounded by connect + write + read
        total = None if None in (read, connect, write) else read + connect + write
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with asyncio.timeout(pool):
                await self._in_flight.acquire()
        except TimeoutError as error:
            raise TimedOut(
                "Pool timeout: all connections are busy. The request was *not* sent to Telegram."
            ) from error
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
        finally:
            self._in_flight.release()


def _body(request_data: RequestData | None) -> Any:
    """PTB's parameters as httpx would send them: a form, or multipart/form-data when files are attached."""
    if request_data is None:
        return None
    parameters = request_data.json_parameters
    if not request_data.contains_files:
        return parameters
    form = aiohttp.FormData()
    for name, value in parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():  # bytes or a file object
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
