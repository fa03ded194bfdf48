"""`outreach staff invite|list|disable` as a coordinator's script would call them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from outreach import PROJECT_ROOT

OUTREACH = str(PROJECT_ROOT / ".venv" / "bin" / "outreach")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'outreach.db'}"
    return subprocess.run([OUTREACH, *args], capture_output=True, text=True, env=env, timeout=120)


def test_invite_prints_a_code_and_a_t_me_link(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "staff",
        "invite",
        "--role",
        "relay",
        "--territory",
        "dijon",
        "--name",
        "Samia",
        "--quartier",
        "gresilles",
    )
    assert done.returncode == 0, done.stderr
    invite = json.loads(done.stdout)
    assert invite["code"].startswith("st-") and len(invite["code"]) <= 32
    assert invite["link"] == f"https://t.me/outreach_sandbox_bot?start={invite['code']}"
    again = json.loads(run(tmp_path, "staff", "invite", "--role", "coordinator", "--territory", "troyes").stdout)
    assert again["code"] != invite["code"]


def test_wrong_arguments_get_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    for args, message in [
        (("--role", "chef", "--territory", "dijon"), "--role"),
        (("--role", "relay", "--territory", "lyon"), "unknown territory"),
        (("--role", "relay"), "territory"),
        (("--role", "relay", "--territory", "dijon", "--quartier", "chartreux"), "unknown quartier"),
    ]:
        done = run(tmp_path, "staff", "invite", *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


def test_list_and_disable(tmp_path: Path) -> None:
    assert run(tmp_path, "staff", "invite", "--role", "admin").returncode == 0
    assert run(tmp_path, "staff", "list").stdout == ""  # an invite is not an account yet
    done = run(tmp_path, "staff", "disable", "42")
    assert done.returncode == 2 and "no staff account 42" in done.stderr


def test_languages_spoken_are_set_at_invite_and_with_staff_languages(tmp_path: Path) -> None:
    from db.engine import UnitOfWork
    from db.models import Staff, StaffInvite
    from outreach.cli.common import engine_of
    from outreach.clock import SystemClock
    from outreach.services import staff as staff_service

    done = run(tmp_path, "staff", "invite", "--role", "relay", "--territory", "dijon", "--language", "ar,en")
    assert done.returncode == 0, done.stderr
    wrong = run(tmp_path, "staff", "invite", "--role", "relay", "--territory", "dijon", "--language", "arabic!")
    assert wrong.returncode == 2 and "language" in wrong.stderr
    with engine_of(f"sqlite:///{tmp_path / 'outreach.db'}") as engine, UnitOfWork(engine) as uow:
        [invite] = uow.session.query(StaffInvite).all()
        assert invite.languages == ["ar", "en"]
        code = json.loads(done.stdout)["code"]
        member = staff_service.redeem_invite(uow, SystemClock(), code, telegram_user_id=7, chat_id=7)
        assert member is not None and member.languages == ("ar", "en")
    done = run(tmp_path, "staff", "languages", str(member.id), "tr", "fr")
    assert done.returncode == 0 and json.loads(done.stdout) == {"id": member.id, "languages": ["fr", "tr"]}
    with engine_of(f"sqlite:///{tmp_path / 'outreach.db'}") as engine, UnitOfWork(engine) as uow:
        assert uow.session.get(Staff, member.id).languages == ["tr"]
    assert run(tmp_path, "staff", "languages", "999", "ar").returncode == 2
