"""The outreach service process: PTB Application + APScheduler in one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import staff
from bot.app import Services, running, warm_screening
from db.engine import make_engine
from outreach import campaigns
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.console.web import create_app
from outreach.logs import setup_logging
from outreach.outbox import Dispatcher
from outreach.rasa import RasaClient
from outreach.senders import BotApiSender
from outreach.services import housekeeping

log = logging.getLogger("outreach.service")


class ConsoleServer:
    """The web console on uvicorn, inside this asyncio loop (our signal handlers stay in charge)."""

    def __init__(self, app: object, host: str, port: int) -> None:
        import uvicorn

        listening = self.listening = asyncio.Event()

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

            async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
                await super().startup(sockets)
                listening.set()

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self.server = _Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        waiting = asyncio.create_task(self.listening.wait())
        await asyncio.wait({self.task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self.task.done():
            self.task.result()  # the port is taken: uvicorn exits (SystemExit) — say so

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


async def serve(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    clock = SystemClock()
    services = Services(settings=settings, engine=engine, clock=clock, rasa=RasaClient(settings.effective_rasa_url))
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    scheduler.add_job(
        housekeeping.run_daily,
        "cron",
        hour=3,
        minute=30,
        args=[services.uow, clock],
        id="housekeeping",
        replace_existing=True,
        misfire_grace_time=3600,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(services) as application:
        scheduler.add_job(
            staff.resend_waiting_cases,
            "interval",
            seconds=60,
            args=[services, application.bot],
            id="handoff_resend",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        if settings.telegram_bot_token is not None:  # every proactive message leaves through the outbox
            sender = BotApiSender(settings.telegram_api_base_url, settings.telegram_bot_token.get_secret_value())
            Dispatcher.from_settings(engine, clock, sender, settings).add_job(scheduler, seconds=1.0)
        campaigns.add_job(scheduler, engine, clock, settings)
        console = ConsoleServer(create_app(engine, clock, settings), settings.console_host, settings.console_port)
        try:
            await console.start()
            log.info("console ready on %s", settings.effective_console_url)
        except (OSError, SystemExit) as exc:
            log.error("console not started (%s): is port %s free? (OUTREACH_CONSOLE_PORT)", exc, settings.console_port)
        scheduler.start()
        # OpenFisca's first simulation is slow (~4 s): done in a worker thread now, not for the first resident
        today = clock.now().astimezone(settings.tz).date()
        warming = asyncio.create_task(warm_screening(today))
        log.info("service ready (%s mode)", "webhook" if settings.webhook_url else "polling")
        await stop.wait()
        scheduler.shutdown(wait=False)
        warming.cancel()
        await console.stop()
    await services.rasa.aclose()
    engine.dispose()


def main() -> None:
    settings = Settings()
    setup_logging(settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
