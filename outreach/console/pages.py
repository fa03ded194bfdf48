"""Console pages: Tableau de bord, Habitants, Permanences et créneaux, Équipe, Cas, Exports.

Routes are thin: they pick the territory the viewer may see, call outreach services, render.
Every look at residents' data is written to the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, or_
from sqlmodel import col, select

from db.models import (
    Appointment,
    AuditLog,
    Handoff,
    HandoffStatus,
    Lieu,
    Permanence,
    Quartier,
    Resident,
    Screening,
    ScreeningRight,
    Staff,
    StaffRole,
    Territory,
)
from outreach import stats
from outreach.console import accounts
from outreach.console.web import CsrfDep, ManagerDep, StateDep, UowDep, Viewer, ViewerDep, back, render
from outreach.services import booking, permanences
from outreach.services import staff as staff_service

router = APIRouter()

DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
STATUS_LABELS = {
    "detected": "détecté", "to_claim": "à demander", "asked": "demandé", "opened": "ouvert", "refused": "refusé",
    "failed": "bloqué", "already_received": "déjà perçu",
}


def territories(uow: UowDep) -> list[Territory]:
    return list(uow.session.exec(select(Territory).order_by(col(Territory.id))).all())


def quartiers_of(uow: UowDep, territory: str) -> list[Quartier]:
    query = select(Quartier).where(Quartier.territory_id == territory).order_by(col(Quartier.name))
    return list(uow.session.exec(query).all())


def _month(value: str | None, console: StateDep) -> str:
    """The month asked for when stats accepts it, else the current one."""
    try:
        stats.parse_month(value or "")
    except stats.StatsError:
        return console.clock.now().astimezone(console.tz).strftime("%Y-%m")
    return value or ""


def _scope(viewer: Viewer, uow: UowDep, territoire: str | None) -> tuple[str, list[Territory]]:
    known = territories(uow)
    territory = viewer.territory(territoire, [t.id for t in known])
    if not territory:
        raise HTTPException(403, "Votre compte n'est rattaché à aucun territoire.")
    return territory, known


def _audit(uow: UowDep, console: StateDep, viewer: Viewer, action: str, subject: str | None = None,
           **detail: Any) -> None:
    uow.session.add(AuditLog(at=console.clock.now(), actor=viewer.actor, action=action, subject=subject,
                             detail=detail))
    uow.commit()


# ---------------------------------------------------------------- tableau de bord


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep,
    mois: str | None = None, quartier: str | None = None, territoire: str | None = None,
) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    month = _month(mois, console)
    quartiers = quartiers_of(uow, territory)
    chosen = quartier if quartier in {q.id for q in quartiers} else None
    figures = stats.figures(uow.session, territory=territory, month=month, quartier=chosen, tz=console.tz)
    series = stats.monthly_series(uow.session, territory=territory, months=6, end_month=month, quartier=chosen,
                                  tz=console.tz)
    rows = stats.by_quartier(uow.session, territory=territory, month=month, tz=console.tz) if chosen is None else []
    top = max([r["count"] for r in figures.get("rights_detected", [])] or [1])
    peak = max([max(s.get("reached", 0), s.get("screened", 0)) for s in series] or [1]) or 1
    return render(request, "dashboard.html", viewer, figures=figures, series=series, rows=rows, month=month,
                  quartiers=quartiers, quartier=chosen, territory=territory, territories=known, top=top or 1,
                  peak=peak)


# ---------------------------------------------------------------- habitants


@router.get("/habitants", response_class=HTMLResponse)
def residents(
    request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep,
    q: Annotated[str, Query(max_length=64)] = "", quartier: str | None = None, territoire: str | None = None,
) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    quartiers = quartiers_of(uow, territory)
    query = select(Resident).where(Resident.territory_id == territory, col(Resident.consent_at).is_not(None))
    if quartier in {x.id for x in quartiers}:
        query = query.where(Resident.quartier_id == quartier)
    term = q.strip()
    if term:
        like = f"%{term.lower()}%"
        query = query.where(or_(func.lower(Resident.first_name).like(like), col(Resident.public_id).startswith(term)))
    found = list(uow.session.exec(query.order_by(col(Resident.last_seen_at).desc()).limit(50)).all())
    ids = [r.id for r in found if r.id is not None]
    rights: dict[int, list[tuple[str, str]]] = {}
    if ids:
        latest = (
            select(Screening.resident_id, func.max(Screening.id).label("sid"))
            .where(col(Screening.resident_id).in_(ids))
            .group_by(col(Screening.resident_id))
            .subquery()
        )
        for right in uow.session.exec(
            select(ScreeningRight).join(latest, col(ScreeningRight.screening_id) == latest.c.sid)
        ).all():
            status = STATUS_LABELS.get(right.status, right.status)
            rights.setdefault(right.resident_id, []).append((right.label, status))
    names = {x.id: x.name for x in quartiers}
    _audit(uow, console, viewer, "console_view_residents", f"territory:{territory}", search=bool(term),
           shown=len(found))
    return render(request, "residents.html", viewer, residents=found, rights=rights, names=names, q=term,
                  quartier=quartier, quartiers=quartiers, territory=territory, territories=known)


@router.get("/habitants/{public_id}", response_class=HTMLResponse)
def resident(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, public_id: str) -> Response:
    person = uow.session.exec(select(Resident).where(Resident.public_id == public_id[:32])).first()
    if person is None or not viewer.can_see(person.territory_id) or person.consent_at is None:
        raise HTTPException(404, "Habitant introuvable sur votre territoire.")
    latest = uow.session.exec(
        select(Screening).where(Screening.resident_id == person.id).order_by(col(Screening.id).desc())
    ).first()
    rights = (
        list(uow.session.exec(select(ScreeningRight).where(ScreeningRight.screening_id == latest.id)).all())
        if latest else []
    )
    appointments = list(uow.session.exec(
        select(Appointment).where(Appointment.resident_id == person.id).order_by(col(Appointment.starts_at).desc())
    ).all())
    cases = list(uow.session.exec(
        select(Handoff).where(Handoff.resident_id == person.id).order_by(col(Handoff.created_at).desc())
    ).all())
    quartier = uow.session.get(Quartier, person.quartier_id) if person.quartier_id else None
    _audit(uow, console, viewer, "console_view_resident", f"resident:{person.public_id}")
    return render(request, "resident.html", viewer, person=person, rights=rights, screening=latest,
                  appointments=appointments, cases=cases, quartier=quartier, status_labels=STATUS_LABELS)


# ---------------------------------------------------------------- permanences et créneaux


def _staff_of(uow: UowDep, territory: str) -> list[Staff]:
    query = select(Staff).where(Staff.territory_id == territory, col(Staff.active).is_(True))
    return list(uow.session.exec(query.order_by(col(Staff.first_name))).all())


@router.get("/permanences", response_class=HTMLResponse)
def permanences_page(
    request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep, territoire: str | None = None,
    ok: str | None = None, erreur: str | None = None,
) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    views = permanences.list_permanences(uow, console.clock, territory_id=territory)
    if not viewer.manages:
        views = [v for v in views if v.staff_id == viewer.id]
    lieux = list(uow.session.exec(select(Lieu).where(Lieu.territory_id == territory).order_by(col(Lieu.name))).all())
    relays = [s for s in _staff_of(uow, territory) if s.role == StaffRole.relay]
    return render(request, "permanences.html", viewer, views=views, lieux=lieux, relays=relays, days=DAYS,
                  topics=booking.TOPICS, territory=territory, territories=known, ok=ok, erreur=erreur)


def _own_permanence(uow: UowDep, viewer: Viewer, permanence_id: int) -> Permanence:
    perm = uow.session.get(Permanence, permanence_id)
    lieu = uow.session.get(Lieu, perm.lieu_id) if perm else None
    if perm is None or lieu is None or not viewer.can_see(lieu.territory_id):
        raise HTTPException(404, "Permanence introuvable sur votre territoire.")
    if not viewer.manages and perm.staff_id != viewer.id:
        raise HTTPException(403, "Vous ne pouvez modifier que vos propres permanences.")
    return perm


def _time(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError as exc:
        raise permanences.PermanenceError("heure au format HH:MM") from exc


@router.post("/permanences")
def permanence_create(
    console: StateDep, uow: UowDep, viewer: CsrfDep,
    lieu: Annotated[str, Form(max_length=64)], jour: Annotated[int, Form()],
    debut: Annotated[str, Form(max_length=5)], fin: Annotated[str, Form(max_length=5)],
    adulte_relais: Annotated[int | None, Form()] = None,
    duree: Annotated[int, Form()] = 30, places: Annotated[int, Form()] = 1,
    sujets: Annotated[list[str] | None, Form()] = None,
) -> Response:
    staff_id = adulte_relais if viewer.manages and adulte_relais else viewer.id
    place = uow.session.get(Lieu, lieu)
    if place is None or not viewer.can_see(place.territory_id):
        return back("/permanences", "Lieu inconnu sur votre territoire.", error=True)
    try:
        perm = permanences.add_permanence(
            uow, console.clock, staff_id=staff_id, lieu_id=lieu, weekday=jour, start=_time(debut), end=_time(fin),
            slot_minutes=duree, capacity=places, topics=permanences.parse_topics(",".join(sujets or [])),
            actor=viewer.actor,
        )
    except permanences.PermanenceError as exc:
        return back("/permanences", f"Permanence non créée : {exc}.", error=True)
    return back("/permanences", f"Permanence n° {perm.id} créée : {DAYS[jour]} {debut}-{fin}.")


@router.post("/permanences/{permanence_id}")
def permanence_edit(
    console: StateDep, uow: UowDep, viewer: CsrfDep, permanence_id: int,
    places: Annotated[int, Form()], duree: Annotated[int, Form()],
    active: Annotated[str | None, Form()] = None,
) -> Response:
    perm = _own_permanence(uow, viewer, permanence_id)
    if not 1 <= places <= 20 or not 5 <= duree <= 240:
        return back("/permanences", "Places : de 1 à 20 ; durée : de 5 à 240 minutes.", error=True)
    perm.capacity, perm.slot_minutes, perm.active = places, duree, active == "oui"
    uow.session.add(perm)
    uow.session.add(AuditLog(at=console.clock.now(), actor=viewer.actor, action="permanence_edit",
                             subject=f"permanence:{perm.id}", detail={"capacity": places, "slot": duree,
                                                                      "active": perm.active}))
    uow.commit()
    return back("/permanences", f"Permanence n° {perm.id} modifiée.")


@router.post("/fermetures")
def closure_create(
    console: StateDep, uow: UowDep, viewer: CsrfDep,
    permanence: Annotated[int, Form()], du: Annotated[dt.date, Form()], au: Annotated[dt.date, Form()],
    motif: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _own_permanence(uow, viewer, permanence)
    try:
        outcome = permanences.close(uow, console.clock, first_day=du, last_day=au, reason=motif or "fermeture",
                                    permanence_id=permanence, actor=viewer.actor, tz=console.tz)
    except permanences.PermanenceError as exc:
        return back("/permanences", f"Fermeture non enregistrée : {exc}.", error=True)
    told = len(outcome.cancelled)
    return back("/permanences", f"Fermeture enregistrée ; {told} rendez-vous annulé(s), les habitants sont prévenus.")


# ---------------------------------------------------------------- équipe


@router.get("/equipe", response_class=HTMLResponse)
def team(
    request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, territoire: str | None = None,
    ok: str | None = None, erreur: str | None = None, lien: str | None = None,
) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    members = list(uow.session.exec(
        select(Staff).where(or_(Staff.territory_id == territory, Staff.role == StaffRole.admin))
        .order_by(col(Staff.active).desc(), col(Staff.role), col(Staff.first_name))
    ).all())
    if not viewer.is_admin:
        members = [m for m in members if m.territory_id == territory]
    logins = {m.id: accounts.account_of(uow, m.id) for m in members if m.id is not None}
    return render(request, "team.html", viewer, members=members, logins=logins, territory=territory,
                  territories=known, ok=ok, erreur=erreur, lien=lien)


def _member(uow: UowDep, viewer: Viewer, staff_id: int) -> Staff:
    member = uow.session.get(Staff, staff_id)
    if member is None or not viewer.can_see(member.territory_id) or (member.role == StaffRole.admin
                                                                      and not viewer.is_admin):
        raise HTTPException(404, "Personne introuvable dans votre équipe.")
    return member


@router.post("/equipe/{staff_id}/disponibilite")
def team_availability(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int,
                      disponible: Annotated[str, Form()] = "non") -> Response:
    if not viewer.manages:
        raise HTTPException(403, "Réservé aux coordinateurs.")
    member = _member(uow, viewer, staff_id)
    staff_service.set_available(uow, console.clock, staff_id, disponible == "oui")
    state = "disponible" if disponible == "oui" else "indisponible"
    return back("/equipe", f"{member.first_name} est maintenant {state} pour les cas.")


@router.post("/equipe/{staff_id}/desactiver")
def team_disable(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int) -> Response:
    if not viewer.manages:
        raise HTTPException(403, "Réservé aux coordinateurs.")
    member = _member(uow, viewer, staff_id)
    if member.id == viewer.id:
        return back("/equipe", "Vous ne pouvez pas désactiver votre propre compte.", error=True)
    staff_service.disable(uow, console.clock, staff_id)
    accounts.close_sessions_of(uow, staff_id)
    return back("/equipe", f"Le compte de {member.first_name} est désactivé.")


@router.post("/equipe/invitation")
def team_invite(
    console: StateDep, uow: UowDep, viewer: CsrfDep,
    prenom: Annotated[str, Form(min_length=1, max_length=64)], role: Annotated[str, Form()] = "relay",
    territoire: Annotated[str | None, Form()] = None,
) -> Response:
    if not viewer.manages or role not in ("relay", "coordinator") or (role == "coordinator" and not viewer.is_admin
                                                                      and viewer.role != StaffRole.coordinator):
        raise HTTPException(403, "Réservé aux coordinateurs.")
    territory = viewer.territory(territoire, [t.id for t in territories(uow)])
    try:
        invite = staff_service.create_invite(uow, console.clock, role=StaffRole(role), territory_id=territory,
                                             first_name=prenom.strip())
    except staff_service.InviteError as exc:
        return back("/equipe", str(exc), error=True)
    username = console.settings.bot_username or "outreach_sandbox_bot"
    return back(f"/equipe?lien=https://t.me/{username}?start={invite.code}",
                f"Invitation créée pour {prenom.strip()} : envoyez-lui ce lien Telegram (valable 7 jours).")


@router.post("/equipe/{staff_id}/console")
def team_console_access(console: StateDep, uow: UowDep, viewer: CsrfDep, staff_id: int,
                        identifiant: Annotated[str, Form(min_length=2, max_length=64)]) -> Response:
    if not viewer.manages:
        raise HTTPException(403, "Réservé aux coordinateurs.")
    member = _member(uow, viewer, staff_id)
    try:
        token = accounts.grant(uow, console.clock, staff_id, identifiant, actor=viewer.actor)
    except accounts.AccountError as exc:
        return back("/equipe", f"Accès non créé : {exc}.", error=True)
    link = f"{console.settings.effective_console_url}/activer/{token}"
    return back(f"/equipe?lien={link}", f"Accès créé pour {member.first_name} : ce lien (72 h) lui permet de "
                "choisir son mot de passe.")


# ---------------------------------------------------------------- cas


@router.get("/cas", response_class=HTMLResponse)
def cases(request: Request, console: StateDep, uow: UowDep, viewer: ViewerDep,
          territoire: str | None = None) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    query = select(Handoff).where(Handoff.territory_id == territory, Handoff.status != HandoffStatus.closed)
    if not viewer.manages:
        query = query.where(or_(Handoff.status == HandoffStatus.waiting, Handoff.staff_id == viewer.id))
    open_cases = list(uow.session.exec(query.order_by(col(Handoff.created_at))).all())
    now = console.clock.now()
    people = {s.id: s.first_name for s in _staff_of(uow, territory)}
    names = {q.id: q.name for q in quartiers_of(uow, territory)}
    residents_by_id = {
        r.id: r for r in uow.session.exec(
            select(Resident).where(col(Resident.id).in_([c.resident_id for c in open_cases]))
        ).all()
    } if open_cases else {}
    waits = {c.id: int((now - c.created_at).total_seconds() // 60) for c in open_cases}
    return render(request, "cases.html", viewer, cases=open_cases, waits=waits, people=people, names=names,
                  residents=residents_by_id, territory=territory, territories=known)


# ---------------------------------------------------------------- exports


EXPORTS = {
    "chiffres": "Chiffres du mois par quartier",
    "rendez-vous": "Rendez-vous du mois (sans nom)",
    "cas": "Cas du mois et leurs issues (sans nom)",
}


@router.get("/exports", response_class=HTMLResponse)
def exports(request: Request, console: StateDep, uow: UowDep, viewer: ManagerDep, territoire: str | None = None,
            mois: str | None = None) -> Response:
    territory, known = _scope(viewer, uow, territoire)
    return render(request, "exports.html", viewer, exports=EXPORTS, month=_month(mois, console), territory=territory,
                  territories=known)


@router.get("/exports/{kind}.csv")
def export_csv(console: StateDep, uow: UowDep, viewer: ManagerDep, kind: str, territoire: str | None = None,
               mois: str | None = None) -> Response:
    if kind not in EXPORTS:
        raise HTTPException(404, "Export inconnu.")
    territory, _known = _scope(viewer, uow, territoire)
    month = _month(mois, console)
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=";")
    if kind == "chiffres":
        rows = stats.by_quartier(uow.session, territory=territory, month=month, tz=console.tz)
        keys = [k for k in (rows[0].keys() if rows else ["quartier"]) if not isinstance(rows[0].get(k), dict | list)] \
            if rows else ["quartier"]
        out.writerow(keys)
        for row in rows:
            out.writerow([row.get(k) for k in keys])
    else:
        start, end = stats.month_bounds(month, console.tz)
        if kind == "rendez-vous":
            out.writerow(["id", "debut", "lieu", "adulte_relais", "sujet", "statut"])
            for appt, _perm, lieu, staff in uow.session.exec(
                select(Appointment, Permanence, Lieu, Staff)
                .join(Permanence, col(Permanence.id) == col(Appointment.permanence_id))
                .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
                .join(Staff, col(Staff.id) == col(Permanence.staff_id))
                .where(Lieu.territory_id == territory, col(Appointment.starts_at) >= start,
                       col(Appointment.starts_at) < end)
                .order_by(col(Appointment.starts_at))
            ).all():
                local = appt.starts_at.astimezone(console.tz).strftime("%Y-%m-%d %H:%M")
                out.writerow([appt.id, local, lieu.name, staff.first_name, appt.topic or "", appt.status])
        else:
            out.writerow(["id", "ouvert_le", "quartier", "origine", "statut", "attente_minutes", "issue",
                          "satisfaction"])
            for case in uow.session.exec(
                select(Handoff).where(Handoff.territory_id == territory, col(Handoff.created_at) >= start,
                                      col(Handoff.created_at) < end).order_by(col(Handoff.created_at))
            ).all():
                wait = int((case.claimed_at - case.created_at).total_seconds() // 60) if case.claimed_at else ""
                local = case.created_at.astimezone(console.tz).strftime("%Y-%m-%d %H:%M")
                out.writerow([case.id, local, case.quartier_id or "", case.source, case.status, wait,
                              case.outcome or "", case.satisfaction or ""])
    _audit(uow, console, viewer, "console_export", f"territory:{territory}", kind=kind, month=month)
    filename = f"outreach-{kind}-{territory}-{month}.csv"
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
