"""`outreach seed-demo` and `outreach permanence list|add|close`: clear errors, exit code 2 on wrong arguments."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from outreach import dispatch
from outreach.cli import app
from outreach.services.permanences import PermanenceError, parse_hours, parse_weekday

runner = CliRunner()


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def test_seed_demo_is_idempotent_and_lists_both_territories(database_url: str) -> None:
    code, out, _ = _run(database_url, "seed-demo")
    assert code == 0 and json.loads(out) == {"lieux": 9, "staff": 5, "permanences": 12}
    code, out, _ = _run(database_url, "seed-demo")
    assert json.loads(out) == {"lieux": 0, "staff": 0, "permanences": 0}
    code, out, _ = _run(database_url, "permanence", "list", "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    assert {p["territory"] for p in listed} == {"dijon", "troyes"}
    assert {p["relay"] for p in listed} == {"Samia", "Yannick", "Inès"}
    code, out, _ = _run(database_url, "permanence", "list", "--territory", "troyes")
    assert code == 0 and "Inès" in out and "Samia" not in out


def test_add_then_close_a_permanence(database_url: str) -> None:
    _run(database_url, "seed-demo")
    listed = [json.loads(line) for line in _run(database_url, "permanence", "list", "--json")[1].splitlines()]
    samia = next(p["staff"] for p in listed if p["relay"] == "Samia")
    code, out, err = _run(
        database_url,
        "permanence",
        "add",
        "--staff",
        str(samia),
        "--lieu",
        "dijon-gresilles-centre-social",
        "--day",
        "Lundi",
        "--hours",
        "9h30-12h",
        "--slot",
        "45",
        "--capacity",
        "2",
        "--topics",
        "droits,emploi",
    )
    assert code == 0, err
    new_id = json.loads(out)["id"]
    added = next(
        p
        for p in map(json.loads, _run(database_url, "permanence", "list", "--json")[1].splitlines())
        if p["id"] == new_id
    )
    assert (added["weekday"], added["start"], added["end"], added["slot_minutes"], added["capacity"]) == (
        0,
        "09:30",
        "12:00",
        45,
        2,
    )
    code, out, err = _run(
        database_url,
        "permanence",
        "close",
        "--permanence",
        str(new_id),
        "--from",
        "2026-12-21",
        "--to",
        "2026-12-31",
        "--reason",
        "congés de fin d'année",
    )
    assert code == 0, err
    assert json.loads(out)["cancelled_appointments"] == 0
    assert (
        "fermée du 2026-12-21 00:00 au 2026-12-31 23:59 : congés de fin d'année"
        in _run(database_url, "permanence", "list")[1]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--staff", "1", "--lieu", "dijon-gresilles-centre-social", "--day", "mardy", "--hours", "9h-12h"], "jour"),
        (["--staff", "1", "--lieu", "dijon-gresilles-centre-social", "--day", "lundi", "--hours", "12h-9h"], "fin"),
        (["--staff", "1", "--lieu", "nulle-part", "--day", "lundi", "--hours", "9h-12h"], "lieu inconnu"),
        (["--staff", "999", "--lieu", "dijon-gresilles-centre-social", "--day", "lundi", "--hours", "9h-12h"], "999"),
        (["--staff", "1", "--lieu", "dijon-gresilles-centre-social", "--day", "mardi", "--hours", "15h-16h"], "déjà"),
        (
            [
                "--staff",
                "1",
                "--lieu",
                "dijon-gresilles-centre-social",
                "--day",
                "lundi",
                "--hours",
                "9h-12h",
                "--topics",
                "cuisine",
            ],
            "sujets inconnus",
        ),
    ],
)
def test_wrong_arguments_exit_2_with_a_clear_message(database_url: str, args: list[str], message: str) -> None:
    _run(database_url, "seed-demo")
    code, _, err = _run(database_url, "permanence", "add", *args)
    assert code == 2 and message in err


def test_closing_needs_real_dates_and_one_target(database_url: str) -> None:
    _run(database_url, "seed-demo")
    assert (
        _run(database_url, "permanence", "close", "--permanence", "1", "--from", "24/12", "--to", "2026-12-31")[0] == 2
    )
    assert _run(database_url, "permanence", "close", "--from", "2026-12-24", "--to", "2026-12-31")[0] == 2
    code, _, err = _run(
        database_url, "permanence", "close", "--permanence", "1", "--from", "2026-12-31", "--to", "2026-12-24"
    )
    assert code == 2 and "--to" in err


def test_day_and_hours_are_read_in_french() -> None:
    assert [parse_weekday(d) for d in ("lundi", "Mardi", "MERCREDI", "jeu", "vendredi.", "samedi", "dimanche")] == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert parse_hours("14h-17h") == parse_hours("14:00-17:00") == parse_hours("14 h - 17 h")
    assert parse_hours("9h30-12h")[0].minute == 30
    with pytest.raises(PermanenceError):
        parse_hours("25h-26h")


def test_the_standalone_dispatcher_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert dispatch.main([]) == 2
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("OUTREACH_OUTBOX_RATE", "45")
    assert dispatch.main([]) == 2  # above Telegram's limit
