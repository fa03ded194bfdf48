"""The composition root: the one place that builds, for every process, the settings' objects (clock,
engine), the sender of the outbox (the Bot API over HTTP), the dispatcher with the guards and after-sent
hooks of the services, and the APScheduler jobs (outbox dispatcher, campaign pump, housekeeping).

Processes: the service (bot/__main__.py: `build`, `scheduler`, `add_jobs`, then its own PTB jobs),
`python -m outreach.dispatch` (the dispatcher alone), `python -m outreach.campaign_sender` (pump + dispatcher).
Tests build a dispatcher with `make_dispatcher` to get the same guards as production.

Nothing below (services, domain, db) imports this module; it imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork, make_engine
from outreach import campaigns, coordination, leases, outbox
from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.coordination import Coordination
from outreach.outbox import AfterSent, Dispatcher, Guard, Sender
from outreach.senders import BotApiSender
from outreach.services import booking, followups, handoff_dialogue, housekeeping

log = logging.getLogger("outreach.bootstrap")


def guards() -> list[Guard]:
    """Every claim-time guard: the outbox's own (opted out, unreachable), then the services' that enqueue."""
    return [outbox.resident_guard, booking.reminder_guard, followups.guard, campaigns.guard]


def after_sent_hooks() -> dict[str, AfterSent]:
    """The after-sent hooks, per outbox kind (e.g. a handoff card keeps the message_id Telegram gave it)."""
    return {handoff_dialogue.CARD_KIND: handoff_dialogue.card_sent}


def make_dispatcher(
    engine: Engine,
    clock: Clock,
    sender: Sender,
    settings: Settings | None = None,
    *,
    after_sent: Mapping[str, AfterSent] | None = None,
    **options: Any,
) -> Dispatcher:
    """A Dispatcher with every guard and hook. With `settings`: their rate, concurrency, lease and quiet
    hours (in settings.tz); `options` override any Dispatcher argument (tests: rate, per_chat_interval…)."""
    options.setdefault("guards", guards())
    options.setdefault("after_sent", {**after_sent_hooks(), **(after_sent or {})})
    if settings is None:
        return Dispatcher(engine, clock, sender, **options)
    return Dispatcher.from_settings(engine, clock, sender, settings, **options)


def make_sender(settings: Settings) -> BotApiSender | None:
    """The Bot API sender of the outbox, or None without a token (nothing can be sent)."""
    if settings.telegram_bot_token is None:
        return None
    return BotApiSender(
        settings.telegram_api_base_url,
        settings.telegram_bot_token.get_secret_value(),
        max_connections=settings.outbox_concurrency * 2,
    )


@dataclass
class Container:
    """What one process runs on. `dispatcher` and `sender` are None without a bot token."""

    settings: Settings
    clock: Clock
    engine: Engine
    sender: Sender | None
    dispatcher: Dispatcher | None
    coordination: Coordination | None = None  # several workers (OUTREACH_REDIS_URL): what they share in Redis
    worker: str = "outreach"  # this process's name (job leases, logs, metrics)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def on_one_worker(self, job: Callable[..., Any], name: str, ttl: dt.timedelta) -> Callable[..., Awaitable[Any]]:
        """`job` (sync or async) run only by the worker holding the lease `name` (outreach/leases.py)."""

        async def run(*args: Any, **kwargs: Any) -> Any:
            if inspect.iscoroutinefunction(job):
                return await job(*args, **kwargs)
            return await asyncio.to_thread(job, *args, **kwargs)

        return leases.leased(run, engine=self.engine, clock=self.clock, name=name, holder=self.worker, ttl=ttl)

    def wake(self) -> None:
        """After committing a row of the priority lane: the dispatcher claims it at once."""
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def aclose(self, *, drain: float = 40.0) -> None:
        """Stop the dispatcher's run in progress (held rows back to pending, sends in flight recorded, within
        `drain` s), then close the sender and the engine. Call it after the scheduler's shutdown."""
        if self.dispatcher is not None:
            await self.dispatcher.shutdown(within=drain)
        close = getattr(self.sender, "aclose", None)
        if close is not None:
            await close()
        with contextlib.suppress(Exception):  # the next worker need not wait for this one's leases to expire
            leases.release(self.engine, self.worker, self.clock.now())
        if self.coordination is not None:
            await self.coordination.aclose()
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    sender: Sender | None = None,
    after_sent: Mapping[str, AfterSent] | None = None,
) -> Container:
    """The process's objects from its settings (clock, engine, sender, dispatcher with guards and hooks);
    give `clock`, `engine` or `sender` to use those instead (tests)."""
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)
    sender = sender or make_sender(settings)
    shared = coordination.connect(settings.redis_url)
    dispatcher = (
        make_dispatcher(engine, clock, sender, settings, after_sent=after_sent, shared_rate=shared)
        if sender is not None
        else None
    )
    return Container(
        settings=settings,
        clock=clock,
        engine=engine,
        sender=sender,
        dispatcher=dispatcher,
        coordination=shared,
        worker=settings.effective_worker_name,
    )


def scheduler(container: Container) -> AsyncIOScheduler:
    """The process's APScheduler (cron times in settings.tz); jobs come from `add_jobs`."""
    return AsyncIOScheduler(timezone=container.settings.tz)


JOBS = ("outbox", "campaigns", "housekeeping")
# Leases of the jobs one worker at a time runs: renewed by each run, taken over this long after a holder died.
LEASE_CAMPAIGNS = dt.timedelta(seconds=15)  # the pump ticks every second
LEASE_DAILY = dt.timedelta(hours=1)  # the other workers' 3:30 finds it held: it runs once a day
LEASE_CASES = dt.timedelta(seconds=150)  # waiting cases sent again, every minute


def add_jobs(
    container: Container,
    scheduler: Any,
    *,
    jobs: Collection[str] = JOBS,
    outbox_seconds: float = 1.0,
    campaign_seconds: float = 1.0,
) -> None:
    """The jobs every process may run (`jobs`, a subset of JOBS): "outbox", the dispatcher (when there is
    a sender); "campaigns", the campaign pump; "housekeeping", daily at 3:30 local time. Call it from the
    process's event loop (the dispatcher's `wake()` starts a run on that loop)."""
    unknown = set(jobs) - set(JOBS)
    if unknown:
        raise ValueError(f"unknown jobs: {', '.join(sorted(unknown))}")
    if "outbox" in jobs and container.dispatcher is not None:  # on every worker: rows claimed SKIP LOCKED
        container.dispatcher.add_job(scheduler, seconds=outbox_seconds)
    if "campaigns" in jobs:
        campaigns.add_job(
            scheduler,
            container.engine,
            container.clock,
            container.settings,
            seconds=campaign_seconds,
            wrap=lambda job: container.on_one_worker(job, "campaigns", LEASE_CAMPAIGNS),
        )
    if "housekeeping" in jobs:
        scheduler.add_job(
            container.on_one_worker(housekeeping.run_daily, "housekeeping", LEASE_DAILY),
            "cron",
            hour=3,
            minute=30,
            args=[container.uow, container.clock],
            id="housekeeping",
            replace_existing=True,
            misfire_grace_time=3600,
        )


# ---------------------------------------------------------------- process mains


def load_settings(*, token_needed_for: str | None = None) -> Settings | None:
    """Settings from the environment, or None after saying why on stderr (the process exits with 2)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg']}", file=sys.stderr)
        return None
    if token_needed_for is not None and settings.telegram_bot_token is None:
        print(f"TELEGRAM_BOT_TOKEN is needed to {token_needed_for}", file=sys.stderr)
        return None
    return settings


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (call it from the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
