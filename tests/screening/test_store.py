"""Screenings are stored per resident with a status per right, exported and erased with the resident
(SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import RightStatus, Screening, ScreeningRight
from outreach.clock import FrozenClock
from outreach.screening.model import Profile, Right, ScreeningResult
from outreach.services import residents, screenings

RESULT = ScreeningResult(
    rights=[
        Right(
            id="prime_activite", label="Prime d'activité", kind="national", monthly_amount=231.4, why="w", next_step="n"
        ),
        Right(id="dijon-cej", label="CEJ", kind="local", why="w", next_step="n", service_id="dijon-cej"),
    ],
    missing=["rent"],
)


def a_resident(uow: UnitOfWork, clock: FrozenClock) -> int:
    view = residents.record_consent(
        uow, clock, telegram_user_id=42, chat_id=42, accepted=True, first_name="Amina", language="fr"
    )
    return view.id


def test_a_screening_is_stored_with_a_status_per_right(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        screening_id = screenings.record(
            uow, clock, resident_id, Profile(age=30, receives=["css"]), RESULT, complex_case=False
        )
        current_id, rights = screenings.latest(uow, resident_id) or (0, [])
    assert current_id == screening_id
    assert [(r.right_id, r.status) for r in rights] == [
        ("prime_activite", RightStatus.to_claim),
        ("dijon-cej", RightStatus.to_claim),
        ("css", RightStatus.already_received),
    ]


def test_statuses_move_only_forward_in_ways_that_make_sense(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        screenings.record(uow, clock, resident_id, Profile(), RESULT, complex_case=False)
        clock.advance(days=7)
        assert screenings.set_status(uow, clock, resident_id, "prime_activite", RightStatus.asked).status == "asked"
        # "asked" cannot go back to "to_claim"; "opened" is final
        assert screenings.set_status(uow, clock, resident_id, "prime_activite", RightStatus.to_claim).status == "asked"
        assert screenings.set_status(uow, clock, resident_id, "prime_activite", RightStatus.opened).status == "opened"
        assert screenings.set_status(uow, clock, resident_id, "prime_activite", RightStatus.failed).status == "opened"
        assert screenings.set_status(uow, clock, resident_id, "nope", RightStatus.asked) is None


def test_a_new_screening_becomes_the_current_one(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        screenings.record(uow, clock, resident_id, Profile(), RESULT, complex_case=False)
        clock.advance(days=1)
        second = screenings.record(
            uow, clock, resident_id, Profile(), ScreeningResult(rights=RESULT.rights[:1]), complex_case=True
        )
        current_id, rights = screenings.latest(uow, resident_id) or (0, [])
    assert current_id == second and [r.right_id for r in rights] == ["prime_activite"]


def test_screenings_are_exported_and_erased_with_the_resident(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        screenings.record(uow, clock, resident_id, Profile(age=30), RESULT, complex_case=False)
        exported = residents.export(uow, clock, resident_id)
        assert exported["points_sur_mes_droits"][0]["reponses"] == {"age": 30, "receives": []}
        assert exported["points_sur_mes_droits"][0]["droits"][0]["montant_mensuel_estime"] == 231.4
        residents.erase(uow, clock, resident_id)
    with UnitOfWork(engine) as uow:
        assert uow.session.exec(select(Screening)).all() == []
        assert uow.session.exec(select(ScreeningRight)).all() == []


def test_dates_are_kept_in_utc(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        screenings.record(uow, clock, resident_id, Profile(), RESULT, complex_case=False)
        row = uow.session.exec(select(ScreeningRight)).first()
    assert row is not None and row.detected_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
