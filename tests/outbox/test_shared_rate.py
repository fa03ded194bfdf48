"""Several workers' outboxes (issue 16): each claims rows with FOR UPDATE SKIP LOCKED (no row sent twice) and
they keep one global rate together through Redis (outreach/coordination.py), not one rate each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork, make_engine
from db.models import OutboxMessage, OutboxStatus
from outreach import coordination, outbox
from outreach.bootstrap import make_dispatcher
from outreach.cli import prepare_database
from outreach.clock import SystemClock
from outreach.outbox import OutboxRow, SendResult
from outreach.senders import BotApiSender, RecordingSender
from sandbox.client import EmulatorClient
from tests.conftest import TOKEN, postgres_database
from tests.outbox.test_emulator import _connect

pytestmark = pytest.mark.postgres
RATE = 10.0
ROWS = 45


@pytest.fixture
def pg_engine() -> Any:
    with postgres_database() as url:
        prepare_database(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


async def _three_workers(engine: Engine, redis_url: str, sender: Any, *, budget: float) -> list[Any]:
    """Three workers' dispatchers, each with its own Redis connection, sending the due rows at one shared RATE."""
    shared = [coordination.connect(redis_url) for _ in range(3)]
    dispatchers = [
        make_dispatcher(
            engine, SystemClock(), sender, rate=RATE, batch_size=5, quiet=outbox.QuietHours.never(), shared_rate=s
        )
        for s in shared
    ]
    try:
        return list(await asyncio.gather(*(d.run_once(budget=budget) for d in dispatchers)))
    finally:
        for s in shared:
            await s.aclose()  # type: ignore[union-attr]


async def test_three_workers_send_each_row_once_within_one_shared_rate(
    pg_engine: Engine, redis_url: str, emulator: Any, telegram: EmulatorClient
) -> None:
    await _connect(emulator.base_url)
    clock = SystemClock()
    for chat_id in range(3000, 3000 + ROWS):
        await telegram.user(chat_id, f"Habitant{chat_id}")
    with UnitOfWork(pg_engine) as uow:
        for chat_id in range(3000, 3000 + ROWS):
            outbox.enqueue(
                uow,
                key=f"k{chat_id}",
                chat_id=chat_id,
                kind="campaign",
                payload={"text": "Bonjour"},
                due_at=clock.now(),
                now=clock.now(),
            )
        uow.commit()
    async with BotApiSender(emulator.base_url, TOKEN) as sender:
        runs = await _three_workers(pg_engine, redis_url, sender, budget=30)
    assert sum(r.sent for r in runs) == ROWS and all(r.sent for r in runs)  # every worker sent some
    with pg_engine.connect() as connection:
        statuses = dict(
            connection.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)  # type: ignore[arg-type]
            ).all()
        )
    assert statuses == {OutboxStatus.sent.value: ROWS} or statuses == {OutboxStatus.sent: ROWS}
    stats = await telegram.stats()
    assert stats["total_sends"] == ROWS  # nothing twice
    assert stats["max_global_send_rate"] <= RATE + 1  # one rate for the three, not 3 × RATE (± a send in transit)


class SlowToArriveSender(RecordingSender):
    """Telegram as a far worker sees it: every other send arrives `late` seconds after it started (a busy loop, a
    slow network), and its answer comes `answer` seconds after it arrived. Records the arrivals (monotonic)."""

    def __init__(self, late: float = 0.35, answer: float = 0.05) -> None:
        super().__init__()
        self.late, self.answer = late, answer
        self.arrivals: list[float] = []
        self._count = 0

    async def send(self, row: OutboxRow) -> SendResult:
        self._count += 1
        if self._count % 2:
            await asyncio.sleep(self.late)
        self.arrivals.append(time.monotonic())
        await asyncio.sleep(self.answer)
        return await super().send(row)


async def test_no_second_holds_more_than_the_rate_when_sends_arrive_late(pg_engine: Engine, redis_url: str) -> None:
    """Starts spaced 1/rate apart are not enough: a send that starts on time and arrives late lands in the next
    second beside that second's own. Each send counts until one second after it completed."""
    clock = SystemClock()
    with UnitOfWork(pg_engine) as uow:
        for chat_id in range(5000, 5000 + ROWS):
            outbox.enqueue(
                uow, key=f"late{chat_id}", chat_id=chat_id, kind="campaign", payload={"text": "Bonjour"},
                due_at=clock.now(), now=clock.now(),
            )
        uow.commit()
    sender = SlowToArriveSender()
    runs = await _three_workers(pg_engine, redis_url, sender, budget=60)
    assert sum(r.sent for r in runs) == ROWS and len(sender.arrivals) == ROWS
    arrivals = sorted(sender.arrivals)
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    assert busiest <= RATE
