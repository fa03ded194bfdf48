"""Several Rasa replicas (OUTREACH_RASA_URLS): a conversation goes to one replica chosen by its sender, and to
the next one when that one is down; the client is ready as soon as one replica is."""

from __future__ import annotations

import zlib

import pytest

from outreach.rasa import RasaClient
from tests.conftest import RASA_TOKEN, RasaStack, free_port

pytestmark = pytest.mark.rasa


def _sender_whose_first_replica_is(index: int, replicas: int) -> str:
    return next(f"r{n}" for n in range(1000) if zlib.crc32(f"r{n}".encode()) % replicas == index)


async def test_a_conversation_whose_replica_is_down_goes_to_the_next_one(rasa_stack: RasaStack) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a replica killed
    client = RasaClient([down, rasa_stack.url], token=RASA_TOKEN)
    try:
        assert await client.wait_ready(within=10)
        sender = _sender_whose_first_replica_is(0, 2)
        replies = await client.send(sender, "bonjour")
        assert replies and replies[0].text
        assert await client.last_exchanges(sender)  # the API calls fail over too
    finally:
        await client.aclose()
