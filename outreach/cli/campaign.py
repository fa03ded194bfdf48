"""`outreach campaign ...`: the command-line twin of the console's Campagnes page (filled by outreach/campaigns/).

    outreach campaign create --file campaign.yml     → {"id": …, "audience": N}
    outreach campaign start|pause|resume|cancel ID
    outreach campaign status ID [--json]             → counts by delivery outcome
    outreach campaign list [--territory T] [--json]

Sending is done by the service (`outreach run`): its campaign job queues the messages into the outbox.
Wrong arguments, an unknown id or an invalid file exit with code 2 and a message, without a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from outreach import campaigns
from outreach.cli.common import echo_json, engine_of, fail, prepare_database_or_exit, settings
from outreach.clock import SystemClock
from outreach.config import Settings

campaign_app = typer.Typer(
    help="Outreach campaigns: create, start, pause, resume, cancel, status.", no_args_is_help=True
)

STATUS_WORDS = {
    "draft": "brouillon",
    "scheduled": "programmée",
    "running": "en cours d'envoi",
    "paused": "en pause",
    "done": "terminée",
    "cancelled": "annulée",
}
OUTCOME_WORDS = {
    "pending": "à envoyer",
    "queued": "en file d'envoi",
    "sent": "envoyés",
    "blocked": "bloqués (ont bloqué le bot)",
    "failed": "en échec",
    "dropped": "abandonnés",
    "capped": "écartés (assez de campagnes reçues cette semaine)",
    "excluded": "écartés (désinscrits ou injoignables)",
    "cancelled": "annulés",
}


@contextmanager
def _database(current: Settings) -> Iterator[Engine]:
    """The engine of DATABASE_URL, migrated to head (the CLI may be the first to touch it)."""
    prepare_database_or_exit(current.database_url)
    with engine_of(current.database_url) as engine:
        yield engine


def _summary(campaign: Any) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "territory": campaign.territory_id,
        "status": str(campaign.status),
        "schedule": str(campaign.schedule),
        "starts_at": campaign.starts_at.isoformat() if campaign.starts_at else None,
        "next_run_at": campaign.next_run_at.isoformat() if campaign.next_run_at else None,
        "created_at": campaign.created_at.isoformat(),
    }


@campaign_app.command("create")
def create_command(
    file: Annotated[Path, typer.Option("--file", "-f", help="Campaign file (YAML: name, territory, audience, text…).")],
) -> None:
    """Create a campaign in draft from a YAML file; prints {"id": …, "audience": N}.

    Fields: name, territory (dijon, troyes), audience (quartiers, age_min, age_max, right_not_claimed,
    never_screened, inactive_days, booked), text with {prenom} {quartier} {droit}, buttons (up to 3 of
    screening, book, talk, stop), schedule (kind: now, at or weekly; at: 2026-12-01T10:00, local time
    (OUTREACH_TIMEZONE) unless an offset is given), rate (messages per second, at most 30)."""
    current = settings()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise fail(f"impossible de lire le fichier {file}") from None
    try:
        spec = campaigns.CampaignSpec.from_yaml(text, tz=current.tz)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
    clock = SystemClock()
    with _database(current) as engine:
        try:
            with UnitOfWork(engine) as uow:
                campaign = campaigns.create(uow, clock, spec, created_by=None)
                count = campaigns.audience_count(uow.session, spec.audience, clock.now())
        except campaigns.CampaignError as exc:
            raise fail(str(exc)) from None
    typer.echo(json.dumps({"id": campaign.id, "audience": count}))


def _transition(name: str, done: str) -> None:
    """`outreach campaign <name> ID`: campaigns.<name>(uow, clock, ID)."""

    def command(campaign_id: Annotated[int, typer.Argument(help="The campaign id (outreach campaign list).")]) -> None:
        action: Callable[..., Any] = getattr(campaigns, name)
        with _database(settings()) as engine:
            try:
                with UnitOfWork(engine) as uow:
                    campaign = action(uow, SystemClock(), campaign_id)
            except campaigns.CampaignError as exc:
                raise fail(str(exc)) from None
        typer.echo(f"campagne {campaign.id} {done} ({STATUS_WORDS.get(str(campaign.status), campaign.status)})")

    command.__doc__ = {
        "start": "Start a draft campaign (now: sending begins; at/weekly: waits for its time).",
        "pause": "Pause a campaign: nothing more leaves until resume.",
        "resume": "Resume a paused campaign.",
        "cancel": "Cancel a campaign for good.",
    }[name]
    campaign_app.command(name)(command)


for _name, _done in (("start", "lancée"), ("pause", "mise en pause"), ("resume", "reprise"), ("cancel", "annulée")):
    _transition(_name, _done)


@campaign_app.command("status")
def status_command(
    campaign_id: Annotated[int, typer.Argument(help="The campaign id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Counts by delivery outcome, as JSON.")] = False,
) -> None:
    """Where a campaign stands: status, total, done, percent, counts by delivery outcome."""
    with _database(settings()) as engine:
        try:
            with UnitOfWork(engine) as uow:
                campaign = campaigns.get(uow.session, campaign_id)
                counts = campaigns.progress(uow.session, campaign_id)
        except campaigns.CampaignError as exc:
            raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"id": campaign_id, **counts}))
        return
    typer.echo(
        f"Campagne {campaign_id} « {campaign.name} » : {STATUS_WORDS.get(counts['status'], counts['status'])}, "
        f"{counts['done']} traités sur {counts['total']} ({counts['percent']} %)."
    )
    for outcome, words in OUTCOME_WORDS.items():
        if counts[outcome]:
            typer.echo(f"  {counts[outcome]} {words}")


@campaign_app.command("list")
def list_command(
    territory: Annotated[str | None, typer.Option("--territory", help="dijon or troyes (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every campaign, newest first."""
    with _database(settings()) as engine, UnitOfWork(engine) as uow:
        found = campaigns.list_campaigns(uow.session, territory)
    if not found and not as_json:
        typer.echo("Aucune campagne.")
    for campaign in found:
        if as_json:
            echo_json(_summary(campaign))
        else:
            status = STATUS_WORDS.get(str(campaign.status), str(campaign.status))
            typer.echo(f"{campaign.id}\t{campaign.territory_id}\t{status}\t{campaign.name}")
