"""`outreach resident export|erase`: a resident's rights exercised by staff on request, as a script calls them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from sqlmodel import select

from db.engine import UnitOfWork, make_engine
from db.models import AuditLog, Resident
from outreach import PROJECT_ROOT
from outreach.cli.common import prepare_database
from outreach.clock import SystemClock
from outreach.services import residents

OUTREACH = str(PROJECT_ROOT / ".venv" / "bin" / "outreach")


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = url
    return subprocess.run([OUTREACH, *args], capture_output=True, text=True, env=env, timeout=120)


def test_staff_export_then_erase_a_resident_on_request(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    prepare_database(url)
    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            view = residents.record_consent(
                uow, SystemClock(), telegram_user_id=7, chat_id=7, accepted=True, first_name="Fatou", language="fr"
            )
        assert run(url, "resident", "erase", view.public_id).returncode == 2  # without --yes: nothing
        exported = run(url, "resident", "export", view.public_id)
        assert exported.returncode == 0, exported.stderr
        content = json.loads(exported.stdout)
        assert (content["identifiant"], content["prenom"]) == (view.public_id, "Fatou")
        erased = run(url, "resident", "erase", view.public_id, "--yes")
        assert erased.returncode == 0, erased.stderr
        assert json.loads(erased.stdout)["erased"] == view.public_id
        unknown = run(url, "resident", "export", view.public_id)
        assert unknown.returncode == 2 and "aucun habitant" in unknown.stderr
        with UnitOfWork(engine) as uow:
            assert uow.session.exec(select(Resident)).all() == []
            audit = [(a.actor, a.action, a.detail) for a in uow.session.exec(select(AuditLog).order_by(AuditLog.id))]
        assert audit == [("cli", "export", {}), (f"resident:{view.public_id}", "erase", {"reason": "request"})]
    finally:
        engine.dispose()
