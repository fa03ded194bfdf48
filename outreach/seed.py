"""Demo data: places, weekly permanences and staff for Dijon métropole and Troyes Champagne Métropole.

DEMO DATA. The staff are invented (telegram ids stay NULL: they onboard with `outreach staff invite`).
Place names marked « (démo) » and their addresses are placeholders; the Centre social des Grésilles
(3-5 rue Jean XXIII, CAF de la Côte-d'Or) and the espace André Gervais (Fontaine d'Ouche, point-justice
of the Ville de Dijon) exist, but their use for permanences here is invented. Replace everything with the
territories' real schedule before going live (`outreach permanence add|close`).

`seed_demo` is idempotent: places by slug, staff by (first name, role, territory), permanences by
(staff, place, weekday, start).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Lieu, Permanence, Quartier, Staff, StaffRole
from outreach.clock import Clock


@dataclass(frozen=True)
class _Lieu:
    id: str
    name: str
    address: str
    commune_insee: str
    quartier_id: str | None
    territory_id: str
    accessibility: str | None = None


@dataclass(frozen=True)
class _Staff:
    first_name: str
    role: StaffRole
    territory_id: str
    quartier_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Perm:
    staff: str
    lieu: str
    weekday: int  # 0 = lundi
    start: str
    end: str
    slot_minutes: int = 30
    capacity: int = 1
    topics: tuple[str, ...] = ()


LIEUX = [
    _Lieu("dijon-gresilles-centre-social", "Centre social des Grésilles", "3-5 rue Jean XXIII, 21000 Dijon",
          "21231", "gresilles", "dijon", "Rez-de-chaussée, accès en fauteuil roulant. Tram T1 arrêt Grésilles."),
    _Lieu("dijon-fontaine-d-ouche-gervais", "Espace André Gervais", "Fontaine d'Ouche, 21000 Dijon",
          "21231", "fontaine_d_ouche", "dijon", "Bus L3 arrêt Fontaine d'Ouche. Accessible de plain-pied."),
    _Lieu("chenove-le-mail", "Maison de quartier du Mail (démo)", "Quartier du Mail, 21300 Chenôve",
          "21166", "le_mail", "dijon", "Tram T2 arrêt Le Mail."),
    _Lieu("talant-belvedere", "Espace du Belvédère (démo)", "Quartier du Belvédère, 21240 Talant",
          "21617", "belvedere", "dijon"),
    _Lieu("longvic-bief-du-moulin", "Maison de quartier du Bief du Moulin (démo)",
          "Quartier du Bief du Moulin, 21600 Longvic", "21355", "bief_du_moulin", "dijon"),
    _Lieu("la-chapelle-chantereigne", "Espace Chantereigne (démo)",
          "Quartier Chantereigne, 10600 La Chapelle-Saint-Luc", "10081", "chantereigne_montvilliers", "troyes"),
    _Lieu("troyes-chartreux", "Maison de quartier des Chartreux (démo)", "Quartier des Chartreux, 10000 Troyes",
          "10387", "chartreux", "troyes"),
    _Lieu("troyes-jules-guesde", "Espace Jules-Guesde (démo)", "Quartier Jules-Guesde, 10000 Troyes",
          "10387", "jules_guesde", "troyes"),
    _Lieu("troyes-point-du-jour", "Local associatif du Point du Jour (démo)", "Quartier Point du Jour, 10000 Troyes",
          "10387", "point_du_jour", "troyes"),
]

STAFF = [
    _Staff("Samia", StaffRole.relay, "dijon", ("gresilles", "fontaine_d_ouche")),
    _Staff("Yannick", StaffRole.relay, "dijon", ("le_mail", "belvedere", "bief_du_moulin")),
    _Staff("Hélène", StaffRole.coordinator, "dijon"),
    _Staff(
        "Inès", StaffRole.relay, "troyes", ("chantereigne_montvilliers", "chartreux", "jules_guesde", "point_du_jour")
    ),
    _Staff("Marc", StaffRole.coordinator, "troyes"),
]

_ALL = ("droits", "emploi", "logement", "sante", "budget", "famille", "mobilite", "numerique", "langue")

PERMANENCES = [
    _Perm("Samia", "dijon-gresilles-centre-social", 1, "14:00", "17:00", topics=_ALL),  # mardi
    _Perm("Samia", "dijon-gresilles-centre-social", 3, "09:30", "12:00", topics=("droits", "numerique", "sante")),
    _Perm("Samia", "dijon-fontaine-d-ouche-gervais", 2, "09:00", "12:00", topics=_ALL),  # mercredi
    _Perm("Samia", "dijon-fontaine-d-ouche-gervais", 4, "14:00", "16:30", capacity=2, topics=("droits", "emploi")),
    _Perm("Yannick", "chenove-le-mail", 0, "14:00", "17:00", topics=_ALL),  # lundi
    _Perm("Yannick", "talant-belvedere", 2, "14:00", "17:00", topics=_ALL),
    _Perm("Yannick", "longvic-bief-du-moulin", 3, "14:00", "17:00", topics=_ALL),
    _Perm("Yannick", "chenove-le-mail", 4, "09:00", "11:00", slot_minutes=20, topics=("numerique", "droits")),
    _Perm("Inès", "la-chapelle-chantereigne", 1, "09:00", "12:00", topics=_ALL),
    _Perm("Inès", "troyes-chartreux", 2, "14:00", "17:00", topics=_ALL),
    _Perm("Inès", "troyes-jules-guesde", 3, "14:00", "17:00", topics=_ALL),
    _Perm("Inès", "troyes-point-du-jour", 4, "09:00", "12:00", topics=("droits", "emploi", "langue")),
]


def seed_demo(uow: UnitOfWork, clock: Clock) -> dict[str, int]:
    """Load the demo places, staff and permanences (needs the reference data: `outreach db upgrade`).

    Returns how many of each were added (0 everywhere on a second run)."""
    session = uow.session
    now = clock.now()
    known_quartiers = set(session.exec(select(Quartier.id)).all())
    if not known_quartiers:
        raise LookupError("no reference data: run `outreach db upgrade` first")
    added = {"lieux": 0, "staff": 0, "permanences": 0}
    for lieu in LIEUX:
        if lieu.quartier_id and lieu.quartier_id not in known_quartiers:
            raise LookupError(f"unknown quartier {lieu.quartier_id!r} (db/reference/territories.yml)")
        if session.get(Lieu, lieu.id) is None:
            session.add(Lieu(**lieu.__dict__))
            added["lieux"] += 1
    staff_ids: dict[str, int] = {}
    for person in STAFF:
        row = session.exec(
            select(Staff).where(
                Staff.first_name == person.first_name,
                Staff.role == person.role,
                Staff.territory_id == person.territory_id,
            )
        ).first()
        if row is None:
            row = Staff(
                first_name=person.first_name,
                role=person.role,
                territory_id=person.territory_id,
                quartier_ids=list(person.quartier_ids),
                created_at=now,
            )
            session.add(row)
            session.flush()
            added["staff"] += 1
        assert row.id is not None  # noqa: S101 - narrows the type, not a check
        staff_ids[person.first_name] = row.id
    session.flush()
    for perm in PERMANENCES:
        start, end = dt.time.fromisoformat(perm.start), dt.time.fromisoformat(perm.end)
        exists = session.exec(
            select(Permanence).where(
                Permanence.staff_id == staff_ids[perm.staff],
                Permanence.lieu_id == perm.lieu,
                Permanence.weekday == perm.weekday,
                Permanence.start_time == start,
            )
        ).first()
        if exists is None:
            session.add(
                Permanence(
                    staff_id=staff_ids[perm.staff],
                    lieu_id=perm.lieu,
                    weekday=perm.weekday,
                    start_time=start,
                    end_time=end,
                    slot_minutes=perm.slot_minutes,
                    capacity=perm.capacity,
                    topics=list(perm.topics),
                    created_at=now,
                )
            )
            added["permanences"] += 1
    uow.commit()
    return added
