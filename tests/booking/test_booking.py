"""Book, cancel, reschedule, mark: every change writes its outbox rows and its event in one transaction."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Appointment, AppointmentSeat, AppointmentStatus, Event, OutboxStatus
from outreach import booking_texts
from outreach.clock import FrozenClock
from outreach.services import booking, residents
from tests.booking.conftest import (
    FONTAINE,
    GRESILLES,
    PARIS,
    STAFF_CHATS,
    add_resident,
    by_key,
    outbox_rows,
    paris,
    permanence,
    staff_id,
)

TUESDAY_2PM = paris(2026, 12, 1, 14)  # Samia, Grésilles


def _book(
    engine: Engine, clock: FrozenClock, resident: int, at: dt.datetime = TUESDAY_2PM, **kw: object
) -> Appointment:
    perm = permanence(engine, GRESILLES, 1) if "permanence_id" not in kw else None
    kw.setdefault("permanence_id", perm.id if perm else None)
    with UnitOfWork(engine) as uow:
        return booking.book(uow, clock, resident_id=resident, starts_at=at, tz=PARIS, **kw)  # type: ignore[arg-type]


def _events(engine: Engine) -> list[str]:
    with UnitOfWork(engine) as uow:
        return [e.kind for e in uow.session.exec(select(Event).order_by(Event.id)).all()]  # type: ignore[arg-type]


class TestBook:
    def test_booking_writes_reminders_a_notice_to_the_relay_and_an_event(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        amina = add_resident(seeded, clock, first_name="Amina")
        appointment = _book(seeded, clock, amina, topic="droits")
        rows = by_key(seeded)
        early, late = rows[f"appt:{appointment.id}:r48"], rows[f"appt:{appointment.id}:r2"]
        assert early.due_at == TUESDAY_2PM - dt.timedelta(hours=48) and early.expires_at == TUESDAY_2PM
        assert late.due_at == TUESDAY_2PM - dt.timedelta(hours=2) and late.expires_at == TUESDAY_2PM
        assert early.payload["buttons"] == [
            ["Je viens", f"r:come:{appointment.id}"],
            ["Annuler", f"r:cancel:{appointment.id}"],
            ["Changer", f"r:change:{appointment.id}"],
        ]
        assert "mardi 1er décembre à 14 h" in early.payload["text"] and "Samia" in early.payload["text"]
        notice = rows[f"appt:{appointment.id}:staff:booked"]
        assert notice.chat_id == STAFF_CHATS["Samia"] and "Amina" in notice.payload["text"]
        assert _events(seeded) == ["appointment_booked"]
        assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=30)

    def test_no_48h_reminder_when_booked_less_than_two_days_ahead(self, seeded: Engine, clock: FrozenClock) -> None:
        clock.set(paris(2026, 11, 30, 10))
        appointment = _book(seeded, clock, add_resident(seeded, clock))
        keys = set(by_key(seeded))
        assert f"appt:{appointment.id}:r2" in keys and f"appt:{appointment.id}:r48" not in keys

    def test_a_taken_slot_raises_with_alternatives_and_writes_nothing(self, seeded: Engine, clock: FrozenClock) -> None:
        _book(seeded, clock, add_resident(seeded, clock))
        before = len(outbox_rows(seeded))
        with pytest.raises(booking.SlotTaken) as taken:
            _book(seeded, clock, add_resident(seeded, clock, first_name="Karim"))
        assert taken.value.reason == "full" and len(taken.value.alternatives) == 3
        assert all(s.starts_at != TUESDAY_2PM.astimezone(dt.UTC) for s in taken.value.alternatives)
        assert len(outbox_rows(seeded)) == before and _events(seeded) == ["appointment_booked"]

    def test_the_database_itself_refuses_a_second_booking_of_a_seat(self, seeded: Engine, clock: FrozenClock) -> None:
        appointment = _book(seeded, clock, add_resident(seeded, clock))
        other = add_resident(seeded, clock, first_name="Karim")
        with UnitOfWork(seeded) as uow:
            twin = Appointment(
                resident_id=other,
                permanence_id=appointment.permanence_id,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                created_at=clock.now(),
                status_at=clock.now(),
            )
            uow.session.add(twin)
            uow.session.flush()
            uow.session.add(
                AppointmentSeat(
                    appointment_id=twin.id,
                    permanence_id=appointment.permanence_id,
                    starts_at=appointment.starts_at,
                    seat_number=0,
                    capacity=1,
                )
            )
            with pytest.raises(IntegrityError):
                uow.session.flush()
        with UnitOfWork(seeded) as uow:  # and a seat beyond the capacity
            twin = Appointment(
                resident_id=other,
                permanence_id=appointment.permanence_id,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                created_at=clock.now(),
                status_at=clock.now(),
            )
            uow.session.add(twin)
            uow.session.flush()
            uow.session.add(
                AppointmentSeat(
                    appointment_id=twin.id,
                    permanence_id=appointment.permanence_id,
                    starts_at=appointment.starts_at,
                    seat_number=1,
                    capacity=1,
                )
            )
            with pytest.raises(IntegrityError):
                uow.session.flush()

    def test_a_slot_not_offered_is_refused_with_alternatives(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        for wrong in (
            paris(2026, 12, 1, 14, 10),
            paris(2026, 12, 2, 14),
            paris(2026, 11, 24, 11, 30),
            paris(2026, 12, 1, 17),
        ):
            with pytest.raises(booking.SlotTaken) as refused:
                _book(seeded, clock, resident, at=wrong)
            assert refused.value.reason == "unavailable" and refused.value.alternatives

    def test_the_same_resident_cannot_hold_two_appointments_at_once(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        first = _book(
            seeded, clock, resident, at=paris(2026, 11, 27, 14), permanence_id=permanence(seeded, FONTAINE, 4).id
        )
        with pytest.raises(booking.AlreadyBooked) as clash:
            _book(seeded, clock, resident, at=paris(2026, 11, 27, 14), permanence_id=permanence(seeded, FONTAINE, 4).id)
        assert clash.value.appointment_id == first.id

    def test_an_opted_out_resident_gets_no_reminders_but_the_relay_is_told(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        with UnitOfWork(seeded) as uow:
            residents.opt_out(uow, clock, resident)
        appointment = _book(seeded, clock, resident)
        assert set(by_key(seeded)) == {f"appt:{appointment.id}:staff:booked"}


class TestCancel:
    def test_cancel_more_than_4h_before_frees_the_slot_and_drops_the_reminders(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        appointment = _book(seeded, clock, resident)
        clock.set(paris(2026, 11, 30, 18))
        with UnitOfWork(seeded) as uow:
            outcome = booking.cancel(
                uow, clock, appointment_id=appointment.id, by="resident", resident_id=resident, tz=PARIS
            )
        assert not outcome.late and outcome.staff_told
        rows = by_key(seeded)
        assert rows[f"appt:{appointment.id}:r48"].status == OutboxStatus.dropped
        assert rows[f"appt:{appointment.id}:r2"].status == OutboxStatus.dropped
        assert "Le créneau est de nouveau libre" in rows[f"appt:{appointment.id}:staff:cancelled"].payload["text"]
        _book(seeded, clock, add_resident(seeded, clock, first_name="Karim"))  # the slot is free again
        assert _events(seeded) == ["appointment_booked", "appointment_cancelled", "appointment_booked"]

    def test_cancel_less_than_4h_before_is_allowed_but_late(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        appointment = _book(seeded, clock, resident)
        clock.set(paris(2026, 12, 1, 11))
        with UnitOfWork(seeded) as uow:
            outcome = booking.cancel(
                uow, clock, appointment_id=appointment.id, by="resident", resident_id=resident, tz=PARIS
            )
        assert outcome.late and outcome.relay == "Samia"
        assert "Annulation tardive" in by_key(seeded)[f"appt:{appointment.id}:staff:cancelled"].payload["text"]
        text = booking_texts.cancelled_late(starts_at=appointment.starts_at, relay=outcome.relay, tz=PARIS)
        assert "laisser un message" in text

    def test_a_resident_cannot_cancel_once_it_started_nor_someone_elses(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident, other = add_resident(seeded, clock), add_resident(seeded, clock, first_name="Karim")
        appointment = _book(seeded, clock, resident)
        with UnitOfWork(seeded) as uow, pytest.raises(booking.NotFound):
            booking.cancel(uow, clock, appointment_id=appointment.id, by="resident", resident_id=other, tz=PARIS)
        clock.set(paris(2026, 12, 1, 14, 5))
        with UnitOfWork(seeded) as uow, pytest.raises(booking.NotAllowed):
            booking.cancel(uow, clock, appointment_id=appointment.id, by="resident", resident_id=resident, tz=PARIS)

    def test_staff_may_cancel_anytime_and_the_resident_is_offered_another_slot(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        appointment = _book(seeded, clock, resident)
        clock.set(paris(2026, 12, 1, 13, 30))
        with UnitOfWork(seeded) as uow:
            outcome = booking.cancel(
                uow, clock, appointment_id=appointment.id, by="staff", staff_id=staff_id(seeded, "Samia"), tz=PARIS
            )
        assert not outcome.late
        notice = by_key(seeded)[f"appt:{appointment.id}:resident:cancelled"]
        assert notice.payload["buttons"][0] == ["Choisir un autre moment", f"r:rebook:{appointment.id}"]
        with UnitOfWork(seeded) as uow, pytest.raises(booking.NotAllowed):  # not Inès' permanence
            booking.cancel(
                uow,
                clock,
                appointment_id=_book(seeded, FrozenClock(paris(2026, 11, 24, 11)), resident).id,
                by="staff",
                staff_id=staff_id(seeded, "Inès"),
                tz=PARIS,
            )


class TestReschedule:
    def test_reschedule_moves_the_seat_and_the_reminders_in_one_go(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        old = _book(seeded, clock, resident)
        with UnitOfWork(seeded) as uow:
            moved = booking.reschedule(
                uow,
                clock,
                appointment_id=old.id,
                resident_id=resident,
                permanence_id=old.permanence_id,
                starts_at=paris(2026, 12, 8, 15),
                tz=PARIS,
            )
        assert moved.previous.status == AppointmentStatus.cancelled and moved.appointment.replaces_id == old.id
        rows = by_key(seeded)
        assert rows[f"appt:{old.id}:r48"].status == OutboxStatus.dropped
        assert rows[f"appt:{moved.appointment.id}:r48"].status == OutboxStatus.pending
        assert "a déplacé son rendez-vous" in rows[f"appt:{moved.appointment.id}:staff:rescheduled"].payload["text"]
        with UnitOfWork(seeded) as uow:
            seats = uow.session.exec(select(AppointmentSeat)).all()
        assert [s.appointment_id for s in seats] == [moved.appointment.id]
        assert _events(seeded)[-1] == "appointment_rescheduled"

    def test_a_taken_target_keeps_the_old_appointment(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        old = _book(seeded, clock, resident)
        _book(seeded, clock, add_resident(seeded, clock, first_name="Karim"), at=paris(2026, 12, 8, 15))
        with UnitOfWork(seeded) as uow, pytest.raises(booking.SlotTaken) as taken:
            booking.reschedule(
                uow,
                clock,
                appointment_id=old.id,
                resident_id=resident,
                permanence_id=old.permanence_id,
                starts_at=paris(2026, 12, 8, 15),
                tz=PARIS,
            )
        assert taken.value.alternatives
        with UnitOfWork(seeded) as uow:
            assert uow.session.get(Appointment, old.id).status == AppointmentStatus.booked  # type: ignore[union-attr]
        assert by_key(seeded)[f"appt:{old.id}:r48"].status == OutboxStatus.pending


class TestMarks:
    def test_seen_and_excused_are_recorded_for_statistics(self, seeded: Engine, clock: FrozenClock) -> None:
        first, second = add_resident(seeded, clock), add_resident(seeded, clock, first_name="Karim")
        seen = _book(seeded, clock, first)
        excused = _book(seeded, clock, second, at=paris(2026, 12, 1, 15))
        with UnitOfWork(seeded) as uow:
            booking.mark(
                uow, clock, appointment_id=excused.id, status="excused", staff_id=staff_id(seeded, "Samia"), tz=PARIS
            )
        assert by_key(seeded)[f"appt:{excused.id}:r2"].status == OutboxStatus.dropped  # warned ahead: slot free
        with UnitOfWork(seeded) as uow, pytest.raises(booking.NotAllowed):
            booking.mark(uow, clock, appointment_id=seen.id, status="seen", tz=PARIS)  # not started yet
        clock.set(paris(2026, 12, 1, 14, 40))
        with UnitOfWork(seeded) as uow:
            booking.mark(uow, clock, appointment_id=seen.id, status="seen", notes="dossier CAF commencé", tz=PARIS)
        assert _events(seeded)[-2:] == ["appointment_excused", "appointment_seen"]

    def test_a_no_show_gets_one_kind_offer_to_rebook(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        appointment = _book(seeded, clock, resident)
        clock.set(paris(2026, 12, 1, 16))
        for _ in range(2):
            with UnitOfWork(seeded) as uow:
                booking.mark(uow, clock, appointment_id=appointment.id, status="no_show", tz=PARIS)
        offers = [r for r in outbox_rows(seeded) if r.kind == booking.KIND_REBOOK]
        assert len(offers) == 1 and "Ce n'est pas grave" in offers[0].payload["text"]
        assert offers[0].payload["buttons"][0][1] == f"r:rebook:{appointment.id}"
        assert _events(seeded).count("appointment_no_show") == 1


class TestReading:
    def test_upcoming_and_the_staff_agenda(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock, first_name="Amina")
        appointment = _book(seeded, clock, resident, topic="logement")
        with UnitOfWork(seeded) as uow:
            mine = booking.upcoming(uow, clock, resident)
            agenda = booking.staff_agenda(uow, clock, staff_id(seeded, "Samia"), dt.date(2026, 12, 1), tz=PARIS)
            nobody = booking.staff_agenda(uow, clock, staff_id(seeded, "Yannick"), dt.date(2026, 12, 1), tz=PARIS)
        assert [a.id for a in mine] == [appointment.id] and mine[0].relay == "Samia"
        assert [(a.id, a.resident_name) for a in agenda] == [(appointment.id, "Amina")] and nobody == []

    def test_the_calendar_file_has_the_place_time_zone_and_what_to_bring(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        appointment = _book(seeded, clock, resident, topic="droits")
        with UnitOfWork(seeded) as uow:
            filename, data = booking.calendar_file(uow, appointment.id, resident, tz=PARIS)
        assert filename == "rendez-vous-2026-12-01-14h00.ics"
        calendar = icalendar.Calendar.from_ical(data)
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]).startswith(f"appointment-{appointment.id}-")
        assert event.decoded("DTSTART") == TUESDAY_2PM and event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event.decoded("DTEND") == TUESDAY_2PM + dt.timedelta(minutes=30)
        assert "Centre social des Grésilles" in str(event["LOCATION"])
        assert "numéro CAF" in str(event["DESCRIPTION"]) and "Samia" in str(event["SUMMARY"])
        assert calendar.walk("VTIMEZONE")

    def test_erasing_the_resident_deletes_appointments_and_frees_seats(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        _book(seeded, clock, resident)
        with UnitOfWork(seeded) as uow:
            residents.erase(uow, clock, resident)
        with UnitOfWork(seeded) as uow:
            assert uow.session.exec(select(Appointment)).all() == []
            assert uow.session.exec(select(AppointmentSeat)).all() == []
        _book(seeded, clock, add_resident(seeded, clock))


def test_every_text_is_short(seeded: Engine, clock: FrozenClock) -> None:
    long_place, long_address = (
        "Maison de quartier du Bief du Moulin (démo)",
        "Quartier du Bief du Moulin, 21600 Longvic",
    )
    at = paris(2026, 12, 31, 16, 30)
    samples = [
        booking_texts.booked(
            starts_at=at,
            place=long_place,
            address=long_address,
            relay="Yannick",
            telephone=False,
            topic="logement",
            tz=PARIS,
        ),
        booking_texts.booked(
            starts_at=at, place=long_place, address=long_address, relay="Yannick", telephone=True, topic=None, tz=PARIS
        ),
        booking_texts.reminder_48h(
            starts_at=at,
            place=long_place,
            address=long_address,
            relay="Yannick",
            telephone=False,
            topic="droits",
            tz=PARIS,
        ),
        booking_texts.reminder_2h(starts_at=at, place=long_place, relay="Yannick", telephone=False, tz=PARIS),
        booking_texts.cancelled_late(starts_at=at, relay="Yannick", tz=PARIS),
        booking_texts.cancelled_by_staff(starts_at=at, relay="Yannick", tz=PARIS),
        booking_texts.no_show_offer(starts_at=at, tz=PARIS),
        booking_texts.staff_booked(
            starts_at=at, place=long_place, resident="Marie-Christine", topic="numerique", telephone=False, tz=PARIS
        ),
        booking_texts.staff_rescheduled(before=at, after=at, place=long_place, resident="Marie-Christine", tz=PARIS),
        booking_texts.followup_nudge(),
        booking_texts.followup_question(right_id="css", label="Complémentaire santé solidaire (C2S)"),
        booking_texts.followup_last_check(right_id="x", label="Aide exceptionnelle de la ville" * 2),
        *(booking_texts.followup_thanks(a) for a in booking_texts.FOLLOWUP_ANSWERS),
        booking_texts.slot_taken(alternatives=0),
        booking_texts.no_slot(),
    ]
    assert all(len(text) <= 300 for text in samples), [t for t in samples if len(t) > 300]
    assert booking_texts.followup_question(right_id="prime_activite", label="Prime d'activité") == (
        "Avez-vous fait la demande de la prime d'activité ?"
    )
    assert booking_texts.when(paris(2026, 12, 1, 14, 30), tz=PARIS) == "mardi 1er décembre à 14 h 30"
    assert all(len(b[1].encode()) <= 64 for b in booking_texts.reminder_buttons(2**40))
    assert PARIS.key == "Europe/Paris"
