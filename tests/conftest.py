"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when available), the Rasa stack
(trained model + Rasa server + action server, started once per session), the Bot API emulator and the
real PTB Application wired to them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from actions import runtime as actions_runtime
from actions.server import create_app as create_actions_app
from bot.app import Services, running
from db.engine import UnitOfWork, make_engine
from outreach import bootstrap
from outreach.cli import prepare_database
from outreach.clock import FrozenClock, SystemClock
from outreach.config import Settings
from outreach.rasa import RasaClient
from outreach.rasa_model import endpoints_file, rasa_env, rasa_server_argv, train

# Every Rasa the tests start runs Rasa's own dialogue-history code beside ours and stops a turn where they differ
# (nlu/serving/history.py).
os.environ.setdefault("OUTREACH_RASA_CHECK_HISTORY", "1")

POSTGRES_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("OUTREACH_TEST_REDIS_URL")  # scripts/redis.sh (make test starts one; CI requires it)
TOKEN = "123456:TEST-token_for-outreach"
RASA_TOKEN = secrets.token_urlsafe(32)  # the session's Rasa API token (Rasa, its channel, the action endpoint)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not available (make test starts one; CI requires it)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The tests' Redis, emptied for this test (several workers' coordination: outreach/coordination.py)."""
    if not REDIS_URL:
        pytest.skip("Redis not available (make test starts one; CI requires it)")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()
    yield REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (SQLite file, fresh PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outreach.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A database at head with the reference data, on SQLite and PostgreSQL."""
    prepare_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    prepare_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))


@pytest.fixture
def uow(sqlite_engine: Engine) -> UnitOfWork:
    return UnitOfWork(sqlite_engine)


# ---------------------------------------------------------------- the Rasa stack


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float, name: str, log: Path) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)  # startup of an external process, not a test wait
    raise RuntimeError(f"{name} not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


@dataclass
class RasaStack:
    url: str
    actions_url: str
    token: str = RASA_TOKEN

    def client(self) -> httpx.AsyncClient:
        """An HTTP client that may use Rasa's API (the token), as the service does."""
        return httpx.AsyncClient(base_url=self.url, params={"token": self.token}, timeout=10)


class ActionEndpoint:
    """Our action endpoint (actions/server.py) on uvicorn in a thread of the test process, so that the
    actions run with each test's own database and clock (`actions.runtime.use`, set by bot_running)."""

    def __init__(self, port: int) -> None:
        config = uvicorn.Config(
            create_actions_app(token=RASA_TOKEN),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="action-endpoint", daemon=True)

    def start(self, timeout: float = 30) -> None:
        import time

        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)  # startup of a server: uvicorn exposes no event for "listening"
        if not self.server.started:
            raise RuntimeError("the action endpoint did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """The trained model served by a real Rasa server, calling our action endpoint."""
    train()
    with serving_rasa(tmp_path_factory.mktemp("rasa")) as stack:
        yield stack


@contextlib.contextmanager
def serving_rasa(workdir: Path) -> Iterator[RasaStack]:
    """The trained model (not retrained here) served by a Rasa server calling our action endpoint, in this process
    (so that the actions use the database a test's bot uses: `actions.runtime.use`). Also bench/fuzz.py."""
    default_db = f"sqlite:///{workdir / 'actions.db'}"  # for Rasa tests that run no bot
    prepare_database(default_db)
    actions_runtime.use(
        actions_runtime.Runtime(
            settings=make_settings("http://127.0.0.1:9/bot", default_db, "http://127.0.0.1:9"),
            engine=make_engine(default_db),
            clock=SystemClock(),
        )
    )
    actions_port, rasa_port = free_port(), free_port()
    endpoints = endpoints_file(workdir / "endpoints.yml", host="127.0.0.1", actions_port=actions_port)
    rasa_log = workdir / "rasa.log"
    endpoint = ActionEndpoint(actions_port)
    endpoint.start()
    rasa = subprocess.Popen(
        rasa_server_argv(host="127.0.0.1", port=rasa_port, endpoints=endpoints),
        cwd=workdir,
        env=rasa_env(RASA_TOKEN),
        stdout=rasa_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{rasa_port}/", rasa, 240, "Rasa", rasa_log)
        yield RasaStack(url=f"http://127.0.0.1:{rasa_port}", actions_url=f"http://127.0.0.1:{actions_port}")
    finally:
        rasa.terminate()
        try:
            rasa.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rasa.kill()
        endpoint.stop()


# ---------------------------------------------------------------- emulator + bot


@pytest.fixture
async def emulator() -> AsyncIterator[object]:
    from sandbox.emulator import running_emulator

    async with running_emulator() as emu:
        yield emu


@pytest.fixture
async def telegram(emulator: object) -> AsyncIterator[object]:
    """The test's view of Telegram: users who send messages and read the bot's answers."""
    from sandbox.client import EmulatorClient

    async with EmulatorClient(emulator.url) as client:  # type: ignore[attr-defined]
        yield client


def make_settings(emulator_base_url: str, database_url: str, rasa_url: str, **overrides: Any) -> Settings:
    return Settings(
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_base_url=emulator_base_url,
        database_url=database_url,
        rasa_url=rasa_url,
        rasa_token=SecretStr(RASA_TOKEN),
        **overrides,
    )


@dataclass
class BotHarness:
    services: Services
    engine: Engine
    application: object = None  # the running PTB Application (its .bot sends like the service does)


@contextlib.asynccontextmanager
async def bot_running(
    emulator: object,
    engine: Engine,
    database_url: str,
    rasa_url: str,
    *,
    settings_kw: dict[str, Any] | None = None,
    **services_kw: object,
) -> AsyncIterator[BotHarness]:
    """The service's Telegram side as `outreach.service` builds it (`settings_kw`: e.g. a worker's webhook and
    Redis, tests/e2e/test_workers.py)."""
    settings = make_settings(emulator.base_url, database_url, rasa_url, **(settings_kw or {}))  # type: ignore[attr-defined]
    services = Services(
        settings=settings,
        engine=engine,
        clock=services_kw.pop("clock", SystemClock()),
        rasa=RasaClient(rasa_url, token=settings.rasa_secret),
        **services_kw,
    )  # type: ignore[arg-type]
    before = actions_runtime.current() if actions_runtime.configured() else None
    actions_runtime.use(actions_runtime.Runtime(settings=settings, engine=engine, clock=services.clock))
    # the outbox's dispatcher, as in the service: every message sent on the service's own initiative
    container = bootstrap.build(settings, clock=services.clock, engine=engine)
    assert container.dispatcher is not None and container.sender is not None
    services.outbox_wake = container.dispatcher.wake
    services.coordination = container.coordination
    stop = asyncio.Event()
    dispatching = asyncio.create_task(container.dispatcher.run(stop))
    try:
        async with running(services) as application:
            yield BotHarness(services=services, engine=engine, application=application)
    finally:
        stop.set()
        await dispatching
        await container.sender.aclose()  # type: ignore[attr-defined]
        if container.coordination is not None:
            await container.coordination.aclose()
        if before is not None:
            actions_runtime.use(before)
        await services.rasa.aclose()


@pytest.fixture
async def bot(emulator: object, rasa_stack: RasaStack, sqlite_engine: Engine) -> AsyncIterator[BotHarness]:
    """The real PTB Application polling the emulator, talking to the real Rasa, with its own database."""
    async with bot_running(emulator, sqlite_engine, str(sqlite_engine.url), rasa_stack.url) as harness:
        yield harness
