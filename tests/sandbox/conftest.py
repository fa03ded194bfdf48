"""The Bot API emulator running in the test's loop (`emu`) and its control client (`tg`), for the emulator's own tests
and the service's transport's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.client import EmulatorClient
from sandbox.emulator import RunningEmulator, running_emulator


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with running_emulator() as running:
        yield running


@pytest.fixture
async def tg(emu: RunningEmulator) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emu.url) as client:
        yield client
