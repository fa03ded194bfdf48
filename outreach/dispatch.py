"""`python -m outreach.dispatch`: the outbox dispatcher alone, without PTB.

Reads DATABASE_URL, TELEGRAM_API_BASE_URL, TELEGRAM_BOT_TOKEN (and OUTREACH_OUTBOX_RATE,
OUTREACH_OUTBOX_CONCURRENCY, OUTREACH_OUTBOX_LEASE_SECONDS, OUTREACH_QUIET_HOURS, OUTREACH_QUIET_DAYS).
SIGTERM or SIGINT stop it cleanly: claimed rows not yet sent go back to pending, sends in flight are
recorded. Several of these processes may run against PostgreSQL (SKIP LOCKED claims). The service
(`outreach run`) runs the same dispatcher as an APScheduler interval job (`Dispatcher.add_job`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from pydantic import ValidationError

from db.engine import make_engine
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.logs import setup_logging
from outreach.outbox import Dispatcher, DispatchStats
from outreach.senders import BotApiSender

log = logging.getLogger("outreach.dispatch")


async def serve(settings: Settings, *, once: bool = False) -> DispatchStats:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed")
    engine = make_engine(settings.database_url)
    sender = BotApiSender(
        settings.telegram_api_base_url,
        settings.telegram_bot_token.get_secret_value(),
        max_connections=settings.outbox_concurrency * 2,
    )
    dispatcher = Dispatcher.from_settings(engine, SystemClock(), sender, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "dispatcher ready (%s, %g msg/s, concurrency %s)",
        engine.dialect.name, dispatcher.pacer.rate, dispatcher.concurrency,
    )
    try:
        stats = await (dispatcher.run_once(budget=3600) if once else dispatcher.run(stop))
    finally:
        await sender.aclose()
        engine.dispose()
    log.info("dispatcher stopped: %s", json.dumps(stats.__dict__))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outreach.dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="send what is due, then exit")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg']}", file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None:
        print("TELEGRAM_BOT_TOKEN is needed to dispatch the outbox", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, prefix="dispatch ")
    asyncio.run(serve(settings, once=args.once))
    return 0


if __name__ == "__main__":
    sys.exit(main())
