"""`outreach staff console`: the command that gives a staff member console access."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from db.engine import make_engine
from outreach.clock import SystemClock
from outreach.console.web import create_app
from tests.console.conftest import console_settings, csrf_of, login
from tests.unit.test_staff_cli import run


def test_staff_console_prints_an_activation_link_that_opens_the_console(tmp_path: Path) -> None:
    assert run(tmp_path, "seed-demo").returncode == 0
    done = run(tmp_path, "staff", "console", "3", "--login", "Helene")
    assert done.returncode == 0, done.stderr
    access = json.loads(done.stdout)
    assert access["staff"] == 3 and access["login"] == "helene"
    assert access["link"].startswith("http://127.0.0.1:8000/activer/")
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    engine = make_engine(url)
    try:
        with TestClient(create_app(engine, SystemClock(), console_settings(url)), follow_redirects=False) as client:
            path = access["link"].removeprefix("http://127.0.0.1:8000")
            page = client.get(path)
            assert "helene" in page.text
            password = "le mot de passe d'Hélène"
            chosen = client.post(path, data={"mot_de_passe": password, "confirmation": password,
                                             "csrf_token": csrf_of(page.text)})
            assert chosen.status_code == 303
            client.cookies.clear()
            assert login(client, "helene", password).status_code == 303  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_staff_console_refuses_bad_arguments_clearly(tmp_path: Path) -> None:
    assert run(tmp_path, "seed-demo").returncode == 0
    for args, message in (
        (["staff", "console", "99", "--login", "quelquun"], "pas de membre de l'équipe actif n° 99"),
        (["staff", "console", "3", "--login", "Pas Bon!"], "identifiant : 2 à 64 caractères"),
        (["staff", "console", "abc", "--login", "helene"], "Invalid value"),
    ):
        done = run(tmp_path, *args)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, args
    weak = subprocess.run([*_cmd(), "staff", "console", "3", "--login", "helene", "--password-stdin"],
                          input="court\n", capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert weak.returncode == 2 and "au moins 12 caractères" in weak.stderr


def _cmd() -> list[str]:
    from tests.unit.test_staff_cli import OUTREACH

    return [OUTREACH]


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'outreach.db'}"
    return env
