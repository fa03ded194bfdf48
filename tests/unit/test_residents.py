"""Consent, buttons, opt-out, export and erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, ButtonToken, Event, OutboxMessage, OutboxStatus, Resident
from outreach.clock import FrozenClock
from outreach.replies import Button
from outreach.services import residents

BUTTONS = (Button("Mes droits", "/check_rights"), Button("Parler à quelqu'un", "/talk_to_human"))


def _consent(engine: Engine, clock: FrozenClock, user_id: int = 42, accepted: bool = True) -> residents.ResidentView:
    with UnitOfWork(engine) as uow:
        return residents.record_consent(
            uow, clock, telegram_user_id=user_id, chat_id=user_id, accepted=accepted, first_name="Amina", language="fr"
        )


class TestConsent:
    def test_refusal_keeps_no_personal_data(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock, accepted=False)
        assert view.refused and not view.consented
        with UnitOfWork(engine) as uow:
            stored = uow.session.exec(select(Resident)).one()
            assert stored.first_name is None and stored.language is None and stored.consent_at is None
            assert uow.session.exec(select(Event)).all() == []

    def test_acceptance_counts_the_resident_as_reached_once(self, engine: Engine, clock: FrozenClock) -> None:
        _consent(engine, clock)
        _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            assert [e.kind for e in uow.session.exec(select(Event)).all()] == ["resident_reached"]
            assert uow.session.exec(select(Resident)).one().first_name == "Amina"

    def test_public_id_is_not_the_telegram_id(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock, user_id=987654)
        assert "987654" not in view.public_id and len(view.public_id) == 32


class TestButtons:
    def test_a_button_works_once_and_spends_its_siblings(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            first, second = residents.issue_buttons(uow, clock, view.id, BUTTONS)
        assert len(f"b:{first}".encode()) <= 64
        with UnitOfWork(engine) as uow:
            assert residents.redeem_button(uow, clock, view.id, first) == BUTTONS[0]
        with UnitOfWork(engine) as uow:
            assert residents.redeem_button(uow, clock, view.id, first) is None
            assert residents.redeem_button(uow, clock, view.id, second) is None

    def test_forged_or_foreign_tokens_are_refused(self, engine: Engine, clock: FrozenClock) -> None:
        amina, karim = _consent(engine, clock, 1), _consent(engine, clock, 2)
        with UnitOfWork(engine) as uow:
            token, _ = residents.issue_buttons(uow, clock, amina.id, BUTTONS)
        with UnitOfWork(engine) as uow:
            assert residents.redeem_button(uow, clock, karim.id, token) is None
            assert residents.redeem_button(uow, clock, amina.id, "/check_rights") is None

    def test_buttons_expire_after_a_week(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            token, _ = residents.issue_buttons(uow, clock, view.id, BUTTONS)
        clock.advance(days=8)
        with UnitOfWork(engine) as uow:
            assert residents.redeem_button(uow, clock, view.id, token) is None


class TestPrivacy:
    def test_opt_out_drops_pending_proactive_messages(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            uow.session.add(
                OutboxMessage(
                    idempotency_key="r1",
                    chat_id=42,
                    resident_id=view.id,
                    kind="reminder",
                    due_at=clock.now(),
                    created_at=clock.now(),
                )
            )
            uow.commit()
            residents.opt_out(uow, clock, view.id)
        with UnitOfWork(engine) as uow:
            assert uow.session.exec(select(OutboxMessage)).one().status == OutboxStatus.dropped
            assert uow.session.get(Resident, view.id).opted_out_at is not None

    def test_export_holds_what_was_given_and_is_audited(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            exported = json.loads(residents.export_json(uow, clock, view.id))
        assert exported["prenom"] == "Amina" and exported["accord"]["version"] == residents.CONSENT_VERSION
        with UnitOfWork(engine) as uow:
            assert [a.action for a in uow.session.exec(select(AuditLog)).all()] == ["export"]

    def test_erase_removes_the_resident_but_keeps_anonymous_counts(self, engine: Engine, clock: FrozenClock) -> None:
        view = _consent(engine, clock)
        with UnitOfWork(engine) as uow:
            residents.issue_buttons(uow, clock, view.id, BUTTONS)
            uow.session.add(
                OutboxMessage(
                    idempotency_key="r1",
                    chat_id=42,
                    resident_id=view.id,
                    kind="reminder",
                    due_at=clock.now(),
                    created_at=clock.now(),
                )
            )
            uow.commit()
        with UnitOfWork(engine) as uow:
            assert residents.erase(uow, clock, view.id) == view.public_id
        with UnitOfWork(engine) as uow:
            assert uow.session.exec(select(Resident)).all() == []
            assert uow.session.exec(select(ButtonToken)).all() == []
            assert uow.session.exec(select(OutboxMessage)).all() == []
            events = uow.session.exec(select(Event)).all()
            assert [(e.kind, e.resident_id) for e in events] == [("resident_reached", None)]
