"""`outreach run`: start, watch and restart the processes, all on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from outreach import PROJECT_ROOT, rasa_store
from outreach.config import Settings
from outreach.logs import redact
from outreach.rasa_model import actions_server_argv, endpoints_file, rasa_env, rasa_server_argv

log = logging.getLogger("outreach.run")

SANDBOX_TOKEN = "1000000001:sandbox-outreach-token"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if the supervisor disappears (even after kill -9)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str | None = None
    start_timeout: float = 120.0
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    restarts: int = 0


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._keep_alive(child)) for child in self.children]
        try:
            await self.stopping.wait()
        finally:
            for child in reversed(self.children):  # the service first, the processes it talks to after it
                with contextlib.suppress(Exception):
                    await self._terminate(child)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_healthy(self, child: Child) -> bool:
        if child.health_url is None:
            return True
        deadline = asyncio.get_running_loop().time() + child.start_timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while asyncio.get_running_loop().time() < deadline and not self.stopping.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(child.health_url)).status_code == 200:
                        return True
                await asyncio.sleep(0.5)
        return False

    async def _keep_alive(self, child: Child) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            started = asyncio.get_running_loop().time()
            child.process = await asyncio.create_subprocess_exec(
                *child.argv,
                env=child.env,
                cwd=PROJECT_ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            log.info("%s started (pid %s)", child.name, child.process.pid)
            pump = asyncio.create_task(self._pump(child))
            code = await child.process.wait()
            await asyncio.gather(pump, return_exceptions=True)
            if self.stopping.is_set():
                return
            if asyncio.get_running_loop().time() - started > 60:
                backoff = 1.0
            child.restarts += 1
            log.warning("%s exited with code %s; restarting in %.0f s", child.name, code, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=backoff)
            backoff = min(backoff * 2, 30.0)

    async def _pump(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        async for raw in child.process.stdout:
            line = redact(raw.decode("utf-8", "replace").rstrip())
            if line:
                print(f"{child.name:>8} | {line}", file=sys.stderr, flush=True)

    async def _terminate(self, child: Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def plan(settings: Settings) -> list[Child]:
    """The processes of `outreach run` for these settings."""
    python = sys.executable
    base_env = dict(os.environ)
    base_env["PYTHONUNBUFFERED"] = "1"
    children: list[Child] = []
    token = settings.rasa_secret or secrets.token_urlsafe(32)  # one per run unless configured
    base_env["OUTREACH_RASA_TOKEN"] = token
    service_env = dict(base_env)
    service_env["OUTREACH_RASA_URL"] = settings.effective_rasa_url
    if settings.sandbox:
        sandbox_url = f"http://{settings.host}:{settings.sandbox_port}"
        children.append(
            Child(
                "sandbox",
                [python, "-m", "sandbox", "--host", settings.host, "--port", str(settings.sandbox_port)],
                base_env,
                health_url=f"{sandbox_url}/control/stats",
                start_timeout=30,
            )
        )
        service_env["TELEGRAM_BOT_TOKEN"] = SANDBOX_TOKEN
        service_env["TELEGRAM_API_BASE_URL"] = f"{sandbox_url}/bot"
    actions_env = dict(base_env)
    actions_env.pop("TELEGRAM_BOT_TOKEN", None)
    children.append(
        Child(
            "actions",
            actions_server_argv(host=settings.actions_host, port=settings.actions_port),
            actions_env,
            health_url=f"http://{settings.actions_host}:{settings.actions_port}/health",
            start_timeout=60,
        )
    )
    tracker_store = rasa_store.prepare(settings.database_url)  # conversations survive a restart of Rasa
    endpoints = endpoints_file(
        endpoints_path(settings),
        host=settings.actions_host,
        actions_port=settings.actions_port,
        tracker_store=tracker_store is not None,
    )
    children.append(
        Child(
            "rasa",
            rasa_server_argv(host=settings.rasa_host, port=settings.rasa_port, endpoints=endpoints),
            rasa_env(token, tracker_store=tracker_store),
            health_url=f"{settings.effective_rasa_url}/",  # answers once the model is loaded
            start_timeout=180,
        )
    )
    console_health = f"http://{settings.console_host}:{settings.console_port}/sante"
    children.append(
        Child("service", [python, "-m", "outreach.service"], service_env, health_url=console_health, start_timeout=120)
    )
    return children


def endpoints_path(settings: Settings) -> Path:
    """Rasa's endpoints file for this run (one per Rasa port: several runs side by side; removed when it stops)."""
    return PROJECT_ROOT / "var" / "run" / f"endpoints-{settings.rasa_port}.yml"


async def run(settings: Settings) -> None:
    supervisor = Supervisor(plan(settings))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, supervisor.stopping.set)
    runner = asyncio.create_task(supervisor.run())
    results = await asyncio.gather(*(supervisor.wait_healthy(c) for c in supervisor.children))
    for child, healthy in zip(supervisor.children, results, strict=True):
        if not healthy and not supervisor.stopping.is_set():
            log.error("%s did not become healthy in %.0f s", child.name, child.start_timeout)
    if not supervisor.stopping.is_set():
        if settings.sandbox:
            log.info("sandbox ready: open http://%s:%s/ to chat as a resident", settings.host, settings.sandbox_port)
        log.info("console: open %s/ (outreach staff console ID --login L gives access)", settings.effective_console_url)
        log.info("outreach is running (Ctrl+C to stop)")
    await runner
    endpoints_path(settings).unlink(missing_ok=True)
    log.info("stopped")
