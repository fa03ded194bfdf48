"""Engine creation and the Unit of Work. No engine is created at import time."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql import Executable
from sqlmodel import Session, create_engine


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for our two databases (SQLite file with WAL, or PostgreSQL)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


class UnitOfWork:
    """One transaction: `with uow:` ... `uow.commit()`; leaving without commit rolls back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.session: Session

    def __enter__(self) -> Self:
        self.session = Session(self._engine, expire_on_commit=False)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.close()  # rolls back whatever was not committed; loaded objects stay readable

    def commit(self) -> None:
        self.session.commit()

    def run(self, statement: Executable, parameters: dict[str, Any] | None = None) -> CursorResult[Any]:
        """A Core statement (built once, with bind parameters) on this unit's connection and transaction, without
        the ORM's work: for the queries of every turn, where building and evaluating an ORM statement cost more
        than the database's own work (py-spy under load, BENCHMARKS.md)."""
        return self.session.connection().execute(statement, parameters or {})

    def rollback(self) -> None:
        self.session.rollback()
