"""Local Telegram Bot API emulator: tests, benchmarks and the "sandbox" web page.

* :class:`~sandbox.emulator.BotApiEmulator` — the in-memory Telegram (Starlette app in ``.app``);
* :func:`~sandbox.emulator.running_emulator` — serve one on a free loopback port inside
  the current event loop (``async with running_emulator() as emu``);
* :class:`~sandbox.client.EmulatorClient` — play Telegram users against it.

Run it by hand with ``python -m sandbox --port 8081`` and open the printed URL.
"""

from sandbox.client import ChatMessage, ChatUser, EmulatorClient, EmulatorError
from sandbox.emulator import ApiError, BotApiEmulator, RunningEmulator, create_app, running_emulator

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "ChatMessage",
    "ChatUser",
    "EmulatorClient",
    "EmulatorError",
    "RunningEmulator",
    "create_app",
    "running_emulator",
]
