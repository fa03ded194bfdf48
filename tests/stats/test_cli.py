"""`outreach stats`: the figures() dict as one JSON object, a French summary, exit code 2 on bad arguments."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from db.engine import UnitOfWork
from db.models import RightStatus
from outreach.cli import app
from outreach.clock import FrozenClock
from outreach.screening.model import Profile, Right, ScreeningResult
from outreach.services import residents, screenings
from tests.booking.conftest import paris

runner = CliRunner()
PRIME = Right(
    id="prime_activite", label="Prime d'activité", kind="national", monthly_amount=231.4, why="w", next_step="n"
)


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stats", *args], env={"DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def _a_month_of_facts(engine: Engine, clock: FrozenClock) -> None:
    clock.set(paris(2026, 11, 2, 10))
    for user, quartier in ((1, "gresilles"), (2, "fontaine_d_ouche")):
        with UnitOfWork(engine) as uow:
            view = residents.record_consent(
                uow, clock, telegram_user_id=user, chat_id=user, accepted=True, first_name="Amina", language="fr"
            )
            residents.set_place(uow, view.id, commune_name="Dijon", quartier_id=quartier)
            screenings.record(uow, clock, view.id, Profile(), ScreeningResult(rights=[PRIME]), complex_case=False)
    clock.advance(days=4)
    with UnitOfWork(engine) as uow:
        screenings.set_status(uow, clock, view.id, "prime_activite", RightStatus.asked)


def test_json_prints_the_figures_of_the_console(engine: Engine, database_url: str, clock: FrozenClock) -> None:
    _a_month_of_facts(engine, clock)
    code, out, err = _run(database_url, "--territory", "dijon", "--month", "2026-11", "--json")
    assert code == 0, err
    [line] = out.splitlines()
    result = json.loads(line)
    assert (result["territory"], result["quartier"], result["month"]) == ("dijon", None, "2026-11")
    assert result["residents_reached"] == 2 and result["screenings_completed"] == 2
    assert result["rights_detected"] == [
        {"right_id": "prime_activite", "label": "Prime d'activité", "count": 2, "yearly_amount_eur": 5554}
    ]
    assert result["rights_reported"]["asked"] == 1 and result["median_days_detection_to_claim"] == 4.0
    assert set(result["appointments"]) >= {"booked", "seen", "no_show", "cancelled", "no_show_rate"}
    assert set(result["handoffs"]) >= {"opened", "closed", "outcomes", "median_wait_minutes"}
    assert set(result["campaigns"]) == {"campaigns_sent", "messages_sent", "clicks", "opt_outs"}


def test_a_qpv_and_the_french_summary(engine: Engine, database_url: str, clock: FrozenClock) -> None:
    _a_month_of_facts(engine, clock)
    url = database_url
    code, out, _ = _run(url, "--territory", "dijon", "--month", "2026-11", "--quartier", "gresilles", "--json")
    assert code == 0 and json.loads(out)["residents_reached"] == 1
    code, out, err = _run(url, "--territory", "dijon", "--month", "2026-11")
    assert code == 0, err
    assert "Chiffres de novembre 2026 : Dijon métropole (du 01/11/2026 au 30/11/2026)" in out
    assert "Habitants touchés (accord donné) : 2" in out
    assert "  - Prime d'activité : 2, environ 5\u202f554 € par an" in out
    assert "Délai médian entre la détection et la demande : 4 jours" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--territory", "dijon", "--month", "2026-13"), "YYYY-MM"),
        (("--territory", "dijon", "--month", "novembre"), "YYYY-MM"),
        (("--territory", "lyon", "--month", "2026-11"), "unknown territory 'lyon' (known: dijon, troyes)"),
        (("--territory", "troyes", "--month", "2026-11", "--quartier", "gresilles"), "unknown quartier 'gresilles'"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(database_url: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = _run(database_url, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
