"""Console pages: Tableau de bord, Habitants, Permanences et créneaux, Équipe, Cas, Exports.

Routes are thin: they read the request, call one use case of outreach/services/console_views.py (which
checks the territory, writes the audit rows and commits) and render the answer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from db.engine import UnitOfWork
from db.models import StaffRole
from outreach.console.shared import (
    MANAGERS_ONLY,
    ConsoleState,
    CsrfDep,
    ManagerDep,
    StateDep,
    UowDep,
    Viewer,
    ViewerDep,
    back,
    managers_only,
    render,
)
from outreach.services import booking, console_accounts, console_views, permanences
from outreach.services import staff as staff_service

router = APIRouter()

DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
STATUS_LABELS = {
    "detected": "détecté", "to_claim": "à demander", "asked": "demandé", "opened": "ouvert", "refused": "refusé",
    "failed": "bloqué", "already_received": "déjà perçu",
}
EXPORTS = {
    "chiffres": "Chiffres du mois par quartier",
    "rendez-vous": "Rendez-vous du mois (sans nom)",
    "cas": "Cas du mois et leurs issues (sans nom)",
}


# ---------------------------------------------------------------- tableau de bord


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep,
    mois: str | None = None, quartier: str | None = None, territoire: str | None = None,
) -> Response:
    page = console_views.dashboard(uow, console.clock, viewer.scope, territory=territoire, month=mois,
                                   quartier=quartier, tz=console.tz)
    top = max([r["count"] for r in page.figures.get("rights_detected", [])] or [1])
    peak = max([max(s.get("reached", 0), s.get("screened", 0)) for s in page.series] or [1]) or 1
    return render(request, "dashboard.html", viewer, figures=page.figures, series=page.series, rows=page.rows,
                  month=page.month, quartiers=page.quartiers, quartier=page.quartier, territory=page.territory,
                  territories=page.territories, top=top or 1, peak=peak)


# ---------------------------------------------------------------- habitants


@router.get("/habitants", response_class=HTMLResponse)
def residents(
    request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep,
    q: Annotated[str, Query(max_length=64)] = "", quartier: str | None = None, territoire: str | None = None,
) -> Response:
    page = console_views.search_residents(uow, console.clock, viewer.scope, territory=territoire, text=q,
                                          quartier=quartier)
    return render(request, "residents.html", viewer, residents=page.residents, q=page.text, quartier=quartier,
                  quartiers=page.quartiers, territory=page.territory, territories=page.territories,
                  status_labels=STATUS_LABELS)


@router.get("/habitants/{public_id}", response_class=HTMLResponse)
def resident(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, public_id: str) -> Response:
    person = console_views.resident_detail(uow, console.clock, viewer.scope, public_id)
    return render(request, "resident.html", viewer, person=person, status_labels=STATUS_LABELS)


# ---------------------------------------------------------------- permanences et créneaux


@router.get("/permanences", response_class=HTMLResponse)
def permanences_page(
    request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep, territoire: str | None = None,
    ok: str | None = None, erreur: str | None = None,
) -> Response:
    page = console_views.permanences_page(uow, console.clock, viewer.scope, territory=territoire)
    return render(request, "permanences.html", viewer, views=page.views, lieux=page.lieux, relays=page.relays,
                  days=DAYS, topics=booking.TOPICS, territory=page.territory, territories=page.territories, ok=ok,
                  erreur=erreur)


@router.post("/permanences")
def permanence_create(
    console: StateDep, uow: UowDep, viewer: CsrfDep,
    lieu: Annotated[str, Form(max_length=64)], jour: Annotated[int, Form()],
    debut: Annotated[str, Form(max_length=5)], fin: Annotated[str, Form(max_length=5)],
    adulte_relais: Annotated[int | None, Form()] = None,
    duree: Annotated[int, Form()] = 30, places: Annotated[int, Form()] = 1,
    sujets: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        created = console_views.create_permanence(
            uow, console.clock, viewer.scope, relay_id=adulte_relais, lieu_id=lieu, weekday=jour, start=debut,
            end=fin, slot_minutes=duree, capacity=places, topics=sujets or [],
        )
    except console_views.Refused as exc:
        return back("/permanences", str(exc), error=True)
    except permanences.PermanenceError as exc:
        return back("/permanences", f"Permanence non créée : {exc}.", error=True)
    return back("/permanences", f"Permanence n° {created} créée : {DAYS[jour]} {debut}-{fin}.")


@router.post("/permanences/{permanence_id}")
def permanence_edit(
    console: StateDep, uow: UowDep, viewer: CsrfDep, permanence_id: int,
    places: Annotated[int, Form()], duree: Annotated[int, Form()],
    active: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        edited = console_views.edit_permanence(uow, console.clock, viewer.scope, permanence_id, capacity=places,
                                               slot_minutes=duree, active=active == "oui")
    except console_views.Refused as exc:
        return back("/permanences", str(exc), error=True)
    return back("/permanences", f"Permanence n° {edited} modifiée.")


@router.post("/fermetures")
def closure_create(
    console: StateDep, uow: UowDep, viewer: CsrfDep,
    permanence: Annotated[int, Form()], du: Annotated[dt.date, Form()], au: Annotated[dt.date, Form()],
    motif: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        told = console_views.close_permanence(uow, console.clock, viewer.scope, permanence, first_day=du,
                                              last_day=au, reason=motif or "fermeture", tz=console.tz)
    except permanences.PermanenceError as exc:
        return back("/permanences", f"Fermeture non enregistrée : {exc}.", error=True)
    return back("/permanences", f"Fermeture enregistrée ; {told} rendez-vous annulé(s), les habitants sont prévenus.")


# ---------------------------------------------------------------- équipe


@router.get("/equipe", response_class=HTMLResponse)
def team(
    request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, territoire: str | None = None,
    ok: str | None = None, erreur: str | None = None,
) -> Response:
    return _team_page(request, console, uow, viewer, territory=territoire, ok=ok, erreur=erreur)


def _team_page(request: Request, console: ConsoleState, uow: UnitOfWork, viewer: Viewer, *,
               territory: str | None = None, ok: str | None = None, erreur: str | None = None,
               link: str | None = None) -> Response:
    """The team page; `link` (an invite or an activation link) is shown in the answer to the POST that made
    it, never put in a URL (history, logs, Referer)."""
    page = console_views.team(uow, console.clock, viewer.scope, territory=territory)
    answer = render(request, "team.html", viewer, members=page.members, territory=page.territory,
                    territories=page.territories, ok=ok, erreur=erreur, lien=link)
    if link:
        answer.headers["Cache-Control"] = "no-store"
    return answer


@router.post("/equipe/{staff_id}/disponibilite")
def team_availability(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int,
                      disponible: Annotated[str, Form()] = "non") -> Response:
    managers_only(viewer)
    name = console_views.set_availability(uow, console.clock, viewer.scope, staff_id, disponible == "oui")
    state = "disponible" if disponible == "oui" else "indisponible"
    return back("/equipe", f"{name} est maintenant {state} pour les cas.")


@router.post("/equipe/{staff_id}/langues")
def team_languages(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int,
                   langues: Annotated[str, Form(max_length=64)] = "") -> Response:
    managers_only(viewer)
    try:
        name = console_views.set_member_languages(uow, console.clock, viewer.scope, staff_id, [langues])
    except staff_service.InviteError as exc:
        return back("/equipe", str(exc), error=True)
    return back("/equipe", f"Langues de {name} enregistrées.")


@router.post("/equipe/{staff_id}/desactiver")
def team_disable(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int) -> Response:
    managers_only(viewer)
    try:
        name = console_views.disable_member(uow, console.clock, viewer.scope, staff_id)
    except console_views.Refused as exc:
        return back("/equipe", str(exc), error=True)
    return back("/equipe", f"Le compte de {name} est désactivé.")


@router.post("/equipe/invitation")
def team_invite(
    request: Request, console: StateDep, uow: UowDep, viewer: CsrfDep,
    prenom: Annotated[str, Form(min_length=1, max_length=64)], role: Annotated[str, Form()] = "relay",
    territoire: Annotated[str | None, Form()] = None,
    langues: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    managers_only(viewer)
    if role not in ("relay", "coordinator") or (role == "coordinator" and not viewer.is_admin
                                                and viewer.role != StaffRole.coordinator):
        raise HTTPException(403, MANAGERS_ONLY)
    try:
        code = console_views.invite_member(uow, console.clock, viewer.scope, first_name=prenom.strip(),
                                           role=StaffRole(role), territory=territoire, languages=[langues])
    except staff_service.InviteError as exc:
        return back("/equipe", str(exc), error=True)
    username = console.settings.bot_username or "outreach_sandbox_bot"
    return _team_page(request, console, uow, viewer, link=f"https://t.me/{username}?start={code}",
                      ok=f"Invitation créée pour {prenom.strip()} : envoyez-lui ce lien Telegram (valable 7 jours).")


@router.post("/equipe/{staff_id}/console")
def team_console_access(request: Request, console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int,
                        identifiant: Annotated[str, Form(min_length=2, max_length=64)]) -> Response:
    managers_only(viewer)
    try:
        name, token = console_views.grant_console_access(uow, console.clock, viewer.scope, staff_id, identifiant)
    except console_accounts.AccountError as exc:
        return back("/equipe", f"Accès non créé : {exc}.", error=True)
    link = f"{console.settings.effective_console_url}/activer/{token}"
    return _team_page(request, console, uow, viewer, link=link,
                      ok=f"Accès créé pour {name} : ce lien (72 h) lui permet de choisir son mot de passe.")


# ---------------------------------------------------------------- cas


@router.get("/cas", response_class=HTMLResponse)
def cases(request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep,
          territoire: str | None = None) -> Response:
    page = console_views.open_cases(uow, console.clock, viewer.scope, territory=territoire)
    return render(request, "cases.html", viewer, cases=page.cases, territory=page.territory,
                  territories=page.territories)


# ---------------------------------------------------------------- exports


@router.get("/exports", response_class=HTMLResponse)
def exports(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, territoire: str | None = None,
            mois: str | None = None) -> Response:
    page = console_views.exports_page(uow, console.clock, viewer.scope, territory=territoire, month=mois,
                                      tz=console.tz)
    return render(request, "exports.html", viewer, exports=EXPORTS, month=page.month, territory=page.territory,
                  territories=page.territories)


@router.get("/exports/{kind}.csv")
def export_csv(console: StateDep, uow: UowDep, viewer: ManagerDep, kind: str, territoire: str | None = None,
               mois: str | None = None) -> Response:
    table = console_views.export_table(uow, console.clock, viewer.scope, kind=kind, territory=territoire, month=mois,
                                       tz=console.tz)
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=";")
    out.writerow(table.header)
    out.writerows(table.rows)
    filename = f"outreach-{kind}-{table.territory}-{table.month}.csv"
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
