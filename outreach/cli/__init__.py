"""The `outreach` command line: the root app registers the commands of the modules beside it.

    common.py     settings, database, errors, JSON output (imported by every command module)
    service.py    run, train, nlu parse, db upgrade|revision
    screening.py  screen
    staff.py      staff invite|list|disable|console
    booking.py    seed-demo, permanence list|add|close
    stats.py      stats
    campaign.py   campaign create|start|pause|resume|cancel|status|list
    resident.py   resident export|erase (a resident's rights, on request)
    cluster.py    cluster up|status|down (the scale-out topology, outreach/cluster)
"""

from __future__ import annotations

import sys

import typer

from outreach.cli import booking, campaign, cluster, resident, screening, service, staff, stats
from outreach.cli.common import prepare_database

__all__ = ["app", "main", "prepare_database"]

app = typer.Typer(
    help="Outreach: the aller-vers assistant (Telegram + Rasa).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(service.run)
app.command("train")(service.train)
app.command("screen")(screening.screen)
app.command("seed-demo")(booking.seed_demo_command)
app.command("stats")(stats.stats_command)
app.add_typer(service.db_app, name="db")
app.add_typer(service.nlu_app, name="nlu")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(booking.permanence_app, name="permanence")
app.add_typer(campaign.campaign_app, name="campaign")
app.add_typer(resident.resident_app, name="resident")
app.add_typer(cluster.cluster_app, name="cluster")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
