"""`python -m outreach.dispatch`: the outbox dispatcher alone, without PTB.

Reads DATABASE_URL, TELEGRAM_API_BASE_URL, TELEGRAM_BOT_TOKEN (and OUTREACH_OUTBOX_RATE,
OUTREACH_OUTBOX_CONCURRENCY, OUTREACH_OUTBOX_LEASE_SECONDS, OUTREACH_QUIET_HOURS, OUTREACH_QUIET_DAYS,
OUTREACH_TIMEZONE). SIGTERM or SIGINT stop it cleanly: claimed rows not yet sent go back to pending,
sends in flight are recorded. Several of these processes may run against PostgreSQL (SKIP LOCKED
claims). The service (`outreach run`) runs the same dispatcher, built by the same composition root
(outreach/bootstrap.py), as an APScheduler interval job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from outreach import bootstrap
from outreach.config import Settings
from outreach.logs import setup_logging_for
from outreach.outbox import DispatchStats

log = logging.getLogger("outreach.dispatch")


async def serve(settings: Settings, *, once: bool = False) -> DispatchStats:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed")
    container = bootstrap.build(settings)
    dispatcher = container.dispatcher
    assert dispatcher is not None  # noqa: S101 - there is a token
    stop = bootstrap.stop_on_signals()
    log.info(
        "dispatcher ready (%s, %g msg/s, concurrency %s)",
        container.engine.dialect.name, dispatcher.pacer.rate, dispatcher.concurrency,
    )
    try:
        stats = await (dispatcher.run_once(budget=3600) if once else dispatcher.run(stop))
    finally:
        await container.aclose()
    log.info("dispatcher stopped: %s", json.dumps(stats.__dict__))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outreach.dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="send what is due, then exit")
    args = parser.parse_args(argv)
    settings = bootstrap.load_settings(token_needed_for="dispatch the outbox")  # noqa: S106 - a purpose, no password
    if settings is None:
        return 2
    setup_logging_for(settings, prefix="dispatch ")
    asyncio.run(serve(settings, once=args.once))
    return 0


if __name__ == "__main__":
    sys.exit(main())
