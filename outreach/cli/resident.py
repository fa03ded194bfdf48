"""`outreach resident export|erase PUBLIC_ID`: a resident's rights exercised by staff on request (the resident
cannot use /donnees any more: lost phone, closed Telegram account, a letter to the DPO). The resident's public id
is on the console (Habitants, the address of their page). Both are audited as "cli"."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from outreach import rasa_store
from outreach.cli.common import echo_json, fail, settings, unit_of_work
from outreach.clock import SystemClock
from outreach.services import residents

resident_app = typer.Typer(help="A resident's data, on request: export, erase.", no_args_is_help=True)

PublicId = Annotated[str, typer.Argument(help="The resident's public id (console: Habitants).")]


@resident_app.command("export")
def resident_export(public_id: PublicId) -> None:
    """Everything stored about the resident: the JSON file /donnees sends them, on stdout."""
    with unit_of_work(settings().database_url) as uow:
        found = residents.by_public_id(uow, public_id.strip())
        if found is None:
            raise fail("aucun habitant avec cet identifiant")
        typer.echo(residents.export_json(uow, SystemClock(), found.id, actor="cli").decode("utf-8"))


@resident_app.command("erase")
def resident_erase(
    public_id: PublicId,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the erasure cannot be undone.")] = False,
) -> None:
    """Erase the resident and everything linked (as "Tout effacer" in /donnees), their conversation in Rasa's
    store too; prints {"erased": public id, "conversation_events": n}."""
    if not yes:
        raise fail("ajoutez --yes : l'effacement est définitif")
    database_url = settings().database_url
    with unit_of_work(database_url) as uow:
        found = residents.by_public_id(uow, public_id.strip())
        if found is None:
            raise fail("aucun habitant avec cet identifiant")
        erased = residents.erase(uow, SystemClock(), found.id, reason="request")
    try:
        events = rasa_store.forget(database_url, erased or "")
    except SQLAlchemyError:
        events = None  # unreachable now: the daily housekeeping deletes conversations of unknown residents
    echo_json({"erased": erased, "conversation_events": events})
