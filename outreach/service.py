"""The outreach service process (`python -m outreach.service`, started by `outreach run`): the Telegram
channel (PTB Application), the web console and the scheduler's jobs (outbox dispatcher, campaign pump,
housekeeping, cases waiting too long) in one asyncio loop, built by the composition root."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot import staff
from bot.app import ChatUpdateProcessor, Services, running
from outreach import bootstrap, metrics
from outreach.config import Settings
from outreach.console.server import ConsoleServer
from outreach.console.web import create_app
from outreach.logs import setup_logging_for
from outreach.rasa import RasaClient

log = logging.getLogger("outreach.service")


def readiness_of(
    container: bootstrap.Container, services: Services, application: Application
) -> Callable[[], Awaitable[bool]]:
    """Ready (`/pret`): Telegram's updates are taken, the database and Redis answer, a dialogue engine answers."""

    def database_answers() -> None:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def ready() -> bool:
        if not application.running:
            return False
        try:
            await asyncio.to_thread(database_answers)
        except SQLAlchemyError:
            return False
        if container.coordination is not None and not await container.coordination.ping():
            return False
        return await services.rasa.healthy()

    return ready


async def serve(settings: Settings) -> None:
    container = bootstrap.build(settings)
    metrics.set_worker(container.worker)
    metrics.register_database(container.engine, container.clock)
    services = Services(
        settings=settings,
        engine=container.engine,
        clock=container.clock,
        rasa=RasaClient(settings.effective_rasa_urls, token=settings.rasa_secret, database_url=settings.database_url),
        outbox_wake=container.wake,
        coordination=container.coordination,
    )
    scheduler = bootstrap.scheduler(container)
    stop = bootstrap.stop_on_signals()
    async with running(services) as application:
        bootstrap.add_jobs(container, scheduler)  # every proactive message leaves through the outbox
        scheduler.add_job(
            container.on_one_worker(staff.resend_waiting_cases, "handoff_resend", bootstrap.LEASE_CASES),
            "interval",
            seconds=60,
            args=[services],
            id="handoff_resend",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        processor = application.update_processor
        if container.coordination is not None and isinstance(processor, ChatUpdateProcessor):
            scheduler.add_job(  # updates a killed worker left behind
                processor.sweep, "interval", seconds=5, id="inbox_sweep", max_instances=1, coalesce=True
            )
        console = ConsoleServer(
            create_app(
                container.engine,
                container.clock,
                settings,
                readiness=readiness_of(container, services, application),
                metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
            ),
            settings.console_host,
            settings.console_port,
        )
        try:
            await console.start()
            log.info("console ready on %s", settings.effective_console_url)
        except (OSError, SystemExit) as exc:
            log.error("console not started (%s): is port %s free? (OUTREACH_CONSOLE_PORT)", exc, settings.console_port)
        scheduler.start()
        gc.collect()
        gc.freeze()  # what startup loaded stays: Python's full collections no longer walk it (BENCHMARKS.md, load)
        log.info("service ready (%s mode)", "webhook" if settings.webhook_url else "polling")
        await stop.wait()
        scheduler.shutdown(wait=False)
        await console.stop()
    await services.rasa.aclose()
    await container.aclose()


def main() -> int:
    settings = bootstrap.load_settings()
    if settings is None:
        return 2
    setup_logging_for(settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
