"""`outreach run` as a person starts it: the whole supervised service, in sandbox mode and against an
external Bot API emulator with a token; a killed child is restarted and residents are told to wait."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from outreach import texts
from sandbox.launch import PROJECT_ROOT, free_port, launch_outreach
from tests.e2e.test_conversation import MENU, consent

pytestmark = pytest.mark.rasa


async def hold_first_conversation(url: str) -> None:
    from sandbox.client import EmulatorClient

    async with EmulatorClient(url) as telegram:
        amina = await telegram.user(1001, "Amina")
        welcome = await consent(amina)
        assert welcome.buttons == MENU
        await amina.send("bonjour")
        answer = await amina.next_message()
        assert "Bonjour" in answer.text and answer.buttons == MENU


async def test_make_run_without_token_serves_the_sandbox(tmp_path: Path) -> None:
    with launch_outreach(tmp_path) as service:
        assert service.sandbox_url is not None
        async with httpx.AsyncClient() as http:
            page = await http.get(service.sandbox_url + "/")
        assert page.status_code == 200 and "Bac à sable" in page.text
        await hold_first_conversation(service.sandbox_url)
        assert "sandbox ready: open " + service.sandbox_url in service.log_tail(100_000)
        async with httpx.AsyncClient() as http:
            console = await http.get(service.console_url + "/connexion")
        assert console.status_code == 200 and "Connexion à la console" in console.text
        endpoints = PROJECT_ROOT / "var" / "run" / f"endpoints-{service.rasa_url.rsplit(':', 1)[1]}.yml"
        assert endpoints.exists()
    assert service.process.returncode == 0, "SIGTERM stops outreach run cleanly"
    assert "stopped" in service.log_tail(2000)
    assert not endpoints.exists()  # one run's file: gone with it
    stopping = service.log_tail(100_000).split("outreach is running", 1)[1]
    assert "Traceback" not in stopping and "CancelledError" not in stopping, stopping[-3000:]


@pytest.fixture
def external_emulator(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "emulator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/control/stats", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise RuntimeError("emulator did not start") from None
                import time

                time.sleep(0.2)  # external process boot
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_run_with_a_token_polls_the_given_bot_api(tmp_path: Path, external_emulator: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:ABC", "TELEGRAM_API_BASE_URL": f"{external_emulator}/bot"}
    with launch_outreach(tmp_path, env=env) as service:
        assert service.sandbox_url is None
        await hold_first_conversation(external_emulator)
        assert "123:ABC" not in service.log_tail(1_000_000)


async def test_a_killed_rasa_is_restarted_and_the_resident_waits_politely(tmp_path: Path) -> None:
    from sandbox.client import EmulatorClient

    with launch_outreach(tmp_path) as service:
        assert service.sandbox_url is not None
        async with EmulatorClient(service.sandbox_url) as telegram:
            amina = await telegram.user(1001, "Amina")
            await consent(amina)
            rasa_pid = int(re.findall(r"rasa started \(pid (\d+)\)", service.log_tail(1_000_000))[-1])
            os.kill(rasa_pid, signal.SIGKILL)
            await amina.send("bonjour")
            assert (await amina.next_message(timeout=30)).text == texts.ONE_MOMENT
            answer = await amina.next_message(timeout=120)
            assert answer.buttons == MENU
        assert "rasa exited with code -9; restarting" in service.log_tail(1_000_000)
