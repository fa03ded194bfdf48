"""Serving an emulator inside the current event loop (tests, benchmarks): :func:`running_emulator`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from sandbox.client import EmulatorClient
from sandbox.emulator.app import BotApiEmulator


@dataclass
class RunningEmulator:
    """A served emulator: ``base_url``/``file_url`` go to PTB, ``url`` to the control client."""

    state: BotApiEmulator
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.url}/file/bot"

    def client(self) -> EmulatorClient:
        """An :class:`sandbox.client.EmulatorClient` for this emulator (use ``async with``)."""
        return EmulatorClient(self.url)


class _Server(uvicorn.Server):
    """uvicorn server that reports readiness with an event and leaves signal handlers alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


@contextlib.asynccontextmanager
async def running_emulator(
    *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", **kwargs: Any
) -> AsyncIterator[RunningEmulator]:
    """Serve a new emulator on a free loopback port inside the running event loop.

    ``kwargs`` go to :class:`BotApiEmulator` (``enforce_limits``, ``global_rate``...).
    """
    state = BotApiEmulator(**kwargs)
    # IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets (else ~40 ms per request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    config = uvicorn.Config(
        state.app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    serve = asyncio.create_task(server.serve(sockets=[sock]), name="telegram-emulator")
    ready = asyncio.create_task(server.ready.wait())
    try:
        await asyncio.wait({serve, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            raise RuntimeError("the Telegram emulator failed to start") from serve.exception()
        yield RunningEmulator(state, host, sock.getsockname()[1])
    finally:
        ready.cancel()
        await state.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serve
        sock.close()
