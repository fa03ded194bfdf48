"""The emulator's webhook delivery, as Telegram does it: each queued update POSTed as JSON to the URL with the
secret header, in order, kept and retried with backoff until the bot answers 2xx; getUpdates conflicts (409)
while a webhook is set. `outreach cluster` relies on it in sandbox mode (nginx in front of several workers)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from http import HTTPStatus

import pytest
from telegram import Bot, WebhookInfo
from telegram.error import Conflict

from sandbox.client import EmulatorClient
from sandbox.emulator import RunningEmulator

TOKEN = "123:ABC"


class Receiver:
    """A webhook endpoint answering the given statuses in turn (then 200), recording what it receives."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: asyncio.Queue[tuple[int, dict[str, object], str | None]] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in head.split("\r\n")[1:])}
        body = await reader.readexactly(int(headers["content-length"]))
        status = self.statuses.pop(0) if self.statuses else 200
        await self.received.put((status, json.loads(body), headers.get("x-telegram-bot-api-secret-token")))
        reason = HTTPStatus(status).phrase
        writer.write(f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def next(self, timeout: float = 10.0) -> tuple[int, dict[str, object], str | None]:  # noqa: ASYNC109
        return await asyncio.wait_for(self.received.get(), timeout)


@pytest.fixture
async def bot(emu: RunningEmulator) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, base_url=emu.base_url, base_file_url=emu.file_url) as ptb_bot:
        yield ptb_bot


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    await endpoint.stop()


async def delivered(bot: Bot) -> WebhookInfo:
    """The webhook's info once the emulator has taken the last answer into account (nothing pending)."""
    for _ in range(100):
        info = await bot.get_webhook_info()
        if info.pending_update_count == 0:
            return info
        await asyncio.sleep(0.05)
    raise AssertionError(f"updates still pending: {info}")


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_updates_arrive_in_order_with_the_secret(bot: Bot, tg: EmulatorClient, receiver: Receiver) -> None:
    port = await receiver.start()
    assert await bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token="s3cret", max_connections=40)
    amina = await tg.user(1001, "Amina")
    sent = [await amina.send(f"message {i}") for i in range(3)]
    got = [await receiver.next() for _ in sent]
    assert [update["update_id"] for _, update, _ in got] == [s["update_id"] for s in sent]
    assert [update["message"]["text"] for _, update, _ in got] == ["message 0", "message 1", "message 2"]  # type: ignore[index]
    assert {secret for _, _, secret in got} == {"s3cret"}
    info = await delivered(bot)
    assert info.max_connections == 40 and info.last_error_message is None


async def test_a_refused_update_is_retried_until_the_bot_takes_it(
    bot: Bot, tg: EmulatorClient, receiver: Receiver
) -> None:
    receiver.statuses = [502, 503]  # nginx with no worker behind it, then a worker shutting down
    port = await receiver.start()
    assert await bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token="s3cret")
    amina = await tg.user(1001, "Amina")
    sent = await amina.send("bonjour")
    attempts = [await receiver.next() for _ in range(3)]
    assert [status for status, _, _ in attempts] == [502, 503, 200]
    assert {update["update_id"] for _, update, _ in attempts} == {sent["update_id"]}  # the same update each time
    info = await delivered(bot)
    assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
    assert info.last_error_date is not None


async def test_updates_wait_while_the_webhook_is_unreachable(bot: Bot, tg: EmulatorClient, receiver: Receiver) -> None:
    port = unused_port()  # nothing listens yet: connection refused
    assert await bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token="s3cret")
    amina = await tg.user(1001, "Amina")
    first = await amina.send("un")
    second = await amina.send("deux")
    for _ in range(50):
        info = await bot.get_webhook_info()
        if info.last_error_message:
            break
        await asyncio.sleep(0.05)
    assert info.last_error_message is not None and info.last_error_message.startswith("Connection failed")
    assert info.pending_update_count == 2  # kept, not lost
    await receiver.start(port)  # the bot comes back: everything arrives, in order
    got = [await receiver.next() for _ in range(2)]
    assert [update["update_id"] for _, update, _ in got] == [first["update_id"], second["update_id"]]
    await delivered(bot)


async def test_get_updates_conflicts_while_a_webhook_is_set_and_nothing_is_lost(bot: Bot, tg: EmulatorClient) -> None:
    port = unused_port()
    assert await bot.set_webhook(f"http://127.0.0.1:{port}/telegram")
    amina = await tg.user(1001, "Amina")
    sent = await amina.send("en attente")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == sent["update_id"]
