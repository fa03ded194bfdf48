"""Job leases (outreach/leases.py): a job runs on one worker at a time, and another takes it over once the
holder stopped renewing it (killed) or gave it up (stopped), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.engine import Engine

from outreach import leases
from outreach.clock import FrozenClock

TTL = dt.timedelta(seconds=15)


def test_one_holder_at_a_time_and_a_takeover_when_it_expires(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    assert leases.acquire(engine, "campaigns", "worker-1", now, TTL)
    assert not leases.acquire(engine, "campaigns", "worker-2", now + dt.timedelta(seconds=5), TTL)
    assert leases.acquire(engine, "campaigns", "worker-1", now + dt.timedelta(seconds=10), TTL)  # renewed
    assert not leases.acquire(engine, "campaigns", "worker-2", now + dt.timedelta(seconds=20), TTL)
    # worker-1 killed: its last renewal ends at +25 s
    assert leases.acquire(engine, "campaigns", "worker-2", now + dt.timedelta(seconds=26), TTL)
    assert leases.holder_of(engine, "campaigns", now + dt.timedelta(seconds=27)) == "worker-2"
    assert not leases.acquire(engine, "campaigns", "worker-1", now + dt.timedelta(seconds=28), TTL)


def test_a_stopping_worker_gives_its_leases_up(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    assert leases.acquire(engine, "housekeeping", "worker-1", now, dt.timedelta(hours=1))
    assert leases.acquire(engine, "campaigns", "worker-1", now, TTL)
    assert leases.release(engine, "worker-1", now) == 2
    later = now + dt.timedelta(seconds=1)
    assert leases.acquire(engine, "housekeeping", "worker-2", later, dt.timedelta(hours=1))


async def test_simultaneous_ticks_of_three_workers_run_the_job_once(engine: Engine, clock: FrozenClock) -> None:
    runs: list[str] = []

    def job_of(worker: str) -> object:
        async def job() -> None:
            runs.append(worker)

        return leases.leased(job, engine=engine, clock=clock, name="housekeeping", holder=worker, ttl=TTL)

    jobs = [job_of(f"worker-{n}") for n in (1, 2, 3)]
    for _ in range(3):  # three ticks, every worker at once
        await asyncio.gather(*(job() for job in jobs))  # type: ignore[operator]
    assert len(runs) == 3 and len(set(runs)) == 1
