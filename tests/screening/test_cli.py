"""`outreach screen`: JSONL in, JSONL out, a clear error per bad line, the batch goes on."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess

from outreach import PROJECT_ROOT
from outreach.screening.batch import screen_lines

PROFILES = [
    {"age": 22, "commune_insee": "21166", "activity": "jobseeker", "housing": "hosted", "couple": False},
    {"age": 40, "commune_insee": "69123", "activity": "jobseeker", "jobseeker_since_months": 14},
]


def run_lines(lines: list[str]) -> list[dict]:
    out = io.StringIO()
    screen_lines(io.StringIO("\n".join(lines) + "\n"), out, batch_size=2, today=dt.date(2026, 12, 1))
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_gets_rights_with_the_contract_fields() -> None:
    first, second = run_lines([json.dumps(p) for p in PROFILES])
    for right in first["rights"]:
        assert {"id", "label", "kind", "monthly_amount", "why", "next_step"} <= set(right)
        if right["kind"] == "local":
            assert {"service_id", "reseaux_porteurs", "thematiques"} <= set(right)
    assert "dijon-cej" in {r["id"] for r in first["rights"]}
    assert all(r["kind"] == "national" for r in second["rights"]) and "notice" in second


def test_bad_lines_get_an_error_and_the_batch_goes_on() -> None:
    results = run_lines(
        ["not json", json.dumps({"age": -3}), "[1, 2]", json.dumps({"couleur": "bleu"}), json.dumps(PROFILES[0])]
    )
    assert [r.get("line") for r in results[:4]] == [1, 2, 3, 4]
    assert "not JSON" in results[0]["error"] and "age" in results[1]["error"] and "couleur" in results[3]["error"]
    assert results[4]["rights"]


def test_the_command_reads_stdin_and_writes_stdout() -> None:
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "outreach"), "screen", "--date", "2026-12-01"],
        input=json.dumps(PROFILES[0]) + "\n\n" + "{oops\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 2 and lines[0]["rights"] and "error" in lines[1]


def test_a_wrong_date_is_refused_clearly() -> None:
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "outreach"), "screen", "--date", "demain"],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "--date" in done.stderr
