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
staff_app = typer.Typer(help="Staff accounts (adultes-relais, coordinators, admins).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")

SANDBOX_BOT_USERNAME = "outreach_sandbox_bot"  # the emulator's getMe username


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
def nlu_parse(
    ranking: Annotated[bool, typer.Option("--ranking", help="Also print the next 3 intents.")] = False,
) -> None:
    """Read one message per line on stdin; write one JSON object per line (text, intent, confidence, entities)."""
    import subprocess

    from outreach import rasa_model

    model = rasa_model.train(quiet=True)
    code = subprocess.call(
        [str(rasa_model.RASA_VENV / "bin" / "python"), str(rasa_model.NLU_DIR / "parse.py"), "--model", str(model)]
        + (["--ranking"] if ranking else []),
        env=rasa_model.rasa_env(),
    )
    raise typer.Exit(code)


@app.command()
def screen(
    batch: Annotated[int, typer.Option("--batch", min=1, max=20000, help="Profiles computed together.")] = 5000,
    today: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD (default: today).")] = None,
) -> None:
    """Read one profile (JSON) per line on stdin; write one result per line (rights, missing).

    A bad line gets {"error": ...} on its line and the batch goes on."""
    import datetime as dt

    from outreach.screening.batch import screen_lines

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        typer.echo("--date must look like 2026-12-01", err=True)
        raise typer.Exit(2) from None
    screen_lines(sys.stdin, sys.stdout, batch_size=batch, today=day)


def _bot_username(settings) -> str:  # type: ignore[no-untyped-def]
    """OUTREACH_BOT_USERNAME, else the bot's own name (getMe), else the sandbox bot's."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if settings.telegram_bot_token is None:
        return SANDBOX_BOT_USERNAME
    import httpx

    url = f"{settings.telegram_api_base_url}{settings.telegram_bot_token.get_secret_value()}/getMe"
    try:
        return str(httpx.get(url, timeout=5).json()["result"]["username"])
    except (httpx.HTTPError, KeyError, ValueError):
        typer.echo("could not ask Telegram for the bot's name: set OUTREACH_BOT_USERNAME", err=True)
        raise typer.Exit(1) from None


@staff_app.command("invite")
def staff_invite(
    role: Annotated[str, typer.Option("--role", help="relay, coordinator or admin.")],
    territory: Annotated[str | None, typer.Option("--territory", help="dijon or troyes (not for admin).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="First name shown to residents.")] = None,
    quartier: Annotated[list[str] | None, typer.Option("--quartier", help="QPV id, repeatable.")] = None,
) -> None:
    """A single-use invite (valid 7 days): prints {"code", "link", "expires_at"}; /start <code> makes staff."""
    import json

    from db.engine import UnitOfWork, make_engine
    from db.models import StaffRole
    from outreach.clock import SystemClock
    from outreach.services import staff

    try:
        staff_role = StaffRole(role)
    except ValueError:
        typer.echo("--role must be relay, coordinator or admin", err=True)
        raise typer.Exit(2) from None
    settings = _settings()
    prepare_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            invite = staff.create_invite(
                uow,
                SystemClock(),
                role=staff_role,
                territory_id=territory,
                first_name=name or {"relay": "Adulte-relais", "coordinator": "Coordination"}.get(role, "Admin"),
                quartier_ids=list(quartier or []),
            )
    except staff.InviteError as exc:
        typer.echo(f"invite error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    link = f"https://t.me/{_bot_username(settings)}?start={invite.code}"
    typer.echo(json.dumps({"code": invite.code, "link": link, "expires_at": invite.expires_at.isoformat()}))


@staff_app.command("list")
def staff_list() -> None:
    """Every staff account, one JSON object per line (no Telegram ids)."""
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.services import staff

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            for member in staff.list_all(uow):
                typer.echo(
                    json.dumps(
                        {
                            "id": member.id,
                            "name": member.first_name,
                            "role": str(member.role),
                            "territory": member.territory_id,
                            "active": member.active,
                            "available": member.available,
                            "on_telegram": member.telegram_user_id is not None,
                        },
                        ensure_ascii=False,
                    )
                )
    finally:
        engine.dispose()


@staff_app.command("disable")
def staff_disable(staff_id: Annotated[int, typer.Argument(help="The staff id (outreach staff list).")]) -> None:
    """Disable a staff account: it loses access at once."""
    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.services import staff

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            if not staff.disable(uow, SystemClock(), staff_id):
                typer.echo(f"no staff account {staff_id}", err=True)
                raise typer.Exit(2)
    finally:
        engine.dispose()
    typer.echo(f"staff {staff_id} disabled")


@staff_app.command("console")
def staff_console(
    staff_id: Annotated[int, typer.Argument(help="The staff id (outreach staff list).")],
    login: Annotated[str, typer.Option("--login", help="The login they type in the console.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password on stdin instead of printing a link.")
    ] = False,
) -> None:
    """Console access: prints {"login", "link"}, a single-use link (72 h) to choose a password."""
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.console import accounts

    settings = _settings()
    prepare_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            token = accounts.grant(uow, SystemClock(), staff_id, login)
            if password_stdin:
                accounts.activate(uow, SystemClock(), token, sys.stdin.readline().rstrip("\n"))
    except accounts.AccountError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    link = None if password_stdin else f"{settings.effective_console_url}/activer/{token}"
    typer.echo(json.dumps({"staff": staff_id, "login": accounts.normalise_login(login), "link": link}))


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


# ---------------------------------------------------------------- booking: demo data, permanences

permanence_app = typer.Typer(help="Weekly permanences of the adultes-relais, and closures.", no_args_is_help=True)
app.add_typer(permanence_app, name="permanence")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"erreur : {message}", err=True)
    return typer.Exit(2)


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load demo places, permanences and staff for Dijon and Troyes (idempotent); prints what was added."""
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.seed import seed_demo

    settings = _settings()
    prepare_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            added = seed_demo(uow, SystemClock())
    finally:
        engine.dispose()
    typer.echo(json.dumps(added))


@permanence_app.command("list")
def permanence_list(
    territory: Annotated[str | None, typer.Option("--territory", help="dijon or troyes")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every permanence with its upcoming closures."""
    import datetime as dt
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.services import permanences

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            views = permanences.list_permanences(uow, SystemClock(), territory_id=territory)
    finally:
        engine.dispose()
    for view in views:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": view.id, "staff": view.staff_id, "relay": view.relay, "lieu": view.lieu_id,
                        "territory": view.territory_id, "weekday": view.weekday,
                        "start": view.start.isoformat("minutes"), "end": view.end.isoformat("minutes"),
                        "slot_minutes": view.slot_minutes, "capacity": view.capacity, "topics": view.topics,
                        "active": view.active,
                        "closures": [
                            {"from": a.isoformat(), "to": b.isoformat(), "reason": r} for a, b, r in view.closures
                        ],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(view.describe())
            for start, end, reason in view.closures:
                first, last = start.astimezone(settings.tz), (end - dt.timedelta(seconds=1)).astimezone(settings.tz)
                typer.echo(f"    fermée du {first:%Y-%m-%d %H:%M} au {last:%Y-%m-%d %H:%M} : {reason}")


@permanence_app.command("add")
def permanence_add(
    staff_id: Annotated[int, typer.Option("--staff", help="Staff id of the adulte-relais (outreach staff list).")],
    lieu: Annotated[str, typer.Option("--lieu", help="Place id (outreach permanence list).")],
    day: Annotated[str, typer.Option("--day", help="lundi, mardi, … dimanche")],
    hours: Annotated[str, typer.Option("--hours", help="e.g. 14h-17h or 9h30-12h")],
    slot: Annotated[int, typer.Option("--slot", help="Slot length in minutes.")] = 30,
    capacity: Annotated[int, typer.Option("--capacity", help="Residents per slot.")] = 1,
    topics: Annotated[str | None, typer.Option("--topics", help="Comma-separated: droits,emploi,… (all)")] = None,
) -> None:
    """Add a weekly permanence; prints {"id": …}."""
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.services import permanences

    try:
        weekday = permanences.parse_weekday(day)
        start, end = permanences.parse_hours(hours)
        topic_list = permanences.parse_topics(topics)
    except permanences.PermanenceError as exc:
        raise _fail(str(exc)) from None
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            created = permanences.add_permanence(
                uow, SystemClock(), staff_id=staff_id, lieu_id=lieu, weekday=weekday, start=start, end=end,
                slot_minutes=slot, capacity=capacity, topics=topic_list,
            )
    except permanences.PermanenceError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps({"id": created.id}))


@permanence_app.command("close")
def permanence_close(
    first: Annotated[str, typer.Option("--from", help="First closed day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last closed day (included), YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to staff).")] = "fermeture",
    permanence_id: Annotated[int | None, typer.Option("--permanence", help="Permanence id.")] = None,
    lieu: Annotated[str | None, typer.Option("--lieu", help="Or a place id: all its permanences.")] = None,
) -> None:
    """Close a permanence for some days; appointments already booked then are cancelled and residents told."""
    import datetime as dt
    import json

    from db.engine import UnitOfWork, make_engine
    from outreach.clock import SystemClock
    from outreach.services import permanences

    try:
        first_day, last_day = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        raise _fail("--from et --to au format AAAA-MM-JJ, par exemple 2026-12-24") from None
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            outcome = permanences.close(
                uow, SystemClock(), first_day=first_day, last_day=last_day, reason=reason,
                permanence_id=permanence_id, lieu_id=lieu,
            )
    except permanences.PermanenceError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps({"closure": outcome.closure.id, "cancelled_appointments": len(outcome.cancelled)}))


# ---------------------------------------------------------------- coordinators: figures and campaigns

from outreach.cli_campaign import campaign_app  # noqa: E402 - the sub-commands live in their own modules
from outreach.cli_stats import stats_command  # noqa: E402

app.add_typer(campaign_app, name="campaign")
app.command("stats")(stats_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
