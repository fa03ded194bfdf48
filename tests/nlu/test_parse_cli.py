"""`outreach nlu parse`: JSON lines in the contract's shape, one per input line, in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.rasa

OUTREACH = str(Path(sys.executable).parent / "outreach")


def test_parse_writes_one_json_object_per_line() -> None:
    lines = ["bonjour", "", "je veux un rdv a la permanence", "caf \udcff bizarre".encode("utf-8", "surrogateescape")]
    stdin = b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines) + b"\n"
    done = subprocess.run([OUTREACH, "nlu", "parse"], input=stdin, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(results) == 4
    assert all(set(r) == {"text", "intent", "confidence", "entities"} for r in results)
    assert results[0]["intent"] == "greet" and 0.5 < results[0]["confidence"] <= 1
    assert results[1] == {"text": "", "intent": None, "confidence": 0.0, "entities": []}
    assert results[2]["intent"] == "book_appointment"
    assert results[3]["text"].startswith("caf ")
