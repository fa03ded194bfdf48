"""`outreach campaign create|start|pause|resume|cancel|status|list`: JSON out, French summaries, exit code 2
with a clear message (no traceback) on a bad file, an unknown id or a refused transition."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from outreach.cli import app
from outreach.clock import SystemClock
from tests.campaigns.conftest import resident

runner = CliRunner()
FILE = """\
name: Prime d'activité aux Grésilles
territory: dijon
audience:
  quartiers: [gresilles]
text: "Bonjour {prenom}, savez-vous si vous avez droit à la prime d'activité ?"
buttons: [screening, talk, stop]
rate: 20
"""


def run(engine: Engine, *args: str) -> tuple[int, str, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["campaign", *args], env={"DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def test_create_start_pause_resume_cancel_and_status(engine: Engine, tmp_path: Path) -> None:
    clock = SystemClock()
    for name in ("Amina", "Karim"):
        resident(engine, clock, first_name=name)
    resident(engine, clock, quartier="le_mail")
    path = tmp_path / "campaign.yml"
    path.write_text(FILE, encoding="utf-8")
    code, out, err = run(engine, "create", "--file", str(path))
    assert code == 0, err
    created = json.loads(out)
    assert created["audience"] == 2
    campaign_id = str(created["id"])
    code, out, _ = run(engine, "status", campaign_id, "--json")
    assert code == 0 and json.loads(out)["status"] == "draft" and json.loads(out)["total"] == 0
    code, out, _ = run(engine, "start", campaign_id)
    assert code == 0 and out.strip() == f"campagne {campaign_id} lancée (en cours d'envoi)"
    status = json.loads(run(engine, "status", campaign_id, "--json")[1])
    assert status["total"] == 2 and status["pending"] == 2 and status["percent"] == 0
    assert set(status) >= {"status", "total", "done", "percent", "pending", "queued", "sent", "blocked", "failed",
                           "dropped", "capped", "excluded", "cancelled"}
    assert run(engine, "pause", campaign_id)[0] == 0
    code, out, _ = run(engine, "status", campaign_id)
    assert code == 0 and "en pause" in out and "2 à envoyer" in out
    assert run(engine, "resume", campaign_id)[1].strip().endswith("reprise (en cours d'envoi)")
    assert run(engine, "cancel", campaign_id)[0] == 0
    status = json.loads(run(engine, "status", campaign_id, "--json")[1])
    assert status["status"] == "cancelled" and status["cancelled"] == 2
    code, out, _ = run(engine, "list", "--json")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [created["id"]]
    code, out, _ = run(engine, "list")
    assert "annulée" in out and "Prime d'activité" in out


def test_mistakes_exit_with_code_2_and_a_french_message(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\nterritory: dijon\ntext: Bonjour {nom}\n", encoding="utf-8")
    code, out, err = run(engine, "create", "--file", str(bad))
    assert code == 2 and "champ inconnu {nom}" in err and "Traceback" not in err + out
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [", encoding="utf-8")
    assert "YAML illisible" in run(engine, "create", "--file", str(broken))[2]
    code, _, err = run(engine, "create", "--file", str(tmp_path / "missing.yml"))
    assert code == 2 and "impossible de lire" in err
    wrong_place = tmp_path / "lyon.yml"
    wrong_place.write_text("name: x\nterritory: lyon\ntext: Bonjour\n", encoding="utf-8")
    code, _, err = run(engine, "create", "--file", str(wrong_place))
    assert code == 2 and "territoire inconnu" in err
    for verb in ("start", "pause", "resume", "cancel", "status"):
        code, _, err = run(engine, verb, "42")
        assert code == 2 and "aucune campagne n° 42" in err, verb
    code, _, err = run(engine, "start", "abc")
    assert code == 2 and "Traceback" not in err
    good = tmp_path / "good.yml"
    good.write_text(FILE, encoding="utf-8")
    campaign_id = str(json.loads(run(engine, "create", "--file", str(good))[1])["id"])
    code, _, err = run(engine, "resume", campaign_id)
    assert code == 2 and "Impossible de reprendre" in err and "pas encore lancée" in err
