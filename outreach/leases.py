"""Job leases: a scheduled job that must run on one worker at a time (the campaign pump, the daily housekeeping,
the resends of waiting cases) runs where its lease is held. A run renews it; when its holder dies, the lease
expires and the next worker whose tick comes takes it over. One row per job in `job_lease`, taken by a guarded
UPDATE (or the first INSERT): the database decides, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db.models import JobLease
from outreach.clock import Clock

log = logging.getLogger(__name__)
_T = JobLease.__table__  # type: ignore[attr-defined]


def acquire(engine: Engine, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl. False: another holder has it."""
    until = now + ttl
    with engine.begin() as connection:
        taken = connection.execute(
            update(_T)
            .where(_T.c.name == name, or_(_T.c.holder == holder, _T.c.expires_at < now))
            .values(holder=holder, expires_at=until)
        ).rowcount
    if taken:
        return True
    try:
        with engine.begin() as connection:
            connection.execute(insert(_T).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:  # the row exists: another holder has it
        return False
    return True


def release(engine: Engine, holder: str, now: dt.datetime) -> int:
    """A worker stopping gives its leases up at once (the next worker need not wait for them to expire)."""
    with engine.begin() as connection:
        return int(connection.execute(update(_T).where(_T.c.holder == holder).values(expires_at=now)).rowcount or 0)


def holder_of(engine: Engine, name: str, now: dt.datetime) -> str | None:
    """Who holds `name` now (None: nobody, or expired)."""
    with engine.connect() as connection:
        row = connection.execute(_T.select().where(_T.c.name == name, _T.c.expires_at >= now)).first()
    return None if row is None else str(row.holder)


def leased(
    job: Callable[..., Awaitable[Any]],
    *,
    engine: Engine,
    clock: Clock,
    name: str,
    holder: str,
    ttl: dt.timedelta,
) -> Callable[..., Awaitable[Any]]:
    """`job` run only on the worker holding the lease `name` (taken or renewed before each run)."""

    @functools.wraps(job)
    async def run_if_held(*args: Any, **kwargs: Any) -> Any:
        try:
            held = await asyncio.to_thread(acquire, engine, name, holder, clock.now(), ttl)
        except Exception as exc:  # the database is down: nobody runs it this time
            log.warning("lease %s: not taken (%s)", name, type(exc).__name__)
            return None
        if not held:
            return None
        return await job(*args, **kwargs)

    return run_if_held
