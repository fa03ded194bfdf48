"""A single-machine `outreach run` stopped and started again in the middle of a screening form (issue 16): the
form goes on at the next question, because Rasa's conversations live in its SQL tracker store (a file next to
the database), not in the memory of the process that stopped. Telegram here is the tests' emulator, which
outlives the service (in sandbox mode the emulator would restart with it)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from sandbox.client import EmulatorClient
from sandbox.drills import screening_rest, screening_until
from sandbox.launch import launch_outreach
from tests.conftest import TOKEN

pytestmark = [pytest.mark.rasa, pytest.mark.faults]


async def test_outreach_run_restarted_mid_form_resumes_it(emulator: object, tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,  # type: ignore[attr-defined]
        "DATABASE_URL": f"sqlite:///{tmp_path / 'outreach.db'}",
        "OUTREACH_QUIET_HOURS": "none",
    }
    for workdir in ("first", "second"):
        (tmp_path / workdir).mkdir()
    async with EmulatorClient(emulator.url) as telegram:  # type: ignore[attr-defined]
        amina = await telegram.user(2701, "Amina")
        with contextlib.ExitStack() as first:
            await asyncio.to_thread(first.enter_context, launch_outreach(tmp_path / "first", env=env))
            question = await screening_until(amina, answered=3)
        assert question.text  # the 4th question is waiting for an answer; the service stopped (SIGTERM, all of it)
        with contextlib.ExitStack() as second:
            await asyncio.to_thread(second.enter_context, launch_outreach(tmp_path / "second", env=env))
            results = await screening_rest(amina, question, answered=3, within=60)
        assert results.text
