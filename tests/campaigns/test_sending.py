"""A campaign's life with the pump and the dispatcher on a frozen clock (fake sender): the audience taken
when its time comes (now, at, weekly), lazy queuing, pause / resume / cancel at once, the weekly cap,
exclusions re-checked at queue time, quiet hours, the staff test message, progress and results."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from db.engine import UnitOfWork
from db.models import (
    Campaign,
    CampaignStatus,
    DeliveryStatus,
    Event,
    OutboxMessage,
    OutboxStatus,
    Resident,
    RightStatus,
)
from outreach import campaigns, i18n
from outreach.bootstrap import make_dispatcher
from outreach.campaigns import CampaignError, CampaignSpec, PumpOptions
from outreach.clock import FrozenClock
from outreach.outbox import QuietHours
from outreach.senders import RecordingSender
from outreach.services import residents
from tests.booking.conftest import PARIS, paris
from tests.campaigns.conftest import (
    OPTIONS,
    campaign_rows,
    create,
    deliveries,
    drive,
    progress,
    resident,
    results,
    screening,
    staff_member,
)

SPEC = {"name": "Test", "territory": "dijon", "audience": {"territory": "dijon"}, "text": "Bonjour {prenom}"}


def status(engine: Engine, campaign_id: int) -> str:
    with UnitOfWork(engine) as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        assert campaign is not None
        return str(campaign.status)


def act(engine: Engine, clock: FrozenClock, verb: str, campaign_id: int) -> Campaign:
    with UnitOfWork(engine) as uow:
        return getattr(campaigns, verb)(uow, clock, campaign_id)  # type: ignore[no-any-return]


class TestStart:
    async def test_a_now_campaign_reaches_its_audience_once_then_is_done(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        people = [resident(engine, clock, first_name=f"P{n}") for n in range(5)]
        campaign_id = create(engine, clock)
        assert status(engine, campaign_id) == CampaignStatus.running
        assert set(deliveries(engine, campaign_id)) == set(people)
        sender = await drive(engine, clock)
        assert sorted(r.resident_id for r in sender.sent) == people  # type: ignore[type-var]
        assert status(engine, campaign_id) == CampaignStatus.done
        counts = progress(engine, campaign_id)
        assert counts["total"] == counts["sent"] == counts["done"] == 5 and counts["percent"] == 100
        await drive(engine, clock, sender)
        assert len(sender.sent) == 5  # nobody twice

    async def test_the_message_is_rendered_per_resident_with_its_buttons(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        amina = resident(engine, clock, first_name="Amina", quartier="gresilles")
        anonymous = resident(engine, clock, first_name="", quartier=None)
        screening(engine, clock, amina, rights={"css": RightStatus.to_claim})
        campaign_id = create(
            engine, clock, text="Bonjour {prenom}, à {quartier} : {droit} ?", buttons=["screening", "stop"]
        )
        sender = await drive(engine, clock)
        by_resident = {row.resident_id: row for row in sender.sent}
        assert by_resident[amina].payload["text"] == "Bonjour Amina, à Grésilles : Complémentaire santé solidaire ?"
        assert by_resident[anonymous].payload["text"] == "Bonjour, à votre quartier : vos droits ?"
        delivery = deliveries(engine, campaign_id)[amina]
        assert by_resident[amina].payload["buttons"] == [
            ["Faire le point sur mes droits", f"k:{delivery.id}:screening"],
            ["Ne plus recevoir de messages", f"k:{delivery.id}:stop"],
        ]

    async def test_residents_read_the_coordinators_translation_in_their_language_and_translated_buttons(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        amina = resident(engine, clock, first_name="Amina", language="ar")
        joy = resident(engine, clock, first_name="Joy", language="en")
        ayse = resident(engine, clock, first_name="Ayşe", language="tr")
        campaign_id = create(
            engine,
            clock,
            text="Bonjour {prenom}, faites le point sur vos droits.",
            translations={"ar": "مرحبا {prenom}، اعرف حقوقك.", "en": "Hello {prenom}, check your rights."},
            buttons=["screening"],
        )
        sender = await drive(engine, clock)
        by_resident = {row.resident_id: row.payload for row in sender.sent}
        assert by_resident[amina]["text"] == "مرحبا Amina، اعرف حقوقك."
        assert by_resident[joy]["text"] == "Hello Joy, check your rights."
        assert by_resident[ayse]["text"] == "Bonjour Ayşe, faites le point sur vos droits."  # no Turkish version
        delivery = deliveries(engine, campaign_id)[joy]
        english = i18n.translate("Faire le point sur mes droits", "en")
        assert by_resident[joy]["buttons"] == [[english, f"k:{delivery.id}:screening"]] and english != "Faire le point"

    def test_a_translation_in_an_unknown_language_or_with_unknown_fields_is_refused(self) -> None:
        with pytest.raises(ValueError, match="langue inconnue"):
            CampaignSpec.model_validate({**SPEC, "translations": {"xx": "hello"}})
        with pytest.raises(ValueError, match="champ inconnu"):
            CampaignSpec.model_validate({**SPEC, "translations": {"en": "hello {name}"}})

    async def test_an_at_campaign_waits_for_its_time(self, engine: Engine, clock: FrozenClock) -> None:
        resident(engine, clock)
        at = clock.now() + dt.timedelta(hours=2)
        campaign_id = create(engine, clock, schedule={"kind": "at", "at": at.isoformat()})
        assert status(engine, campaign_id) == CampaignStatus.scheduled
        assert not (await drive(engine, clock)).sent
        assert deliveries(engine, campaign_id) == {}  # the audience is taken when the time comes
        late = resident(engine, clock, first_name="Arrivée entre-temps")
        clock.set(at)
        sender = await drive(engine, clock)
        assert len(sender.sent) == 2 and late in {r.resident_id for r in sender.sent}
        assert status(engine, campaign_id) == CampaignStatus.done

    async def test_a_weekly_campaign_reaches_new_members_every_week_and_nobody_twice(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        first = resident(engine, clock)
        at = clock.now() + dt.timedelta(minutes=5)
        campaign_id = create(engine, clock, schedule={"kind": "weekly", "at": at.isoformat()})
        clock.set(at)
        sender = await drive(engine, clock)
        assert [r.resident_id for r in sender.sent] == [first]
        assert status(engine, campaign_id) == CampaignStatus.scheduled  # never done until cancelled
        with UnitOfWork(engine) as uow:
            campaign = uow.session.get(Campaign, campaign_id)
            assert campaign is not None and campaign.next_run_at == at + dt.timedelta(days=7)
        newcomer = resident(engine, clock, first_name="Nouvelle")
        clock.set(at + dt.timedelta(days=3))
        await drive(engine, clock, sender)
        assert len(sender.sent) == 1  # not before its weekly time
        clock.set(at + dt.timedelta(days=7))
        await drive(engine, clock, sender)
        assert [r.resident_id for r in sender.sent] == [first, newcomer]
        act(engine, clock, "cancel", campaign_id)
        clock.set(at + dt.timedelta(days=14))
        resident(engine, clock, first_name="Trop tard")
        await drive(engine, clock, sender)
        assert len(sender.sent) == 2

    def test_a_weekly_run_keeps_the_local_time_over_a_clock_change(self) -> None:
        anchor = paris(2026, 10, 19, 10)  # summer time
        after_change = campaigns.next_weekly_run(anchor, paris(2026, 10, 27, 0), PARIS)
        assert after_change == paris(2026, 11, 2, 10)  # still 10:00 in Paris (winter time)

    def test_invalid_transitions_are_refused_in_french(self, engine: Engine, clock: FrozenClock) -> None:
        campaign_id = create(engine, clock, start=False)
        with pytest.raises(CampaignError, match=r"mettre en pause.*pas encore lancée"):
            act(engine, clock, "pause", campaign_id)
        with pytest.raises(CampaignError, match="reprendre"):
            act(engine, clock, "resume", campaign_id)
        act(engine, clock, "start", campaign_id)
        with pytest.raises(CampaignError, match=r"lancer.*en cours d'envoi"):
            act(engine, clock, "start", campaign_id)
        act(engine, clock, "cancel", campaign_id)
        for verb in ("start", "pause", "resume", "cancel"):
            with pytest.raises(CampaignError, match="est annulée"):
                act(engine, clock, verb, campaign_id)
        with pytest.raises(CampaignError, match="aucune campagne n° 999"):
            act(engine, clock, "start", 999)

    def test_an_unknown_territory_or_quartier_is_refused(self, engine: Engine, clock: FrozenClock) -> None:
        with pytest.raises(CampaignError, match="territoire inconnu"):
            create(engine, clock, territory="lyon", audience={"territory": "lyon"})
        with pytest.raises(CampaignError, match=r"quartier inconnu.*chartreux"):
            create(engine, clock, audience={"territory": "dijon", "quartiers": ["chartreux"]})


class TestLazyQueuing:
    def test_only_a_few_seconds_are_queued_ahead_spaced_at_the_campaign_rate(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        for n in range(40):
            resident(engine, clock, first_name=f"P{n}")
        campaign_id = create(engine, clock, rate=5)
        options = PumpOptions(rate=25, window=3.0)
        assert campaigns.pump(engine, clock, options) == 15  # 3 s at 5 msg/s
        assert campaigns.pump(engine, clock, options) == 0  # the window is full
        rows = campaign_rows(engine)
        gaps = {round((b.due_at - a.due_at).total_seconds(), 3) for a, b in itertools.pairwise(rows)}
        assert gaps == {0.2} and rows[0].due_at == clock.now()
        clock.advance(seconds=1)
        with UnitOfWork(engine) as uow:  # the dispatcher sent the first second's five
            uow.session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([r.id for r in rows[:5]]))
                .values(status=OutboxStatus.sent.value, sent_at=clock.now())
            )
            uow.commit()
        assert campaigns.pump(engine, clock, options) == 5
        after = campaign_rows(engine)
        assert after[15].due_at == rows[14].due_at + dt.timedelta(seconds=0.2)  # the pace goes on
        assert progress(engine, campaign_id)["pending"] == 20

    def test_the_campaign_rate_never_exceeds_the_dispatcher_rate(self, engine: Engine, clock: FrozenClock) -> None:
        for n in range(100):
            resident(engine, clock, first_name=f"P{n}")
        create(engine, clock, rate=30)
        assert campaigns.pump(engine, clock, PumpOptions(rate=10, window=3.0)) == 30


class TestPauseResumeCancel:
    async def test_pause_takes_back_the_queued_rows_at_once_and_resume_sends_them(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        people = [resident(engine, clock, first_name=f"P{n}") for n in range(20)]
        campaign_id = create(engine, clock, rate=2)
        campaigns.pump(engine, clock, OPTIONS)
        sender = RecordingSender()
        dispatcher = make_dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.0)
        await dispatcher.run_once(budget=10)
        assert len(sender.sent) == 1  # only the first was due
        act(engine, clock, "pause", campaign_id)
        assert campaign_rows(engine, OutboxStatus.pending) == []  # deleted, not merely held
        counts = progress(engine, campaign_id)
        assert counts["status"] == "paused" and counts["sent"] == 1 and counts["pending"] == 19
        clock.advance(minutes=10)
        await drive(engine, clock, sender)
        assert len(sender.sent) == 1
        act(engine, clock, "resume", campaign_id)
        await drive(engine, clock, sender, rounds=30)
        assert sorted(r.resident_id for r in sender.sent) == people  # type: ignore[type-var]
        assert status(engine, campaign_id) == CampaignStatus.done

    async def test_a_row_claimed_during_the_pause_is_dropped_then_resent_after_resume(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        amina = resident(engine, clock)
        campaign_id = create(engine, clock)
        campaigns.pump(engine, clock, OPTIONS)
        with UnitOfWork(engine) as uow:  # the race: the pause lands between the claim and the guard
            uow.session.execute(update(Campaign.__table__).values(status="paused"))  # type: ignore[attr-defined]
            uow.commit()
        sender = RecordingSender()
        await make_dispatcher(engine, clock, sender, per_chat_interval=0.0).run_once(budget=5)
        assert sender.sent == [] and campaign_rows(engine)[0].last_error == campaigns.PAUSED_REASON
        assert progress(engine, campaign_id)["pending"] == 1
        act(engine, clock, "resume", campaign_id)
        await drive(engine, clock, sender)
        assert [r.resident_id for r in sender.sent] == [amina]

    async def test_cancel_stops_everything_not_yet_sent(self, engine: Engine, clock: FrozenClock) -> None:
        for n in range(10):
            resident(engine, clock, first_name=f"P{n}")
        campaign_id = create(engine, clock, rate=1)
        campaigns.pump(engine, clock, OPTIONS)
        sender = RecordingSender()
        await make_dispatcher(engine, clock, sender, per_chat_interval=0.0).run_once(budget=5)
        act(engine, clock, "cancel", campaign_id)
        clock.advance(minutes=5)
        await drive(engine, clock, sender)
        assert len(sender.sent) == 1
        counts = progress(engine, campaign_id)
        assert counts["status"] == "cancelled" and counts["sent"] == 1 and counts["cancelled"] == 9
        assert counts["percent"] == 100


class TestWhoGetsIt:
    async def test_the_third_campaign_in_a_week_is_capped(self, engine: Engine, clock: FrozenClock) -> None:
        amina = resident(engine, clock)
        sender = RecordingSender()
        ids = []
        for n in range(3):
            ids.append(create(engine, clock, name=f"Campagne {n}"))
            await drive(engine, clock, sender)
            clock.advance(days=1)
        assert [r.payload["campaign_id"] for r in sender.sent] == ids[:2]
        assert deliveries(engine, ids[2])[amina].status == DeliveryStatus.capped
        assert progress(engine, ids[2])["capped"] == 1
        clock.advance(days=6)  # the first one is more than 7 days old now
        fourth = create(engine, clock, name="Campagne 4")
        await drive(engine, clock, sender)
        assert sender.sent[-1].payload["campaign_id"] == fourth

    async def test_exclusions_are_checked_again_when_their_turn_comes(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        stays, leaves, blocked = (resident(engine, clock, first_name=n) for n in ("A", "B", "C"))
        campaign_id = create(engine, clock)  # the snapshot has all three
        with UnitOfWork(engine) as uow:
            residents.opt_out(uow, clock, leaves)
            row = uow.session.get(Resident, blocked)
            assert row is not None
            row.unreachable_at = clock.now()
            uow.session.add(row)
            uow.commit()
        sender = await drive(engine, clock)
        assert [r.resident_id for r in sender.sent] == [stays]
        assert progress(engine, campaign_id)["excluded"] == 2

    async def test_the_cap_setting_is_honoured(self, engine: Engine, clock: FrozenClock) -> None:
        resident(engine, clock)
        first, second = create(engine, clock, name="Un"), create(engine, clock, name="Deux")
        options = PumpOptions(rate=30, weekly_cap=1)
        sender = await drive(engine, clock, options=options)
        assert [r.payload["campaign_id"] for r in sender.sent] == [first]
        assert progress(engine, second)["capped"] == 1


class TestQuietHours:
    async def test_nothing_leaves_at_21h_and_it_goes_at_9h(self, engine: Engine, clock: FrozenClock) -> None:
        resident(engine, clock)
        clock.set(paris(2026, 11, 24, 21))  # a Tuesday evening
        campaign_id = create(engine, clock)
        assert campaigns.pump(engine, clock, OPTIONS) == 0
        sender = await drive(engine, clock)
        assert sender.sent == [] and campaign_rows(engine) == []
        clock.set(paris(2026, 11, 25, 8, 59))
        assert campaigns.pump(engine, clock, OPTIONS) == 0
        clock.set(paris(2026, 11, 25, 9))
        await drive(engine, clock, sender)
        assert len(sender.sent) == 1
        assert progress(engine, campaign_id)["sent"] == 1

    async def test_the_window_stops_where_quiet_hours_begin(self, engine: Engine, clock: FrozenClock) -> None:
        for n in range(30):
            resident(engine, clock, first_name=f"P{n}")
        create(engine, clock, rate=10)
        clock.set(paris(2026, 11, 24, 19, 59) + dt.timedelta(seconds=59))
        assert campaigns.pump(engine, clock, OPTIONS) == 10  # one second before 20:00

    async def test_none_disables_quiet_hours(self, engine: Engine, clock: FrozenClock) -> None:
        resident(engine, clock)
        clock.set(paris(2026, 11, 29, 23))  # a Sunday night
        create(engine, clock)
        sender = await drive(engine, clock, options=PumpOptions(rate=30, quiet=QuietHours.never()))
        assert len(sender.sent) == 1


class TestStaffTest:
    async def test_the_test_message_reaches_the_staff_member_with_inert_buttons(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        resident(engine, clock, first_name="Amina")
        member = staff_member(engine, clock, telegram_user_id=9100)
        campaign_id = create(engine, clock, start=False)
        with UnitOfWork(engine) as uow:
            campaigns.send_test(uow, clock, campaign_id, member)
        sender = RecordingSender()
        await make_dispatcher(engine, clock, sender, per_chat_interval=0.0).run_once(budget=5)
        [test] = sender.sent
        assert test.chat_id == 9100 and test.kind == campaigns.KIND_TEST and test.resident_id is None
        assert "Bonjour Amina, faites le point" in test.payload["text"] and "Test" in test.payload["text"]
        assert [b[1] for b in test.payload["buttons"]] == ["k:0:screening", "k:0:book", "k:0:stop"]
        assert status(engine, campaign_id) == CampaignStatus.draft

    def test_without_telegram_the_staff_member_is_told_in_french(self, engine: Engine, clock: FrozenClock) -> None:
        member = staff_member(engine, clock, telegram_user_id=None)
        campaign_id = create(engine, clock, start=False)
        with UnitOfWork(engine) as uow, pytest.raises(CampaignError, match="relié à Telegram"):
            campaigns.send_test(uow, clock, campaign_id, member)


class TestResults:
    async def test_clicks_screenings_bookings_and_opt_outs_within_7_days(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        people = [resident(engine, clock, first_name=f"P{n}") for n in range(5)]
        campaign_id = create(engine, clock)
        await drive(engine, clock)
        ids = {rid: d.id for rid, d in deliveries(engine, campaign_id).items()}
        with UnitOfWork(engine) as uow:
            assert campaigns.record_click(uow, clock, delivery_id=ids[people[0]], button="screening",
                                          resident_id=people[0])
            assert campaigns.record_click(uow, clock, delivery_id=ids[people[0]], button="book",
                                          resident_id=people[0])  # the first click stays
            assert campaigns.record_click(uow, clock, delivery_id=ids[people[1]], button="stop",
                                          resident_id=people[1])
            assert not campaigns.record_click(uow, clock, delivery_id=ids[people[2]], button="book",
                                              resident_id=people[3])  # not theirs
            assert not campaigns.record_click(uow, clock, delivery_id=ids[people[2]], button="talk",
                                              resident_id=people[2])  # not a button of this campaign
            now = clock.now()
            uow.session.add(Event(at=now + dt.timedelta(days=2), kind="screening_completed", resident_id=people[0]))
            uow.session.add(Event(at=now + dt.timedelta(days=9), kind="screening_completed", resident_id=people[2]))
            uow.session.add(Event(at=now + dt.timedelta(days=1), kind="appointment_booked", resident_id=people[3]))
            uow.session.add(Event(at=now + dt.timedelta(days=3), kind="resident_opted_out", resident_id=people[4]))
            uow.commit()
        clock.advance(days=10)
        found = results(engine, campaign_id, clock)
        assert found["sent"] == 5 and found["blocked"] == 0 and found["failed"] == 0
        assert found["clicks"] == {"screening": 1, "book": 0, "talk": 0, "stop": 1, "total": 2}
        assert found["screenings_7d"] == 1 and found["bookings_7d"] == 1 and found["opt_outs"] == 2
        with UnitOfWork(engine) as uow:
            clicks = uow.session.execute(
                Event.__table__.select().where(Event.__table__.c.kind == "campaign_click")  # type: ignore[attr-defined]
            ).all()
        assert len(clicks) == 3

    def test_campaigns_are_listed_by_territory(self, engine: Engine, clock: FrozenClock) -> None:
        dijon = create(engine, clock, start=False)
        troyes = create(engine, clock, start=False, territory="troyes", audience={"territory": "troyes"})
        with UnitOfWork(engine) as uow:
            assert [c.id for c in campaigns.list_campaigns(uow.session, "dijon")] == [dijon]
            assert {c.id for c in campaigns.list_campaigns(uow.session, None)} == {dijon, troyes}
