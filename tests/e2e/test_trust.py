"""Findings of the security review (issue 15), end to end through the Bot API emulator."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.channel import ChatGate
from db.models import AuditLog
from outreach import texts
from outreach.services import residents
from tests.conftest import BotHarness, RasaStack, bot_running
from tests.e2e.test_conversation import consent
from tests.e2e.test_handoff import Team, ask_for_someone, card_of, team  # noqa: F401 - the fixture

pytestmark = pytest.mark.rasa


@pytest.mark.parametrize("invisible", ["\u00a0", "\u200b", "\u202e", " "])
async def test_a_typed_intent_payload_never_reaches_rasa_as_an_intent(
    bot: BotHarness, telegram: object, rasa_stack: RasaStack, invisible: str
) -> None:
    """Finding 5: '<nbsp>/inform{"commune": "Troyes"}' was read by Rasa as the intent inform with chosen entities."""
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await amina.send(f'{invisible}/inform{{"commune": "Troyes", "quartier": "chantereigne"}}')
    await amina.wait_for(lambda m: not m.edited)
    with bot.services.uow() as uow:
        resident = residents.find(uow, bot.services.clock, 1001)
    assert resident is not None
    async with rasa_stack.client() as http:
        tracker = (await http.get(f"/conversations/{resident.public_id}/tracker")).json()
    [last] = [e for e in tracker["events"] if e["event"] == "user"][-1:]
    assert not last["text"].startswith("/")  # read as words by the NLU, not as a payload (confidence 1.0)
    assert last["parse_data"]["intent"].get("confidence", 0) < 1.0
    assert tracker["slots"].get("quartier") is None  # no entity chosen by the sender


async def test_a_4096_character_message_in_a_case_arrives_whole_both_ways(team: Team) -> None:  # noqa: F811
    """Finding 6: a 4096-character message was lost inside a case (the name prefix made it too long): it is split,
    nothing is lost, both ways."""
    samia = await team.member(2001, "Samia", "dijon")
    amina = await team.resident(1001, "Amina")
    await ask_for_someone(amina)
    await samia.press(texts.CARD_TAKE, message=await card_of(samia))
    await amina.wait_for(lambda m: not m.edited and m.text.startswith("Bonjour, c'est Samia"))
    long_text = " ".join(f"mot{n:04d}" for n in range(512))[:4096]
    await amina.send(long_text)
    received = ""
    while "mot0511" not in received and "mot0510" not in received:
        received += (await samia.wait_for(lambda m: not m.edited)).text
    assert all(f"mot{n:04d}" in received for n in range(0, 500, 37))
    await samia.send(long_text)
    back = ""
    while "mot0510" not in back:
        back += (await amina.wait_for(lambda m: not m.edited)).text
    assert all(f"mot{n:04d}" in back for n in range(0, 500, 37))


class TestRasaNeedsTheToken:
    """Finding 2: Rasa's HTTP API and REST channel, and the action server, answered anyone."""

    async def test_the_http_api_refuses_a_request_without_the_token(self, rasa_stack: RasaStack) -> None:
        async with httpx.AsyncClient(base_url=rasa_stack.url, timeout=10) as http:
            assert (await http.get("/conversations/someone/tracker")).status_code == 401
            assert (await http.get("/conversations/someone/tracker", params={"token": "guess"})).status_code == 401
            assert (await http.put("/model", json={"model_file": "/tmp/x.tar.gz"})).status_code == 401
            events = [{"event": "slot", "name": "commune", "value": "Troyes"}]
            assert (await http.post("/conversations/someone/tracker/events", json=events)).status_code == 401
        async with rasa_stack.client() as http:
            assert (await http.get("/conversations/someone/tracker")).status_code == 200

    async def test_the_rest_channel_refuses_a_message_without_the_token(self, rasa_stack: RasaStack) -> None:
        message = {"sender": "someone", "message": "bonjour"}
        async with httpx.AsyncClient(base_url=rasa_stack.url, timeout=30) as http:
            assert (await http.post("/webhooks/rest/webhook", json=message)).status_code == 401
            forged = {"Authorization": "Bearer not-the-token"}
            assert (await http.post("/webhooks/rest/webhook", json=message, headers=forged)).status_code == 401
            good = {"Authorization": f"Bearer {rasa_stack.token}"}
            answered = await http.post("/webhooks/rest/webhook", json=message, headers=good)
            assert answered.status_code == 200 and answered.json()

    async def test_the_action_server_refuses_a_call_without_the_token(self, rasa_stack: RasaStack) -> None:
        call = {"next_action": "action_show_appointments", "sender_id": "someone", "tracker": {}, "domain": {}}
        async with httpx.AsyncClient(base_url=rasa_stack.actions_url, timeout=10) as http:
            assert (await http.post("/webhook", json=call)).status_code == 401
            assert (await http.get("/actions")).status_code == 401
            assert (await http.get("/health")).status_code == 200
            good = {"Authorization": f"Bearer {rasa_stack.token}"}
            assert (await http.get("/actions", headers=good)).status_code == 200


async def _settled(telegram: object, harness: BotHarness, chat_id: int) -> None:
    """Every update sent was taken by the bot, none waits in PTB's queue and none of this chat's is being handled any
    more, twice in a row (an update taken from the queue is counted as handled one step of the loop later)."""
    application = harness.application  # type: ignore[attr-defined]
    processor = application.update_processor
    deadline = asyncio.get_running_loop().time() + 30
    quiet = 0
    while asyncio.get_running_loop().time() < deadline:
        pending = (await telegram.stats())["pending_updates"]  # type: ignore[attr-defined]
        idle = not any(pending.values()) and application.update_queue.empty() and processor.handling[chat_id] == 0
        quiet = quiet + 1 if idle else 0
        if quiet == 2:
            return
        await asyncio.sleep(0.05)  # polling the bot's own counters: no event to wait on
    raise AssertionError("the bot did not settle")


class TestFloodsOfEveryKind:
    """Finding 4: flood control covered plain text only: 30 /aide in 2 s gave 60 replies, 30 pressed export
    buttons 30 exports; /start, commands and buttons skipped the per-chat limit."""

    async def test_thirty_commands_at_once_get_a_few_answers_and_one_warning(
        self, bot: BotHarness, telegram: object
    ) -> None:
        amina = await telegram.user(1101, "Amina")  # type: ignore[attr-defined]
        await consent(amina)
        await amina.drain()
        await asyncio.gather(*(amina.send("/aide") for _ in range(30)))
        await amina.wait_for_text(texts.FLOOD[:30])
        await _settled(telegram, bot, 1101)
        answers = [m for m in await amina.drain() if not m.edited]
        assert len(answers) <= 12  # was 60
        assert sum(texts.FLOOD[:30] in m.text for m in answers) == 0  # the warning came once (awaited above)

    async def test_thirty_export_presses_make_a_few_exports(self, bot: BotHarness, telegram: object) -> None:
        amina = await telegram.user(1102, "Amina")  # type: ignore[attr-defined]
        await consent(amina)
        await amina.send("/donnees")
        data = await amina.wait_for(lambda m: any(str(b.get("callback_data")).startswith("d:") for b in m.raw_buttons))
        await asyncio.gather(*(amina.press_data(data.message_id, "d:export") for _ in range(30)))
        await _settled(telegram, bot, 1102)
        exports = [m for m in await amina.drain() if m.kind == "document"]
        with bot.services.uow() as uow:
            audited = uow.session.exec(select(AuditLog).where(AuditLog.action == "export")).all()
        # was 30 and 30. The first `burst` updates of a window pass, then only while at most `max_waiting` of the
        # chat's updates are being answered: a few more when the service answers as fast as presses arrive
        gate = bot.services.gate
        assert 1 <= len(exports) <= gate.burst + gate.max_waiting
        assert len(audited) == len(exports) + 1  # every export recorded was delivered; /donnees's summary is one too

    async def test_a_start_flood_is_bounded_and_the_resident_goes_on_afterwards(
        self, emulator: object, rasa_stack: RasaStack, sqlite_engine: Engine, telegram: object
    ) -> None:
        services_kw = {"gate": ChatGate(window_seconds=1.0)}
        async with bot_running(emulator, sqlite_engine, str(sqlite_engine.url), rasa_stack.url, **services_kw) as bot:
            amina = await telegram.user(1103, "Amina")  # type: ignore[attr-defined]
            await consent(amina)
            await asyncio.gather(*(amina.send("/start") for _ in range(30)))
            await _settled(telegram, bot, 1103)
            assert len(await amina.drain()) <= 12
            await asyncio.sleep(1.1)  # the gate's window (1 s here) has to pass: time is what it measures
            await amina.send("bonjour")
            assert (await amina.next_message()).text


async def test_a_button_press_telegram_fails_to_acknowledge_once_still_stops_the_spinner(
    bot: BotHarness, telegram: object
) -> None:
    """A fuzz run in CI: one consent press in 10,000 updates left its spinner turning (the acknowledgement met a
    dropped connection and was given up at once). Now it is sent again after a 5xx or a network error."""
    amina = await telegram.user(1104, "Amina")  # type: ignore[attr-defined]
    await amina.send("/start")
    question = await amina.wait_for(lambda m: texts.CONSENT_ACCEPT in m.buttons)
    await telegram.fault("answerCallbackQuery", 502, times=1)  # type: ignore[attr-defined]
    query_id = await amina.press(texts.CONSENT_ACCEPT, message=question)
    await amina.callback_answer(query_id)  # raises when never answered
    await amina.wait_for(lambda m: not m.edited and m.message_id != question.message_id)
    with bot.services.uow() as uow:
        assert residents.find(uow, bot.services.clock, 1104, touch=False).consented
