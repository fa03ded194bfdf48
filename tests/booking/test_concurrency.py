"""No double booking, ever: 20 residents take the same 1-place slot at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from db.engine import UnitOfWork
from db.models import Appointment, AppointmentSeat, AppointmentStatus, Event
from outreach.clock import FrozenClock
from outreach.services import booking
from tests.booking.conftest import GRESILLES, add_resident, by_key, paris, permanence

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)

RACERS = 20


@pytest.mark.parametrize("check", ["with the read check", "database constraint alone"])
def test_twenty_concurrent_bookings_of_a_one_place_slot_give_one_booking(
    seeded: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, check: str
) -> None:
    conflicts: list[int] = []
    take_seat = booking._take_seat

    def counting(*args: object) -> bool:
        try:
            return take_seat(*args)  # type: ignore[arg-type]
        except booking._SeatConflict:
            conflicts.append(1)  # the UNIQUE key refused it: IntegrityError, rolled back
            raise

    monkeypatch.setattr(booking, "_take_seat", counting)
    if check == "database constraint alone":  # the application believes every seat is free
        monkeypatch.setattr(booking, "_used_seats", lambda *args: set())
    slot = paris(2026, 12, 1, 14)
    perm = permanence(seeded, GRESILLES, 1)
    assert perm.capacity == 1
    people = [add_resident(seeded, clock, first_name=f"R{i}") for i in range(RACERS)]
    start = threading.Barrier(RACERS)

    def race(resident_id: int) -> object:
        with UnitOfWork(seeded) as uow:  # each thread its own session and connection
            start.wait(timeout=30)
            try:
                return booking.book(uow, clock, resident_id=resident_id, permanence_id=perm.id, starts_at=slot, tz=TZ)
            except booking.SlotTaken as taken:
                return taken

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(race, people))

    won = [o for o in outcomes if isinstance(o, Appointment)]
    lost = [o for o in outcomes if isinstance(o, booking.SlotTaken)]
    assert len(won) == 1 and len(lost) == RACERS - 1
    assert all(t.reason == "full" and len(t.alternatives) == 3 for t in lost)
    assert all(s.starts_at != won[0].starts_at or s.permanence_id != perm.id for t in lost for s in t.alternatives)
    if check == "database constraint alone":
        assert len(conflicts) == RACERS - 1
    with UnitOfWork(seeded) as uow:
        assert uow.session.exec(select(func.count()).select_from(AppointmentSeat)).one() == 1
        booked = uow.session.exec(select(Appointment).where(Appointment.status == AppointmentStatus.booked)).all()
        assert [a.id for a in booked] == [won[0].id]
        assert uow.session.exec(select(func.count()).select_from(Event)).one() == 1
    keys = by_key(seeded)
    assert len(keys) == 3 and all(k.startswith(f"appt:{won[0].id}:") for k in keys)  # the losers wrote nothing
