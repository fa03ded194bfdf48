"""The service's Rasa client over aiohttp (outreach/rasa.py), against small HTTP servers standing for Rasa replicas:
a replica's URL keeps its path prefix and gets the token both ways Rasa reads it; a replica that cannot be reached
is passed over for the next one; a replica that answers too slowly is not (it may still carry the turn out), and the
resident's turn is reported unavailable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from outreach.rasa import RasaClient, RasaUnavailable
from tests.conftest import free_port

TOKEN = "t" * 32
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[str, Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(path: str, handler: Handler) -> str:
        app = web.Application()
        app.router.add_post(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_a_replica_behind_a_path_prefix_gets_the_turn_and_token(serve: Callable[..., Awaitable[str]]) -> None:
    seen: list[tuple[str, str | None, str | None, object]] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.path, request.query.get("token"), request.headers.get("Authorization"), body["message"]))
        return web.json_response([{"text": "Bonjour", "buttons": [{"title": "Oui", "payload": "/affirm"}]}])

    base = await serve("/rasa/webhooks/rest/webhook", webhook)
    client = RasaClient(f"{base}/rasa/", token=TOKEN)
    try:
        replies = await client.send("abc123", "bonjour")
    finally:
        await client.aclose()
    assert [(r.text, [b.title for b in r.buttons]) for r in replies] == [("Bonjour", ["Oui"])]
    assert seen == [("/rasa/webhooks/rest/webhook", TOKEN, f"Bearer {TOKEN}", "bonjour")]


async def test_an_unreachable_replica_is_passed_over_a_slow_one_is_not(serve: Callable[..., Awaitable[str]]) -> None:
    async def answer(_request: web.Request) -> web.Response:
        return web.json_response([{"text": "Me voici"}])

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response([{"text": "Trop tard"}])

    down = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    up = await serve("/webhooks/rest/webhook", answer)
    client = RasaClient([down, up], token=TOKEN, timeout=1.0)
    try:
        senders = [f"resident-{n}" for n in range(8)]  # some start on each replica
        assert [[r.text for r in await client.send(s, "allo")] for s in senders] == [["Me voici"]] * 8
    finally:
        await client.aclose()
    slow_url = await serve("/webhooks/rest/webhook", slow)
    client = RasaClient([slow_url, up], token=TOKEN, timeout=1.0)
    try:
        first_on_slow = next(s for s in senders if client._replicas(s)[0] == slow_url)
        with pytest.raises(RasaUnavailable):
            await client.send(first_on_slow, "allo")
    finally:
        await client.aclose()
