"""The resident's export says who in the team accessed their file and when (from the audit log: first name, role,
what, never a Telegram or staff id); erasure and a withdrawn consent leave nothing about them, also in the messages
sent to staff. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, OutboxMessage, Resident, Staff, StaffRole
from outreach import i18n
from outreach.clock import FrozenClock
from outreach.services import case_messages, console_views, handoffs, residents
from outreach.services import staff as staff_service
from outreach.services.console_views import StaffScope


def a_resident(uow: UnitOfWork, clock: FrozenClock, user_id: int = 1001, name: str = "Amina") -> residents.ResidentView:
    view = residents.record_consent(
        uow, clock, telegram_user_id=user_id, chat_id=user_id, accepted=True, first_name=name, language="fr"
    )
    residents.set_place(uow, view.id, commune_name="Dijon", quartier_id="gresilles")
    return view


def a_member(uow: UnitOfWork, clock: FrozenClock, user_id: int, name: str, role: StaffRole) -> staff_service.StaffView:
    row = Staff(
        telegram_user_id=user_id, chat_id=user_id, first_name=name, role=role, territory_id="dijon", available=True,
        created_at=clock.now(),
    )
    uow.session.add(row)
    uow.commit()
    assert row.id is not None
    member = staff_service.get(uow, row.id)
    assert member is not None
    return member


class TestAccesses:
    def test_the_export_lists_who_accessed_the_file_and_when(self, engine: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(engine) as uow:
            amina = a_resident(uow, clock)
            other = a_resident(uow, clock, 1002, "Karim")
            samia = a_member(uow, clock, 555001, "Samia", StaffRole.relay)
            helene = a_member(uow, clock, 555002, "Hélène", StaffRole.coordinator)
            case, _ = handoffs.open_case(uow, clock, amina.id, source="talk_to_human")
            clock.advance(minutes=3)
            handoffs.claim(uow, clock, case.id, samia)
            clock.advance(minutes=1)
            handoffs.view_case(uow, clock, case.id, samia)
            clock.advance(days=1)
            scope = StaffScope(staff_id=helene.id, role=StaffRole.coordinator, territory_id="dijon")
            console_views.resident_detail(uow, clock, scope, amina.public_id)
            other_case, _ = handoffs.open_case(uow, clock, other.id, source="talk_to_human")
            handoffs.claim(uow, clock, other_case.id, samia)  # Karim's file: not in Amina's export
            clock.advance(minutes=5)
            content = residents.export_json(uow, clock, amina.id)
        exported = json.loads(content)
        assert exported["acces_de_l_equipe"] == [
            {"le": "2026-11-24T10:03:00+00:00", "prenom": "Samia", "role": "adulte-relais",
             "quoi": "a pris votre demande"},
            {"le": "2026-11-24T10:04:00+00:00", "prenom": "Samia", "role": "adulte-relais",
             "quoi": "a lu votre demande"},
            {"le": "2026-11-25T10:04:00+00:00", "prenom": "Hélène", "role": "responsable de l'équipe",
             "quoi": "a ouvert votre fiche"},
        ]  # fmt: skip
        text = content.decode()
        assert "555001" not in text and "555002" not in text and "staff:" not in text

    def test_the_resident_reads_them_in_their_language(self, engine: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(engine) as uow:
            amina = a_resident(uow, clock)
            samia = a_member(uow, clock, 555001, "Samia", StaffRole.relay)
            case, _ = handoffs.open_case(uow, clock, amina.id, source="talk_to_human")
            handoffs.claim(uow, clock, case.id, samia)
            with i18n.speaking("en"):
                [access] = residents.export(uow, clock, amina.id)["acces_de_l_equipe"]
        assert access["role"] == i18n.translate("adulte-relais", "en") != "adulte-relais"
        assert access["quoi"] == i18n.translate("a pris votre demande", "en") != "a pris votre demande"

    def test_the_resident_own_exports_and_unknown_staff_are_no_team_access(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        with UnitOfWork(engine) as uow:
            amina = a_resident(uow, clock)
            residents.export(uow, clock, amina.id)  # the resident's own export is audited, as theirs
            subject = f"resident:{amina.public_id}"
            uow.session.add(AuditLog(at=clock.now(), actor="staff:999", action="handoff_view", subject=subject))
            uow.commit()
            accesses = residents.export(uow, clock, amina.id)["acces_de_l_equipe"]
        assert accesses == [{"le": clock.now().isoformat(), "prenom": None, "role": None, "quoi": "a lu votre demande"}]


class TestNothingLeft:
    def test_erasure_removes_the_messages_about_the_resident_sent_to_staff(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        with UnitOfWork(engine) as uow:
            amina = a_resident(uow, clock)
            karim = a_resident(uow, clock, 1002, "Karim")
            samia = a_member(uow, clock, 555001, "Samia", StaffRole.relay)
            for view, words in ((amina, "mon loyer est en retard"), (karim, "ma demande de CSS")):
                case, _ = handoffs.open_case(uow, clock, view.id, source="talk_to_human")
                handoffs.claim(uow, clock, case.id, samia)
                case_messages.to_staff(
                    uow, clock, case, samia, case_messages.Relayed("text", words, None, f"m{view.id}")
                )
                uow.commit()
        with UnitOfWork(engine) as uow:
            residents.erase(uow, clock, amina.id)
        with UnitOfWork(engine) as uow:
            payloads = [json.dumps(m.payload, ensure_ascii=False) for m in uow.session.exec(select(OutboxMessage))]
        assert not any("loyer" in p for p in payloads)
        assert any("CSS" in p for p in payloads)  # another resident's case is untouched

    def test_refusing_after_accepting_erases_everything_but_the_refusal(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        with UnitOfWork(engine) as uow:
            amina = a_resident(uow, clock)
            handoffs.open_case(uow, clock, amina.id, source="talk_to_human")
            clock.advance(days=2)
            refused = residents.record_consent(
                uow, clock, telegram_user_id=1001, chat_id=1001, accepted=False, first_name="Amina", language="fr"
            )
        assert refused.refused and not refused.consented and refused.public_id != amina.public_id
        with UnitOfWork(engine) as uow:
            [row] = uow.session.exec(select(Resident)).all()
            assert (row.first_name, row.quartier_id, row.territory_id, row.consent_at) == (None, None, None, None)
            assert row.created_at == clock.now()  # the refusal alone, kept REFUSAL_RETENTION (housekeeping)
            [erased] = uow.session.exec(select(AuditLog).where(AuditLog.action == "erase")).all()
            assert erased.subject == f"resident:{amina.public_id}" and erased.detail == {"reason": "consent_refused"}
            assert residents.export(uow, clock, row.id or 0)["demandes_a_un_adulte_relais"] == []
