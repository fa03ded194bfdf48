"""Rasa's tracker store as our service sees it (outreach/rasa_store.py): where it lives for each DATABASE_URL,
what the erasure deletes, what the right of access reads, and the daily sweep of conversations whose resident
is gone. The table is made here as Rasa's SQLTrackerStore makes it (the drills use a real Rasa:
tests/faults)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from db.engine import UnitOfWork
from db.models import Resident
from outreach import rasa_model, rasa_store
from outreach.clock import FrozenClock
from outreach.services import housekeeping, residents
from tests.campaigns.conftest import resident


def _events(database_url: str, sender: str, *events: tuple[str, dict[str, Any]]) -> None:
    """Rows as Rasa writes them (rasa/core/tracker_store.py SQLTrackerStore.save)."""
    url = rasa_store.store_url(database_url)
    assert url is not None
    engine = create_engine(url, poolclass=NullPool)
    table = rasa_store._table(url)
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        for type_name, data in events:
            connection.execute(
                insert(table).values(
                    sender_id=sender, type_name=type_name, timestamp=data.get("timestamp"), data=json.dumps(data)
                )
            )
    engine.dispose()


CONVERSATION = (
    ("action", {"event": "action", "name": "action_session_start", "timestamp": 1764950400.0}),
    ("user", {"event": "user", "text": "bonjour", "timestamp": 1764950401.0}),
    ("bot", {"event": "bot", "text": "Bonjour ! Que voulez-vous faire ?", "timestamp": 1764950401.5}),
    ("slot", {"event": "slot", "name": "s_age", "value": 34, "timestamp": 1764950402.0}),
    ("slot", {"event": "slot", "name": "requested_slot", "value": None, "timestamp": 1764950402.1}),
)


def test_where_the_store_lives(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'outreach.db'}"
    assert rasa_store.store_url(sqlite) == make_url(f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    assert rasa_store.rasa_url(sqlite) == f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    postgres = "postgresql+psycopg://outreach:s3cret@db.local:5432/outreach"
    rasa = make_url(rasa_store.rasa_url(postgres) or "")
    assert rasa.drivername == "postgresql+psycopg2" and rasa.database == "outreach" and rasa.password == "s3cret"
    assert rasa.query["options"] == "-csearch_path=rasa"
    assert rasa_store.store_url("sqlite://") is None  # in memory: Rasa keeps the conversations in memory too


def test_the_endpoints_file_reads_the_store_from_rasas_environment(tmp_path: Path) -> None:
    path = rasa_model.endpoints_file(tmp_path / "e.yml", host="127.0.0.1", actions_port=5055, tracker_store=True)
    written = path.read_text()
    assert "tracker_store:\n  type: SQL\n  url: ${OUTREACH_RASA_TRACKER_URL}\n" in written  # unquoted: expanded
    assert "${OUTREACH_RASA_TOKEN}" in written  # the action endpoint's header stays
    env = rasa_model.rasa_env("t" * 32, tracker_store="postgresql+psycopg2://u:s3cret@h/db")
    assert env["OUTREACH_RASA_TRACKER_URL"].endswith("@h/db")
    plain = rasa_model.endpoints_file(tmp_path / "m.yml", host="127.0.0.1", actions_port=5055)
    assert "tracker_store" not in plain.read_text()  # the tests' shared Rasa keeps conversations in memory


def test_the_supervisor_gives_rasa_the_store(tmp_path: Path) -> None:
    from outreach.config import Settings
    from outreach.supervisor import plan

    url = f"sqlite:///{tmp_path / 'db' / 'outreach.db'}"
    rasa = {child.name: child for child in plan(Settings(database_url=url, rasa_port=47001))}["rasa"]
    assert rasa.env["OUTREACH_RASA_TRACKER_URL"] == f"sqlite:///{tmp_path / 'db' / 'rasa-tracker.db'}"
    endpoints = Path(rasa.argv[rasa.argv.index("--endpoints") + 1]).read_text()
    assert "type: SQL" in endpoints and "rasa-tracker" not in endpoints
    assert (tmp_path / "db").is_dir()


def test_erasure_access_and_the_daily_sweep(engine: Engine, database_url: str, clock: FrozenClock) -> None:
    rasa_store.prepare(database_url)  # PostgreSQL: the schema "rasa"
    assert rasa_store.count(database_url, "nobody") == 0  # no table yet: Rasa never ran
    kept_id = resident(engine, clock, first_name="Amina")
    gone_id = resident(engine, clock, first_name="Karim")
    with UnitOfWork(engine) as uow:
        kept_public = uow.session.get(Resident, kept_id).public_id  # type: ignore[union-attr]
        gone_public = uow.session.get(Resident, gone_id).public_id  # type: ignore[union-attr]
    for sender in (kept_public, gone_public, "f" * 32):
        _events(database_url, sender, *CONVERSATION)

    with UnitOfWork(engine) as uow:
        held = rasa_store.export(uow, kept_public)
    assert held["evenements"] == len(CONVERSATION)
    assert [(m["de"], m["texte"]) for m in held["messages"]] == [
        ("vous", "bonjour"),
        ("assistant", "Bonjour ! Que voulez-vous faire ?"),
    ]
    assert held["messages"][0]["le"] == "2025-12-05T16:00:01+00:00"
    assert held["reponses_retenues"] == {"s_age": 34}

    assert rasa_store.forget(database_url, kept_public) == len(CONVERSATION)  # the erasure
    assert rasa_store.count(database_url, kept_public) == 0
    assert rasa_store.count(database_url, gone_public) == len(CONVERSATION)

    with UnitOfWork(engine) as uow:  # Karim erased while the store was out of reach: the sweep catches up
        residents.erase(uow, clock, gone_id)
    assert housekeeping.forget_conversations(lambda: UnitOfWork(engine)) == 2  # Karim's, and an unknown sender's
    assert rasa_store.count(database_url, gone_public) == 0 and rasa_store.count(database_url, "f" * 32) == 0


def _session(start: float, text: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """A session as Rasa writes it: its start, the slots carried over, then a turn."""
    return (
        ("action", {"event": "action", "name": "action_session_start", "timestamp": start}),
        ("session_started", {"event": "session_started", "timestamp": start}),
        ("slot", {"event": "slot", "name": "s_age", "value": 34, "timestamp": start}),
        ("user", {"event": "user", "text": text, "timestamp": start + 1}),
        ("bot", {"event": "bot", "text": "Bonjour !", "timestamp": start + 2}),
    )


def test_earlier_sessions_go_after_a_month_and_the_latest_stays(
    engine: Engine, database_url: str, clock: FrozenClock
) -> None:
    """Rasa reads a conversation from its latest session_started on (SQLTrackerStore._event_query): the earlier
    sessions are kept a month (the resident's export shows them), then deleted by the daily housekeeping."""
    rasa_store.prepare(database_url)
    now = clock.now().timestamp()
    day = 86_400.0
    senders = []
    for first_name in ("Amina", "Karim", "Lina"):  # residents we have: the sweep of unknown senders leaves them
        with UnitOfWork(engine) as uow:
            senders.append(uow.session.get(Resident, resident(engine, clock, first_name=first_name)).public_id)  # type: ignore[union-attr]
    old, once, legacy = senders
    _events(database_url, old, *_session(now - 90 * day, "il y a 3 mois"), *_session(now - 60 * day, "il y a 2 mois"),
            *_session(now - 10 * day, "il y a 10 jours"), *_session(now - 1 * day, "hier"))
    _events(database_url, once, *_session(now - 90 * day, "une seule fois"))  # its only session: kept
    _events(database_url, legacy, *CONVERSATION)  # no session_started at all: Rasa reads everything, kept
    assert housekeeping.run_daily(lambda: UnitOfWork(engine), clock)["earlier_session_events"] == 10
    texts_left = [m["texte"] for m in rasa_store.conversation(database_url, old)["messages"] if m["de"] == "vous"]
    assert texts_left == ["il y a 10 jours", "hier"]  # the month's earlier session, and the latest
    assert rasa_store.count(database_url, once) == 5 and rasa_store.count(database_url, legacy) == len(CONVERSATION)
    assert rasa_store.conversation(database_url, old)["reponses_retenues"] == {"s_age": 34}  # carried over
