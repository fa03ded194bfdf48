"""The dialogue history work Rasa repeated on every turn, done once (nlu/serving/history.py), gives what Rasa's own
functions give after every event of a conversation with a form, a question inside it, reverts, a restart and a new
session (run inside .venv-rasa). Every Rasa the tests start also checks it on every turn (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.rasa_side import run_check

pytestmark = pytest.mark.rasa


def test_applied_events_copies_and_states_equal_rasa_s_own_after_every_event(tmp_path: Path) -> None:
    seen = run_check("history_checks.py", cwd=tmp_path)
    events = seen["events"]
    assert events == 43
    assert seen == {
        "events": events,
        "applied_same": events,
        "copy_same": events,
        "states_same": events,
        "copy_independent": events,
    }
