"""Appointments with an adulte-relais: slots of the weekly permanences, the next free slots near the
resident, book / cancel / reschedule / mark, the resident's and the staff's agendas.

Slots come from the weekly hours minus closures, French public holidays, past times (and a short
notice) and full slots. No double booking, ever: each booked appointment holds one row of
`appointment_seat` whose UNIQUE (permanence_id, starts_at, seat_number) key, with seat_number <
capacity, lets the database refuse a second booking of the same seat on SQLite and PostgreSQL alike.
A refused booking (IntegrityError) rolls back and becomes `SlotTaken` with alternatives.

Every booking, cancel and reschedule writes in the same transaction its outbox rows (reminders 48 h
and 2 h before, notices to the adulte-relais), drops the reminders of a cancelled appointment, and
writes an `Event` for statistics. Each public function commits (or raises and leaves nothing).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.engine import UnitOfWork
from db.models import (
    Appointment,
    AppointmentChannel,
    AppointmentSeat,
    AppointmentStatus,
    Closure,
    Event,
    Lieu,
    Permanence,
    Quartier,
    Resident,
    Staff,
    StaffRole,
)
from outreach import booking_texts as texts
from outreach import i18n, outbox
from outreach.calendar import ics_filename, ics_for
from outreach.clock import Clock
from outreach.dates import TimeWish
from outreach.public_holidays import is_public_holiday

HORIZON = dt.timedelta(days=28)  # how far ahead slots are proposed
MIN_NOTICE = dt.timedelta(hours=1)  # no slot that starts sooner than this
RESIDENT_CANCEL_LIMIT = dt.timedelta(hours=4)  # later, a cancel is "late": the adulte-relais is told
REMINDER_EARLY = dt.timedelta(hours=48)
REMINDER_LATE = dt.timedelta(hours=2)
MAX_UPCOMING = 3  # booked appointments a resident may hold at once
TOPICS = tuple(texts.TOPICS)

KIND_REMINDER = "appointment_reminder"
KIND_REBOOK = "appointment_rebook"
KIND_STAFF = "staff_notice"
KIND_RESIDENT_NOTICE = "appointment_notice"

_T = TypeVar("_T")


# ---------------------------------------------------------------- errors


class BookingError(Exception):
    """A booking request that cannot be done as asked."""


class NotFound(BookingError):
    pass


class NotAllowed(BookingError):
    pass


class AlreadyBooked(BookingError):
    def __init__(self, appointment_id: int) -> None:
        super().__init__("the resident already has an appointment at that time")
        self.appointment_id = appointment_id


class SlotTaken(BookingError):
    """The slot is full (someone was faster) or not offered (closed, past...): here are other slots."""

    def __init__(self, alternatives: list[Slot], reason: str = "full") -> None:
        super().__init__(f"slot {reason}")
        self.alternatives = alternatives
        self.reason = reason  # full | unavailable


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Slot:
    permanence_id: int
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime
    lieu_id: str
    lieu_name: str
    quartier_id: str | None
    commune_insee: str
    territory_id: str
    staff_id: int
    relay: str  # the adulte-relais' first name
    capacity: int
    free: int
    proximity: int = 2  # 0: the resident's quartier, 1: same commune, 2: same territory

    def title(self, tz: ZoneInfo) -> str:
        return texts.slot_button_title(self.starts_at, self.lieu_name, tz)


@dataclass(frozen=True)
class AppointmentView:
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: AppointmentStatus
    channel: AppointmentChannel
    topic: str | None
    lieu_id: str
    lieu_name: str
    address: str
    relay: str
    staff_id: int
    permanence_id: int
    resident_id: int
    resident_name: str | None = None


@dataclass(frozen=True)
class CancelOutcome:
    appointment: Appointment
    late: bool  # by the resident, less than 4 h before: ask them to warn the adulte-relais by message
    relay: str
    staff_told: bool  # a notice to the adulte-relais is in the outbox
    already: bool = False  # it was cancelled before


@dataclass(frozen=True)
class RescheduleOutcome:
    appointment: Appointment  # the new one
    previous: Appointment
    late: bool


@dataclass(frozen=True)
class _Perm:
    permanence: Permanence
    lieu: Lieu
    staff: Staff


# ---------------------------------------------------------------- slots


def _load(
    session: Session, *, territory_id: str | None = None, permanence_ids: Sequence[int] | None = None
) -> list[_Perm]:
    query = (
        select(Permanence, Lieu, Staff)
        .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
        .join(Staff, col(Staff.id) == col(Permanence.staff_id))
        .where(col(Permanence.active).is_(True), col(Staff.active).is_(True), col(Staff.disabled_at).is_(None))
    )
    if territory_id is not None:
        query = query.where(Lieu.territory_id == territory_id)
    if permanence_ids is not None:
        query = query.where(col(Permanence.id).in_(list(permanence_ids)))
    return [_Perm(p, lieu, staff) for p, lieu, staff in session.exec(query.order_by(col(Permanence.id))).all()]


def _days(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[dt.date]:
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _generate(
    session: Session,
    perms: Sequence[_Perm],
    start: dt.datetime,
    end: dt.datetime,
    *,
    tz: ZoneInfo,
    include_full: bool = False,
) -> list[Slot]:
    """Slots of `perms` starting in [start, end), minus holidays, closures and (unless asked) full ones."""
    if not perms or end <= start:
        return []
    perm_ids = [p.permanence.id for p in perms]
    lieu_ids = sorted({p.lieu.id for p in perms})
    closures = session.exec(
        select(Closure).where(
            (col(Closure.permanence_id).in_(perm_ids)) | (col(Closure.lieu_id).in_(lieu_ids)),
            col(Closure.starts_at) < end + dt.timedelta(days=1),
            col(Closure.ends_at) > start,
        )
    ).all()
    taken: Counter[tuple[int, dt.datetime]] = Counter()
    seat_counts = session.exec(
        select(AppointmentSeat.permanence_id, AppointmentSeat.starts_at, func.count())
        .where(
            col(AppointmentSeat.permanence_id).in_(perm_ids),
            col(AppointmentSeat.starts_at) >= start,
            col(AppointmentSeat.starts_at) < end,
        )
        .group_by(col(AppointmentSeat.permanence_id), col(AppointmentSeat.starts_at))
    ).all()
    for permanence_id, starts_at, count in seat_counts:
        taken[(permanence_id, starts_at)] = count
    slots: list[Slot] = []
    days = _days(start, end, tz)
    for item in perms:
        perm, lieu = item.permanence, item.lieu
        assert perm.id is not None  # noqa: S101 - narrows the type, not a check
        own_closures = [c for c in closures if c.permanence_id == perm.id or c.lieu_id == lieu.id]
        step = dt.timedelta(minutes=perm.slot_minutes)
        for day in days:
            if day.weekday() != perm.weekday or is_public_holiday(day):
                continue
            moment = dt.datetime.combine(day, perm.start_time, tz)
            closing = dt.datetime.combine(day, perm.end_time, tz)
            while moment + step <= closing:
                slot_start = moment.astimezone(dt.UTC)
                slot_end = (moment + step).astimezone(dt.UTC)
                moment += step
                if not start <= slot_start < end:
                    continue
                if any(c.starts_at < slot_end and c.ends_at > slot_start for c in own_closures):
                    continue
                free = perm.capacity - taken[(perm.id, slot_start)]
                if free <= 0 and not include_full:
                    continue
                slots.append(
                    Slot(
                        permanence_id=perm.id,
                        starts_at=slot_start,
                        ends_at=slot_end,
                        lieu_id=lieu.id,
                        lieu_name=lieu.name,
                        quartier_id=lieu.quartier_id,
                        commune_insee=lieu.commune_insee,
                        territory_id=lieu.territory_id,
                        staff_id=item.staff.id or 0,
                        relay=item.staff.first_name,
                        capacity=perm.capacity,
                        free=max(0, free),
                    )
                )
    slots.sort(key=lambda s: (s.starts_at, s.permanence_id))
    return slots


def slots_for(
    uow: UnitOfWork,
    clock: Clock,
    permanence_id: int,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_full: bool = False,
    notice: dt.timedelta = MIN_NOTICE,
    tz: ZoneInfo,
) -> list[Slot]:
    """The bookable slots of one permanence between `start` (default now) and `end` (default 4 weeks)."""
    now = clock.now()
    perms = _load(uow.session, permanence_ids=[permanence_id])
    earliest = now + notice
    return _generate(
        uow.session, perms, max(start or earliest, earliest), end or now + HORIZON, tz=tz, include_full=include_full
    )


def _topic_ok(perm: Permanence, topic: str | None) -> bool:
    return not topic or not perm.topics or topic in perm.topics


def next_free_slots(
    uow: UnitOfWork,
    clock: Clock,
    *,
    territory_id: str | None,
    quartier_id: str | None,
    topic: str | None = None,
    wish: TimeWish | None = None,
    limit: int = 3,
    notice: dt.timedelta = MIN_NOTICE,
    tz: ZoneInfo,
) -> list[Slot]:
    """The first free slots for a resident: their quartier's permanences first, then the same commune,
    then the rest of the territory; earliest first within each. Without a wish, at most one slot per
    permanence and day comes first (3 choices on different days rather than 14 h, 14 h 30, 15 h).
    `wish` (from `outreach.dates.parse_wish`) keeps only the slots inside its window."""
    session = uow.session
    commune: str | None = None
    if quartier_id is not None:
        quartier = session.get(Quartier, quartier_id)
        if quartier is not None:
            commune = quartier.commune_insee
            territory_id = territory_id or quartier.territory_id
    if territory_id is None:
        raise ValueError("next_free_slots needs the resident's territory or quartier")
    perms = [p for p in _load(session, territory_id=territory_id) if _topic_ok(p.permanence, topic)]
    now = clock.now()
    start, end = now + notice, now + HORIZON
    if wish is not None:
        start, end = max(start, wish.start.astimezone(dt.UTC)), wish.end.astimezone(dt.UTC)
    found = _generate(session, perms, start, end, tz=tz)
    if wish is not None:
        found = [s for s in found if wish.contains(s.starts_at)]

    def proximity(slot: Slot) -> int:
        if quartier_id is not None and slot.quartier_id == quartier_id:
            return 0
        if commune is not None and slot.commune_insee == commune:
            return 1
        return 2

    ranked = sorted(
        (replace(s, proximity=proximity(s)) for s in found),
        key=lambda s: (s.proximity, s.starts_at, s.permanence_id),
    )
    if wish is not None:
        return ranked[:limit]
    chosen: list[Slot] = []
    seen: set[tuple[int, dt.date]] = set()
    for slot in ranked:
        day_key = (slot.permanence_id, slot.starts_at.astimezone(tz).date())
        if day_key not in seen:
            seen.add(day_key)
            chosen.append(slot)
        if len(chosen) == limit:
            return chosen
    for slot in ranked:
        if slot not in chosen:
            chosen.append(slot)
        if len(chosen) == limit:
            break
    return sorted(chosen, key=lambda s: (s.proximity, s.starts_at))


# ---------------------------------------------------------------- booking


def _offered(session: Session, item: _Perm, starts_at: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> Slot | None:
    """The slot of that permanence starting exactly at `starts_at`, if it is offered (full or not)."""
    if starts_at < now + MIN_NOTICE:
        return None
    for slot in _generate(session, [item], starts_at, starts_at + dt.timedelta(seconds=1), tz=tz, include_full=True):
        if slot.starts_at == starts_at:
            return slot
    return None


def _alternatives(uow: UnitOfWork, clock: Clock, resident: Resident | None, item: _Perm | None,
                  topic: str | None, tz: ZoneInfo) -> list[Slot]:
    territory = (resident.territory_id if resident else None) or (item.lieu.territory_id if item else None)
    quartier = (resident.quartier_id if resident else None) or (item.lieu.quartier_id if item else None)
    if territory is None and quartier is None:
        return []
    return next_free_slots(uow, clock, territory_id=territory, quartier_id=quartier, topic=topic, tz=tz)


def _retry_on_seat_conflict(uow: UnitOfWork, attempt: Callable[[], _T | None], tries: int) -> _T | None:
    """Run `attempt` (which writes and flushes); a seat taken meanwhile rolls back and tries again."""
    for _ in range(max(1, tries)):
        try:
            result = attempt()
        except _SeatConflict:
            uow.session.rollback()
            continue
        if result is None:
            uow.session.rollback()
        return result
    return None


class _SeatConflict(Exception):
    pass


def _used_seats(session: Session, permanence_id: int, starts_at: dt.datetime) -> set[int]:
    """Seats already taken (a hint to pick a free one: the UNIQUE key is what guarantees it)."""
    return set(
        session.exec(
            select(AppointmentSeat.seat_number).where(
                AppointmentSeat.permanence_id == permanence_id, AppointmentSeat.starts_at == starts_at
            )
        ).all()
    )


def _take_seat(session: Session, appointment: Appointment, perm: Permanence) -> bool:
    """Insert the seat row of a new appointment; False when no seat is left, _SeatConflict on a race."""
    assert appointment.id is not None and perm.id is not None  # noqa: S101 - narrows the type, not a check
    used = _used_seats(session, perm.id, appointment.starts_at)
    free = [n for n in range(perm.capacity) if n not in used]
    if not free:
        return False
    session.add(
        AppointmentSeat(
            appointment_id=appointment.id,
            permanence_id=perm.id,
            starts_at=appointment.starts_at,
            seat_number=free[0],
            capacity=perm.capacity,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise _SeatConflict from exc
    return True


def _check_resident(session: Session, resident_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
                    now: dt.datetime, *, ignore: int | None = None) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("no such resident")
    booked = session.exec(
        select(Appointment).where(
            Appointment.resident_id == resident_id,
            Appointment.status == AppointmentStatus.booked,
            col(Appointment.ends_at) > now,
        )
    ).all()
    booked = [a for a in booked if a.id != ignore]
    for other in booked:
        if other.starts_at < ends_at and other.ends_at > starts_at:
            assert other.id is not None  # noqa: S101 - narrows the type, not a check
            raise AlreadyBooked(other.id)
    if len(booked) >= MAX_UPCOMING:
        raise NotAllowed(f"at most {MAX_UPCOMING} appointments at once")
    return resident


def _new_appointment(session: Session, now: dt.datetime, resident: Resident, item: _Perm, starts_at: dt.datetime,
                     topic: str | None, channel: AppointmentChannel, notes: str | None,
                     replaces: int | None = None) -> Appointment | None:
    perm = item.permanence
    assert resident.id is not None and perm.id is not None  # noqa: S101 - narrows the type, not a check
    appointment = Appointment(
        resident_id=resident.id,
        permanence_id=perm.id,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=perm.slot_minutes),
        topic=topic,
        channel=channel,
        status=AppointmentStatus.booked,
        replaces_id=replaces,
        created_at=now,
        status_at=now,
        notes=notes,
    )
    session.add(appointment)
    session.flush()
    if not _take_seat(session, appointment, perm):
        return None
    return appointment


def _event(session: Session, now: dt.datetime, kind: str, resident: Resident | None, appointment: Appointment,
           item: _Perm, **data: object) -> None:
    session.add(
        Event(
            at=now,
            kind=kind,
            resident_id=resident.id if resident else appointment.resident_id,
            territory_id=(resident.territory_id if resident else None) or item.lieu.territory_id,
            quartier_id=resident.quartier_id if resident else None,
            data={
                "appointment_id": appointment.id,
                "permanence_id": appointment.permanence_id,
                "lieu_id": item.lieu.id,
                "staff_id": item.staff.id,
                "channel": str(appointment.channel),
                "topic": appointment.topic,
                **data,
            },
        )
    )


def _reminder_keys(appointment_id: int) -> list[str]:
    return [f"appt:{appointment_id}:r48", f"appt:{appointment_id}:r2"]


def _enqueue_reminders(uow: UnitOfWork, now: dt.datetime, appointment: Appointment, item: _Perm,
                       resident: Resident, tz: ZoneInfo) -> None:
    if resident.opted_out_at is not None or resident.unreachable_at is not None:
        return
    assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
    telephone = appointment.channel == AppointmentChannel.telephone
    common = {
        "chat_id": resident.chat_id,
        "kind": KIND_REMINDER,
        "resident_id": resident.id,
        "expires_at": appointment.starts_at,  # never sent late
        "now": now,
    }
    early, late = _reminder_keys(appointment.id)
    due = appointment.starts_at - REMINDER_EARLY
    if due > now + dt.timedelta(hours=1):  # booked less than ~2 days ahead: the confirmation is enough
        with i18n.speaking(resident.language):  # sent later, outside the resident's turn
            text = texts.reminder_48h(
                starts_at=appointment.starts_at, place=item.lieu.name, address=item.lieu.address,
                relay=item.staff.first_name, telephone=telephone, topic=appointment.topic, tz=tz,
            )
            buttons = texts.reminder_buttons(appointment.id)
        payload = {"text": text, "buttons": buttons, "appointment_id": appointment.id}
        outbox.enqueue(uow, key=early, payload=payload, due_at=due, **common)  # type: ignore[arg-type]
    due = appointment.starts_at - REMINDER_LATE
    if due > now:
        with i18n.speaking(resident.language):
            text = texts.reminder_2h(
                starts_at=appointment.starts_at, place=item.lieu.name, relay=item.staff.first_name,
                telephone=telephone, tz=tz,
            )
            buttons = texts.reminder_buttons(appointment.id)[:2]
        payload = {"text": text, "buttons": buttons, "appointment_id": appointment.id}
        outbox.enqueue(uow, key=late, payload=payload, due_at=due, **common)  # type: ignore[arg-type]


def _notify_staff(uow: UnitOfWork, now: dt.datetime, staff: Staff, key: str, text: str, appointment_id: int) -> bool:
    if staff.chat_id is None or not staff.active:
        return False  # not onboarded yet: the agenda still shows it
    return outbox.enqueue(
        uow, key=key, chat_id=staff.chat_id, kind=KIND_STAFF, staff_id=staff.id,
        payload={"text": text, "appointment_id": appointment_id}, due_at=now, now=now,
    )


def book(
    uow: UnitOfWork,
    clock: Clock,
    *,
    resident_id: int,
    permanence_id: int,
    starts_at: dt.datetime,
    topic: str | None = None,
    channel: AppointmentChannel | str = AppointmentChannel.permanence,
    notes: str | None = None,
    tz: ZoneInfo,
) -> Appointment:
    """Book the slot, with its reminders, the notice to the adulte-relais and an event, in one transaction.

    Raises SlotTaken (with alternatives) when the slot is full or not offered, AlreadyBooked when the
    resident has an appointment at that time, NotAllowed past MAX_UPCOMING, NotFound."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    starts_at = starts_at.astimezone(dt.UTC)
    channel = AppointmentChannel(channel)
    if topic is not None and topic not in texts.TOPICS:
        raise ValueError(f"unknown topic {topic!r} (one of {', '.join(TOPICS)})")
    session = uow.session
    now = clock.now()
    items = _load(session, permanence_ids=[permanence_id])
    if not items:
        raise NotFound("no such permanence (or it is closed)")
    item = items[0]
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("no such resident")
    slot = _offered(session, item, starts_at, now, tz)
    if slot is None or not _topic_ok(item.permanence, topic):
        raise SlotTaken(_alternatives(uow, clock, resident, item, topic, tz), reason="unavailable")
    _check_resident(session, resident_id, slot.starts_at, slot.ends_at, now)

    def attempt() -> Appointment | None:
        current = _load(session, permanence_ids=[permanence_id])[0]
        person = session.get(Resident, resident_id)
        assert person is not None  # noqa: S101 - narrows the type, not a check
        appointment = _new_appointment(session, now, person, current, starts_at, topic, channel, notes)
        if appointment is None:
            return None
        assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
        _enqueue_reminders(uow, now, appointment, current, person, tz)
        _notify_staff(
            uow, now, current.staff, f"appt:{appointment.id}:staff:booked",
            texts.staff_booked(starts_at=starts_at, place=current.lieu.name, resident=person.first_name,
                               topic=topic, telephone=channel == AppointmentChannel.telephone, tz=tz),
            appointment.id,
        )
        _event(session, now, "appointment_booked", person, appointment, current,
               lead_hours=round((starts_at - now).total_seconds() / 3600, 1))
        return appointment

    booked = _retry_on_seat_conflict(uow, attempt, tries=item.permanence.capacity)
    if booked is None:
        session.rollback()
        raise SlotTaken(_alternatives(uow, clock, session.get(Resident, resident_id), item, topic, tz), reason="full")
    uow.commit()
    return booked


def _owned(session: Session, appointment_id: int, resident_id: int | None) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or (resident_id is not None and appointment.resident_id != resident_id):
        raise NotFound("no such appointment")  # also for someone else's: a forged button says nothing
    return appointment


def _check_staff(session: Session, staff_id: int | None, item: _Perm) -> Staff | None:
    if staff_id is None:
        return None  # the CLI or the console (already authorised)
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise NotAllowed("unknown or disabled staff member")
    if staff.id == item.staff.id or staff.role == StaffRole.admin:
        return staff
    if staff.role == StaffRole.coordinator and staff.territory_id == item.lieu.territory_id:
        return staff
    raise NotAllowed("not this staff member's permanence")


def _release_seat(session: Session, appointment_id: int) -> None:
    session.execute(delete(AppointmentSeat).where(col(AppointmentSeat.appointment_id) == appointment_id))


def _cancel_rows(uow: UnitOfWork, now: dt.datetime, appointment: Appointment, *, by: str) -> None:
    assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
    appointment.status = AppointmentStatus.cancelled
    appointment.cancelled_by = by
    appointment.status_at = now
    uow.session.add(appointment)
    _release_seat(uow.session, appointment.id)
    outbox.cancel_pending(uow, _reminder_keys(appointment.id), reason="appointment cancelled")


def cancel(
    uow: UnitOfWork,
    clock: Clock,
    *,
    appointment_id: int,
    by: str,
    resident_id: int | None = None,
    staff_id: int | None = None,
    tz: ZoneInfo,
) -> CancelOutcome:
    """Cancel an appointment. A resident may cancel until it starts; less than 4 h before, the outcome
    says `late` (the adulte-relais is told, and the chat asks the resident to warn them by message).
    Staff may cancel anytime; the resident is then told and offered another slot."""
    if by not in ("resident", "staff"):
        raise ValueError("by is 'resident' or 'staff'")
    if by == "resident" and resident_id is None:
        raise ValueError("a resident's cancel needs resident_id")
    session = uow.session
    now = clock.now()
    appointment = _owned(session, appointment_id, resident_id if by == "resident" else None)
    item = _load_any(session, appointment.permanence_id)
    if by == "staff":
        _check_staff(session, staff_id, item)
    if appointment.status == AppointmentStatus.cancelled:
        return CancelOutcome(appointment, late=False, relay=item.staff.first_name, staff_told=False, already=True)
    if appointment.status != AppointmentStatus.booked:
        raise NotAllowed(f"appointment is {appointment.status}")
    if by == "resident" and appointment.starts_at <= now:
        raise NotAllowed("the appointment has started")
    late = by == "resident" and appointment.starts_at - now < RESIDENT_CANCEL_LIMIT
    resident = session.get(Resident, appointment.resident_id)
    _cancel_rows(uow, now, appointment, by=by)
    assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
    told = False
    if by == "resident":
        told = _notify_staff(
            uow, now, item.staff, f"appt:{appointment.id}:staff:cancelled",
            texts.staff_cancelled(starts_at=appointment.starts_at, place=item.lieu.name,
                                  resident=resident.first_name if resident else None, late=late, tz=tz),
            appointment.id,
        )
    elif resident is not None and resident.opted_out_at is None and resident.unreachable_at is None:
        with i18n.speaking(resident.language):  # a staff member's act: the resident's language, not the turn's
            notice = {
                "text": texts.cancelled_by_staff(starts_at=appointment.starts_at, relay=item.staff.first_name, tz=tz),
                "buttons": texts.rebook_buttons(appointment.id),
            }
        outbox.enqueue(
            uow, key=f"appt:{appointment.id}:resident:cancelled", chat_id=resident.chat_id,
            kind=KIND_RESIDENT_NOTICE, resident_id=resident.id, due_at=now, now=now, payload=notice,
        )
    _event(session, now, "appointment_cancelled", resident, appointment, item, by=by, late=late,
           hours_before=round((appointment.starts_at - now).total_seconds() / 3600, 1))
    uow.commit()
    return CancelOutcome(appointment, late=late, relay=item.staff.first_name, staff_told=told)


def _load_any(session: Session, permanence_id: int) -> _Perm:
    """A permanence with its place and staff, even if inactive (for existing appointments)."""
    row = session.exec(
        select(Permanence, Lieu, Staff)
        .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
        .join(Staff, col(Staff.id) == col(Permanence.staff_id))
        .where(Permanence.id == permanence_id)
    ).first()
    if row is None:
        raise NotFound("no such permanence")
    return _Perm(*row)


def reschedule(
    uow: UnitOfWork,
    clock: Clock,
    *,
    appointment_id: int,
    resident_id: int,
    permanence_id: int,
    starts_at: dt.datetime,
    topic: str | None = None,
    channel: AppointmentChannel | str | None = None,
    tz: ZoneInfo,
) -> RescheduleOutcome:
    """Move a resident's appointment: cancel + book in one transaction (the old slot is kept if the new one
    is taken: SlotTaken with alternatives)."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    starts_at = starts_at.astimezone(dt.UTC)
    session = uow.session
    now = clock.now()
    old = _owned(session, appointment_id, resident_id)
    if old.status != AppointmentStatus.booked:
        raise NotAllowed(f"appointment is {old.status}")
    if old.starts_at <= now:
        raise NotAllowed("the appointment has started")
    topic = topic if topic is not None else old.topic
    new_channel = AppointmentChannel(channel) if channel is not None else AppointmentChannel(old.channel)
    late = old.starts_at - now < RESIDENT_CANCEL_LIMIT
    items = _load(session, permanence_ids=[permanence_id])
    if not items:
        raise NotFound("no such permanence (or it is closed)")
    resident = session.get(Resident, resident_id)
    slot = _offered(session, items[0], starts_at, now, tz)
    if slot is None or not _topic_ok(items[0].permanence, topic):
        raise SlotTaken(_alternatives(uow, clock, resident, items[0], topic, tz), reason="unavailable")
    if old.permanence_id == permanence_id and old.starts_at == starts_at:
        return RescheduleOutcome(old, old, late=False)
    _check_resident(session, resident_id, slot.starts_at, slot.ends_at, now, ignore=appointment_id)

    def attempt() -> Appointment | None:
        previous = session.get(Appointment, appointment_id)
        person = session.get(Resident, resident_id)
        assert previous is not None and person is not None and previous.id is not None  # noqa: S101 - type narrowing
        before = _load_any(session, previous.permanence_id)
        current = _load(session, permanence_ids=[permanence_id])[0]
        _cancel_rows(uow, now, previous, by="resident")
        appointment = _new_appointment(
            session, now, person, current, starts_at, topic, new_channel, previous.notes, replaces=previous.id
        )
        if appointment is None:
            return None
        assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
        _enqueue_reminders(uow, now, appointment, current, person, tz)
        text = texts.staff_rescheduled(before=previous.starts_at, after=starts_at, place=current.lieu.name,
                                       resident=person.first_name, tz=tz)
        _notify_staff(uow, now, current.staff, f"appt:{appointment.id}:staff:rescheduled", text, appointment.id)
        if before.staff.id != current.staff.id:
            _notify_staff(
                uow, now, before.staff, f"appt:{previous.id}:staff:cancelled",
                texts.staff_cancelled(starts_at=previous.starts_at, place=before.lieu.name,
                                      resident=person.first_name, late=late, tz=tz),
                previous.id,
            )
        _event(session, now, "appointment_rescheduled", person, appointment, current, previous=previous.id, late=late,
               lead_hours=round((starts_at - now).total_seconds() / 3600, 1))
        return appointment

    new = _retry_on_seat_conflict(uow, attempt, tries=items[0].permanence.capacity)
    if new is None:
        session.rollback()
        raise SlotTaken(_alternatives(uow, clock, resident, items[0], topic, tz), reason="full")
    uow.commit()
    previous = session.get(Appointment, appointment_id)
    assert previous is not None  # noqa: S101 - narrows the type, not a check
    return RescheduleOutcome(new, previous, late=late)


MARKS = {AppointmentStatus.seen, AppointmentStatus.no_show, AppointmentStatus.excused}


def mark(
    uow: UnitOfWork,
    clock: Clock,
    *,
    appointment_id: int,
    status: AppointmentStatus | str,
    staff_id: int | None = None,
    notes: str | None = None,
    tz: ZoneInfo,
) -> Appointment:
    """Staff: the resident came (seen), did not come (no_show: one kind offer to rebook), or warned (excused)."""
    status = AppointmentStatus(status)
    if status not in MARKS:
        raise ValueError("status is seen, no_show or excused")
    session = uow.session
    now = clock.now()
    appointment = _owned(session, appointment_id, None)
    item = _load_any(session, appointment.permanence_id)
    _check_staff(session, staff_id, item)
    if appointment.status not in MARKS | {AppointmentStatus.booked}:
        raise NotAllowed(f"appointment is {appointment.status}")
    if status in (AppointmentStatus.seen, AppointmentStatus.no_show) and appointment.starts_at > now:
        raise NotAllowed("the appointment has not started yet")
    if appointment.status == status:
        return appointment
    assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
    before = AppointmentStatus(appointment.status)
    appointment.status, appointment.status_at = status, now
    if notes:
        appointment.notes = notes[:1000]
    session.add(appointment)
    resident = session.get(Resident, appointment.resident_id)
    rebook_key = f"appt:{appointment.id}:rebook"
    if status == AppointmentStatus.excused and appointment.starts_at > now:
        _release_seat(session, appointment.id)  # warned in advance: the slot is free again
        outbox.cancel_pending(uow, _reminder_keys(appointment.id), reason="excused")
    if before == AppointmentStatus.no_show:
        outbox.cancel_pending(uow, [rebook_key], reason="mark corrected")
    if status == AppointmentStatus.no_show and resident is not None and resident.opted_out_at is None:
        with i18n.speaking(resident.language):  # a staff member's act: the resident's language
            offer = {
                "text": texts.no_show_offer(starts_at=appointment.starts_at, tz=tz),
                "buttons": texts.rebook_buttons(appointment.id),
                "appointment_id": appointment.id,
            }
        outbox.enqueue(
            uow, key=rebook_key, chat_id=resident.chat_id, kind=KIND_REBOOK, resident_id=resident.id,
            due_at=max(now, appointment.ends_at + dt.timedelta(hours=1)), now=now, payload=offer,
        )
    _event(session, now, f"appointment_{status.value}", resident, appointment, item, previous_status=before.value)
    uow.commit()
    return appointment


def confirm(uow: UnitOfWork, clock: Clock, *, appointment_id: int, resident_id: int) -> Appointment:
    """The resident pressed "Je viens" on a reminder (an event for statistics; nothing else changes)."""
    session = uow.session
    appointment = _owned(session, appointment_id, resident_id)
    if appointment.status != AppointmentStatus.booked:
        raise NotAllowed(f"appointment is {appointment.status}")
    item = _load_any(session, appointment.permanence_id)
    _event(session, clock.now(), "appointment_confirmed", session.get(Resident, resident_id), appointment, item)
    uow.commit()
    return appointment


# ---------------------------------------------------------------- reading


def _views(session: Session, query: object) -> list[AppointmentView]:
    out = []
    for appointment, lieu, staff, resident_name in session.exec(query).all():  # type: ignore[call-overload]
        out.append(
            AppointmentView(
                id=appointment.id,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                status=AppointmentStatus(appointment.status),
                channel=AppointmentChannel(appointment.channel),
                topic=appointment.topic,
                lieu_id=lieu.id,
                lieu_name=lieu.name,
                address=lieu.address,
                relay=staff.first_name,
                staff_id=staff.id,
                permanence_id=appointment.permanence_id,
                resident_id=appointment.resident_id,
                resident_name=resident_name,
            )
        )
    return out


def _base_query():  # type: ignore[no-untyped-def]
    return (
        select(Appointment, Lieu, Staff, Resident.first_name)
        .join(Permanence, col(Permanence.id) == col(Appointment.permanence_id))
        .join(Lieu, col(Lieu.id) == col(Permanence.lieu_id))
        .join(Staff, col(Staff.id) == col(Permanence.staff_id))
        .join(Resident, col(Resident.id) == col(Appointment.resident_id))
    )


def upcoming(uow: UnitOfWork, clock: Clock, resident_id: int) -> list[AppointmentView]:
    """The resident's booked appointments that have not ended, soonest first."""
    query = (
        _base_query()
        .where(
            Appointment.resident_id == resident_id,
            Appointment.status == AppointmentStatus.booked,
            col(Appointment.ends_at) > clock.now(),
        )
        .order_by(col(Appointment.starts_at))
    )
    return _views(uow.session, query)


def staff_agenda(
    uow: UnitOfWork, clock: Clock, staff_id: int, day: dt.date, *, tz: ZoneInfo
) -> list[AppointmentView]:
    """One local day of an adulte-relais' appointments (not the cancelled ones), in time order."""
    start = dt.datetime.combine(day, dt.time(0, 0), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tz).astimezone(dt.UTC)
    query = (
        _base_query()
        .where(
            Permanence.staff_id == staff_id,
            Appointment.status != AppointmentStatus.cancelled,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
        )
        .order_by(col(Appointment.starts_at), col(Appointment.id))
    )
    return _views(uow.session, query)


def calendar_file(uow: UnitOfWork, appointment_id: int, resident_id: int, *, tz: ZoneInfo) -> tuple[str, bytes]:
    """(filename, .ics bytes) of the resident's appointment, to send with the confirmation."""
    appointment = _owned(uow.session, appointment_id, resident_id)
    item = _load_any(uow.session, appointment.permanence_id)
    data = ics_for(appointment, item.lieu, item.permanence, relay=item.staff.first_name, tz=tz)
    return ics_filename(appointment, tz), data


# ---------------------------------------------------------------- dispatcher guard


def reminder_guard(session: Session, rows: Sequence[outbox.OutboxRow], now: dt.datetime) -> dict[int, str]:
    """At send time: no reminder for an appointment that is no longer booked; no rebook offer once
    the resident has booked again."""
    reminders = [r for r in rows if r.kind == KIND_REMINDER and r.payload.get("appointment_id")]
    rebooks = [r for r in rows if r.kind == KIND_REBOOK]
    reasons: dict[int, str] = {}
    if reminders:
        ids = {int(r.payload["appointment_id"]) for r in reminders}
        states = dict(
            session.exec(select(Appointment.id, Appointment.status).where(col(Appointment.id).in_(ids))).all()
        )
        for row in reminders:
            state = states.get(int(row.payload["appointment_id"]))
            if state != AppointmentStatus.booked:
                reasons[row.id] = f"appointment {state or 'gone'}"
    if rebooks:
        residents = {r.resident_id for r in rebooks if r.resident_id is not None}
        again = set(
            session.exec(
                select(Appointment.resident_id).where(
                    col(Appointment.resident_id).in_(residents),
                    Appointment.status == AppointmentStatus.booked,
                    col(Appointment.ends_at) > now,
                )
            ).all()
        )
        for row in rebooks:
            if row.resident_id in again:
                reasons[row.id] = "booked again"
    return reasons
