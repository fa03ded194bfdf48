"""Everything a resident gave is in their export and goes with their erasure: appointments too."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Appointment
from outreach.clock import FrozenClock
from outreach.seed import seed_demo
from outreach.services import booking, residents

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)


def test_appointments_are_exported_and_erased_with_the_resident(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
        view = residents.record_consent(
            uow, clock, telegram_user_id=7, chat_id=7, accepted=True, first_name="Fatou", language="fr"
        )
        residents.set_place(uow, view.id, commune_name="Dijon", quartier_id="gresilles")
        [slot] = booking.next_free_slots(uow, clock, territory_id="dijon", quartier_id="gresilles", limit=1, tz=TZ)
        booking.book(
            uow,
            clock,
            resident_id=view.id,
            permanence_id=slot.permanence_id,
            starts_at=slot.starts_at,
            topic="droits",
            tz=TZ,
        )
        [exported] = residents.export(uow, clock, view.id)["rendez_vous"]
        assert (exported["sujet"], exported["statut"]) == ("droits", "booked")
        residents.erase(uow, clock, view.id)
    with UnitOfWork(engine) as uow:
        assert uow.session.exec(select(Appointment)).all() == []
