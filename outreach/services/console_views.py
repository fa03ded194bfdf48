"""The coordinators' console as use cases: what each page shows and what its forms change.

Every function takes the unit of work and the clock, checks what the staff member (a StaffScope) may
see on the server, commits at most once and returns plain data for the page. Every look at residents'
data, and every export, writes its audit_log row in the same transaction as the read.

Refusals are ConsoleError subclasses with a French message shown as is: NotFound (the page says the
thing does not exist on your territory), Forbidden (no right to it), Refused (the form is sent back with
the message). Other errors are the services' own (PermanenceError, InviteError, AccountError…).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import col, select

from db.engine import UnitOfWork
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
from outreach.clock import Clock
from outreach.services import console_accounts, permanences
from outreach.services import staff as staff_service

LATE_AFTER_MINUTES = 15  # a case nobody took for this long is shown late
SEARCH_LIMIT = 50
EXPORT_KINDS = ("chiffres", "rendez-vous", "cas")


class ConsoleError(Exception):
    """A request the console refuses; the message is French and shown as is."""


class NotFound(ConsoleError):
    """Unknown, or not on the staff member's territory (the page does not tell which)."""


class Forbidden(ConsoleError):
    """Known, but not for this staff member."""


class Refused(ConsoleError):
    """A form the console sends back with this message."""


# ---------------------------------------------------------------- who looks


@dataclass(frozen=True)
class StaffScope:
    """What a staff member may see: an admin every territory, everybody else their own."""

    staff_id: int
    role: StaffRole
    territory_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.admin

    @property
    def manages(self) -> bool:
        """Coordinators and admins manage; adultes-relais see their own things and read figures."""
        return self.role in (StaffRole.coordinator, StaffRole.admin)

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"

    def territory(self, requested: str | None, known: list[str]) -> str:
        """The territory a page shows: an admin chooses, everybody else sees their own."""
        if self.is_admin:
            return requested if requested in known else (known[0] if known else "")
        return self.territory_id or ""

    def can_see(self, territory_id: str | None) -> bool:
        return self.is_admin or (territory_id is not None and territory_id == self.territory_id)


@dataclass(frozen=True)
class Choice:
    """An entry of a list to choose from (territory, quartier, place)."""

    id: str
    name: str


@dataclass(frozen=True)
class Person:
    """A staff member in a list to choose from."""

    id: int
    name: str


@dataclass(frozen=True)
class TerritoryPage:
    """The territory a page shows, and the territories an admin may switch to."""

    territory: str
    territories: list[Choice]


def _territories(uow: UnitOfWork) -> list[Choice]:
    return [Choice(t.id, t.name) for t in uow.session.exec(select(Territory).order_by(col(Territory.id))).all()]


def territory_page(uow: UnitOfWork, scope: StaffScope, requested: str | None) -> TerritoryPage:
    """The territory shown (Forbidden for an account with none) and the ones to choose from."""
    known = _territories(uow)
    territory = scope.territory(requested, [t.id for t in known])
    if not territory:
        raise Forbidden("Votre compte n'est rattaché à aucun territoire.")
    return TerritoryPage(territory, known)


def target_territory(uow: UnitOfWork, scope: StaffScope, requested: str | None) -> str:
    """The territory a form may act on ("" for an account with none: the services then refuse)."""
    return scope.territory(requested, [t.id for t in _territories(uow)])


def quartiers_of(uow: UnitOfWork, territory: str) -> list[Choice]:
    query = select(Quartier).where(Quartier.territory_id == territory).order_by(col(Quartier.name))
    return [Choice(q.id, q.name) for q in uow.session.exec(query).all()]


def month_or_current(clock: Clock, tz: ZoneInfo, month: str | None) -> str:
    """The month asked for (YYYY-MM) when stats accepts it, else the current one."""
    try:
        stats.parse_month(month or "")
    except stats.StatsError:
        return clock.now().astimezone(tz).strftime("%Y-%m")
    return month or ""


def _audit(uow: UnitOfWork, clock: Clock, scope: StaffScope, action: str, subject: str | None = None,
           **detail: Any) -> None:
    uow.session.add(AuditLog(at=clock.now(), actor=scope.actor, action=action, subject=subject, detail=detail))


def _active_staff(uow: UnitOfWork, territory: str) -> list[Staff]:
    query = select(Staff).where(Staff.territory_id == territory, col(Staff.active).is_(True))
    return list(uow.session.exec(query.order_by(col(Staff.first_name))).all())


# ---------------------------------------------------------------- tableau de bord


@dataclass(frozen=True)
class Dashboard(TerritoryPage):
    month: str
    quartiers: list[Choice]
    quartier: str | None  # the QPV shown, None for the whole territory
    figures: dict[str, Any]
    series: list[dict[str, Any]]  # the 6 months up to `month`
    rows: list[dict[str, Any]]  # one per QPV (whole territory only)


def dashboard(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None, month: str | None,
              quartier: str | None, tz: ZoneInfo) -> Dashboard:
    """The figures of a month (stats.py definitions) for the territory or one of its QPV."""
    page = territory_page(uow, scope, territory)
    shown_month = month_or_current(clock, tz, month)
    quartiers = quartiers_of(uow, page.territory)
    chosen = quartier if quartier in {q.id for q in quartiers} else None
    session = uow.session
    figures = stats.figures(session, territory=page.territory, month=shown_month, quartier=chosen, tz=tz)
    series = stats.monthly_series(session, territory=page.territory, months=6, end_month=shown_month,
                                  quartier=chosen, tz=tz)
    rows = stats.by_quartier(session, territory=page.territory, month=shown_month, tz=tz) if chosen is None else []
    return Dashboard(page.territory, page.territories, shown_month, quartiers, chosen, figures, series, rows)


# ---------------------------------------------------------------- habitants


@dataclass(frozen=True)
class ResidentRow:
    public_id: str
    first_name: str | None
    quartier_name: str | None
    consent_at: dt.datetime | None
    opted_out_at: dt.datetime | None
    unreachable_at: dt.datetime | None
    rights: list[tuple[str, str]]  # (label, status) from the last screening


@dataclass(frozen=True)
class ResidentSearch(TerritoryPage):
    quartiers: list[Choice]
    text: str  # the search as understood (trimmed)
    residents: list[ResidentRow]


def search_residents(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None, text: str,
                     quartier: str | None) -> ResidentSearch:
    """Residents who consented, by first name or id prefix, most recently active first (audited)."""
    page = territory_page(uow, scope, territory)
    session = uow.session
    quartiers = quartiers_of(uow, page.territory)
    query = select(Resident).where(Resident.territory_id == page.territory, col(Resident.consent_at).is_not(None))
    if quartier in {x.id for x in quartiers}:
        query = query.where(Resident.quartier_id == quartier)
    term = text.strip()
    if term:
        like = f"%{term.lower()}%"
        query = query.where(or_(func.lower(Resident.first_name).like(like), col(Resident.public_id).startswith(term)))
    found = list(session.exec(query.order_by(col(Resident.last_seen_at).desc()).limit(SEARCH_LIMIT)).all())
    ids = [r.id for r in found if r.id is not None]
    rights: dict[int, list[tuple[str, str]]] = {}
    if ids:
        latest = (
            select(Screening.resident_id, func.max(Screening.id).label("sid"))
            .where(col(Screening.resident_id).in_(ids))
            .group_by(col(Screening.resident_id))
            .subquery()
        )
        for right in session.exec(
            select(ScreeningRight).join(latest, col(ScreeningRight.screening_id) == latest.c.sid)
        ).all():
            rights.setdefault(right.resident_id, []).append((right.label, right.status))
    names = {x.id: x.name for x in quartiers}
    rows = [
        ResidentRow(r.public_id, r.first_name, names.get(r.quartier_id or ""), r.consent_at, r.opted_out_at,
                    r.unreachable_at, rights.get(r.id or 0, []))
        for r in found
    ]
    _audit(uow, clock, scope, "console_view_residents", f"territory:{page.territory}", search=bool(term),
           shown=len(found))
    uow.commit()
    return ResidentSearch(page.territory, page.territories, quartiers, term, rows)


@dataclass(frozen=True)
class RightRow:
    label: str
    monthly_amount: float | None
    status: str


@dataclass(frozen=True)
class AppointmentRow:
    starts_at: dt.datetime
    topic: str | None
    status: str


@dataclass(frozen=True)
class CaseHistoryRow:
    created_at: dt.datetime
    status: str
    outcome: str | None


@dataclass(frozen=True)
class ResidentDetail:
    public_id: str
    first_name: str | None
    quartier_name: str | None
    consent_at: dt.datetime | None
    opted_out_at: dt.datetime | None
    unreachable_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    screened_at: dt.datetime | None  # the last screening, None when never screened
    rights: list[RightRow]
    appointments: list[AppointmentRow]
    cases: list[CaseHistoryRow]


def resident_detail(uow: UnitOfWork, clock: Clock, scope: StaffScope, public_id: str) -> ResidentDetail:
    """One resident who consented, on the staff member's territory: last screening, appointments, cases (audited)."""
    session = uow.session
    person = session.exec(select(Resident).where(Resident.public_id == public_id[:32])).first()
    if person is None or not scope.can_see(person.territory_id) or person.consent_at is None:
        raise NotFound("Habitant introuvable sur votre territoire.")
    latest = session.exec(
        select(Screening).where(Screening.resident_id == person.id).order_by(col(Screening.id).desc())
    ).first()
    rights = (
        list(session.exec(select(ScreeningRight).where(ScreeningRight.screening_id == latest.id)).all())
        if latest else []
    )
    appointments = session.exec(
        select(Appointment).where(Appointment.resident_id == person.id).order_by(col(Appointment.starts_at).desc())
    ).all()
    cases = session.exec(
        select(Handoff).where(Handoff.resident_id == person.id).order_by(col(Handoff.created_at).desc())
    ).all()
    quartier = session.get(Quartier, person.quartier_id) if person.quartier_id else None
    _audit(uow, clock, scope, "console_view_resident", f"resident:{person.public_id}")
    uow.commit()
    return ResidentDetail(
        public_id=person.public_id,
        first_name=person.first_name,
        quartier_name=quartier.name if quartier else None,
        consent_at=person.consent_at,
        opted_out_at=person.opted_out_at,
        unreachable_at=person.unreachable_at,
        last_seen_at=person.last_seen_at,
        screened_at=latest.created_at if latest else None,
        rights=[RightRow(r.label, r.monthly_amount, r.status) for r in rights],
        appointments=[AppointmentRow(a.starts_at, a.topic, a.status) for a in appointments],
        cases=[CaseHistoryRow(c.created_at, c.status, c.outcome) for c in cases],
    )


# ---------------------------------------------------------------- permanences et créneaux


@dataclass(frozen=True)
class PermanencesPage(TerritoryPage):
    views: list[permanences.PermanenceView]  # an adulte-relais sees only theirs
    lieux: list[Choice]
    relays: list[Person]


def permanences_page(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None) -> PermanencesPage:
    page = territory_page(uow, scope, territory)
    views = permanences.list_permanences(uow, clock, territory_id=page.territory)
    if not scope.manages:
        views = [v for v in views if v.staff_id == scope.staff_id]
    lieux = uow.session.exec(select(Lieu).where(Lieu.territory_id == page.territory).order_by(col(Lieu.name))).all()
    relays = [Person(s.id, s.first_name) for s in _active_staff(uow, page.territory)
              if s.role == StaffRole.relay and s.id is not None]
    return PermanencesPage(page.territory, page.territories, views, [Choice(x.id, x.name) for x in lieux], relays)


def _clock_time(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError as exc:
        raise permanences.PermanenceError("heure au format HH:MM") from exc


def create_permanence(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, relay_id: int | None, lieu_id: str,
                      weekday: int, start: str, end: str, slot_minutes: int, capacity: int,
                      topics: list[str]) -> int:
    """A weekly permanence: coordinators choose the adulte-relais, an adulte-relais creates their own.

    `start` and `end` are HH:MM. Refused for a place elsewhere; PermanenceError for the rest."""
    staff_id = relay_id if scope.manages and relay_id else scope.staff_id
    place = uow.session.get(Lieu, lieu_id)
    if place is None or not scope.can_see(place.territory_id):
        raise Refused("Lieu inconnu sur votre territoire.")
    relay = uow.session.get(Staff, staff_id)
    if relay is None or not relay.active or not scope.can_see(relay.territory_id):
        # the same answer for an unknown id and a person of another territory: nothing of theirs shows
        raise Refused("Adulte-relais inconnu sur votre territoire.")
    created = permanences.add_permanence(
        uow, clock, staff_id=staff_id, lieu_id=lieu_id, weekday=weekday, start=_clock_time(start),
        end=_clock_time(end), slot_minutes=slot_minutes, capacity=capacity,
        topics=permanences.parse_topics(",".join(topics)), actor=scope.actor,
    )
    assert created.id is not None  # noqa: S101 - narrows the type, not a check
    return created.id


def _own_permanence(uow: UnitOfWork, scope: StaffScope, permanence_id: int) -> Permanence:
    perm = uow.session.get(Permanence, permanence_id)
    lieu = uow.session.get(Lieu, perm.lieu_id) if perm else None
    if perm is None or lieu is None or not scope.can_see(lieu.territory_id):
        raise NotFound("Permanence introuvable sur votre territoire.")
    if not scope.manages and perm.staff_id != scope.staff_id:
        raise Forbidden("Vous ne pouvez modifier que vos propres permanences.")
    return perm


def edit_permanence(uow: UnitOfWork, clock: Clock, scope: StaffScope, permanence_id: int, *, capacity: int,
                    slot_minutes: int, active: bool) -> int:
    """Capacity, slot length and active flag of a permanence (audited); returns its id."""
    perm = _own_permanence(uow, scope, permanence_id)
    if not 1 <= capacity <= 20 or not 5 <= slot_minutes <= 240:
        raise Refused("Places : de 1 à 20 ; durée : de 5 à 240 minutes.")
    perm.capacity, perm.slot_minutes, perm.active = capacity, slot_minutes, active
    uow.session.add(perm)
    _audit(uow, clock, scope, "permanence_edit", f"permanence:{perm.id}", capacity=capacity, slot=slot_minutes,
           active=perm.active)
    uow.commit()
    assert perm.id is not None  # noqa: S101 - narrows the type, not a check
    return perm.id


def close_permanence(uow: UnitOfWork, clock: Clock, scope: StaffScope, permanence_id: int, *, first_day: dt.date,
                     last_day: dt.date, reason: str, tz: ZoneInfo) -> int:
    """Close a permanence for some days; returns how many booked appointments were cancelled (residents told)."""
    _own_permanence(uow, scope, permanence_id)
    outcome = permanences.close(uow, clock, first_day=first_day, last_day=last_day, reason=reason,
                                permanence_id=permanence_id, actor=scope.actor, tz=tz)
    return len(outcome.cancelled)


# ---------------------------------------------------------------- équipe


@dataclass(frozen=True)
class MemberRow:
    id: int
    first_name: str
    role: StaffRole
    active: bool
    available: bool
    on_telegram: bool
    console_login: str | None  # None: no console access yet
    console_activated: bool  # the password was chosen
    languages: tuple[str, ...] = ()  # spoken besides French


@dataclass(frozen=True)
class TeamPage(TerritoryPage):
    members: list[MemberRow]


def team(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None) -> TeamPage:
    """The territory's staff (and, for an admin, the admins), active first, with their console access."""
    page = territory_page(uow, scope, territory)
    members = uow.session.exec(
        select(Staff).where(or_(Staff.territory_id == page.territory, Staff.role == StaffRole.admin))
        .order_by(col(Staff.active).desc(), col(Staff.role), col(Staff.first_name))
    ).all()
    rows = []
    for member in members:
        if member.id is None or (not scope.is_admin and member.territory_id != page.territory):
            continue
        account = console_accounts.account_of(uow, member.id)
        rows.append(MemberRow(
            id=member.id, first_name=member.first_name, role=StaffRole(member.role), active=member.active,
            available=member.available, on_telegram=bool(member.chat_id),
            console_login=account.login if account else None,
            console_activated=bool(account and account.password_hash),
            languages=tuple(member.languages or ()),
        ))
    return TeamPage(page.territory, page.territories, rows)


def _member(uow: UnitOfWork, scope: StaffScope, staff_id: int) -> Staff:
    member = uow.session.get(Staff, staff_id)
    if member is None or not scope.can_see(member.territory_id) or (member.role == StaffRole.admin
                                                                     and not scope.is_admin):
        raise NotFound("Personne introuvable dans votre équipe.")
    return member


def set_availability(uow: UnitOfWork, clock: Clock, scope: StaffScope, staff_id: int, available: bool) -> str:
    """Available (or not) for the cases of the territory; returns the member's first name."""
    member = _member(uow, scope, staff_id)
    staff_service.set_available(uow, clock, staff_id, available)
    return member.first_name


def disable_member(uow: UnitOfWork, clock: Clock, scope: StaffScope, staff_id: int) -> str:
    """Disable an account and end its console sessions at once; returns the member's first name."""
    member = _member(uow, scope, staff_id)
    if member.id == scope.staff_id:
        raise Refused("Vous ne pouvez pas désactiver votre propre compte.")
    console_accounts.drop_sessions_of(uow, staff_id)  # committed with the account below
    staff_service.disable(uow, clock, staff_id)
    return member.first_name


def invite_member(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, first_name: str, role: StaffRole,
                  territory: str | None, languages: list[str] | None = None) -> str:
    """A Telegram invite for a new team member of the territory; returns the invite code."""
    invite = staff_service.create_invite(uow, clock, role=role, territory_id=target_territory(uow, scope, territory),
                                         first_name=first_name, languages=languages)
    return invite.code


def set_member_languages(uow: UnitOfWork, clock: Clock, scope: StaffScope, staff_id: int, languages: list[str]) -> str:
    """The languages a team member speaks besides French; returns the member's first name."""
    member = _member(uow, scope, staff_id)
    staff_service.set_languages(uow, clock, staff_id, languages, actor=scope.actor)
    return member.first_name


def grant_console_access(uow: UnitOfWork, clock: Clock, scope: StaffScope, staff_id: int,
                         login: str) -> tuple[str, str]:
    """Console access for a team member: (their first name, the single-use activation token)."""
    member = _member(uow, scope, staff_id)
    token = console_accounts.grant(uow, clock, staff_id, login, actor=scope.actor)
    return member.first_name, token


# ---------------------------------------------------------------- cas


@dataclass(frozen=True)
class CaseRow:
    id: int
    resident_name: str | None
    quartier_name: str | None
    reason: str
    waiting: bool  # nobody took it yet
    taken_by: str | None
    wait_minutes: int  # since it was opened

    @property
    def late(self) -> bool:
        return self.waiting and self.wait_minutes >= LATE_AFTER_MINUTES


@dataclass(frozen=True)
class CasesPage(TerritoryPage):
    cases: list[CaseRow]


def open_cases(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None) -> CasesPage:
    """The cases not closed yet, oldest first; an adulte-relais sees the waiting ones and their own."""
    page = territory_page(uow, scope, territory)
    session = uow.session
    query = select(Handoff).where(Handoff.territory_id == page.territory, Handoff.status != HandoffStatus.closed)
    if not scope.manages:
        query = query.where(or_(Handoff.status == HandoffStatus.waiting, Handoff.staff_id == scope.staff_id))
    found = list(session.exec(query.order_by(col(Handoff.created_at))).all())
    now = clock.now()
    people = {s.id: s.first_name for s in _active_staff(uow, page.territory)}
    names = {q.id: q.name for q in quartiers_of(uow, page.territory)}
    first_names = {
        r.id: r.first_name
        for r in session.exec(select(Resident).where(col(Resident.id).in_([c.resident_id for c in found]))).all()
    } if found else {}
    rows = [
        CaseRow(
            id=case.id or 0,
            resident_name=first_names.get(case.resident_id),
            quartier_name=names.get(case.quartier_id or ""),
            reason=case.reason,
            waiting=case.status == HandoffStatus.waiting,
            taken_by=people.get(case.staff_id),
            wait_minutes=int((now - case.created_at).total_seconds() // 60),
        )
        for case in found
    ]
    return CasesPage(page.territory, page.territories, rows)


# ---------------------------------------------------------------- exports


@dataclass(frozen=True)
class ExportsPage(TerritoryPage):
    month: str


def exports_page(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None, month: str | None,
                 tz: ZoneInfo) -> ExportsPage:
    page = territory_page(uow, scope, territory)
    return ExportsPage(page.territory, page.territories, month_or_current(clock, tz, month))


@dataclass(frozen=True)
class ExportTable:
    territory: str
    month: str
    header: list[str]
    rows: list[list[Any]]


def export_table(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, kind: str, territory: str | None,
                 month: str | None, tz: ZoneInfo) -> ExportTable:
    """An export without names (EXPORT_KINDS) for a month of the territory, audited; NotFound for another kind."""
    if kind not in EXPORT_KINDS:
        raise NotFound("Export inconnu.")
    shown = territory_page(uow, scope, territory).territory
    shown_month = month_or_current(clock, tz, month)
    session = uow.session
    header: list[str]
    rows: list[list[Any]] = []
    if kind == "chiffres":
        figures = stats.by_quartier(session, territory=shown, month=shown_month, tz=tz)
        header = [k for k in figures[0] if not isinstance(figures[0].get(k), dict | list)] if figures \
            else ["quartier"]
        rows = [[row.get(k) for k in header] for row in figures]
    else:
        start, end = stats.month_bounds(shown_month, tz)
        if kind == "rendez-vous":
            header = ["id", "debut", "lieu", "adulte_relais", "sujet", "statut"]
            for appt, _perm, lieu, staff in session.exec(
                select(Appointment, Permanence, Lieu, Staff)
                .join(Permanence, col(Permanence.id) == col(Appointment.permanence_id))
                .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
                .join(Staff, col(Staff.id) == col(Permanence.staff_id))
                .where(Lieu.territory_id == shown, col(Appointment.starts_at) >= start,
                       col(Appointment.starts_at) < end)
                .order_by(col(Appointment.starts_at))
            ).all():
                local = appt.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                rows.append([appt.id, local, lieu.name, staff.first_name, appt.topic or "", appt.status])
        else:
            header = ["id", "ouvert_le", "quartier", "origine", "statut", "attente_minutes", "issue", "satisfaction"]
            for case in session.exec(
                select(Handoff).where(Handoff.territory_id == shown, col(Handoff.created_at) >= start,
                                      col(Handoff.created_at) < end).order_by(col(Handoff.created_at))
            ).all():
                wait = int((case.claimed_at - case.created_at).total_seconds() // 60) if case.claimed_at else ""
                local = case.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                rows.append([case.id, local, case.quartier_id or "", case.source, case.status, wait,
                             case.outcome or "", case.satisfaction or ""])
    _audit(uow, clock, scope, "console_export", f"territory:{shown}", kind=kind, month=shown_month)
    uow.commit()
    return ExportTable(shown, shown_month, header, rows)
