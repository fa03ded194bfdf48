"""Console: Campagnes. Audience builder with a live count, preview, test to oneself, schedule,
start / pause / resume / cancel, live progress bar and results.

Routes read the form, call one use case of outreach/services/console_campaigns.py (which checks the
territory; the sending logic is in outreach.campaigns) and render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from outreach import campaigns, i18n
from outreach.console.shared import (
    ConsoleState,
    CsrfDep,
    ManagerDep,
    StateDep,
    UowDep,
    back,
    managers_only,
    render,
)
from outreach.screening.national import LABELS as RIGHT_LABELS
from outreach.services import console_campaigns

router = APIRouter()

DONE_MESSAGES = {"start": "Campagne lancée.", "pause": "Campagne en pause.", "resume": "Campagne relancée.",
                 "cancel": "Campagne annulée : plus aucun message ne partira."}
STATUS_LABELS = {"draft": "brouillon", "scheduled": "programmée", "running": "en cours", "paused": "en pause",
                 "done": "terminée", "cancelled": "annulée"}
DEFAULT_TEXT = (
    "Bonjour {prenom}, vous habitez {quartier} ? En 5 minutes, voyons ensemble les aides auxquelles vous avez droit."
)


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _spec(form: FormData, territory: str, console: ConsoleState) -> campaigns.CampaignSpec:
    """The builder's form as a CampaignSpec for `territory` (raises ValidationError / CampaignError)."""
    booked = {"oui": True, "non": False}.get(str(form.get("rendez_vous") or ""))
    audience = campaigns.Audience(
        territory=territory,
        quartiers=[str(q) for q in form.getlist("quartiers") if q],
        age_min=_int(form.get("age_min")),
        age_max=_int(form.get("age_max")),
        right_not_claimed=str(form.get("droit") or "") or None,
        never_screened=form.get("jamais_fait") == "oui",
        inactive_days=_int(form.get("inactif_jours")),
        booked=booked,
    )
    kind = str(form.get("quand") or "now")
    at: dt.datetime | None = None
    raw_at = str(form.get("date") or "").strip()
    if kind in ("at", "weekly"):
        if not raw_at:
            raise campaigns.CampaignError("choisissez la date et l'heure d'envoi")
        try:
            at = dt.datetime.fromisoformat(raw_at).replace(tzinfo=console.tz)
        except ValueError as exc:
            raise campaigns.CampaignError("date d'envoi illisible") from exc
    rate_text = str(form.get("debit") or "").replace(",", ".").strip()
    return campaigns.CampaignSpec(
        name=str(form.get("nom") or "").strip() or "Campagne sans nom",
        territory=territory,
        audience=audience,
        text=str(form.get("texte") or ""),
        translations={code: str(form.get(f"texte_{code}") or "") for code in i18n.TRANSLATED},
        buttons=[str(b) for b in form.getlist("boutons")],
        schedule=campaigns.Schedule(kind=kind, at=at),  # type: ignore[arg-type]
        rate=float(rate_text) if rate_text else console.settings.outbox_rate,
    )


def _problem(exc: Exception) -> str:
    return campaigns.explain(exc) if isinstance(exc, ValidationError) else str(exc)


@router.get("/campagnes", response_class=HTMLResponse)
def campaign_list(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep,
                  territoire: str | None = None) -> Response:
    page = console_campaigns.campaign_list(uow, console.clock, viewer.scope, territory=territoire)
    return render(request, "campaigns.html", viewer, campaigns=page.campaigns, progress=page.progress,
                  labels=STATUS_LABELS, territory=page.territory, territories=page.territories)


@router.get("/campagnes/nouvelle", response_class=HTMLResponse)
def campaign_new(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep,
                 territoire: str | None = None, erreur: str | None = None) -> Response:
    page = console_campaigns.builder(uow, console.clock, viewer.scope, territory=territoire)
    return render(request, "campaign_new.html", viewer, territory=page.territory, territories=page.territories,
                  quartiers=page.quartiers, rights=RIGHT_LABELS, buttons=campaigns.BUTTONS,
                  default_text=DEFAULT_TEXT, rate=console.settings.outbox_rate, erreur=erreur,
                  translation_languages=[(code, i18n.name_fr(code)) for code in i18n.TRANSLATED], translations={})


@router.post("/campagnes/audience")
async def campaign_audience(request: Request, console: StateDep, uow: UowDep, viewer: CsrfDep) -> Response:
    """The live count (and the preview) of the builder, for console.js."""
    managers_only(viewer)
    form = await request.form()
    try:
        shown = console_campaigns.preview(uow, console.clock, viewer.scope, territory=str(form.get("territoire") or ""),
                                          spec_for=lambda territory: _spec(form, territory, console))
    except (ValidationError, campaigns.CampaignError, ValueError) as exc:
        return JSONResponse({"error": _problem(exc)}, status_code=422)
    return JSONResponse(shown)


@router.post("/campagnes")
async def campaign_create(request: Request, console: StateDep, uow: UowDep, viewer: CsrfDep) -> Response:
    managers_only(viewer)
    form = await request.form()
    try:
        campaign_id = console_campaigns.create(
            uow, console.clock, viewer.scope, territory=str(form.get("territoire") or ""),
            spec_for=lambda territory: _spec(form, territory, console), start=form.get("lancer") == "oui",
        )
    except (ValidationError, campaigns.CampaignError, ValueError) as exc:
        return back("/campagnes/nouvelle", f"Campagne non créée : {_problem(exc)}", error=True)
    message = "Campagne programmée." if form.get("lancer") == "oui" else "Campagne enregistrée (brouillon)."
    return back(f"/campagnes/{campaign_id}", message)


@router.get("/campagnes/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, campaign_id: int,
                    ok: str | None = None, erreur: str | None = None) -> Response:
    page = console_campaigns.detail(uow, console.clock, viewer.scope, campaign_id)
    return render(request, "campaign.html", viewer, campaign=page.campaign, labels=STATUS_LABELS,
                  buttons=campaigns.BUTTONS, progress=page.progress, results=page.results, ok=ok, erreur=erreur)


@router.get("/campagnes/{campaign_id}/progression")
def campaign_progress(console: StateDep, uow: UowDep, viewer: ManagerDep, campaign_id: int) -> Response:
    data = console_campaigns.progress(uow, console.clock, viewer.scope, campaign_id)
    data["status_label"] = STATUS_LABELS.get(str(data.get("status")), str(data.get("status")))
    return JSONResponse(data)


@router.post("/campagnes/{campaign_id}/test")
def campaign_test(console: StateDep, uow: UowDep, viewer: CsrfDep, campaign_id: int) -> Response:
    managers_only(viewer)
    try:
        console_campaigns.send_test(uow, console.clock, viewer.scope, campaign_id)
    except campaigns.CampaignError as exc:
        return back(f"/campagnes/{campaign_id}", str(exc), error=True)
    return back(f"/campagnes/{campaign_id}", "Test envoyé sur votre Telegram.")


@router.post("/campagnes/{campaign_id}/{action}")
def campaign_action(console: StateDep, uow: UowDep, viewer: CsrfDep, campaign_id: int,
                    action: Annotated[str, "start|pause|resume|cancel"]) -> Response:
    managers_only(viewer)
    try:
        console_campaigns.act(uow, console.clock, viewer.scope, campaign_id, action)
    except campaigns.CampaignError as exc:
        return back(f"/campagnes/{campaign_id}", str(exc), error=True)
    return back(f"/campagnes/{campaign_id}", DONE_MESSAGES[action])
