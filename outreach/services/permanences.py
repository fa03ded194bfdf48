"""Managing permanences (weekly office hours) and closures: what `outreach permanence ...` and the
console call. French day names and "14h-17h" hours are read here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import Appointment, AppointmentStatus, AuditLog, Closure, Lieu, Permanence, Staff
from outreach import booking_texts as texts
from outreach.clock import Clock
from outreach.dates import WEEKDAYS, fold
from outreach.services import booking

_HOURS = re.compile(r"^\s*(\d{1,2})\s*(?:h|:)\s*(\d{2})?\s*-\s*(\d{1,2})\s*(?:h|:)\s*(\d{2})?\s*$")
_ENGLISH = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


MAX_CLOSURE_DAYS = 366  # longer: the permanence is deactivated instead (and dates near 9999 overflow)


class PermanenceError(ValueError):
    """A wrong argument, with a message that says what to give instead."""


def parse_weekday(text: str) -> int:
    """"mardi", "Mardi", "mar", "tuesday" or "1" → 1 (0 = lundi)."""
    word = fold(text).strip().rstrip(".")
    if word.isdigit() and 0 <= int(word) <= 6:
        return int(word)
    for names in (WEEKDAYS, _ENGLISH):
        for index, name in enumerate(names):
            if word == name or (len(word) >= 3 and name.startswith(word)):
                return index
    raise PermanenceError(f"jour inconnu {text!r} : lundi, mardi, mercredi, jeudi, vendredi, samedi ou dimanche")


def parse_hours(text: str) -> tuple[dt.time, dt.time]:
    """"14h-17h", "9h30-12h", "14:00-17:30" → (start, end)."""
    match = _HOURS.match(text.lower())
    if not match:
        raise PermanenceError(f"horaires {text!r} : écrivez par exemple 14h-17h ou 9h30-12h")
    h1, m1, h2, m2 = match.groups()
    try:
        start, end = dt.time(int(h1), int(m1 or 0)), dt.time(int(h2), int(m2 or 0))
    except ValueError:
        raise PermanenceError(f"horaires {text!r} : heure impossible") from None
    if end <= start:
        raise PermanenceError(f"horaires {text!r} : la fin doit être après le début")
    return start, end


def parse_topics(text: str | None) -> list[str]:
    if not text:
        return []
    topics = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = sorted(set(topics) - set(booking.TOPICS))
    if unknown:
        raise PermanenceError(f"sujets inconnus {', '.join(unknown)} : choisir parmi {', '.join(booking.TOPICS)}")
    return topics


@dataclass(frozen=True)
class PermanenceView:
    id: int
    staff_id: int
    relay: str
    lieu_id: str
    lieu_name: str
    territory_id: str
    weekday: int
    start: dt.time
    end: dt.time
    slot_minutes: int
    capacity: int
    topics: list[str]
    active: bool
    closures: list[tuple[dt.datetime, dt.datetime, str]]

    def describe(self) -> str:
        hours = f"{texts.clock_time(self.start)}-{texts.clock_time(self.end)}"
        topics = ",".join(self.topics) or "tous sujets"
        state = "" if self.active else " (inactive)"
        return (
            f"#{self.id} {texts.DAYS[self.weekday]} {hours} · {self.lieu_name} ({self.lieu_id}) · {self.relay} "
            f"(staff {self.staff_id}) · {self.slot_minutes} min × {self.capacity} · {topics}{state}"
        )


def list_permanences(uow: UnitOfWork, clock: Clock, *, territory_id: str | None = None) -> list[PermanenceView]:
    """Every permanence (with its closures still to come), by territory, day and hour."""
    session = uow.session
    query = (
        select(Permanence, Lieu, Staff)
        .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
        .join(Staff, col(Staff.id) == col(Permanence.staff_id))
    )
    if territory_id:
        query = query.where(Lieu.territory_id == territory_id)
    rows = session.exec(query).all()
    now = clock.now()
    closures = session.exec(select(Closure).where(col(Closure.ends_at) > now).order_by(col(Closure.starts_at))).all()
    out = []
    for perm, lieu, staff in rows:
        assert perm.id is not None and staff.id is not None
        mine = [
            (c.starts_at, c.ends_at, c.reason) for c in closures if c.permanence_id == perm.id or c.lieu_id == lieu.id
        ]
        out.append(
            PermanenceView(
                id=perm.id, staff_id=staff.id, relay=staff.first_name, lieu_id=lieu.id, lieu_name=lieu.name,
                territory_id=lieu.territory_id, weekday=perm.weekday, start=perm.start_time, end=perm.end_time,
                slot_minutes=perm.slot_minutes, capacity=perm.capacity, topics=list(perm.topics), active=perm.active,
                closures=mine,
            )
        )
    out.sort(key=lambda v: (v.territory_id, v.weekday, v.start, v.id))
    return out


def add_permanence(
    uow: UnitOfWork,
    clock: Clock,
    *,
    staff_id: int,
    lieu_id: str,
    weekday: int,
    start: dt.time,
    end: dt.time,
    slot_minutes: int = 30,
    capacity: int = 1,
    topics: Sequence[str] = (),
    actor: str = "cli",
) -> Permanence:
    session = uow.session
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise PermanenceError(f"pas de membre de l'équipe actif n° {staff_id} (voir : outreach staff list)")
    lieu = session.get(Lieu, lieu_id)
    if lieu is None:
        known = ", ".join(session.exec(select(Lieu.id).order_by(col(Lieu.id))).all()) or "aucun (outreach seed-demo)"
        raise PermanenceError(f"lieu inconnu {lieu_id!r} ; lieux connus : {known}")
    if staff.territory_id and staff.territory_id != lieu.territory_id:
        raise PermanenceError(
            f"{staff.first_name} travaille sur {staff.territory_id}, ce lieu est sur {lieu.territory_id}"
        )
    if not 0 <= weekday <= 6:
        raise PermanenceError("jour entre 0 (lundi) et 6 (dimanche)")
    if not 5 <= slot_minutes <= 240:
        raise PermanenceError("--slot : entre 5 et 240 minutes")
    if not 1 <= capacity <= 20:
        raise PermanenceError("--capacity : entre 1 et 20 personnes par créneau")
    length = (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).total_seconds() / 60
    if length < slot_minutes:
        raise PermanenceError("la permanence est plus courte qu'un créneau")
    for other in session.exec(
        select(Permanence).where(
            Permanence.staff_id == staff_id, Permanence.weekday == weekday, col(Permanence.active).is_(True)
        )
    ).all():
        if other.start_time < end and other.end_time > start:
            raise PermanenceError(f"{staff.first_name} a déjà la permanence #{other.id} ce jour-là à ces heures")
    now = clock.now()
    permanence = Permanence(
        staff_id=staff_id, lieu_id=lieu_id, weekday=weekday, start_time=start, end_time=end,
        slot_minutes=slot_minutes, capacity=capacity, topics=list(topics), created_at=now,
    )
    session.add(permanence)
    session.flush()
    session.add(AuditLog(at=now, actor=actor, action="permanence_add", subject=f"permanence:{permanence.id}"))
    uow.commit()
    return permanence


@dataclass(frozen=True)
class ClosureOutcome:
    closure: Closure
    cancelled: list[int]  # appointments that were booked in the period (cancelled, residents told)


def close(
    uow: UnitOfWork,
    clock: Clock,
    *,
    first_day: dt.date,
    last_day: dt.date,
    reason: str,
    permanence_id: int | None = None,
    lieu_id: str | None = None,
    actor: str = "cli",
    tz: ZoneInfo,
) -> ClosureOutcome:
    """Close a permanence (or every permanence of a place) from `first_day` to `last_day` included.

    Appointments already booked in the period are cancelled by staff: each resident is told and
    offered another slot."""
    if (permanence_id is None) == (lieu_id is None):
        raise PermanenceError("donnez --permanence ou --lieu (un seul des deux)")
    if last_day < first_day:
        raise PermanenceError("--to doit être le même jour que --from ou après")
    if (last_day - first_day).days > MAX_CLOSURE_DAYS:
        raise PermanenceError(f"une fermeture dure au plus {MAX_CLOSURE_DAYS} jours ; sinon, désactivez la permanence")
    session = uow.session
    if permanence_id is not None and session.get(Permanence, permanence_id) is None:
        raise PermanenceError(f"pas de permanence n° {permanence_id} (voir : outreach permanence list)")
    if lieu_id is not None and session.get(Lieu, lieu_id) is None:
        raise PermanenceError(f"lieu inconnu {lieu_id!r}")
    now = clock.now()
    starts = dt.datetime.combine(first_day, dt.time(0, 0), tz).astimezone(dt.UTC)
    ends = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0, 0), tz).astimezone(dt.UTC)
    closure = Closure(
        permanence_id=permanence_id, lieu_id=lieu_id, starts_at=starts, ends_at=ends,
        reason=reason[:200], created_at=now,
    )
    session.add(closure)
    session.flush()
    session.add(AuditLog(at=now, actor=actor, action="closure_add", subject=f"closure:{closure.id}",
                         detail={"reason": reason[:200]}))
    query = select(Appointment.id).where(
        Appointment.status == AppointmentStatus.booked,
        col(Appointment.starts_at) < ends,
        col(Appointment.ends_at) > starts,
    )
    if permanence_id is not None:
        query = query.where(Appointment.permanence_id == permanence_id)
    else:
        ids = select(Permanence.id).where(Permanence.lieu_id == lieu_id)
        query = query.where(col(Appointment.permanence_id).in_(ids))
    affected = [i for i in session.exec(query).all() if i is not None]
    uow.commit()
    for appointment_id in affected:
        booking.cancel(uow, clock, appointment_id=appointment_id, by="staff", tz=tz)
    return ClosureOutcome(closure, affected)
