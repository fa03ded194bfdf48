"""Rasa's trackers kept in memory in front of its SQL tracker store (nlu/serving/tracker_cache.py) are used only
while they are the stored ones: a turn stopped before its save, another writer, an erasure, a replaced tracker
and a new session all make Rasa read the database again. Run inside .venv-rasa, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.rasa_store import prepare
from tests.unit.rasa_side import run_check

pytestmark = pytest.mark.rasa


def test_the_cached_tracker_is_used_only_while_it_is_the_stored_one(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        rasa_url = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    else:
        rasa_url = prepare(database_url)
        assert rasa_url is not None
    seen = run_check("tracker_cache_checks.py", rasa_url, cwd=tmp_path)
    assert seen == {
        "same_object_after_save": True,
        "hits_after_one_turn": 1,
        "stored_events_equal": True,
        "slot_after_reload": "Grigny",
        "unsaved_event_served": False,
        "slot_after_other_writer": "Évry",
        "after_erasure": None,
        "cached_after_replacement": False,
        "cached_after_new_session": False,
        "new_session_starts_with": "session_started",
        "new_session_slot": None,
        "cached_conversations": 2,
        "oldest_still_cached": False,
        "idle_conversation_kept": False,
    }
