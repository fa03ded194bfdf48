"""Rasa's tracker store: where the dialogue engine keeps the conversations (so that they survive a restart
of Rasa), and what our service reads or deletes in it for a resident's rights (access, erasure).

`outreach run` gives Rasa an SQL tracker store (Rasa 3.6 `tracker_store: type: SQL`, one row per event in
its table `events`, keyed by `sender_id`, our resident's opaque `public_id`), next to the project's
database and derived from DATABASE_URL alone:

- SQLite (the single-machine default): the file `rasa-tracker.db` in the directory of the project's
  database (`var/rasa-tracker.db` by default);
- PostgreSQL: the same database, schema `rasa` (Rasa connects with `search_path=rasa`; we create the
  schema before Rasa starts).

We own that store: Rasa's "PUT tracker/events []" leaves an SQL store's rows in place, so the erasure
deletes them here, by sender id (`forget`), and the right of access reads them (`export`). Rasa keeps the
latest session of recent conversations in memory (nlu/serving/tracker_cache.py), but uses that copy only while
the store still holds the same rows: the erasure's "PUT tracker/events []" drops it, and deleted rows are gone
for it too at the next message.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from db.engine import UnitOfWork

log = logging.getLogger(__name__)

SQLITE_FILE = "rasa-tracker.db"
SCHEMA = "rasa"  # PostgreSQL
TABLE = "events"


def _url(database_url: str | URL) -> URL:
    return database_url if isinstance(database_url, URL) else make_url(database_url)


def store_url(database_url: str | URL) -> URL | None:
    """Our side's URL of the tracker store for this project database (None: Rasa keeps conversations in
    memory, e.g. an in-memory SQLite project database)."""
    url = _url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return URL.create("sqlite", database=str(Path(url.database).resolve().parent / SQLITE_FILE))
    if backend == "postgresql":
        return url
    return None


def rasa_url(database_url: str | URL) -> str | None:
    """The URL Rasa's SQL tracker store connects to (Rasa's SQLAlchemy 1.4 and psycopg2): the SQLite file,
    or the project's PostgreSQL database with `search_path=rasa`. Holds the database password, if any: pass
    it in Rasa's environment (outreach.rasa_model.rasa_env), never in a file."""
    url = store_url(database_url)
    if url is None:
        return None
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg2").update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return url.render_as_string(hide_password=False)


def _schema(url: URL) -> str | None:
    return SCHEMA if url.get_backend_name() == "postgresql" else None


def _table(url: URL) -> Table:
    """Rasa's `SQLTrackerStore.SQLEvent` (rasa/core/tracker_store.py), the columns we read."""
    return Table(
        TABLE,
        MetaData(schema=_schema(url)),
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("type_name", String(255), nullable=False),
        Column("timestamp", Float),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )


def prepare(database_url: str) -> str | None:
    """Before Rasa starts: the directory of the SQLite file, or the PostgreSQL schema. Returns rasa_url()."""
    url = store_url(database_url)
    if url is None:
        return None
    if url.get_backend_name() == "sqlite":
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        finally:
            engine.dispose()
    return rasa_url(database_url)


@contextmanager
def _connected(database_url: str | URL) -> Iterator[tuple[Connection, Table] | None]:
    """A transaction on the store with its table, or None when there is no store yet (Rasa never ran)."""
    url = store_url(database_url)
    if url is None or (url.get_backend_name() == "sqlite" and not Path(str(url.database)).exists()):
        yield None
        return
    engine: Engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(TABLE, schema=_schema(url)):
                yield None
            else:
                yield connection, _table(url)
    finally:
        engine.dispose()


def forget(database_url: str | URL, sender_id: str) -> int:
    """Delete every event of this conversation from the tracker store; returns the number of rows deleted.
    Raises SQLAlchemyError when the store cannot be reached (the caller decides)."""
    with _connected(database_url) as found:
        if found is None:
            return 0
        connection, table = found
        return int(connection.execute(delete(table).where(table.c.sender_id == sender_id)).rowcount or 0)


def forget_others(database_url: str | URL, keep: Callable[[], set[str]], *, chunk: int = 500) -> int:
    """Delete the conversations of every sender not in `keep()` (the public ids of the residents we still have:
    erased residents, and any erasure whose `forget` could not reach the store); returns how many. `keep` is
    read after the senders: a resident who arrives meanwhile has no conversation in the list yet."""
    with _connected(database_url) as found:
        if found is None:
            return 0
        connection, table = found
        senders = set(connection.execute(select(table.c.sender_id).distinct()).scalars())
        gone = sorted(senders - keep())
        for start in range(0, len(gone), chunk):
            connection.execute(delete(table).where(table.c.sender_id.in_(gone[start : start + chunk])))
        return len(gone)


def forget_earlier_sessions(database_url: str | URL, before: dt.datetime) -> int:
    """Delete the events older than `before` that belong to an earlier session of their conversation (before the
    latest `session_started`): Rasa reads only the latest session (the slots it keeps are carried over into it), so
    nothing the dialogue needs goes; returns the number of rows deleted. Raises SQLAlchemyError when the store
    cannot be reached."""
    with _connected(database_url) as found:
        if found is None:
            return 0
        connection, table = found
        starts = table.alias("starts")
        latest_start = (
            select(func.max(starts.c.timestamp))
            .where(starts.c.sender_id == table.c.sender_id, starts.c.type_name == "session_started")
            .scalar_subquery()
        )
        older = delete(table).where(table.c.timestamp < before.timestamp(), table.c.timestamp < latest_start)
        return int(connection.execute(older).rowcount or 0)


def count(database_url: str | URL, sender_id: str) -> int:
    """How many events of this conversation the tracker store holds."""
    with _connected(database_url) as found:
        if found is None:
            return 0
        connection, table = found
        query = select(func.count()).select_from(table).where(table.c.sender_id == sender_id)
        return int(connection.execute(query).scalar() or 0)


def _when(event: dict[str, Any]) -> str | None:
    stamp = event.get("timestamp")
    if not isinstance(stamp, int | float):
        return None
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).isoformat(timespec="seconds")


def conversation(database_url: str | URL, sender_id: str) -> dict[str, Any]:
    """What the dialogue engine holds about this conversation, readable (right of access): the number of
    events, the messages (written by the resident, a button's payload as it is stored, and the assistant's
    answers) and the answers it keeps in memory (its slots, last value of each)."""
    with _connected(database_url) as found:
        if found is None:
            return {"evenements": 0, "messages": [], "reponses_retenues": {}}
        connection, table = found
        rows = connection.execute(
            select(table.c.type_name, table.c.data).where(table.c.sender_id == sender_id).order_by(table.c.id)
        ).all()
    messages: list[dict[str, Any]] = []
    slots: dict[str, Any] = {}
    for type_name, data in rows:
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        if type_name in ("user", "bot") and event.get("text"):
            who = "vous" if type_name == "user" else "assistant"
            messages.append({"le": _when(event), "de": who, "texte": str(event["text"])})
        elif type_name == "slot" and event.get("name"):
            slots[str(event["name"])] = event.get("value")
        elif type_name in ("restart", "reset_slots"):  # Rasa forgets the slots (a new session carries them over)
            slots = {}
    kept = {name: value for name, value in slots.items() if value not in (None, [], "")}
    return {"evenements": len(rows), "messages": messages, "reponses_retenues": kept}


def export(uow: UnitOfWork, public_id: str) -> dict[str, Any]:
    """For residents.export (the resident's data file): what the dialogue engine holds, read from the tracker
    store of the unit of work's database; {"indisponible": true} when it cannot be read."""
    bind = uow.session.get_bind()
    try:
        return conversation(bind.url, public_id)
    except SQLAlchemyError as exc:
        log.warning("tracker store unreadable for an export (%s)", type(exc).__name__)
        return {"indisponible": True}
