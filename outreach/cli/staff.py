"""`outreach staff invite|list|disable|console`: staff accounts and their console access."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import httpx
import typer

from db.models import StaffRole
from outreach.cli.common import echo_json, fail, prepare_database, settings, unit_of_work
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.services import console_accounts
from outreach.services import staff as staff_service

SANDBOX_BOT_USERNAME = "outreach_sandbox_bot"  # the emulator's getMe username

staff_app = typer.Typer(help="Staff accounts (adultes-relais, coordinators, admins).", no_args_is_help=True)


def _bot_username(current: Settings) -> str:
    """OUTREACH_BOT_USERNAME, else the bot's own name (getMe), else the sandbox bot's."""
    if current.bot_username:
        return current.bot_username.lstrip("@")
    if current.telegram_bot_token is None:
        return SANDBOX_BOT_USERNAME
    url = f"{current.telegram_api_base_url}{current.telegram_bot_token.get_secret_value()}/getMe"
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
    language: Annotated[
        list[str] | None, typer.Option("--language", help="A language spoken besides French (ar, en…), repeatable.")
    ] = None,
) -> None:
    """A single-use invite (valid 7 days): prints {"code", "link", "expires_at"}; /start <code> makes staff."""
    try:
        staff_role = StaffRole(role)
    except ValueError:
        typer.echo("--role must be relay, coordinator or admin", err=True)
        raise typer.Exit(2) from None
    current = settings()
    prepare_database(current.database_url)
    try:
        with unit_of_work(current.database_url) as uow:
            invite = staff_service.create_invite(
                uow,
                SystemClock(),
                role=staff_role,
                territory_id=territory,
                first_name=name or {"relay": "Adulte-relais", "coordinator": "Coordination"}.get(role, "Admin"),
                quartier_ids=list(quartier or []),
                languages=list(language or []),
            )
    except staff_service.InviteError as exc:
        typer.echo(f"invite error: {exc}", err=True)
        raise typer.Exit(2) from None
    link = f"https://t.me/{_bot_username(current)}?start={invite.code}"
    typer.echo(json.dumps({"code": invite.code, "link": link, "expires_at": invite.expires_at.isoformat()}))


@staff_app.command("list")
def staff_list() -> None:
    """Every staff account, one JSON object per line (no Telegram ids)."""
    with unit_of_work(settings().database_url) as uow:
        for member in staff_service.list_all(uow):
            echo_json(
                {
                    "id": member.id,
                    "name": member.first_name,
                    "role": str(member.role),
                    "territory": member.territory_id,
                    "active": member.active,
                    "available": member.available,
                    "languages": ["fr", *member.languages],
                    "on_telegram": member.telegram_user_id is not None,
                }
            )


@staff_app.command("languages")
def staff_languages(
    staff_id: Annotated[int, typer.Argument(help="The staff id (outreach staff list).")],
    languages: Annotated[
        list[str] | None, typer.Argument(help="Languages spoken besides French: ar en tr… (none: French only).")
    ] = None,
) -> None:
    """Set the languages a staff member speaks: cases in those languages go to them first."""
    try:
        with unit_of_work(settings().database_url) as uow:
            found = staff_service.set_languages(uow, SystemClock(), staff_id, list(languages or []), actor="cli")
    except staff_service.InviteError as exc:
        typer.echo(f"language error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not found:
        typer.echo(f"no staff account {staff_id}", err=True)
        raise typer.Exit(2)
    spoken = staff_service.spoken_languages(list(languages or []))
    typer.echo(json.dumps({"id": staff_id, "languages": ["fr", *spoken]}))


@staff_app.command("disable")
def staff_disable(staff_id: Annotated[int, typer.Argument(help="The staff id (outreach staff list).")]) -> None:
    """Disable a staff account: it loses access at once."""
    with unit_of_work(settings().database_url) as uow:
        if not staff_service.disable(uow, SystemClock(), staff_id):
            typer.echo(f"no staff account {staff_id}", err=True)
            raise typer.Exit(2)
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
    current = settings()
    prepare_database(current.database_url)
    try:
        with unit_of_work(current.database_url) as uow:
            token = console_accounts.grant(uow, SystemClock(), staff_id, login)
            if password_stdin:
                console_accounts.activate(uow, SystemClock(), token, sys.stdin.readline().rstrip("\n"))
    except console_accounts.AccountError as exc:
        raise fail(str(exc)) from None
    link = None if password_stdin else f"{current.effective_console_url}/activer/{token}"
    typer.echo(json.dumps({"staff": staff_id, "login": console_accounts.normalise_login(login), "link": link}))
