"""Cases on SQLite and PostgreSQL: one open case per resident, exactly one winner among concurrent
claims, territory limits, audit rows, re-send timing, erasure."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, Handoff, HandoffOutcome, HandoffStatus, Staff, StaffRole
from outreach.clock import FrozenClock
from outreach.services import handoffs, residents, staff


def onboard(uow: UnitOfWork, clock: FrozenClock, user_id: int, name: str, territory: str) -> staff.StaffView:
    invite = staff.create_invite(uow, clock, role=StaffRole.relay, territory_id=territory, first_name=name)
    member = staff.redeem_invite(uow, clock, invite.code, telegram_user_id=user_id, chat_id=user_id)
    assert member is not None
    return staff.set_available(uow, clock, member.id, True) or member


def a_resident(uow: UnitOfWork, clock: FrozenClock, user_id: int = 1001, commune: str = "Dijon") -> int:
    view = residents.record_consent(
        uow, clock, telegram_user_id=user_id, chat_id=user_id, accepted=True, first_name="Amina", language="fr"
    )
    residents.set_place(uow, view.id, commune_name=commune, quartier_id="gresilles")
    return view.id


def test_a_resident_has_one_open_case_at_most(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        resident_id = a_resident(uow, clock)
        first, created = handoffs.open_case(uow, clock, resident_id, source="talk_to_human")
        again, created_again = handoffs.open_case(uow, clock, resident_id, source="fallback")
    assert created and not created_again and again.id == first.id
    assert (first.territory_id, first.quartier) == ("dijon", "Grésilles")


def test_five_concurrent_claims_have_exactly_one_winner(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        relays = [onboard(uow, clock, 2001 + i, f"Relais{i}", "dijon") for i in range(5)]
        case, _ = handoffs.open_case(uow, clock, a_resident(uow, clock), source="talk_to_human")

    def press(member: staff.StaffView) -> bool:
        with UnitOfWork(engine) as uow:
            return handoffs.claim(uow, clock, case.id, member).won

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(press, relays))
    assert results.count(True) == 1
    with UnitOfWork(engine) as uow:
        handoff = uow.session.get(Handoff, case.id)
        assert handoff is not None and handoff.status == HandoffStatus.claimed
        assert handoff.staff_id == relays[results.index(True)].id
        claims = uow.session.exec(select(AuditLog).where(AuditLog.action == "handoff_claim")).all()
        assert len(claims) == 1


def test_staff_never_reach_a_case_of_another_territory(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        ines = onboard(uow, clock, 3001, "Inès", "troyes")
        case, _ = handoffs.open_case(uow, clock, a_resident(uow, clock), source="talk_to_human")
        with pytest.raises(handoffs.Forbidden):
            handoffs.claim(uow, clock, case.id, ines)
        with pytest.raises(handoffs.Forbidden):
            handoffs.view_case(uow, clock, case.id, ines)
        assert handoffs.waiting_in(uow, "troyes") == []
        assert [r.first_name for r in staff.relays_of(uow, "dijon")] == []


def test_waiting_cases_are_due_for_resend_after_15_minutes_once(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        case, _ = handoffs.open_case(uow, clock, a_resident(uow, clock), source="talk_to_human")
        clock.advance(minutes=14, seconds=59)
        assert handoffs.due_for_resend(uow, clock) == []
        clock.advance(seconds=2)
        assert [c.id for c in handoffs.due_for_resend(uow, clock)] == [case.id]
        handoffs.mark_resent(uow, clock, case.id, coordinator_told=True)
        assert handoffs.due_for_resend(uow, clock) == []


def test_close_transfer_satisfaction_and_erasure(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        samia = onboard(uow, clock, 2001, "Samia", "dijon")
        yannick = onboard(uow, clock, 2002, "Yannick", "dijon")
        resident_id = a_resident(uow, clock)
        case, _ = handoffs.open_case(uow, clock, resident_id, source="button")
        handoffs.queue_message(uow, clock, case.id, kind="text", text="bonjour", file_id=None)
        assert handoffs.claim(uow, clock, case.id, samia).won
        assert [m.text for m in handoffs.take_queued(uow, case.id)] == ["bonjour"]
        assert handoffs.take_queued(uow, case.id) == []
        moved = handoffs.transfer(uow, clock, case.id, samia, yannick.id)
        assert moved.staff_first_name == "Yannick"
        with pytest.raises(handoffs.Forbidden):
            handoffs.close(uow, clock, case.id, by="staff", staff=samia, outcome=HandoffOutcome.sans_suite)
        closed = handoffs.close(uow, clock, case.id, by="staff", staff=yannick, outcome=HandoffOutcome.rendez_vous)
        assert closed is not None and handoffs.close(uow, clock, case.id, by="resident") is None
        assert handoffs.set_satisfaction(uow, clock, resident_id, case.id, 5)
        assert not handoffs.set_satisfaction(uow, clock, resident_id, case.id, 9)
        assert handoffs.open_for_resident(uow, resident_id) is None
        [exported] = residents.export(uow, clock, resident_id)["demandes_a_un_adulte_relais"]
        assert (exported["issue"], exported["avis"]) == ("rendez_vous", 5)
        residents.erase(uow, clock, resident_id)
    with UnitOfWork(engine) as uow:
        assert uow.session.exec(select(Handoff)).all() == []


def test_a_used_or_expired_invite_makes_no_staff(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        invite = staff.create_invite(uow, clock, role=StaffRole.coordinator, territory_id="troyes", first_name="Claire")
        late = staff.create_invite(uow, clock, role=StaffRole.relay, territory_id="troyes", first_name="Inès")
        assert staff.redeem_invite(uow, clock, invite.code, telegram_user_id=1, chat_id=1) is not None
        assert staff.redeem_invite(uow, clock, invite.code, telegram_user_id=2, chat_id=2) is None
        clock.advance(days=7, seconds=1)
        assert staff.redeem_invite(uow, clock, late.code, telegram_user_id=3, chat_id=3) is None
        assert staff.redeem_invite(uow, clock, "st-nope", telegram_user_id=3, chat_id=3) is None
        assert staff.find(uow, 2) is None and staff.find(uow, 3) is None


def test_office_hours_say_plainly_when_someone_answers() -> None:
    from zoneinfo import ZoneInfo

    from outreach import office_hours

    paris = ZoneInfo("Europe/Paris")
    saturday = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
    assert not office_hours.is_open(saturday, paris)
    opening = office_hours.next_opening(saturday, paris)
    assert office_hours.say_when(opening, saturday, paris) == "lundi 7 décembre à 9 h"
    christmas_eve = dt.datetime(2026, 12, 24, 17, 0, tzinfo=dt.UTC)  # 18:00 in Paris, then Christmas, a weekend
    assert office_hours.say_when(office_hours.next_opening(christmas_eve, paris), christmas_eve, paris) == (
        "lundi 28 décembre à 9 h"
    )
    lunch = dt.datetime(2026, 12, 1, 11, 45, tzinfo=dt.UTC)  # 12:45 in Paris
    assert office_hours.say_when(office_hours.next_opening(lunch, paris), lunch, paris) == "aujourd'hui à 13 h 30"


def test_an_invite_links_the_account_prepared_for_that_person(engine: Engine, clock: FrozenClock) -> None:
    from outreach.seed import seed_demo

    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
        prepared = uow.session.exec(select(Staff).where(Staff.first_name == "Samia")).one()
        invite = staff.create_invite(uow, clock, role=StaffRole.relay, territory_id="dijon", first_name="Samia")
        member = staff.redeem_invite(uow, clock, invite.code, telegram_user_id=2001, chat_id=2001)
        assert member is not None and member.id == prepared.id  # her permanences are hers on Telegram too
        assert len(uow.session.exec(select(Staff).where(Staff.first_name == "Samia")).all()) == 1
