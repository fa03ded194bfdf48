"""`outreach seed-demo` and `outreach permanence list|add|close`: demo data, weekly permanences, closures."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from outreach.cli.common import echo_json, fail, prepare_database, settings, unit_of_work
from outreach.clock import SystemClock
from outreach.seed import seed_demo
from outreach.services import permanences

permanence_app = typer.Typer(help="Weekly permanences of the adultes-relais, and closures.", no_args_is_help=True)


def seed_demo_command() -> None:
    """Load demo places, permanences and staff for Dijon and Troyes (idempotent); prints what was added."""
    current = settings()
    prepare_database(current.database_url)
    with unit_of_work(current.database_url) as uow:
        added = seed_demo(uow, SystemClock())
    typer.echo(json.dumps(added))


@permanence_app.command("list")
def permanence_list(
    territory: Annotated[str | None, typer.Option("--territory", help="dijon or troyes")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every permanence with its upcoming closures."""
    current = settings()
    with unit_of_work(current.database_url) as uow:
        views = permanences.list_permanences(uow, SystemClock(), territory_id=territory)
    for view in views:
        if as_json:
            echo_json(
                {
                    "id": view.id, "staff": view.staff_id, "relay": view.relay, "lieu": view.lieu_id,
                    "territory": view.territory_id, "weekday": view.weekday,
                    "start": view.start.isoformat("minutes"), "end": view.end.isoformat("minutes"),
                    "slot_minutes": view.slot_minutes, "capacity": view.capacity, "topics": view.topics,
                    "active": view.active,
                    "closures": [
                        {"from": a.isoformat(), "to": b.isoformat(), "reason": r} for a, b, r in view.closures
                    ],
                }
            )
        else:
            typer.echo(view.describe())
            for start, end, reason in view.closures:
                first, last = start.astimezone(current.tz), (end - dt.timedelta(seconds=1)).astimezone(current.tz)
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
    try:
        weekday = permanences.parse_weekday(day)
        start, end = permanences.parse_hours(hours)
        topic_list = permanences.parse_topics(topics)
    except permanences.PermanenceError as exc:
        raise fail(str(exc)) from None
    try:
        with unit_of_work(settings().database_url) as uow:
            created = permanences.add_permanence(
                uow, SystemClock(), staff_id=staff_id, lieu_id=lieu, weekday=weekday, start=start, end=end,
                slot_minutes=slot, capacity=capacity, topics=topic_list,
            )
    except permanences.PermanenceError as exc:
        raise fail(str(exc)) from None
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
    try:
        first_day, last_day = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        raise fail("--from et --to au format AAAA-MM-JJ, par exemple 2026-12-24") from None
    current = settings()
    try:
        with unit_of_work(current.database_url) as uow:
            outcome = permanences.close(
                uow, SystemClock(), first_day=first_day, last_day=last_day, reason=reason,
                permanence_id=permanence_id, lieu_id=lieu, tz=current.tz,
            )
    except permanences.PermanenceError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps({"closure": outcome.closure.id, "cancelled_appointments": len(outcome.cancelled)}))
