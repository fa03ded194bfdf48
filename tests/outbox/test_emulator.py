"""The priority lane and the new payloads against the Bot API emulator, over HTTP (outreach/senders.py):
a photo and a document relayed by file_id, a card edited in place after its message_id was kept by an
after-sent hook, a burst within Telegram's per-chat tolerance, and a relayed message that leaves within
100 ms of `wake()` while a campaign backlog is being sent at full rate."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import UnitOfWork
from db.models import OutboxStatus
from outreach import outbox
from outreach.bootstrap import make_dispatcher
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher, OutboxRow, SendResult
from outreach.senders import BotApiSender
from sandbox.client import EmulatorClient
from sandbox.emulator import running_emulator
from tests.booking.conftest import by_key
from tests.conftest import TOKEN


def put(engine: Engine, clock: FrozenClock, key: str, chat_id: int, payload: dict[str, Any], *,
        kind: str = "handoff_relay", priority: bool = True) -> None:
    with UnitOfWork(engine) as uow:
        outbox.enqueue(uow, key=key, chat_id=chat_id, kind=kind, payload=payload, due_at=clock.now(),
                       now=clock.now(), priority=priority)
        uow.commit()


async def test_a_photo_and_a_document_are_relayed_by_file_id(
    engine: Engine, clock: FrozenClock, emulator: Any, telegram: EmulatorClient
) -> None:
    await _connect(emulator.base_url)  # residents write to a bot that exists
    amina = await telegram.user(71, "Amina")
    samia = await telegram.user(72, "Samia")
    photo = (await amina.send_kind("photo", caption="ma facture"))["message"]["photo"][-1]["file_id"]
    document = (await amina.send_document(b"%PDF-1.4 avis", "avis.pdf", "application/pdf"))["message"]
    put(engine, clock, "photo", 72, {"photo": {"file_id": photo}, "text": "Amina a envoyé une photo : ma facture"})
    put(engine, clock, "doc", 72, {"document": {"file_id": document["document"]["file_id"]},
                                   "text": "Amina a envoyé un document"})
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        stats = await make_dispatcher(engine, clock, sender, per_chat_interval=0).run_once(budget=30)
    assert stats.sent == 2
    relayed_photo = await samia.next_message()
    assert relayed_photo.kind == "photo" and relayed_photo.text == "Amina a envoyé une photo : ma facture"
    assert relayed_photo.file_id == photo
    relayed_document = await samia.next_message()
    assert relayed_document.kind == "document" and relayed_document.document["file_name"] == "avis.pdf"  # type: ignore[index]
    assert await telegram.file_bytes(relayed_document.file_id) == b"%PDF-1.4 avis"  # type: ignore[arg-type]


async def test_a_card_keeps_its_message_id_and_is_edited_in_place(
    engine: Engine, clock: FrozenClock, emulator: Any, telegram: EmulatorClient
) -> None:
    samia = await telegram.user(81, "Samia")
    kept: dict[str, int | None] = {}

    def card_sent(session: Session, row: OutboxRow, result: SendResult, now: dt.datetime) -> None:
        kept[row.key] = result.message_id

    card = {"text": "🆕 Amina, Grésilles : parler à quelqu'un", "buttons": [["Je prends", "s:take:1"]]}
    put(engine, clock, "card", 81, card, kind="handoff_card")
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        dispatcher = make_dispatcher(engine, clock, sender, per_chat_interval=0,
                                     after_sent={"handoff_card": card_sent})
        await dispatcher.run_once(budget=30)
        sent = await samia.next_message()
        assert kept == {"card": sent.message_id} and sent.buttons == ["Je prends"]
        put(engine, clock, "card-taken", 81, {"edit": {"message_id": sent.message_id}, "text": "Pris par Yannick"},
            kind="handoff_card_edit")
        put(engine, clock, "card-taken-again", 81,  # the same text again: "not modified" is done, not an error
            {"edit": {"message_id": sent.message_id}, "text": "Pris par Yannick"}, kind="handoff_card_edit")
        await dispatcher.run_once(budget=30)
        put(engine, clock, "card-buttons", 81, {"edit": {"message_id": sent.message_id},
                                                "buttons": [["Voir", "s:see:1"]]}, kind="handoff_card_edit")
        await dispatcher.run_once(budget=30)
    edited = await samia.next_message()
    assert edited.edited and edited.message_id == sent.message_id
    assert edited.text == "Pris par Yannick" and edited.buttons == []  # the keyboard removed, as Telegram does
    keyboard_only = await samia.wait_for(lambda m: m.buttons == ["Voir"])
    assert keyboard_only.message_id == sent.message_id and keyboard_only.text == "Pris par Yannick"
    rows = by_key(engine)
    assert {rows[k].status for k in ("card", "card-taken", "card-taken-again", "card-buttons")} == {OutboxStatus.sent}


async def test_a_burst_of_priority_rows_stays_within_telegrams_per_chat_tolerance(
    engine: Engine, clock: FrozenClock
) -> None:
    async with (
        running_emulator(enforce_limits=True, global_rate=30, per_chat_interval=1.0, per_chat_burst=3) as emu,
        EmulatorClient(emu.url) as telegram,
    ):
        samia = await telegram.user(91, "Samia")
        for n in range(5):
            put(engine, clock, f"relay{n}", 91, {"text": f"Amina : message {n}"})
        async with BotApiSender(emu.base_url, TOKEN) as sender:
            stats = await Dispatcher(engine, clock, sender, rate=25).run_once(budget=30)
        assert stats.sent == 5 and stats.rate_limited == 0 and (await telegram.stats())["too_many_requests"] == 0
        times = [e["time"] for e in (await telegram.events(91))["events"] if e["type"] == "message"]
        assert times[2] - times[0] < 0.3 and times[3] - times[2] >= 0.9  # three at once, then one per second
        assert [m.text for m in await samia.drain()] == [f"Amina : message {n}" for n in range(5)]


async def test_wake_sends_a_relay_within_100_ms_while_a_campaign_is_sent_at_full_rate(
    engine: Engine, clock: FrozenClock
) -> None:
    async with (
        running_emulator(enforce_limits=True, global_rate=30, per_chat_interval=1.0, per_chat_burst=1) as emu,
        EmulatorClient(emu.url) as telegram,
    ):
        for chat in range(3000, 3300):
            emu.state.register_user(chat, f"H{chat}")
        await telegram.user(99, "Samia")
        with UnitOfWork(engine) as uow:
            for chat in range(3000, 3300):
                outbox.enqueue(uow, key=f"camp:{chat}", chat_id=chat, kind="campaign",
                               payload={"text": "Bonjour, une permanence vous aide."}, due_at=clock.now())
            uow.commit()
        stop = asyncio.Event()
        async with BotApiSender(emu.base_url, TOKEN) as sender:
            dispatcher = make_dispatcher(engine, clock, sender, rate=25)
            running = asyncio.create_task(dispatcher.run(stop))
            latencies = []
            try:
                await asyncio.sleep(1.5)  # the campaign goes at 25 msg/s
                for n in range(5):
                    woken = time.time()
                    await asyncio.to_thread(put, engine, clock, f"relay{n}", 99, {"text": f"Amina : message {n}"})
                    dispatcher.wake()
                    event = await _received(telegram, 99, f"Amina : message {n}")
                    latencies.append(event["time"] - woken)
                    await asyncio.sleep(1.1)  # a person writing
            finally:
                stop.set()
                await running
        stats = await telegram.stats()
    assert stats["too_many_requests"] == 0 and stats["max_global_send_rate"] <= 30
    assert max(latencies) < 0.1, latencies
    pending = sum(1 for row in by_key(engine).values() if row.kind == "campaign" and row.status != OutboxStatus.sent)
    assert pending > 0  # the backlog was still there while the relays went


async def _connect(base_url: str) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{base_url}{TOKEN}/getMe")).json()["ok"]


async def _received(telegram: EmulatorClient, chat_id: int, text: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for event in (await telegram.events(chat_id, wait=0.5))["events"]:
            if event["type"] == "message" and event["message"].get("text") == text:
                return event
    raise AssertionError(f"{text!r} never reached chat {chat_id}")
