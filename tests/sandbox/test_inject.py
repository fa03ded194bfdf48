"""Raw updates injected into the emulator (``/control/inject``, sandbox/emulator/inject.py), read by the real
python-telegram-bot client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from sandbox.client import EmulatorClient, EmulatorError
from sandbox.emulator import RunningEmulator

TOKEN = "123:ABC"
GROUP = {"id": -1001234567890, "type": "supergroup", "title": "Quartier"}
MEMBER = {"id": 4242, "is_bot": False, "first_name": "Membre", "language_code": "ar"}


@pytest.fixture
async def bot(emu: RunningEmulator) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, base_url=emu.base_url, base_file_url=emu.file_url) as ptb_bot:
        await ptb_bot.get_me()  # the emulator knows the bot from its first call
        yield ptb_bot


async def test_an_update_is_queued_as_it_is_and_numbered(bot: Bot, tg: EmulatorClient) -> None:
    future = {"update_id": 999, "future_update_type": {"anything": [1, "deux", None]}, "future_field": True}
    queued = await tg.inject(future)
    assert queued["update"] == {**future, "update_id": queued["update_id"]}
    assert queued["update_id"] != 999  # numbered by the emulator, like Telegram
    [update] = await bot.get_updates(timeout=5)
    assert update.update_id == queued["update_id"]
    assert update.api_kwargs == {"future_update_type": {"anything": [1, "deux", None]}, "future_field": True}


async def test_a_group_message_is_stored_and_the_bot_may_answer_in_the_group(bot: Bot, tg: EmulatorClient) -> None:
    queued = await tg.inject({"message": {"chat": GROUP, "from": MEMBER, "date": 1, "text": "bonjour"}})
    message = queued["update"]["message"]
    assert message["message_id"] == 1  # the chat's next id, given when absent
    [update] = await bot.get_updates(timeout=5)
    assert update.effective_chat.type == "supergroup" and update.effective_message.text == "bonjour"
    reply = await update.effective_message.reply_text("seulement en privé")  # quotes the message in a group
    assert reply.chat.id == GROUP["id"] and reply.reply_to_message.message_id == 1
    events = (await tg.events(GROUP["id"], after=0))["events"]
    assert [(e["type"], e["from_bot"]) for e in events] == [("message", False), ("message", True)]
    edited = {"edited_message": {**message, "text": "bonsoir", "edit_date": 2}}
    await tg.inject(edited)
    assert (await tg.messages(GROUP["id"]))["messages"][0]["message"]["text"] == "bonsoir"
    with pytest.raises(Forbidden):  # the member never started the bot: Telegram refuses a private message
        await bot.send_message(MEMBER["id"], "bonjour")


async def test_a_private_sender_becomes_a_user_who_started_the_bot(bot: Bot, tg: EmulatorClient) -> None:
    user = {"id": 5151, "is_bot": False, "first_name": "Zoé", "language_code": "pt"}
    chat = {"id": 5151, "type": "private", "first_name": "Zoé"}
    await tg.inject({"message": {"chat": chat, "from": user, "date": 1, "text": "/start"}})
    sent = await bot.send_message(5151, "Olá")
    assert sent.chat.type == "private"
    users = {u["id"]: u for u in (await tg.request("GET", "/control/users"))["users"]}
    assert users[5151]["language_code"] == "pt" and users[5151]["started"]


async def test_a_callback_query_can_be_answered_once(bot: Bot, tg: EmulatorClient) -> None:
    message = {"message_id": 7, "chat": GROUP, "date": 0}
    queued = await tg.inject(
        {"callback_query": {"from": MEMBER, "chat_instance": "1", "data": "c:yes", "message": message}}
    )
    query_id = queued["update"]["callback_query"]["id"]
    [update] = await bot.get_updates(timeout=5)
    assert update.callback_query.data == "c:yes" and update.callback_query.id == query_id
    await update.callback_query.answer("non")
    answer = await tg.request("GET", f"/control/callbacks/{query_id}", params={"timeout": 0})
    assert answer["answered"] and answer["answer"]["text"] == "non"
    with pytest.raises(BadRequest):
        await update.callback_query.answer()


async def test_the_body_must_hold_an_update(tg: EmulatorClient, bot: Bot) -> None:
    with pytest.raises(EmulatorError) as error:
        await tg.request("POST", "/control/inject", json={"update": [1, 2]})
    assert error.value.status == 400
    await tg.inject({"message": {"chat": "not a chat", "text": 3}})  # unreadable: queued all the same
    assert len((await tg.request("GET", "/control/updates"))["updates"]) == 1
