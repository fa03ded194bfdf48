"""Fault drills on the whole service: `outreach run` in sandbox mode (sandbox/launch.py), residents talking to it
through the emulator, then a fault: SIGKILL of a supervised child (Rasa, the action server, the service
process with its outbox dispatcher), a restart of PostgreSQL, Telegram (the emulator) answering 500, 429 with
`retry_after`, or too slowly. Each drill says what was lost, duplicated, and how long recovery took.

Used by tests/faults (short drills, `make test`) and bench/faults.py (longer ones). Nothing here sleeps a
fixed time to wait for something: it waits on the emulator's long polls, or polls an external process with
a deadline; the only pauses are the residents' typing pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, select, text, update
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork, make_engine
from db.models import Appointment, AppointmentStatus, CampaignStatus, Resident
from outreach import campaigns, texts
from outreach.campaigns import CampaignSpec
from outreach.clock import SystemClock
from outreach.cluster import control as cluster_control
from outreach.cluster.topology import Layout, Paths
from outreach.seed import seed_demo
from sandbox.client import ChatMessage, ChatUser, EmulatorClient
from sandbox.launch import PROJECT_ROOT, Launched, free_port, launch_outreach

MENU = ["Mes droits", "Prendre rendez-vous", "Parler à quelqu'un"]
SCREENING = [  # one button per question: a young job seeker, alone, housed by someone (tests/e2e/test_screening.py)
    "Chenôve",
    "18-24 ans",
    "Seul(e)",
    "Pas d'enfant",
    "Hébergé(e)",
    "Je cherche un emploi",
    "Moins de 6 mois",
    "Rien (0 €)",
    "Non",
    "Oui",
]
CHILDREN = ("rasa", "actions", "service", "sandbox")
DRILL_ENV = {  # proactive messages at any hour; a crashed dispatcher's rows come back after 10 s (default 60)
    "OUTREACH_QUIET_HOURS": "none",
    "OUTREACH_QUIET_DAYS": "none",
    "OUTREACH_OUTBOX_LEASE_SECONDS": "10",
    "OUTREACH_CAMPAIGN_WEEKLY_CAP": "50",
}
OUTBOX_CONCURRENCY = 8  # the default: the most sends in flight when the dispatcher dies
OUTBOX_BATCH = 50  # rows a dispatcher's run holds: while the database is down it sends them without recording


def _now() -> float:
    return time.monotonic()


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float, what: str, every: float = 0.2) -> float:
    """Poll `condition` (an external process's state) until true; returns the seconds it took."""
    start = _now()
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return _now() - start
        if _now() - start > within:
            raise TimeoutError(f"{what}: not within {within:g} s")
        await asyncio.sleep(every)  # polling an external process, with a deadline


# ---------------------------------------------------------------- the service under drill


@dataclass
class Service:
    """A running `outreach run` (sandbox mode) and what a drill does to it."""

    launched: Launched
    database_url: str
    actions_port: int
    workdir: Path
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self.launched.sandbox_url is None:
            raise RuntimeError("drills run the service in sandbox mode (no TELEGRAM_BOT_TOKEN)")
        return self.launched.sandbox_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def log(self) -> str:
        return self.launched.log.read_text(errors="replace")

    def pids(self, child: str) -> list[int]:
        return [int(p) for p in re.findall(rf"\b{child} started \(pid (\d+)\)", self.log())]

    def pid(self, child: str) -> int:
        found = self.pids(child)
        if not found:
            raise RuntimeError(f"{child} never started:\n{self.launched.log_tail()}")
        return found[-1]

    def kill(self, child: str) -> int:
        """SIGKILL one supervised child (its process only); returns its pid."""
        pid = self.pid(child)
        os.kill(pid, signal.SIGKILL)
        return pid

    def health_url(self, child: str) -> str:
        return {
            "rasa": f"{self.launched.rasa_url}/",
            "actions": f"http://127.0.0.1:{self.actions_port}/health",
            "service": f"{self.launched.console_url}/sante",
            "sandbox": f"{self.url}/control/stats",
        }[child]

    async def healthy(self, child: str, http: httpx.AsyncClient) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return (await http.get(self.health_url(child), timeout=2)).status_code == 200
        return False

    async def restarted(self, child: str, killed: int, within: float = 180) -> float:
        """Wait until the supervisor started `child` again (a new pid) and it answers; seconds it took."""
        async with httpx.AsyncClient() as http:

            async def back() -> bool:
                pids = self.pids(child)
                return bool(pids) and pids[-1] != killed and await self.healthy(child, http)

            return await until(back, within, f"{child} restarted after SIGKILL")

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextlib.contextmanager
def running_service(
    workdir: Path, *, database_url: str | None = None, env: dict[str, str] | None = None, timeout: float = 400
) -> Iterator[Service]:
    """`outreach run` in sandbox mode for drills: its own database (SQLite in `workdir`, or `database_url`),
    ports, no quiet hours, a short outbox lease, the demo permanences (bookings)."""
    workdir.mkdir(parents=True, exist_ok=True)
    actions_port = free_port()
    url = database_url or f"sqlite:///{workdir / 'outreach.db'}"
    child_env = {**DRILL_ENV, "OUTREACH_ACTIONS_PORT": str(actions_port), "DATABASE_URL": url, **(env or {})}
    with launch_outreach(workdir, env=child_env, timeout=timeout) as launched:
        service = Service(launched, url, actions_port, workdir)
        try:
            with UnitOfWork(service.engine) as uow:
                seed_demo(uow, SystemClock())
            yield service
        finally:
            service.dispose()


# ---------------------------------------------------------------- a cluster under drill


@dataclass
class ClusterService:
    """`outreach cluster up` in sandbox mode (tests/cluster, bench/scaleout.py) and what a drill does to it: the
    same interface as Service (`engine`, `kill`, `restarted`), process names worker-i, rasa-i, actions-i."""

    line: dict[str, Any]  # what `outreach cluster up` printed
    database_url: str
    base_port: int
    log: Path
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def layout(self) -> Layout:
        """The cluster's ports (outreach/cluster/topology.py): the same arithmetic as `outreach cluster up`."""
        return Layout(base_port=self.base_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.layout.sandbox_port}"  # the emulator

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def processes(self) -> dict[str, dict[str, Any]]:
        """What `outreach cluster status` prints, read from supervisord directly (no process started per look)."""
        return cluster_control.status(Paths())[0]["processes"]

    def pid(self, child: str) -> int:
        return int(self.processes()[child]["pid"])

    def kill(self, child: str) -> int:
        pid = self.pid(child)
        os.kill(pid, signal.SIGKILL)
        return pid

    def health_url(self, child: str) -> str:
        kind, _, number = child.partition("-")
        index, layout = int(number), self.layout
        return {
            "worker": f"http://127.0.0.1:{layout.console_port(index)}/sante",
            "rasa": f"http://127.0.0.1:{layout.rasa_port(index)}/",
            "actions": f"http://127.0.0.1:{layout.actions_port(index)}/health",
        }[kind]

    async def restarted(self, child: str, killed: int, within: float = 180) -> float:
        """Wait until supervisord started `child` again (a new pid) and it answers; seconds it took."""
        async with httpx.AsyncClient() as http:

            async def back() -> bool:
                info = (await asyncio.to_thread(self.processes)).get(child) or {}
                if info.get("state") != "RUNNING" or int(info.get("pid") or 0) in (0, killed):
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get(self.health_url(child), timeout=2)).status_code == 200
                return False

            return await until(back, within, f"{child} restarted after SIGKILL", every=1.0)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextlib.contextmanager
def running_cluster(
    workdir: Path,
    database_url: str,
    *,
    workers: int = 3,
    rasa: int = 2,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> Iterator[ClusterService]:
    """`outreach cluster up --workers N --rasa M` in sandbox mode on `database_url` (PostgreSQL), for drills;
    `outreach cluster down` afterwards."""
    base_port, port = free_port_block(), free_port()
    child_env = dict(os.environ)
    child_env.pop("TELEGRAM_BOT_TOKEN", None)
    child_env.update(DRILL_ENV)
    child_env.update(DATABASE_URL=database_url, **(env or {}))
    outreach = str(Path(sys.executable).parent / "outreach")
    log = workdir / "cluster-up.log"
    argv = [
        outreach,
        "cluster",
        "up",
        "--workers",
        str(workers),
        "--rasa",
        str(rasa),
        "--base-port",
        str(base_port),
        "--port",
        str(port),
        "--timeout",
        str(int(timeout)),
    ]
    try:
        with log.open("w") as err:
            out = subprocess.run(  # noqa: S603 - our own CLI
                argv,
                env=child_env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                check=False,
                timeout=timeout + 120,
            )
        if out.returncode != 0:
            raise RuntimeError(f"outreach cluster up exited {out.returncode}:\n{log.read_text()[-4000:]}")
        service = ClusterService(json.loads(out.stdout.strip().splitlines()[-1]), database_url, base_port, log)
        with UnitOfWork(service.engine) as uow:
            seed_demo(uow, SystemClock())
        try:
            yield service
        finally:
            service.dispose()
    finally:
        logs = PROJECT_ROOT / "var" / "cluster" / "logs"
        if logs.is_dir():  # kept with the drill's files: `cluster down` removes them
            shutil.copytree(logs, workdir / "cluster-logs", dirs_exist_ok=True)
        subprocess.run(  # noqa: S603 - our own CLI
            [outreach, "cluster", "down"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=False,
            timeout=300,
        )


def free_port_block(size: int = 100) -> int:
    """A first port whose next `size` ports are free (a cluster takes ports from it: topology.Layout)."""
    for _ in range(200):
        first = 20_000 + secrets.randbelow(40_000)
        if all(_port_free(first + offset) for offset in range(size)):
            return first
    raise RuntimeError("no block of free ports")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------- PostgreSQL of its own


@dataclass
class Postgres:
    """A PostgreSQL cluster of the drill's own (scripts/postgres.sh on a free port and directory), so that
    restarting it disturbs no other test; `restart()` stops it the hard way (immediate: like a crash)."""

    port: int
    directory: Path
    url: str = ""

    def _env(self) -> dict[str, str]:
        return {**os.environ, "OUTREACH_PG_PORT": str(self.port), "OUTREACH_PG_DIR": str(self.directory)}

    @staticmethod
    def _bin() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed (scripts/postgres.sh installs it as root)")
        return found[-1]

    def _as_postgres(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else list(argv)

    def start(self) -> str:
        done = subprocess.run(  # noqa: S603 (our own script)
            [str(PROJECT_ROOT / "scripts" / "postgres.sh"), "start"],
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr[-2000:]}")
        self.url = done.stdout.strip().splitlines()[-1]
        return self.url

    def database(self, name: str) -> str:
        """A new database on the cluster; its URL."""
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(  # noqa: S603 (PostgreSQL's pg_ctl, fixed arguments)
            self._as_postgres(str(self._bin()), "-D", str(self.directory), "-m", mode, "-w", "stop"),
            capture_output=True,
            check=False,
        )

    def start_again(self) -> None:
        """As scripts/postgres.sh starts it, on the same data."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=200"
        log = str(self.directory / "log")
        done = subprocess.run(  # noqa: S603 (PostgreSQL's pg_ctl, fixed arguments)
            self._as_postgres(str(self._bin()), "-D", str(self.directory), "-l", log, "-w", "-o", options, "start"),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again: {done.stdout[-1000:]} {done.stderr[-1000:]}")

    def remove(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def own_postgres() -> Iterator[Postgres]:
    port = free_port()
    cluster = Postgres(port, Path(tempfile.gettempdir()) / f"outreach-pg-drill-{port}")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


# ---------------------------------------------------------------- residents


def answer_to_hello(message: ChatMessage) -> bool:
    return not message.edited and message.buttons == MENU


async def consent(user: ChatUser) -> ChatMessage:
    """/start, "J'accepte"; the welcome."""
    await user.send("/start")
    question = await user.wait_for(lambda m: texts.CONSENT_ACCEPT in m.buttons, timeout=60)
    await user.press(texts.CONSENT_ACCEPT, message=question)
    return await user.wait_for(lambda m: not m.edited and m.message_id != question.message_id, timeout=60)


@dataclass
class Talk:
    """What residents chatting meanwhile saw: each message waits for its answer (the menu) before the next."""

    residents: int = 0
    sent: int = 0
    answered: int = 0
    lost: int = 0  # no answer within the deadline, or a "souci technique" instead of one
    technical_errors: int = 0
    one_moment: int = 0  # "Un instant…": Rasa was down, the answer came later
    duplicated: int = 0
    slowest: float = 0.0
    sent_after_fault: int = 0
    answered_after_fault: int = 0
    waiting: int = 0  # sent, not answered yet
    answered_again: set[int] = field(default_factory=set)  # residents answered to a message sent after the fault
    in_flight_at_fault: int = 0  # waiting when the fault came: at most these may be lost to a killed service

    def report(self) -> dict[str, Any]:
        return {
            "residents": self.residents,
            "sent": self.sent,
            "answered": self.answered,
            "lost": self.lost,
            "technical_errors": self.technical_errors,
            "one_moment_notices": self.one_moment,
            "duplicated": self.duplicated,
            "slowest_answer_s": round(self.slowest, 1),
            "in_flight_at_fault": self.in_flight_at_fault,
        }


async def await_answer(user: ChatUser, tally: Talk, within: float) -> bool:
    """The answer to the message just sent (notices in between counted); False when none came."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            message = await user.next_message(timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            return False
        if message.edited:
            continue
        if message.text == texts.ONE_MOMENT:
            tally.one_moment += 1
        elif message.text == texts.TECHNICAL_ERROR:
            tally.technical_errors += 1
            return False
        elif answer_to_hello(message):
            return True


async def chatter(
    user: ChatUser, tally: Talk, stop: asyncio.Event, fault: asyncio.Event, *, within: float, pace: float = 1.2
) -> None:
    """Say hello, wait for the answer, again, until `stop` (one message per `pace` s at most: the flood gate)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        after = fault.is_set()
        tally.waiting += 1
        await user.send("bonjour")
        tally.sent += 1
        tally.sent_after_fault += after
        answered = await await_answer(user, tally, within)
        tally.waiting -= 1
        if answered:
            tally.answered += 1
            tally.answered_after_fault += after
            if after:
                tally.answered_again.add(user.user_id)
            tally.slowest = max(tally.slowest, loop.time() - started)
        else:
            tally.lost += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, pace - (loop.time() - started)))


@dataclass
class Chatters:
    users: list[ChatUser]
    tally: Talk
    stop: asyncio.Event
    fault: asyncio.Event
    tasks: list[asyncio.Task[None]]

    def fault_now(self) -> None:
        self.tally.in_flight_at_fault = self.tally.waiting
        self.fault.set()

    async def finish(self) -> Talk:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        answered = {u.user_id: 0 for u in self.users}
        # per resident: answered == sent - lost; the duplicates are the menus beyond those
        for user in self.users:
            user_answers = sum(1 for m in await user.messages() if m.from_bot and m.buttons == MENU) - 1
            answered[user.user_id] = user_answers
        self.tally.duplicated = max(0, sum(answered.values()) - self.tally.answered)
        return self.tally


async def start_chatting(
    telegram: EmulatorClient, first_id: int, count: int, *, within: float, pace: float = 1.2
) -> Chatters:
    users = [await telegram.user(first_id + i, f"Hab{i}") for i in range(count)]
    for batch in range(0, count, 20):  # 20 at a time, like residents arriving, not one after the other
        await asyncio.gather(*(consent(user) for user in users[batch : batch + 20]))
    tally, stop, fault = Talk(residents=count), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(chatter(u, tally, stop, fault, within=within, pace=pace)) for u in users]
    return Chatters(users, tally, stop, fault, tasks)


async def next_question(user: ChatUser, within: float = 60) -> ChatMessage:
    return await user.wait_for(lambda m: not m.edited and m.text.startswith(("Encore ", "Dernière")), timeout=within)


async def results_of(user: ChatUser, within: float = 120) -> ChatMessage:
    return await user.wait_for(lambda m: not m.edited and "Refaire le point" in m.buttons, timeout=within)


async def screening_until(user: ChatUser, answered: int) -> ChatMessage:
    """Consent, "Mes droits", the first `answered` questions answered; returns the next question (unanswered)."""
    welcome = await consent(user)
    await user.press("Mes droits", message=welcome)
    question = await next_question(user)
    for button in SCREENING[:answered]:
        await user.press(button, message=question)
        question = await next_question(user)
    return question


async def screening_rest(user: ChatUser, question: ChatMessage, answered: int, within: float) -> ChatMessage:
    """Answer the questions from number `answered` + 1 on (the form must go on where it was: each question has
    the expected button); returns the results' last message."""
    for number, button in enumerate(SCREENING[answered:], start=answered + 1):
        if button not in question.buttons:
            raise AssertionError(f"question {number} lacks {button!r}: {question.text!r} {question.buttons}")
        await user.press(button, message=question)
        if number < len(SCREENING):
            question = await next_question(user, within)
    return await results_of(user, within)


async def booking_until_offer(user: ChatUser) -> ChatMessage:
    """Consent, ask for an appointment, answer where (Dijon, Grésilles) and the topic; the slots offered."""
    await consent(user)
    await user.send("je voudrais un rendez-vous")
    first = await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 1 sur 2"), timeout=60)
    await user.press("Dijon", message=first)
    second = await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 2 sur 2"), timeout=60)
    await user.press("Grésilles", message=second)
    topic = await user.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?", timeout=60)
    await user.press(topic.buttons[0], message=topic)
    return await user.wait_for(lambda m: not m.edited and "Autres créneaux" in m.buttons, timeout=60)


async def book(user: ChatUser, offer: ChatMessage, within: float) -> ChatMessage:
    await user.press(offer.buttons[0], message=offer)
    return await user.wait_for(lambda m: not m.edited and m.text.startswith("C'est noté"), timeout=within)


def public_id(service: Service, telegram_user_id: int) -> str | None:
    with UnitOfWork(service.engine) as uow:
        query = select(Resident.public_id).where(Resident.telegram_user_id == telegram_user_id)  # type: ignore[arg-type]
        return uow.session.execute(query).scalar()


def booked(service: Service, telegram_user_id: int) -> int:
    """The resident's appointments booked (not cancelled)."""
    with UnitOfWork(service.engine) as uow:
        query = (
            select(Appointment.id)
            .join(Resident, Resident.id == Appointment.resident_id)  # type: ignore[arg-type]
            .where(Resident.telegram_user_id == telegram_user_id, Appointment.status == AppointmentStatus.booked)
        )
        return len(uow.session.execute(query).all())


# ---------------------------------------------------------------- a campaign


@dataclass
class Campaign:
    id: int
    chats: list[int]
    started_at: float

    def report(self, stats: dict[str, Any], done_after: float | None) -> dict[str, Any]:
        per_chat = stats.get("sends_per_chat") or {}
        counts = [int(per_chat.get(str(c), 0)) for c in self.chats]
        return {
            "audience": len(self.chats),
            "reached": sum(1 for n in counts if n),
            "missed": sum(1 for n in counts if not n),
            "duplicated": sum(max(0, n - 1) for n in counts),
            "done_after_s": None if done_after is None else round(done_after, 1),
        }


async def start_campaign(service: Service, telegram: EmulatorClient, first_chat: int, size: int) -> Campaign:
    """`size` consented residents of Troyes who started the bot (emulator users), and a campaign to them, started."""
    chats = list(range(first_chat, first_chat + size))
    for chat in chats:
        await telegram.request("POST", "/control/users", json={"user_id": chat, "first_name": f"C{chat}"})
    clock = SystemClock()
    now = clock.now()
    tag = uuid.uuid4().hex[:8]
    with service.engine.begin() as connection:
        connection.execute(  # the audiences of earlier drills are left out of this one
            update(Resident.__table__)  # type: ignore[attr-defined]
            .where(Resident.territory_id == "troyes", Resident.opted_out_at.is_(None))  # type: ignore[union-attr]
            .values(opted_out_at=now)
        )
        connection.execute(
            insert(Resident.__table__),  # type: ignore[attr-defined]
            [
                {
                    "public_id": f"d{tag}{chat:023d}",
                    "telegram_user_id": chat,
                    "chat_id": chat,
                    "first_name": f"C{chat}",
                    "territory_id": "troyes",
                    "consent_version": "2026-11",
                    "consent_at": now,
                    "created_at": now,
                }
                for chat in chats
            ],
        )
    spec = CampaignSpec.model_validate(
        {
            "name": f"Exercice {tag}",
            "territory": "troyes",
            "audience": {"territory": "troyes"},
            "text": "Bonjour {prenom}, une permanence vous attend cette semaine.",
            "buttons": [],
        }
    )
    with UnitOfWork(service.engine) as uow:
        campaign_id = campaigns.create(uow, clock, spec, created_by=None).id
    if campaign_id is None:
        raise RuntimeError("campaign not created")
    with UnitOfWork(service.engine) as uow:
        campaigns.start(uow, clock, campaign_id)
    return Campaign(campaign_id, chats, _now())


def campaign_status(service: Service, campaign_id: int) -> dict[str, Any]:
    with UnitOfWork(service.engine) as uow:
        return campaigns.progress(uow.session, campaign_id)


async def sent_to(telegram: EmulatorClient, chats: list[int]) -> int:
    per_chat = (await telegram.stats()).get("sends_per_chat") or {}
    return sum(1 for c in chats if int(per_chat.get(str(c), 0)))


async def campaign_finished(service: Service, telegram: EmulatorClient, campaign: Campaign, within: float) -> float:
    """Everyone reached and the campaign done; seconds since it started."""

    async def finished() -> bool:
        if await sent_to(telegram, campaign.chats) < len(campaign.chats):
            return False
        status = await asyncio.to_thread(campaign_status, service, campaign.id)
        return status["status"] == CampaignStatus.done

    await until(finished, within, "the campaign reaches everyone and is done", every=0.5)
    return _now() - campaign.started_at


# ---------------------------------------------------------------- the drills


async def _outcome(work: Awaitable[Any], since: float) -> dict[str, Any]:
    """Done (seconds after the fault) or the error, without stopping the drill."""
    try:
        await work
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:600]}"}
    return {"ok": True, "after_fault_s": round(_now() - since, 1)}


async def _campaign_at(telegram: EmulatorClient, campaign: Campaign, share: float) -> None:
    wanted = max(1, int(len(campaign.chats) * share))

    async def far_enough() -> bool:
        return await sent_to(telegram, campaign.chats) >= wanted

    await until(far_enough, 120, f"the campaign sent {share:.0%}", every=0.1)


async def _answered_again(chatting: Chatters, within: float) -> float:
    """Every resident chatting had an answer to a message sent after the fault; seconds it took."""
    wanted = chatting.tally.residents
    return await until(lambda: len(chatting.tally.answered_again) >= wanted, within, "residents answered again")


async def kill_drill(
    service: Service | ClusterService,
    telegram: EmulatorClient,
    child: str | tuple[str, ...],
    *,
    first_id: int,
    talkers: int = 4,
    campaign_size: int = 150,
    form_at: int = 3,
    within: float = 150.0,
    answer_within: float | None = None,
    pace: float = 1.2,
) -> dict[str, Any]:
    """SIGKILL of `child` (or of each child named) while residents chat (each writing at most every `pace` s),
    one is in the middle of the screening form (question
    `form_at` + 1 shown), one is choosing a slot, and a campaign is sending (a quarter sent). Then the form
    and the booking go on, the campaign finishes, every resident is answered (a message is given up after
    `answer_within` s, default `within`)."""
    began = _now()
    children = (child,) if isinstance(child, str) else child
    chatting = await start_chatting(telegram, first_id, talkers, within=answer_within or within, pace=pace)
    form_user = await telegram.user(first_id + 100_000, "Fatou")
    booking_user = await telegram.user(first_id + 100_001, "Karim")
    question, offer = await asyncio.gather(screening_until(form_user, form_at), booking_until_offer(booking_user))
    campaign = await start_campaign(service, telegram, first_id + 200_000, campaign_size)
    await _campaign_at(telegram, campaign, 0.25)
    sent_before = await sent_to(telegram, campaign.chats)
    killed_pids = [service.kill(name) for name in children]
    killed = killed_pids[0] if len(killed_pids) == 1 else killed_pids
    fault = _now()
    chatting.fault_now()
    restarted = asyncio.create_task(
        _outcome(
            asyncio.gather(*(service.restarted(n, pid, within) for n, pid in zip(children, killed_pids, strict=True))),
            fault,
        )
    )
    form = asyncio.create_task(_outcome(screening_rest(form_user, question, form_at, within), fault))
    booking = asyncio.create_task(_outcome(book(booking_user, offer, within), fault))
    finished = asyncio.create_task(_outcome(campaign_finished(service, telegram, campaign, within), fault))
    answered_again = asyncio.create_task(_outcome(_answered_again(chatting, within), fault))
    restart = await restarted
    form_result, booking_result, campaign_result, again = await asyncio.gather(form, booking, finished, answered_again)
    talk = await chatting.finish()
    campaign_report = campaign.report(await telegram.stats(), campaign_result.get("after_fault_s"))
    return {
        "drill": f"SIGKILL {' and '.join(children)}",
        "killed_pid": killed,
        "restart": restart,
        "conversations": {**talk.report(), "all_answered_again": again},
        "screening_form": {**form_result, "killed_at_question": form_at + 1, "questions": len(SCREENING)},
        "booking": {**booking_result, "appointments": booked(service, booking_user.user_id)},
        "campaign": {**campaign_report, "sent_before_kill": sent_before, **_only_error(campaign_result)},
        "duration_s": round(_now() - began, 1),
    }


def _only_error(outcome: dict[str, Any]) -> dict[str, Any]:
    return {} if outcome.get("ok") else {"error": outcome.get("error")}


async def pending_updates(telegram: EmulatorClient) -> int:
    return sum((await telegram.stats()).get("pending_updates", {}).values())


async def in_flight_drill(
    service: Service, telegram: EmulatorClient, *, first_id: int, within: float = 90.0
) -> dict[str, Any]:
    """SIGKILL of the service while it handles a resident's message: the last answer of the screening form,
    typed, taken by the service (Telegram's update acknowledged) while Rasa and the action server compute the
    results. Is that message answered after the restart?"""
    began = _now()
    user = await telegram.user(first_id, "Awa")
    await screening_until(user, len(SCREENING) - 1)
    await user.send(SCREENING[-1].lower())

    async def taken() -> bool:
        return await pending_updates(telegram) == 0

    await until(taken, 30, "the service took the message", every=0.02)
    killed = service.kill("service")
    fault = _now()
    restart = await _outcome(service.restarted("service", killed, within), fault)
    results = await _outcome(results_of(user, within), fault)
    return {
        "drill": "SIGKILL service while it handles a message",
        "killed_pid": killed,
        "restart": restart,
        "message_in_flight": {"answered": results["ok"], **results},
        "duration_s": round(_now() - began, 1),
    }


async def postgres_drill(
    service: Service,
    cluster: Postgres,
    telegram: EmulatorClient,
    *,
    first_id: int,
    talkers: int = 4,
    campaign_size: int = 150,
    down_for: float = 0.0,
    within: float = 120.0,
) -> dict[str, Any]:
    """PostgreSQL stopped the hard way (immediate: like a crash) and started again (after `down_for` s: an
    outage), while residents chat and a campaign is sending: the service reconnects, the campaign finishes, the
    residents are answered again (during an outage, the service answers a message it cannot read or write
    with "souci technique": counted)."""
    began = _now()
    chatting = await start_chatting(telegram, first_id, talkers, within=within)
    campaign = await start_campaign(service, telegram, first_id + 1000, campaign_size)
    await _campaign_at(telegram, campaign, 0.25)
    sent_before = await sent_to(telegram, campaign.chats)
    fault = _now()
    chatting.fault_now()
    await asyncio.to_thread(cluster.stop, "immediate")
    if down_for > 0:
        await asyncio.sleep(down_for)  # the length of the outage, not a wait for something
    await asyncio.to_thread(cluster.start_again)
    back = _now() - fault
    again, finished = await asyncio.gather(
        _outcome(_answered_again(chatting, within), fault),
        _outcome(campaign_finished(service, telegram, campaign, within), fault),
    )
    talk = await chatting.finish()
    return {
        "drill": "PostgreSQL restarted (immediate stop, start)",
        "postgres_down_s": round(back, 1),
        "conversations": {**talk.report(), "all_answered_again": again},
        "campaign": {
            **campaign.report(await telegram.stats(), finished.get("after_fault_s")),
            "sent_before_restart": sent_before,
            **_only_error(finished),
        },
        "duration_s": round(_now() - began, 1),
    }


async def callback_fault_drill(service: Service, telegram: EmulatorClient, *, first_id: int) -> dict[str, Any]:
    """Telegram answers 500 once to the bot's answerCallbackQuery when a resident presses a button of the
    screening form: is the press carried out (the next question), or lost?"""
    user = await telegram.user(first_id, "Inès")
    question = await screening_until(user, 0)
    await telegram.fault("answerCallbackQuery", 500, times=1)
    await user.press(SCREENING[0], message=question)
    tally = Talk(residents=1)
    started = _now()
    try:
        message = await user.wait_for(
            lambda m: not m.edited and (m.text == texts.TECHNICAL_ERROR or m.text.startswith(("Encore ", "Dernière"))),
            timeout=30,
        )
        went_on = message.text != texts.TECHNICAL_ERROR
        tally.technical_errors += not went_on
    except TimeoutError:
        went_on = False
    return {
        "drill": "Telegram answers 500 to answerCallbackQuery (a form's button)",
        "press_carried_out": went_on,
        "technical_errors": tally.technical_errors,
        "after_s": round(_now() - started, 1),
    }


DIRECT_FAULTS = {  # per resident chatting: what Telegram does to the bot's next answers in that chat
    "500": {"error_code": 500, "times": 2},
    "429": {"error_code": 429, "retry_after": 2, "times": 1},
    "timeout": {"error_code": 0, "delay": 8.0, "times": 1},  # PTB's read timeout is 5 s: the answer arrives late
}
OUTBOX_FAULTS = {  # per campaign chat
    "500": {"error_code": 500, "times": 2},
    "429": {"error_code": 429, "retry_after": 3, "times": 1},
    "timeout": {"error_code": 0, "delay": 12.0, "times": 1},  # the outbox's sender gives up after 10 s
}


async def telegram_drill(
    service: Service, telegram: EmulatorClient, *, first_id: int, campaign_size: int = 60, within: float = 60.0
) -> dict[str, Any]:
    """Telegram answering 500, 429 with retry_after, or too slowly: to the bot's answers (one resident per
    fault) and to a campaign's messages (one chat per fault). Nothing may be lost; a duplicate only where a
    send timed out after Telegram took it."""
    began = _now()
    users = {name: await telegram.user(first_id + i, f"T{name}") for i, name in enumerate(DIRECT_FAULTS)}
    for user in users.values():
        await consent(user)
    chats = list(range(first_id + 1000, first_id + 1000 + campaign_size))
    targets = dict(zip(OUTBOX_FAULTS, chats[:: max(1, campaign_size // len(OUTBOX_FAULTS))], strict=False))
    for name, chat in targets.items():
        await telegram.fault("sendMessage", chat_id=chat, **OUTBOX_FAULTS[name])
    campaign = await start_campaign(service, telegram, first_id + 1000, campaign_size)
    finishing = asyncio.create_task(
        _outcome(campaign_finished(service, telegram, campaign, within * 2), campaign.started_at)
    )
    direct: dict[str, Any] = {}

    async def answer(name: str, user: ChatUser) -> None:
        await telegram.fault("sendMessage", chat_id=user.user_id, **DIRECT_FAULTS[name])
        tally = Talk(residents=1)
        started = _now()
        await user.send("bonjour")
        answered = await await_answer(user, tally, within)
        direct[name] = {
            "answered": answered,
            "after_s": round(_now() - started, 1),
            "technical_error": tally.technical_errors,
        }

    await asyncio.gather(*(answer(name, user) for name, user in users.items()))
    finished = await finishing  # long after a late answer held by the emulator arrived
    for name, user in users.items():
        menus = sum(1 for m in await user.messages() if m.from_bot and m.buttons == MENU) - 1  # less the welcome
        direct[name]["duplicated"] = max(0, menus - 1)
    stats = await telegram.stats()
    per_chat = stats.get("sends_per_chat") or {}
    return {
        "drill": "Telegram answers 500, 429 retry_after, times out",
        "direct_answers": direct,
        "campaign": {
            **campaign.report(stats, finished.get("after_fault_s")),
            "faulty_chats": {name: int(per_chat.get(str(chat), 0)) for name, chat in targets.items()},
            **_only_error(finished),
        },
        "emulator_errors": stats.get("errors"),
        "duration_s": round(_now() - began, 1),
    }
