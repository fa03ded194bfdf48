"""The emulator's own tests (and the service's transport's) name the root conftest's `emulator` and `telegram`
fixtures `emu` and `tg`, typed."""

from __future__ import annotations

import pytest

from sandbox.client import EmulatorClient
from sandbox.emulator import RunningEmulator


@pytest.fixture
def emu(emulator: RunningEmulator) -> RunningEmulator:
    return emulator


@pytest.fixture
def tg(telegram: EmulatorClient) -> EmulatorClient:
    return telegram
