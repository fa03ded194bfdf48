"""Follow-ups after a screening: J+3 nudge, J+7 question per right, J+30 last check; answers move the
right's status; opting out, booking or answering stops them (also at send time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import OutboxStatus, Resident, RightStatus, Screening, ScreeningRight
from outreach.bootstrap import make_dispatcher
from outreach.clock import FrozenClock
from outreach.senders import RecordingSender
from outreach.services import booking, followups, residents
from tests.booking.conftest import GRESILLES, add_resident, by_key, paris, permanence

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)

RIGHTS = [("prime_activite", "Prime d'activité"), ("css", "Complémentaire santé solidaire (C2S)")]


def _screening(engine: Engine, clock: FrozenClock, resident_id: int) -> tuple[int, dict[str, int]]:
    with UnitOfWork(engine) as uow:
        screening = Screening(resident_id=resident_id, created_at=clock.now(), territory_id="dijon")
        uow.session.add(screening)
        uow.session.flush()
        rows = {}
        for right_id, label in RIGHTS:
            row = ScreeningRight(
                screening_id=screening.id,
                resident_id=resident_id,
                right_id=right_id,
                kind="national",
                label=label,
                status=RightStatus.to_claim,
                status_at=clock.now(),
                detected_at=clock.now(),
            )
            uow.session.add(row)
            uow.session.flush()
            rows[right_id] = row.id
        uow.commit()
        assert screening.id is not None
        return screening.id, rows


def _status(engine: Engine, row_id: int) -> RightStatus:
    with UnitOfWork(engine) as uow:
        row = uow.session.get(ScreeningRight, row_id)
        assert row is not None
        return RightStatus(row.status)


async def _dispatch(engine: Engine, clock: FrozenClock) -> RecordingSender:
    sender = RecordingSender()
    await make_dispatcher(engine, clock, sender, rate=30, per_chat_interval=0).run_once()  # with every guard
    return sender


def test_follow_ups_are_planned_at_3_7_and_30_days_in_the_day(seeded: Engine, clock: FrozenClock) -> None:
    clock.set(paris(2026, 11, 24, 21, 15))  # an evening screening
    resident = add_resident(seeded, clock)
    screening_id, rows = _screening(seeded, clock, resident)
    with UnitOfWork(seeded) as uow:
        assert followups.schedule_followups(uow, clock, screening_id, tz=TZ) == 5
    with UnitOfWork(seeded) as uow:
        assert followups.schedule_followups(uow, clock, screening_id, tz=TZ) == 0  # idempotent
    planned = by_key(seeded)
    assert planned[f"fu:{screening_id}:nudge"].due_at == paris(2026, 11, 28, 10)  # J+3, in the day
    question = planned[f"fu:{screening_id}:{rows['prime_activite']}:d7"]
    assert question.due_at == paris(2026, 12, 2, 10)
    assert question.payload["text"] == "Avez-vous fait la demande de la prime d'activité ?"
    assert [b[1] for b in question.payload["buttons"]] == [
        f"f:{code}:{screening_id}:prime_activite" for code in ("deja", "demande", "echec", "pasencore")
    ]
    assert planned[f"fu:{screening_id}:{rows['css']}:d30"].due_at == paris(2026, 12, 25, 10)


async def test_the_nudge_goes_at_j3_unless_the_resident_booked_meanwhile(seeded: Engine, clock: FrozenClock) -> None:
    booked, idle = add_resident(seeded, clock, first_name="Awa"), add_resident(seeded, clock, first_name="Léa")
    first, _ = _screening(seeded, clock, booked)
    second, _ = _screening(seeded, clock, idle)
    with UnitOfWork(seeded) as uow:
        followups.schedule_followups(uow, clock, first, tz=TZ)
    with UnitOfWork(seeded) as uow:
        followups.schedule_followups(uow, clock, second, tz=TZ)
    clock.advance(days=1)
    with UnitOfWork(seeded) as uow:
        booking.book(
            uow,
            clock,
            resident_id=booked,
            permanence_id=permanence(seeded, GRESILLES, 1).id,
            starts_at=paris(2026, 12, 8, 14),
            tz=TZ,
        )
    clock.set(paris(2026, 11, 27, 11))
    sender = await _dispatch(seeded, clock)
    nudges = [r for r in sender.sent if r.kind == followups.KIND_NUDGE]
    assert [r.resident_id for r in nudges] == [idle]
    assert by_key(seeded)[f"fu:{first}:nudge"].last_error == "booked"


async def test_an_answer_moves_the_right_and_stops_its_follow_ups(seeded: Engine, clock: FrozenClock) -> None:
    resident = add_resident(seeded, clock)
    screening_id, rows = _screening(seeded, clock, resident)
    with UnitOfWork(seeded) as uow:
        followups.schedule_followups(uow, clock, screening_id, tz=TZ)
    clock.set(paris(2026, 12, 1, 11, 5))  # J+7 (screened at 11:00)
    sender = await _dispatch(seeded, clock)
    assert sorted(t for t in sender.texts() if t.startswith("Avez-vous")) == [
        "Avez-vous fait la demande de la complémentaire santé solidaire ?",
        "Avez-vous fait la demande de la prime d'activité ?",
    ]
    with UnitOfWork(seeded) as uow:
        failed = followups.answer_followup(
            uow, clock, resident_id=resident, screening_id=screening_id, right_id="prime_activite", answer="echec"
        )
    assert failed.offer_relay and failed.status == RightStatus.failed and failed.cancelled == 1
    with UnitOfWork(seeded) as uow:
        done = followups.answer_followup(
            uow, clock, resident_id=resident, screening_id=screening_id, right_id="css", answer="deja"
        )
    assert not done.offer_relay and _status(seeded, rows["css"]) == RightStatus.opened
    planned = by_key(seeded)
    assert planned[f"fu:{screening_id}:{rows['prime_activite']}:d30"].status == OutboxStatus.dropped
    assert planned[f"fu:{screening_id}:{rows['css']}:d30"].status == OutboxStatus.dropped
    clock.set(paris(2026, 12, 24, 11, 5))
    assert (await _dispatch(seeded, clock)).sent == []


async def test_the_last_check_at_j30_is_sent_when_nobody_answered(seeded: Engine, clock: FrozenClock) -> None:
    resident = add_resident(seeded, clock)
    screening_id, rows = _screening(seeded, clock, resident)
    with UnitOfWork(seeded) as uow:
        followups.schedule_followups(uow, clock, screening_id, tz=TZ)
    with UnitOfWork(seeded) as uow:  # answered in the chat by another way: asked
        followups.answer_followup(
            uow, clock, resident_id=resident, screening_id=screening_id, right_id=f"#{rows['css']}", answer="demande"
        )
    assert _status(seeded, rows["css"]) == RightStatus.asked
    clock.set(paris(2026, 12, 24, 11, 5))
    sender = await _dispatch(seeded, clock)
    last = [t for t in sender.texts() if t.startswith("Une dernière question")]
    assert last == ["Une dernière question : avez-vous pu faire la demande de la prime d'activité ?"]


async def test_opting_out_or_erasing_stops_every_follow_up(seeded: Engine, clock: FrozenClock) -> None:
    leaving, erased = add_resident(seeded, clock, first_name="Nora"), add_resident(seeded, clock, first_name="Sami")
    for resident in (leaving, erased):
        screening_id, _ = _screening(seeded, clock, resident)
        with UnitOfWork(seeded) as uow:
            followups.schedule_followups(uow, clock, screening_id, tz=TZ)
    with UnitOfWork(seeded) as uow:
        residents.opt_out(uow, clock, leaving)
    with UnitOfWork(seeded) as uow:
        residents.erase(uow, clock, erased)
    for day in (3, 7, 30):
        clock.set(paris(2026, 11, 24, 11, 5) + dt.timedelta(days=day))
        assert (await _dispatch(seeded, clock)).sent == []
    with UnitOfWork(seeded) as uow:
        assert uow.session.exec(select(Resident).where(Resident.id == erased)).first() is None
    assert {r.status for r in by_key(seeded).values()} == {OutboxStatus.dropped}


async def test_a_resident_who_opted_out_after_scheduling_is_guarded_at_send_time(
    seeded: Engine, clock: FrozenClock
) -> None:
    resident = add_resident(seeded, clock)
    screening_id, _ = _screening(seeded, clock, resident)
    with UnitOfWork(seeded) as uow:
        followups.schedule_followups(uow, clock, screening_id, tz=TZ)
    with UnitOfWork(seeded) as uow:  # the flag only, as if the rows had been missed
        row = uow.session.get(Resident, resident)
        assert row is not None
        row.opted_out_at = clock.now()
        uow.session.add(row)
        uow.commit()
    clock.advance(days=3, hours=1)
    assert (await _dispatch(seeded, clock)).sent == []
    assert by_key(seeded)[f"fu:{screening_id}:nudge"].last_error == "opted out"


def test_callbacks_are_parsed_and_forged_ones_refused(seeded: Engine, clock: FrozenClock) -> None:
    assert followups.parse_callback("f:echec:12:prime_activite") == followups.FollowupCallback(
        "echec", 12, "prime_activite"
    )
    assert followups.parse_callback("f:rdv:12") == followups.FollowupCallback("rdv", 12, None)
    assert followups.parse_callback("f:hack:12:x") is None and followups.parse_callback("r:come:1") is None
    owner, other = add_resident(seeded, clock), add_resident(seeded, clock, first_name="Karim")
    screening_id, _ = _screening(seeded, clock, owner)
    with UnitOfWork(seeded) as uow:
        try:
            followups.answer_followup(
                uow, clock, resident_id=other, screening_id=screening_id, right_id="css", answer="deja"
            )
        except LookupError:
            pass
        else:
            raise AssertionError("someone else's right was answered")
    with UnitOfWork(seeded) as uow:
        assert followups.stop_followups(uow, clock, resident_id=owner, screening_id=screening_id) == 0
    assert dt.timedelta(days=3) == followups.NUDGE_AFTER
