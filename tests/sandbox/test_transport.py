"""The Bot API transport of the service (bot/transport.py: PTB's request interface over aiohttp) against the Bot API
emulator: what a bot does with it (a message with buttons, a document sent and read back, updates) works as with
PTB's own transport, and failures reach PTB as it expects them: a slow Telegram as TimedOut, Telegram unreachable as
NetworkError, a 5xx and a 429 as PTB's errors (which `resilient` retries)."""

from __future__ import annotations

import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.transport import AiohttpRequest
from sandbox.client import EmulatorClient
from sandbox.emulator import RunningEmulator

TOKEN = "123:ABC"


def aiohttp_bot(base_url: str, file_url: str | None = None, **timeouts: float) -> Bot:
    return Bot(
        token=TOKEN,
        base_url=base_url,
        base_file_url=file_url or base_url,
        request=AiohttpRequest(**timeouts),
        get_updates_request=AiohttpRequest(connections=1),
    )


async def test_messages_buttons_documents_and_updates_go_through(emu: RunningEmulator, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    async with aiohttp_bot(emu.base_url, emu.file_url) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="b:oui")]])
        sent = await bot.send_message(1001, "Bonjour Amina, ça va ? é ü 🙂", reply_markup=keyboard)
        seen = await amina.next_message()
        assert seen.text == "Bonjour Amina, ça va ? é ü 🙂" and seen.buttons == ["Oui"]
        assert sent.chat.id == 1001
        payload = b'{"first_name": "Amina"}'
        document = await bot.send_document(1001, payload, filename="mes-donnees.json", caption="Vos données")
        received = await amina.wait_for(lambda m: m.document is not None)
        assert received.document["file_name"] == "mes-donnees.json" and received.text == "Vos données"
        assert await tg.file_bytes(received.document["file_id"]) == payload
        downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
        assert bytes(downloaded) == payload
        await amina.send("merci")
        updates = await bot.get_updates(timeout=5)
        assert [u.message.text for u in updates if u.message] == ["merci"]


async def test_failures_reach_ptb_as_it_expects_them(emu: RunningEmulator, tg: EmulatorClient) -> None:
    await tg.user(1001, "Amina")
    async with aiohttp_bot(emu.base_url, read_timeout=0.5) as bot:
        await tg.fault("sendMessage", 0, delay=2.0)  # a slow Telegram
        with pytest.raises(TimedOut):
            await bot.send_message(1001, "lent")
        await tg.fault("sendMessage", 502)
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "502")
        await tg.fault("sendMessage", 429, retry_after=3)
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "trop")
        assert (await bot.send_message(1001, "ok")).text == "ok"
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nobody listens there
    with pytest.raises(NetworkError):  # already at the start (PTB asks getMe)
        async with aiohttp_bot(f"http://127.0.0.1:{port}/bot") as unreachable:
            await unreachable.send_message(1001, "personne")
