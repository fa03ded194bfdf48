"""`python -m outreach.campaign_sender`: the campaign pump and the outbox dispatcher as APScheduler jobs, as
in the service, without PTB (built by outreach/bootstrap.py). SIGTERM or SIGINT stop it cleanly."""

from __future__ import annotations

import asyncio
import logging
import sys

from outreach import bootstrap
from outreach.config import Settings
from outreach.logs import setup_logging_for

log = logging.getLogger("outreach.campaigns")


async def serve(settings: Settings) -> None:
    """The campaign pump and the outbox dispatcher, until SIGINT or SIGTERM."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed")
    container = bootstrap.build(settings)
    scheduler = bootstrap.scheduler(container)
    bootstrap.add_jobs(container, scheduler, jobs=("campaigns", "outbox"))
    stop = bootstrap.stop_on_signals()
    scheduler.start()
    log.info("campaign pump and dispatcher ready (%s)", container.engine.dialect.name)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await container.aclose()


def main() -> int:
    settings = bootstrap.load_settings(token_needed_for="send campaigns")  # noqa: S106 - a purpose, no password
    if settings is None:
        return 2
    setup_logging_for(settings, prefix="campaigns ")
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
