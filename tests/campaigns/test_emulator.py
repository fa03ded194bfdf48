"""Campaigns through the Bot API emulator over HTTP, with Telegram's limits enforced (429 above 30 msg/s
or 1 msg/s per chat, 403 for a user who blocked the bot): the rate measured on the emulator's side,
blocked residents, the weekly cap, quiet hours, pause / resume / cancel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import CampaignStatus, Resident
from outreach import campaigns
from outreach.bootstrap import make_dispatcher
from outreach.campaigns import PumpOptions
from outreach.clock import Clock, FrozenClock, SystemClock
from outreach.outbox import QuietHours
from outreach.senders import BotApiSender
from sandbox.client import EmulatorClient
from sandbox.emulator import RunningEmulator, running_emulator
from tests.booking.conftest import paris
from tests.campaigns.conftest import OPTIONS, create, drive, progress, resident, results
from tests.conftest import TOKEN

NO_QUIET = PumpOptions(rate=25, quiet=QuietHours.never())


@pytest.fixture
async def strict() -> AsyncIterator[RunningEmulator]:
    """An emulator that answers 429 above 30 msg/s overall or 1 msg/s per chat."""
    async with running_emulator(enforce_limits=True, global_rate=30, per_chat_interval=1.0, per_chat_burst=1) as emu:
        yield emu


async def people(tg: EmulatorClient, engine: Engine, clock: Clock, chats: range) -> list[int]:
    """Residents who started the bot (emulator users), one per chat id."""
    ids = []
    for chat in chats:
        await tg.user(chat, f"H{chat}")
        ids.append(resident(engine, clock, first_name=f"H{chat}", chat_id=chat))
    return ids


def sends(emu: RunningEmulator) -> list[float]:
    """When each message reached the emulator (its clock)."""
    return sorted(e["time"] for e in emu.state.events if e["type"] == "message" and e["from_bot"])


def busiest_second(times: list[float]) -> int:
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


async def serve_until(
    engine: Engine, clock: Clock, emu: RunningEmulator, done: Callable[[], bool], *, within: float,
    options: PumpOptions = NO_QUIET, rate: float = 25,
) -> None:
    """The service's two jobs on the real clock: the pump every 0.5 s, the dispatcher continuously
    (started after the first tick: a dispatcher polling late would send the first rows in a burst)."""
    stop = asyncio.Event()
    await asyncio.to_thread(campaigns.pump, engine, clock, options)
    async with BotApiSender(emu.base_url, TOKEN) as sender:
        dispatcher = make_dispatcher(engine, clock, sender, rate=rate, quiet=options.quiet)
        worker = asyncio.create_task(dispatcher.run(stop))
        deadline = time.monotonic() + within
        try:
            while not done():
                assert time.monotonic() < deadline, f"not done within {within} s"
                await asyncio.to_thread(campaigns.pump, engine, clock, options)
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await worker


def finished(engine: Engine, *campaign_ids: int) -> Callable[[], bool]:
    return lambda: all(progress(engine, c)["status"] == CampaignStatus.done for c in campaign_ids)


async def test_the_campaign_rate_is_kept_as_telegram_sees_it(engine: Engine, strict: RunningEmulator) -> None:
    clock = SystemClock()
    async with EmulatorClient(strict.url) as tg:
        await people(tg, engine, clock, range(10_001, 10_061))
        campaign_id = create(engine, clock, rate=10)
        await serve_until(engine, clock, strict, finished(engine, campaign_id), within=30)
        stats = await tg.stats()
    times = sends(strict)
    assert len(times) == 60 and stats["too_many_requests"] == 0
    # Due times 100 ms apart: the campaign's pace is 10/s on average. When the dispatcher is held up (a slow
    # claim on a loaded machine), the messages already due leave at its global rate to catch up: never
    # more than that rate (25) in any second as Telegram sees it, never a 429.
    assert busiest_second(times) <= 25
    sustained = (len(times) - 1) / (times[-1] - times[0])
    assert 9.0 <= sustained <= 10.5, sustained
    assert progress(engine, campaign_id)["sent"] == 60


async def test_the_dispatcher_rate_caps_campaigns_sent_together(engine: Engine, strict: RunningEmulator) -> None:
    clock = SystemClock()
    async with EmulatorClient(strict.url) as tg:
        first = await people(tg, engine, clock, range(20_001, 20_051))
        second = await people(tg, engine, clock, range(20_051, 20_101))
        one = create(engine, clock, name="Un", rate=20, audience={"territory": "dijon"})
        with UnitOfWork(engine) as uow:  # the second campaign reaches the other half only
            for resident_id in first:
                row = uow.session.get(Resident, resident_id)
                assert row is not None
                row.quartier_id = "le_mail"
                uow.session.add(row)
            uow.commit()
        two = create(engine, clock, name="Deux", rate=20, audience={"territory": "dijon", "quartiers": ["gresilles"]})
        await serve_until(engine, clock, strict, finished(engine, one, two), within=30, rate=25)
        stats = await tg.stats()
    assert stats["too_many_requests"] == 0 and busiest_second(sends(strict)) <= 25
    assert stats["total_sends"] == 150 and len(second) == 50  # 100 + 50: nobody twice in a campaign


async def test_a_resident_who_blocked_the_bot_is_counted_blocked_and_marked_unreachable(
    engine: Engine, clock: FrozenClock, strict: RunningEmulator
) -> None:
    async with EmulatorClient(strict.url) as tg, BotApiSender(strict.base_url, TOKEN) as sender:
        _fine, blocked, _other = await people(tg, engine, clock, range(30_001, 30_004))
        await tg.block(30_002)
        campaign_id = create(engine, clock)
        await drive(engine, clock, sender, per_chat_interval=1.0)
        counts = progress(engine, campaign_id)
        assert counts["sent"] == 2 and counts["blocked"] == 1
        assert results(engine, campaign_id, clock)["blocked"] == 1
        with UnitOfWork(engine) as uow:
            row = uow.session.get(Resident, blocked)
            assert row is not None and row.unreachable_at is not None
        later = create(engine, clock, name="Suivante")
        await drive(engine, clock, sender, per_chat_interval=1.0)
        assert progress(engine, later)["total"] == 2  # unreachable: not in the next audience
        assert (await tg.stats())["forbidden"] == 1


async def test_the_third_campaign_in_a_week_does_not_reach_the_resident(
    engine: Engine, clock: FrozenClock, strict: RunningEmulator
) -> None:
    async with EmulatorClient(strict.url) as tg, BotApiSender(strict.base_url, TOKEN) as sender:
        await people(tg, engine, clock, range(40_001, 40_003))
        worker = make_dispatcher(engine, clock, sender, rate=25, per_chat_interval=1.0)
        for day in range(3):
            create(engine, clock, name=f"Campagne {day}", text=f"Message numéro {day}.")
            await drive(engine, clock, worker=worker)
            clock.advance(days=2)
        stats = await tg.stats()
    assert stats["sends_per_chat"] == {"40001": 2, "40002": 2} and stats["too_many_requests"] == 0


async def test_quiet_hours_nothing_at_21h_sent_at_9h(
    engine: Engine, clock: FrozenClock, strict: RunningEmulator
) -> None:
    async with EmulatorClient(strict.url) as tg, BotApiSender(strict.base_url, TOKEN) as sender:
        await people(tg, engine, clock, range(50_001, 50_004))
        clock.set(paris(2026, 11, 24, 21))
        campaign_id = create(engine, clock)
        await drive(engine, clock, sender, per_chat_interval=1.0)
        assert (await tg.stats())["total_sends"] == 0
        clock.set(paris(2026, 11, 25, 9))
        await drive(engine, clock, sender, per_chat_interval=1.0)
        assert (await tg.stats())["total_sends"] == 3
    assert progress(engine, campaign_id)["sent"] == 3


async def test_pause_resume_and_cancel_take_effect_at_once(
    engine: Engine, clock: FrozenClock, strict: RunningEmulator
) -> None:
    async with EmulatorClient(strict.url) as tg, BotApiSender(strict.base_url, TOKEN) as sender:
        await people(tg, engine, clock, range(60_001, 60_031))
        campaign_id = create(engine, clock, rate=5)
        dispatcher = make_dispatcher(engine, clock, sender, rate=25, quiet=OPTIONS.quiet)

        async def tick(seconds: float = 1.0) -> None:
            campaigns.pump(engine, clock, OPTIONS)
            clock.advance(seconds=seconds)
            await dispatcher.run_once(budget=10)

        await tick()
        sent_before = (await tg.stats())["total_sends"]
        assert 1 <= sent_before <= 6
        with UnitOfWork(engine) as uow:
            campaigns.pause(uow, clock, campaign_id)
        for _ in range(3):
            await tick()
        assert (await tg.stats())["total_sends"] == sent_before  # not one more during the pause
        with UnitOfWork(engine) as uow:
            campaigns.resume(uow, clock, campaign_id)
        await tick()
        resumed = (await tg.stats())["total_sends"]
        assert resumed > sent_before
        with UnitOfWork(engine) as uow:
            campaigns.cancel(uow, clock, campaign_id)
        for _ in range(3):
            await tick()
        stats = await tg.stats()
    assert stats["total_sends"] == resumed and stats["too_many_requests"] == 0
    counts = progress(engine, campaign_id)
    assert counts["sent"] == resumed and counts["cancelled"] == 30 - resumed and counts["queued"] == 0

