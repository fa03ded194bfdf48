"""An ASGI app on uvicorn inside the service's asyncio loop (the process's signal handlers stay in charge): the
web console, and the Telegram webhook (bot/webhook.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn


class InLoopServer:
    """An ASGI app on uvicorn, inside this asyncio loop (our signal handlers stay in charge)."""

    def __init__(self, app: object, host: str, port: int) -> None:
        listening = self.listening = asyncio.Event()

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

            async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
                await super().startup(sockets)
                listening.set()

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self.server = _Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        waiting = asyncio.create_task(self.listening.wait())
        await asyncio.wait({self.task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self.task.done():
            self.task.result()  # the port is taken: uvicorn exits (SystemExit) — say so

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
