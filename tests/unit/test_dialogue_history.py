"""The dialogue history work Rasa repeated on every turn, done once (nlu/serving/history.py), gives what Rasa's own
functions give after every event of a conversation with a form, a question inside it, reverts, a restart and a new
session (run inside .venv-rasa). Every Rasa the tests start also checks it on every turn (tests/conftest.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from outreach.rasa_model import RASA_VENV, rasa_env

pytestmark = pytest.mark.rasa


def test_applied_events_copies_and_states_equal_rasa_s_own_after_every_event(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), str(Path(__file__).with_name("history_checks.py"))],
        cwd=tmp_path,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    events = seen["events"]
    assert events == 43
    assert seen == {
        "events": events,
        "applied_same": events,
        "copy_same": events,
        "states_same": events,
        "copy_independent": events,
    }
