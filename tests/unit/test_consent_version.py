"""The consent text has a version (texts.CONSENT_VERSION), stored with each resident's consent: a resident who
accepted an older one is asked again (the whole text once), except while a case is open. On SQLite and
PostgreSQL; the conversation itself is in tests/e2e/test_consent_version.py."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Event, Resident
from outreach import texts
from outreach.clock import FrozenClock
from outreach.services import handoffs, residents

OLDER = "2000-01"


def accepted(engine: Engine, clock: FrozenClock, *, version: str = OLDER, language: str = "ar") -> int:
    """A resident who accepted the consent of `version`."""
    with UnitOfWork(engine) as uow:
        view = residents.record_consent(
            uow, clock, telegram_user_id=42, chat_id=42, accepted=True, first_name="Amina", language=language
        )
        row = uow.session.get(Resident, view.id)
        assert row is not None
        row.consent_version = version
        uow.session.add(row)
        uow.commit()
        return view.id


def test_the_version_is_the_one_next_to_the_consent_text(engine: Engine, clock: FrozenClock) -> None:
    assert residents.CONSENT_VERSION == texts.CONSENT_VERSION
    with UnitOfWork(engine) as uow:
        view = residents.record_consent(
            uow, clock, telegram_user_id=42, chat_id=42, accepted=True, first_name="Amina", language="fr"
        )
        assert uow.session.get(Resident, view.id).consent_version == texts.CONSENT_VERSION  # type: ignore[union-attr]
    assert view.consented and not view.consent_outdated


def test_an_older_version_is_asked_again_the_whole_text_once(engine: Engine, clock: FrozenClock) -> None:
    accepted(engine, clock)
    with UnitOfWork(engine) as uow:
        view = residents.find(uow, clock, 42)
        assert view is not None and view.consent_outdated and not view.consented and not view.refused
        assert residents.ask_consent_again(uow, clock, 42) == (False, "ar")  # not shown yet; their language
        assert residents.ask_consent_again(uow, clock, 42) == (True, "ar")  # shown: a short reminder next time
        assert uow.session.exec(select(Resident)).one().consent_asked_version == texts.CONSENT_VERSION


def test_accepting_again_brings_the_resident_up_to_date(engine: Engine, clock: FrozenClock) -> None:
    resident_id = accepted(engine, clock)
    clock.advance(days=30)
    with UnitOfWork(engine) as uow:
        residents.ask_consent_again(uow, clock, 42)
        view = residents.record_consent(
            uow, clock, telegram_user_id=42, chat_id=42, accepted=True, first_name="Amina", language="ar"
        )
        assert view.id == resident_id and view.consented and not view.consent_outdated
        row = uow.session.get(Resident, resident_id)
        assert row is not None
        assert (row.consent_version, row.consent_asked_version, row.consent_at) == (
            texts.CONSENT_VERSION, None, clock.now()
        )
        assert residents.ask_consent_again(uow, clock, 42) is None
        assert [e.kind for e in uow.session.exec(select(Event)).all()] == ["resident_reached"]  # reached once


def test_nobody_else_is_asked_again(engine: Engine, clock: FrozenClock) -> None:
    accepted(engine, clock, version=texts.CONSENT_VERSION)
    with UnitOfWork(engine) as uow:
        residents.record_consent(
            uow, clock, telegram_user_id=43, chat_id=43, accepted=False, first_name="Karim", language="fr"
        )
        assert residents.ask_consent_again(uow, clock, 42) is None  # up to date
        assert residents.ask_consent_again(uow, clock, 43) is None  # refused: the refusal path
        assert residents.ask_consent_again(uow, clock, 44) is None  # unknown: the first consent


def test_an_open_case_is_not_cut_by_the_question(engine: Engine, clock: FrozenClock) -> None:
    resident_id = accepted(engine, clock)
    with UnitOfWork(engine) as uow:
        residents.set_place(uow, resident_id, commune_name="Dijon", quartier_id="gresilles")
        case, _ = handoffs.open_case(uow, clock, resident_id, source="talk_to_human")
        view = residents.find(uow, clock, 42)
        assert view is not None and view.consented and view.consent_outdated
        assert residents.ask_consent_again(uow, clock, 42) is None
        handoffs.close(uow, clock, case.id, by="resident")
        view = residents.find(uow, clock, 42)
        assert view is not None and not view.consented  # asked at their next message after the case
        assert residents.ask_consent_again(uow, clock, 42) == (False, "ar")
