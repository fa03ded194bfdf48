"""The dispatcher against the local Bot API emulator, over plain HTTP (outreach/senders.py): Telegram's
limits are kept, a 429 pauses sending, a 403 marks the resident unreachable."""

from __future__ import annotations

import base64
import itertools
import time
from typing import Any

from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import OutboxStatus, Resident
from outreach import outbox
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher
from outreach.senders import BotApiSender
from sandbox.client import EmulatorClient
from sandbox.emulator import running_emulator
from tests.booking.conftest import add_resident, by_key
from tests.conftest import TOKEN


def _put(engine: Engine, clock: FrozenClock, key: str, chat_id: int, **payload: Any) -> None:
    resident_id = payload.pop("resident_id", None)
    due = payload.pop("due", clock.now())
    with UnitOfWork(engine) as uow:
        outbox.enqueue(
            uow,
            key=key,
            chat_id=chat_id,
            kind="test",
            payload={"text": f"Bonjour {key}", **payload},
            due_at=due,
            resident_id=resident_id,
            now=clock.now(),
        )
        uow.commit()


async def test_global_and_per_chat_rates_are_kept(engine: Engine, clock: FrozenClock) -> None:
    async with running_emulator(enforce_limits=True, global_rate=30, per_chat_interval=1.0, per_chat_burst=1) as emu:
        async with EmulatorClient(emu.url) as tg:
            for chat in range(1, 41):
                await tg.user(chat, f"P{chat}")
            for chat in range(1, 41):
                _put(engine, clock, f"wide{chat}", chat)
            for n in range(4):  # four messages to one chat: one per second
                _put(engine, clock, f"same{n}", 1)
            async with BotApiSender(emu.base_url, TOKEN) as sender:
                stats = await Dispatcher(engine, clock, sender, rate=25, concurrency=8).run_once(budget=60)
            assert stats.sent == 44 and stats.rate_limited == 0
            report = await tg.stats()
            assert report["too_many_requests"] == 0 and report["max_global_send_rate"] <= 25
            times = [e["time"] for e in (await tg.events(1))["events"] if e["type"] == "message"]
            assert len(times) == 5 and all(b - a >= 0.95 for a, b in itertools.pairwise(times))
            texts = [e["message"]["text"] for e in (await tg.events(1))["events"]]
            assert texts[1:] == [f"Bonjour same{n}" for n in range(4)]  # in order


async def test_a_429_pauses_every_send_for_retry_after(
    engine: Engine, clock: FrozenClock, emulator: Any, telegram: EmulatorClient
) -> None:
    for chat in (11, 12, 13):
        await telegram.user(chat, f"P{chat}")
        _put(engine, clock, f"m{chat}", chat)
    await telegram.fault("sendMessage", 429, retry_after=2, times=1)
    started = time.time()
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        stats = await Dispatcher(engine, clock, sender, rate=25, concurrency=1).run_once(budget=30)
    assert stats.sent == 3 and stats.rate_limited == 1
    sent_at = [e["time"] for chat in (11, 12, 13) for e in (await telegram.events(chat))["events"]]
    assert len(sent_at) == 3 and min(sent_at) - started >= 1.9  # nothing left during the pause
    assert {r.status for r in by_key(engine).values()} == {OutboxStatus.sent}
    assert {r.attempts for r in by_key(engine).values()} == {1}  # the 429 is not a failed attempt


async def test_a_403_marks_the_resident_unreachable_and_drops_their_rows(
    engine: Engine, clock: FrozenClock, emulator: Any, telegram: EmulatorClient
) -> None:
    blocked = add_resident(engine, clock, quartier=None, territory=None, chat_id=4242)
    fine = add_resident(engine, clock, quartier=None, territory=None, chat_id=4343)
    await telegram.user(4242, "Bloque")
    await telegram.user(4343, "Amina")
    await telegram.block(4242)
    _put(engine, clock, "now", 4242, resident_id=blocked)
    _put(engine, clock, "tomorrow", 4242, resident_id=blocked, due=clock.now().replace(day=25))
    _put(engine, clock, "other", 4343, resident_id=fine)
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        stats = await Dispatcher(engine, clock, sender).run_once(budget=30)
    assert stats.blocked == 1 and stats.sent == 1
    rows = by_key(engine)
    assert rows["now"].status == OutboxStatus.dropped and rows["now"].last_error.startswith("blocked")  # type: ignore[union-attr]
    assert rows["tomorrow"].status == OutboxStatus.dropped and rows["other"].status == OutboxStatus.sent
    with UnitOfWork(engine) as uow:
        assert uow.session.get(Resident, blocked).unreachable_at == clock.now()  # type: ignore[union-attr]
        assert uow.session.get(Resident, fine).unreachable_at is None  # type: ignore[union-attr]


async def test_buttons_and_a_calendar_file_reach_telegram(
    engine: Engine, clock: FrozenClock, emulator: Any, telegram: EmulatorClient
) -> None:
    amina = await telegram.user(77, "Amina")
    buttons = [["Je viens", "r:come:5"], ["Annuler", "r:cancel:5"], ["Changer", "r:change:5"]]
    _put(engine, clock, "reminder", 77, buttons=buttons)
    document = {"filename": "rendez-vous.ics", "content_b64": base64.b64encode(b"BEGIN:VCALENDAR").decode()}
    _put(engine, clock, "ics", 77, document=document)
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        await Dispatcher(engine, clock, sender, per_chat_interval=0).run_once(budget=30)
    reminder = await amina.next_message()
    assert reminder.buttons == ["Je viens", "Annuler", "Changer"] and reminder.callback_data("Annuler") == "r:cancel:5"
    with_file = await amina.next_message()
    assert with_file.document is not None and with_file.document["file_name"] == "rendez-vous.ics"
    assert await telegram.file_bytes(with_file.file_id) == b"BEGIN:VCALENDAR"  # type: ignore[arg-type]
