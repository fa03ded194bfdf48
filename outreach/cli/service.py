"""Running the service: `outreach run`, `outreach train`, `outreach nlu parse`, `outreach db upgrade|revision`."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Annotated

import typer

from db.migrate import revision
from outreach import rasa_model, supervisor
from outreach.cli.common import prepare_database, prepare_database_or_exit, settings
from outreach.logs import setup_logging_for

db_app = typer.Typer(help="Database migrations and reference data.", no_args_is_help=True)
nlu_app = typer.Typer(help="The trained NLU model.", no_args_is_help=True)


def run() -> None:
    """Start everything: Rasa, the action server, the bot (sandbox when no TELEGRAM_BOT_TOKEN)."""
    current = settings()
    setup_logging_for(current)
    prepare_database_or_exit(current.database_url)
    rasa_model.train()
    if current.sandbox:
        typer.echo("No TELEGRAM_BOT_TOKEN: starting the sandbox (local Bot API emulator).", err=True)
    asyncio.run(supervisor.run(current))


def train(
    force: Annotated[bool, typer.Option("--force", help="Train even if the model is current.")] = False,
) -> None:
    """Train the Rasa model if it is missing or older than nlu/ and stories/."""
    path = rasa_model.train(force=force)
    typer.echo(str(path))


@nlu_app.command("parse")
def nlu_parse(
    ranking: Annotated[bool, typer.Option("--ranking", help="Also print the next 3 intents.")] = False,
) -> None:
    """Read one message per line on stdin; write one JSON object per line (text, intent, confidence, entities)."""
    model = rasa_model.train(quiet=True)
    code = subprocess.call(  # noqa: S603 - fixed argv: the Rasa venv's python and our parse.py
        [str(rasa_model.RASA_VENV / "bin" / "python"), str(rasa_model.NLU_DIR / "parse.py"), "--model", str(model)]
        + (["--ranking"] if ranking else []),
        env=rasa_model.rasa_env(),
    )
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to head and load territories and QPV."""
    count = prepare_database(settings().database_url)
    typer.echo(f"database at head; {count} QPV loaded")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")]) -> None:
    """Generate a migration from the models (autogenerate)."""
    revision(settings().database_url, message)
