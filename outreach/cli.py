"""The `outreach` command line."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

app = typer.Typer(
    help="Outreach: the aller-vers assistant (Telegram + Rasa).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations and reference data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
nlu_app = typer.Typer(help="The trained NLU model.", no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")


def _settings():  # type: ignore[no-untyped-def]
    from outreach.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"configuration error: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def prepare_database(database_url: str) -> int:
    """Migrate to head and load the reference data; returns the number of QPV loaded."""
    from db.engine import UnitOfWork, make_engine
    from db.migrate import upgrade
    from db.reference import load_reference

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with UnitOfWork(engine) as uow:
            return load_reference(uow)
    finally:
        engine.dispose()


@app.command()
def run() -> None:
    """Start everything: Rasa, the action server, the bot (sandbox when no TELEGRAM_BOT_TOKEN)."""
    from outreach import rasa_model, supervisor
    from outreach.logs import setup_logging

    settings = _settings()
    setup_logging(settings.log_level)
    try:
        prepare_database(settings.database_url)
    except Exception as exc:
        typer.echo(f"database error ({type(exc).__name__}): check DATABASE_URL and that the database is up", err=True)
        raise typer.Exit(1) from None
    rasa_model.train()
    if settings.sandbox:
        typer.echo("No TELEGRAM_BOT_TOKEN: starting the sandbox (local Bot API emulator).", err=True)
    asyncio.run(supervisor.run(settings))


@app.command()
def train(
    force: Annotated[bool, typer.Option("--force", help="Train even if the model is current.")] = False,
) -> None:
    """Train the Rasa model if it is missing or older than nlu/ and stories/."""
    from outreach import rasa_model

    path = rasa_model.train(force=force)
    typer.echo(str(path))


@nlu_app.command("parse")
def nlu_parse() -> None:
    """Read one message per line on stdin; write one JSON object per line (text, intent, confidence, entities)."""
    import subprocess

    from outreach import rasa_model

    model = rasa_model.train(quiet=True)
    code = subprocess.call(
        [str(rasa_model.RASA_VENV / "bin" / "python"), str(rasa_model.NLU_DIR / "parse.py"), "--model", str(model)],
        env=rasa_model.rasa_env(),
    )
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to head and load territories and QPV."""
    settings = _settings()
    count = prepare_database(settings.database_url)
    typer.echo(f"database at head; {count} QPV loaded")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")]) -> None:
    """Generate a migration from the models (autogenerate)."""
    from db.migrate import revision

    revision(_settings().database_url, message)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
