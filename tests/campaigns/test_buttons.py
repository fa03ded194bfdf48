"""The buttons of a campaign message, pressed in Telegram: the real PTB Application polls the Bot API
emulator, the campaign leaves through the outbox. "Ne plus recevoir de messages" opts out (the next
campaign does not reach them), booking and a person work as from the menu, forged data does nothing.
The screening button needs the Rasa stack (marked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot import campaigns as bot_campaigns
from db.engine import UnitOfWork
from db.models import CampaignDelivery, Event, Handoff, Resident
from outreach import texts
from outreach.bootstrap import make_dispatcher
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher
from outreach.senders import BotApiSender
from sandbox.client import ChatMessage, ChatUser, EmulatorClient
from sandbox.emulator import RunningEmulator, running_emulator
from tests.campaigns.conftest import create, deliveries, drive, progress, resident, staff_member
from tests.conftest import TOKEN, BotHarness, RasaStack, bot_running

NO_RASA = "http://127.0.0.1:9"  # these buttons never reach Rasa (a talk_to_human pause is best effort)
STOP = "Ne plus recevoir de messages"


@dataclass
class Chat:
    harness: BotHarness
    engine: Engine
    clock: FrozenClock
    emulator: RunningEmulator
    telegram: EmulatorClient
    dispatcher: Dispatcher

    async def resident(self, chat_id: int, first_name: str) -> tuple[int, ChatUser]:
        user = await self.telegram.user(chat_id, first_name)
        return resident(self.engine, self.clock, first_name=first_name, chat_id=chat_id), user

    async def campaign(self, **spec: object) -> int:
        campaign_id = create(self.engine, self.clock, **spec)  # type: ignore[arg-type]
        await drive(self.engine, self.clock, worker=self.dispatcher)
        return campaign_id


async def _chat(engine: Engine, clock: FrozenClock, rasa_url: str) -> AsyncIterator[Chat]:
    async with (
        running_emulator() as emu,  # limits are tested in test_emulator; the bot's own replies are not paced
        EmulatorClient(emu.url) as telegram,
        BotApiSender(emu.base_url, TOKEN) as sender,
        bot_running(emu, engine, engine.url.render_as_string(hide_password=False), rasa_url, clock=clock) as harness,
    ):
        await telegram.wait_polling()
        dispatcher = make_dispatcher(engine, clock, sender, rate=25, per_chat_interval=1.0)
        yield Chat(harness, engine, clock, emu, telegram, dispatcher)


@pytest.fixture
async def chat(engine: Engine, clock: FrozenClock) -> AsyncIterator[Chat]:
    async for value in _chat(engine, clock, NO_RASA):
        yield value


async def campaign_message(user: ChatUser) -> ChatMessage:
    return await user.wait_for(lambda m: not m.edited and bool(m.buttons))


async def test_stop_opts_out_and_the_next_campaign_does_not_reach_them(chat: Chat) -> None:
    amina_id, amina = await chat.resident(3001, "Amina")
    karim_id, karim = await chat.resident(3002, "Karim")
    first = await chat.campaign(text="Bonjour {prenom}, un atelier CAF jeudi.", buttons=["book", "stop"])
    message = await campaign_message(amina)
    assert message.text == "Bonjour Amina, un atelier CAF jeudi."
    assert message.buttons == ["Prendre rendez-vous", STOP]
    query = await amina.press(STOP, message=message)
    assert await amina.callback_answer(query) == ""
    confirmed = await amina.wait_for(lambda m: not m.edited)
    assert confirmed.text == texts.STOPPED
    with UnitOfWork(chat.engine) as uow:
        assert uow.session.get(Resident, amina_id).opted_out_at is not None  # type: ignore[union-attr]
    assert deliveries(chat.engine, first)[amina_id].clicked_button == "stop"
    second = await chat.campaign(name="Deuxième", text="Les permanences reprennent.")
    assert set(deliveries(chat.engine, second)) == {karim_id}
    stats = await chat.telegram.stats()
    assert stats["sends_per_chat"]["3002"] == 2 and stats["too_many_requests"] == 0
    assert not [m for m in await amina.drain() if not m.edited and m.text == "Les permanences reprennent."]
    await karim.wait_for(lambda m: m.text == "Les permanences reprennent.")


async def test_forged_or_foreign_button_data_is_refused_politely(chat: Chat) -> None:
    amina_id, amina = await chat.resident(3101, "Amina")
    karim_id, _karim = await chat.resident(3102, "Karim")
    campaign_id = await chat.campaign(buttons=["stop"])
    message = await campaign_message(amina)
    theirs = deliveries(chat.engine, campaign_id)[karim_id].id
    for forged in (f"k:{theirs}:stop", "k:999999:stop", "k:1:delete", "k:abc"):
        query = await amina.press_data(message.message_id, forged)
        assert await amina.callback_answer(query) == bot_campaigns.NOT_YOURS
    with UnitOfWork(chat.engine) as uow:
        for person in (amina_id, karim_id):
            assert uow.session.get(Resident, person).opted_out_at is None  # type: ignore[union-attr]
        clicks = uow.session.execute(select(Event).where(Event.kind == "campaign_click")).all()
        clicked = uow.session.execute(select(CampaignDelivery).where(CampaignDelivery.clicked_at.is_not(None))).all()  # type: ignore[union-attr]
    assert clicks == [] and clicked == []
    assert progress(chat.engine, campaign_id)["sent"] == 2


async def test_the_staff_test_message_buttons_do_nothing(chat: Chat) -> None:
    from outreach import campaigns

    resident(chat.engine, chat.clock, first_name="Amina")
    nadia = await chat.telegram.user(3201, "Nadia")
    member = staff_member(chat.engine, chat.clock, telegram_user_id=3201)
    campaign_id = create(chat.engine, chat.clock, start=False, buttons=["stop"])
    with UnitOfWork(chat.engine) as uow:
        campaigns.send_test(uow, chat.clock, campaign_id, member)
    await drive(chat.engine, chat.clock, worker=chat.dispatcher)
    test = await campaign_message(nadia)
    assert "Bonjour Amina" in test.text
    query = await nadia.press(STOP, message=test)
    assert await nadia.callback_answer(query) == bot_campaigns.TEST_ONLY


async def test_book_starts_the_booking_as_the_menu_does(chat: Chat) -> None:
    _amina_id, amina = await chat.resident(3301, "Amina")
    await chat.campaign(buttons=["book", "talk"])
    message = await campaign_message(amina)
    await amina.press("Prendre rendez-vous", message=message)
    topic = await amina.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    assert "Parler à quelqu'un" in topic.buttons


async def test_talk_hands_the_resident_to_a_person(chat: Chat) -> None:
    amina_id, amina = await chat.resident(3401, "Amina")
    await chat.campaign(buttons=["talk"])
    await amina.press("Parler à quelqu'un", message=await campaign_message(amina))
    told = await amina.wait_for(lambda m: not m.edited)
    assert told.text.startswith("C'est noté : je préviens un adulte-relais")
    with UnitOfWork(chat.engine) as uow:
        [case] = uow.session.execute(select(Handoff)).scalars().all()
    assert case.resident_id == amina_id and case.source == "button"


@pytest.mark.rasa
async def test_screening_starts_the_screening_like_mes_droits(
    sqlite_engine: Engine, clock: FrozenClock, rasa_stack: RasaStack
) -> None:
    async for chat in _chat(sqlite_engine, clock, rasa_stack.url):
        _fatou_id, fatou = await chat.resident(3501, "Fatou")
        campaign_id = await chat.campaign(buttons=["screening"])
        await fatou.press("Faire le point sur mes droits", message=await campaign_message(fatou))
        intro = await fatou.wait_for(lambda m: not m.edited, timeout=30)
        assert "questions" in intro.text
        question = await fatou.wait_for(lambda m: not m.edited and m.text.startswith("Encore "), timeout=30)
        assert "commune" in question.text
        assert deliveries(sqlite_engine, campaign_id)[_fatou_id].clicked_button == "screening"
