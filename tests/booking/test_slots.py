"""Slots: weekly hours cut by slot length, minus closures, public holidays, past times and full slots;
the next free slots near the resident first."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import Closure
from outreach.clock import FrozenClock
from outreach.dates import parse_wish
from outreach.services import booking
from tests.booking.conftest import FONTAINE, GRESILLES, MAIL, PARIS, add_resident, paris, permanence

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)


def _local(slots: list[booking.Slot]) -> list[str]:
    return [s.starts_at.astimezone(PARIS).strftime("%a %d %H:%M") for s in slots]


class TestSlotGeneration:
    def test_weekly_hours_are_cut_into_slots_of_the_given_length(self, seeded: Engine, clock: FrozenClock) -> None:
        tuesday = permanence(seeded, GRESILLES, 1)  # 14h-17h, 30 min
        with UnitOfWork(seeded) as uow:
            slots = booking.slots_for(uow, clock, tuesday.id, start=paris(2026, 12, 1), end=paris(2026, 12, 2), tz=TZ)
        assert _local(slots) == [f"Tue 01 {h}" for h in ("14:00", "14:30", "15:00", "15:30", "16:00", "16:30")]
        assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=30) for s in slots)
        assert {s.relay for s in slots} == {"Samia"} and {s.free for s in slots} == {1}

    def test_a_slot_that_would_end_after_closing_time_is_not_offered(self, seeded: Engine, clock: FrozenClock) -> None:
        friday = permanence(seeded, MAIL, 4)  # 9h-11h, 20 min slots
        with UnitOfWork(seeded) as uow:
            slots = booking.slots_for(uow, clock, friday.id, start=paris(2026, 11, 27), end=paris(2026, 11, 28), tz=TZ)
        assert _local(slots) == [f"Fri 27 {h}" for h in ("09:00", "09:20", "09:40", "10:00", "10:20", "10:40")]

    def test_capacity_is_the_number_of_residents_per_slot(self, seeded: Engine, clock: FrozenClock) -> None:
        friday = permanence(seeded, FONTAINE, 4)  # capacity 2
        at = paris(2026, 11, 27, 14)
        for name in ("Amina", "Karim"):
            resident = add_resident(seeded, clock, first_name=name)
            with UnitOfWork(seeded) as uow:
                booking.book(uow, clock, resident_id=resident, permanence_id=friday.id, starts_at=at, tz=TZ)
            with UnitOfWork(seeded) as uow:
                slots = booking.slots_for(
                    uow, clock, friday.id, start=at, end=at + dt.timedelta(minutes=1), include_full=True, tz=TZ
                )
            assert slots[0].free == (1 if name == "Amina" else 0)
        with UnitOfWork(seeded) as uow:
            free = booking.slots_for(uow, clock, friday.id, start=paris(2026, 11, 27), end=paris(2026, 11, 28), tz=TZ)
        assert "Fri 27 14:00" not in _local(free) and "Fri 27 14:30" in _local(free)

    def test_closures_of_the_permanence_or_of_the_place_remove_slots(self, seeded: Engine, clock: FrozenClock) -> None:
        tuesday = permanence(seeded, GRESILLES, 1)
        thursday = permanence(seeded, GRESILLES, 3)
        with UnitOfWork(seeded) as uow:
            uow.session.add(
                Closure(
                    permanence_id=tuesday.id,
                    starts_at=paris(2026, 12, 1, 15),
                    ends_at=paris(2026, 12, 1, 16),
                    reason="réunion",
                    created_at=clock.now(),
                )
            )
            uow.session.add(
                Closure(
                    lieu_id=GRESILLES,
                    starts_at=paris(2026, 12, 3),
                    ends_at=paris(2026, 12, 4),
                    reason="travaux",
                    created_at=clock.now(),
                )
            )
            uow.commit()
        with UnitOfWork(seeded) as uow:
            tue = booking.slots_for(uow, clock, tuesday.id, start=paris(2026, 12, 1), end=paris(2026, 12, 2), tz=TZ)
            thu = booking.slots_for(uow, clock, thursday.id, start=paris(2026, 12, 3), end=paris(2026, 12, 4), tz=TZ)
            next_thu = booking.slots_for(
                uow, clock, thursday.id, start=paris(2026, 12, 10), end=paris(2026, 12, 11), tz=TZ
            )
        assert _local(tue) == ["Tue 01 14:00", "Tue 01 14:30", "Tue 01 16:00", "Tue 01 16:30"]
        assert thu == [] and len(next_thu) == 5

    def test_no_slot_on_a_french_public_holiday(self, seeded: Engine, clock: FrozenClock) -> None:
        clock.set(paris(2026, 12, 14, 10))
        friday = permanence(seeded, FONTAINE, 4)
        with UnitOfWork(seeded) as uow:
            slots = booking.slots_for(uow, clock, friday.id, start=paris(2026, 12, 18), end=paris(2027, 1, 9), tz=TZ)
        days = sorted({s.starts_at.astimezone(PARIS).date() for s in slots})
        assert days == [dt.date(2026, 12, 18), dt.date(2027, 1, 8)]  # not Noël (25/12), not le jour de l'an

    def test_past_slots_and_slots_too_soon_are_not_offered(self, seeded: Engine, clock: FrozenClock) -> None:
        clock.set(paris(2026, 11, 24, 15, 10))  # a Tuesday, during the permanence
        tuesday = permanence(seeded, GRESILLES, 1)
        with UnitOfWork(seeded) as uow:
            slots = booking.slots_for(uow, clock, tuesday.id, end=paris(2026, 11, 25), tz=TZ)
        assert _local(slots) == ["Tue 24 16:30"]  # one hour of notice at least


class TestNextFreeSlots:
    def test_the_residents_own_quartier_comes_first_then_the_commune_then_the_territory(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        with UnitOfWork(seeded) as uow:
            slots = booking.next_free_slots(uow, clock, territory_id="dijon", quartier_id="gresilles", limit=40, tz=TZ)
        proximities = [s.proximity for s in slots]
        assert proximities == sorted(proximities) and proximities[0] == 0 and {0, 1, 2} <= set(proximities)
        assert {s.lieu_id for s in slots if s.proximity == 0} == {GRESILLES}
        assert {s.lieu_id for s in slots if s.proximity == 1} == {FONTAINE}  # same commune (Dijon)
        assert all(s.territory_id == "dijon" for s in slots)  # never Troyes

    def test_three_choices_on_different_days_rather_than_back_to_back(self, seeded: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(seeded) as uow:
            slots = booking.next_free_slots(uow, clock, territory_id="dijon", quartier_id="le_mail", tz=TZ)
        assert len(slots) == 3 and {s.lieu_id for s in slots} == {MAIL}
        assert len({s.starts_at.astimezone(PARIS).date() for s in slots}) == 3
        assert slots == sorted(slots, key=lambda s: s.starts_at)

    def test_a_full_quartier_sends_the_resident_to_the_next_place(self, seeded: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(seeded) as uow:
            for lieu in ("chenove-le-mail",):
                uow.session.add(
                    Closure(
                        lieu_id=lieu,
                        starts_at=clock.now(),
                        ends_at=clock.now() + dt.timedelta(days=60),
                        reason="fermé",
                        created_at=clock.now(),
                    )
                )
            uow.commit()
        with UnitOfWork(seeded) as uow:
            slots = booking.next_free_slots(uow, clock, territory_id=None, quartier_id="le_mail", tz=TZ)
        assert slots and all(s.proximity == 2 and s.territory_id == "dijon" for s in slots)

    def test_a_wish_in_words_keeps_only_the_slots_inside_it(self, seeded: Engine, clock: FrozenClock) -> None:
        wish = parse_wish("mardi aprem", clock.now(), PARIS)
        assert wish is not None
        with UnitOfWork(seeded) as uow:
            slots = booking.next_free_slots(uow, clock, territory_id="dijon", quartier_id="gresilles", wish=wish, tz=TZ)
        assert _local(slots) == ["Tue 01 14:00", "Tue 01 14:30", "Tue 01 15:00"]

    def test_a_topic_keeps_only_the_permanences_that_take_it(self, seeded: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(seeded) as uow:
            slots = booking.next_free_slots(
                uow, clock, territory_id="troyes", quartier_id="chartreux", topic="langue", limit=10, tz=TZ
            )
        assert slots and all(s.relay == "Inès" for s in slots)
        with UnitOfWork(seeded) as uow:
            thursday_numerique = booking.next_free_slots(
                uow, clock, territory_id="dijon", quartier_id="gresilles", topic="mobilite", limit=50, tz=TZ
            )
        thursday = permanence(seeded, GRESILLES, 3)  # droits, numerique, sante only
        assert all(s.permanence_id != thursday.id for s in thursday_numerique)
