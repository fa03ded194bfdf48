"""A worker's readiness (`/pret`, outreach/service.py): false until a dialogue engine answers (Rasa loading,
every replica down), true once one does."""

from __future__ import annotations

import pytest

from outreach import bootstrap
from outreach.rasa import RasaClient
from outreach.service import readiness_of
from tests.conftest import RASA_TOKEN, BotHarness, free_port

pytestmark = pytest.mark.rasa


async def test_ready_only_when_a_dialogue_engine_answers(bot: BotHarness) -> None:
    container = bootstrap.build(bot.services.settings, engine=bot.engine)
    try:
        ready = readiness_of(container, bot.services, bot.application)  # type: ignore[arg-type]
        assert await ready()
        answering = bot.services.rasa
        bot.services.rasa = RasaClient([f"http://127.0.0.1:{free_port()}"], token=RASA_TOKEN)  # loading, or down
        try:
            assert not await ready()
        finally:
            await bot.services.rasa.aclose()
            bot.services.rasa = answering
        assert await ready()
    finally:
        await container.sender.aclose()  # type: ignore[union-attr]
