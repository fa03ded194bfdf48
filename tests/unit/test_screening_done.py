"""A finished screening is one transaction: the resident's place, the screening, its rights and their
statuses, and the follow-up rows are all written, or none is (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import OutboxMessage, Resident, RightStatus, Screening, ScreeningRight
from outreach.clock import FrozenClock
from outreach.services import followups, residents, screening_done

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)
# A single mother of two in Dijon's Grésilles, looking for work for a year, in social housing, no income.
ANSWERS = {
    "commune": "Dijon",
    "quartier": "gresilles",
    "s_ask_commune": True,
    "s_age": "34",
    "s_couple": "non",
    "s_children": "3,7",
    "s_housing": "social_tenant",
    "s_rent": "480",
    "s_activity": "jobseeker",
    "s_jobseeker_since": "12",
    "s_other_income": "0",
}


def _resident(engine: Engine, clock: FrozenClock) -> int:
    with UnitOfWork(engine) as uow:
        view = residents.record_consent(
            uow, clock, telegram_user_id=7, chat_id=7, accepted=True, first_name="Fatou", language="fr"
        )
    return view.id


def _finish(engine: Engine, clock: FrozenClock, resident_id: int) -> screening_done.Completed:
    profile = screening_done.read_answers(ANSWERS)
    result, complex_case = screening_done.compute(profile, clock.now().astimezone(TZ).date())
    with UnitOfWork(engine) as uow:
        return screening_done.complete(
            uow,
            clock,
            resident_id=resident_id,
            answers=ANSWERS,
            profile=profile,
            result=result,
            complex_case=complex_case,
            tz=TZ,
        )


def test_the_results_their_statuses_the_place_and_the_follow_ups_are_written_together(
    engine: Engine, clock: FrozenClock
) -> None:
    clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))
    resident_id = _resident(engine, clock)
    done = _finish(engine, clock, resident_id)
    assert any("RSA" in reply.text for reply in done.replies)
    with UnitOfWork(engine) as uow:
        resident = uow.session.get(Resident, resident_id)
        assert resident is not None and (resident.territory_id, resident.quartier_id) == ("dijon", "gresilles")
        assert uow.session.exec(select(Screening)).one().id == done.screening_id
        rights = uow.session.exec(select(ScreeningRight)).all()
        assert rights and all(r.status == RightStatus.to_claim for r in rights)
        keys = [row.idempotency_key for row in uow.session.exec(select(OutboxMessage)).all()]
        assert f"fu:{done.screening_id}:nudge" in keys


def test_a_failure_before_the_follow_ups_are_written_leaves_nothing(
    engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident_id = _resident(engine, clock)

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(followups, "add_followups", broken)
    with pytest.raises(RuntimeError):
        _finish(engine, clock, resident_id)
    with UnitOfWork(engine) as uow:
        resident = uow.session.get(Resident, resident_id)
        assert resident is not None and resident.territory_id is None and resident.quartier_id is None
        assert uow.session.exec(select(Screening)).all() == []
        assert uow.session.exec(select(ScreeningRight)).all() == []
        assert uow.session.exec(select(OutboxMessage)).all() == []
