"""`outreach stats --territory T --month YYYY-MM --json`: the console's figures (outreach/stats.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from outreach import stats
from outreach.cli.common import echo_json, fail, prepare_database_or_exit, settings, unit_of_work
from outreach.office_hours import MONTHS

MONTHS_FR = MONTHS  # one list of month names (outreach/office_hours.py)
OUTCOMES_FR = {
    "oriente": "orienté vers un service",
    "rendez_vous": "rendez-vous pris",
    "droit_ouvert": "droit ouvert",
    "dossier_en_cours": "dossier en cours",
    "sans_suite": "sans suite",
}


def stats_command(
    territory: Annotated[str, typer.Option("--territory", help="dijon or troyes")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, local time (OUTREACH_TIMEZONE)")],
    quartier: Annotated[str | None, typer.Option("--quartier", help="A QPV id of the territory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (the console's definitions).")] = False,
) -> None:
    """The figures of a territory (or one QPV) for a month (same definitions as the console)."""
    try:
        stats.parse_month(month)  # before touching the database
    except stats.StatsError as exc:
        raise fail(str(exc)) from None
    current = settings()
    prepare_database_or_exit(current.database_url)
    try:
        with unit_of_work(current.database_url) as uow:
            result = stats.figures(uow.session, territory=territory, month=month, quartier=quartier, tz=current.tz)
    except stats.StatsError as exc:
        raise fail(str(exc)) from None
    if as_json:
        echo_json(result)
    else:
        typer.echo(summary(result))


def _n(value: float) -> str:
    """A number the French way: 12 345 and 4,5."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u202f")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{_n(count)} {word if count <= 1 else plural or word + 's'}"


def summary(result: dict[str, Any]) -> str:
    """The figures as a coordinator reads them (French)."""
    year, number = (int(part) for part in result["month"].split("-"))
    place = result["territory_name"] + (f", {result['quartier_name']}" if result["quartier_name"] else "")
    last_day = dt.date.fromisoformat(result["period"]["to"][:10]) - dt.timedelta(days=1)
    lines = [
        f"Chiffres de {MONTHS_FR[number - 1]} {year} : {place} (du 01/{number:02d}/{year} au {last_day:%d/%m/%Y})",
        "",
        f"Habitants touchés (accord donné) : {_n(result['residents_reached'])}",
        f"Points sur les droits terminés : {_n(result['screenings_completed'])}",
        f"Droits détectés : {_n(result['rights_detected_total'])}",
    ]
    for right in result["rights_detected"]:
        amount = f", environ {_n(right['yearly_amount_eur'])} € par an" if right["yearly_amount_eur"] else ""
        lines.append(f"  - {right['label']} : {_n(right['count'])}{amount}")
    reported = result["rights_reported"]
    lines.append(
        f"Démarches : {_plural(reported['asked'], 'demande faite', 'demandes faites')}, "
        f"{_plural(reported['opened'], 'droit ouvert', 'droits ouverts')}, "
        f"{_plural(reported['failed'], 'échec')}, {_plural(reported['refused'], 'refus', 'refus')}"
    )
    delay = result["median_days_detection_to_claim"]
    lines.append(
        "Délai médian entre la détection et la demande : "
        + (f"{_n(delay)} jour{'s' if delay >= 2 else ''}" if delay is not None else "pas de demande ce mois-ci")
    )
    appointments = result["appointments"]
    rate = appointments["no_show_rate"]
    lines.append(
        f"Rendez-vous : {_plural(appointments['booked'], 'pris', 'pris')}, "
        f"{_plural(appointments['seen'], 'honoré')}, {_plural(appointments['no_show'], 'absence')}, "
        f"{_plural(appointments['excused'], 'excusé')}, {_plural(appointments['cancelled'], 'annulé')}"
        + (f" ; taux d'absence {_n(round(rate * 100, 1))} %" if rate is not None else "")
    )
    cases = result["handoffs"]
    wait = cases["median_wait_minutes"]
    lines.append(
        f"Mises en relation avec un adulte-relais : {_plural(cases['opened'], 'ouverte')}, "
        f"{_plural(cases['closed'], 'clôturée')}" + (f" ; attente médiane {_n(wait)} min" if wait is not None else "")
    )
    outcomes = [f"{OUTCOMES_FR[key]} {_n(n)}" for key, n in cases["outcomes"].items() if n]
    if outcomes:
        lines.append("  Issues : " + ", ".join(outcomes))
    campaigns = result["campaigns"]
    lines.append(
        f"Campagnes : {_plural(campaigns['campaigns_sent'], 'campagne')}, "
        f"{_plural(campaigns['messages_sent'], 'message envoyé', 'messages envoyés')}, "
        f"{_plural(campaigns['clicks'], 'clic')}, "
        f"{_plural(campaigns['opt_outs'], 'désinscription')} dans les 7 jours suivant un message"
    )
    lines.append(f"Habitants qui ne veulent plus de messages : {_n(result['residents_opted_out'])}")
    return "\n".join(lines)
