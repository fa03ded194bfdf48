"""Start the whole service (`outreach run`) as a subprocess, on free loopback ports, and wait until it
answers: used by the end-to-end tests of `outreach run` and by the benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    log: Path
    rasa_url: str
    sandbox_url: str | None
    console_url: str = ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _ready(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False


@contextlib.contextmanager
def launch_outreach(workdir: Path, *, env: dict[str, str] | None = None, timeout: float = 300) -> Iterator[Launched]:
    """`outreach run` with its own database and ports; sandbox mode unless env has a token."""
    rasa_port, actions_port = free_port(), free_port()
    child_env = dict(os.environ)
    child_env.pop("TELEGRAM_BOT_TOKEN", None)
    child_env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'outreach.db'}",
        OUTREACH_RASA_PORT=str(rasa_port),
        OUTREACH_ACTIONS_PORT=str(actions_port),
        OUTREACH_SANDBOX_PORT=str(free_port()),
        OUTREACH_CONSOLE_PORT=str(free_port()),
    )
    child_env.update(env or {})
    sandbox_url = (
        None if child_env.get("TELEGRAM_BOT_TOKEN") else f"http://127.0.0.1:{child_env['OUTREACH_SANDBOX_PORT']}"
    )
    log = workdir / "outreach-run.log"
    process = subprocess.Popen(  # noqa: S603 - fixed argv: our own `outreach run`
        [str(Path(sys.executable).parent / "outreach"), "run"],
        cwd=PROJECT_ROOT,
        env=child_env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    launched = Launched(
        process, log, f"http://127.0.0.1:{rasa_port}", sandbox_url, f"http://127.0.0.1:{child_env['OUTREACH_CONSOLE_PORT']}"
    )
    try:
        deadline = time.monotonic() + timeout
        while not (_ready(f"{launched.rasa_url}/") and "outreach is running" in launched.log_tail(100_000)):
            if process.poll() is not None:
                raise RuntimeError(f"outreach run exited with {process.returncode}:\n{launched.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"outreach run not ready after {timeout} s:\n{launched.log_tail()}")
            time.sleep(0.5)  # waiting for external processes to boot
        yield launched
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
