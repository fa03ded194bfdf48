"""What every `outreach` sub-command shares: settings, the database (migrated or not), errors, JSON output.

The command modules (outreach/cli/*.py) import this module; the root app (outreach/cli/__init__.py)
imports the command modules and registers them. Nothing here imports a command module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork, make_engine
from db.migrate import upgrade
from db.reference import load_reference
from outreach.config import Settings

DATABASE_ERROR = "database error ({kind}): check DATABASE_URL and that the database is up"


def settings() -> Settings:
    """The settings from the environment; a wrong variable exits with code 2 and a message."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"configuration error: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def fail(message: str) -> typer.Exit:
    """A refused request: the French message on stderr, exit code 2 (raise what this returns)."""
    typer.echo(f"erreur : {message}", err=True)
    return typer.Exit(2)


def echo_json(value: Any) -> None:
    """One JSON object on one line of stdout (accents kept as they are)."""
    typer.echo(json.dumps(value, ensure_ascii=False))


def prepare_database(database_url: str) -> int:
    """Migrate to head and load the reference data; returns the number of QPV loaded."""
    upgrade(database_url)
    with engine_of(database_url) as engine, UnitOfWork(engine) as uow:
        return load_reference(uow)


def prepare_database_or_exit(database_url: str) -> None:
    """prepare_database, or a one-line message and exit code 1 when the database cannot be reached."""
    try:
        prepare_database(database_url)
    except Exception as exc:
        typer.echo(DATABASE_ERROR.format(kind=type(exc).__name__), err=True)
        raise typer.Exit(1) from None


@contextmanager
def engine_of(database_url: str) -> Iterator[Engine]:
    """An engine for the length of one command, disposed of at the end."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def unit_of_work(database_url: str) -> Iterator[UnitOfWork]:
    """One transaction on DATABASE_URL for the length of one command."""
    with engine_of(database_url) as engine, UnitOfWork(engine) as uow:
        yield uow
