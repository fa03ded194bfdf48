"""The outbox: idempotent rows, quiet hours, claims, retries, leases, guards (fake sender, FrozenClock)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import OutboxMessage, OutboxStatus, Resident
from outreach import outbox
from outreach.bootstrap import make_dispatcher
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher, QuietHours, SendResult
from outreach.senders import RecordingSender
from outreach.services import booking
from tests.booking.conftest import FONTAINE, GRESILLES, PARIS, add_resident, by_key, outbox_rows, paris, permanence


def _put(
    engine: Engine,
    clock: FrozenClock,
    key: str,
    *,
    chat_id: int = 1,
    due: dt.datetime | None = None,
    expires: dt.datetime | None = None,
    resident_id: int | None = None,
    kind: str = "test",
) -> bool:
    with UnitOfWork(engine) as uow:
        added = outbox.enqueue(
            uow,
            key=key,
            chat_id=chat_id,
            kind=kind,
            payload={"text": f"message {key}"},
            due_at=due or clock.now(),
            expires_at=expires,
            resident_id=resident_id,
            now=clock.now(),
        )
        uow.commit()
        return added


def _dispatcher(engine: Engine, clock: FrozenClock, sender: object, **kw: object) -> Dispatcher:
    kw.setdefault("rate", 30)
    kw.setdefault("per_chat_interval", 0.0)
    return make_dispatcher(engine, clock, sender, **kw)  # type: ignore[arg-type]  # every production guard


class TestEnqueue:
    def test_a_key_is_written_once(self, engine: Engine, clock: FrozenClock) -> None:
        assert _put(engine, clock, "k1") is True
        assert _put(engine, clock, "k1") is False
        assert [r.idempotency_key for r in outbox_rows(engine)] == ["k1"]

    def test_payloads_that_telegram_would_refuse_are_refused_at_once(self, engine: Engine, clock: FrozenClock) -> None:
        with UnitOfWork(engine) as uow:
            for payload in (
                {"text": ""},
                {"text": "x" * 5000},
                {"text": "ok", "buttons": [["Oui", "x" * 65]]},
                {"text": "ok", "buttons": [["Oui"]]},
                {"text": "ok", "document": {"filename": "a"}},
            ):
                with pytest.raises(outbox.OutboxError):
                    outbox.enqueue(uow, key="bad", chat_id=1, kind="t", payload=payload, due_at=clock.now())


class TestQuietHours:
    quiet = QuietHours()

    @pytest.mark.parametrize(
        ("moment", "allowed"),
        [
            (paris(2026, 11, 24, 11), paris(2026, 11, 24, 11)),  # a Tuesday morning: allowed
            (paris(2026, 11, 24, 20, 30), paris(2026, 11, 25, 9)),  # evening → next morning
            (paris(2026, 11, 25, 7, 0), paris(2026, 11, 25, 9)),  # early morning → 9:00
            (paris(2026, 11, 28, 21), paris(2026, 11, 30, 9)),  # Saturday night → Sunday is quiet → Monday
            (paris(2026, 11, 29, 12), paris(2026, 11, 30, 9)),  # Sunday noon → Monday 9:00
            (paris(2026, 12, 25, 10), paris(2026, 12, 26, 9)),  # Noël → the 26th
            (paris(2026, 12, 24, 22), paris(2026, 12, 26, 9)),  # Christmas Eve, late → after Noël
        ],
    )
    def test_next_allowed_time(self, moment: dt.datetime, allowed: dt.datetime) -> None:
        assert self.quiet.next_allowed(moment) == allowed
        assert self.quiet.is_quiet(moment) == (moment != allowed)

    def test_none_disables_the_night_and_days_can_be_disabled_too(self) -> None:
        nights_off = QuietHours.parse("none", "sunday,holidays")
        assert not nights_off.is_quiet(paris(2026, 11, 24, 23)) and nights_off.is_quiet(paris(2026, 11, 29, 12))
        assert not QuietHours.parse("none", "none").is_quiet(paris(2026, 12, 25, 3))
        assert QuietHours.parse("22:00-07:30").next_allowed(paris(2026, 11, 24, 23)) == paris(2026, 11, 25, 7, 30)


class TestDispatcher:
    async def test_due_rows_are_sent_once_and_later_rows_wait(self, engine: Engine, clock: FrozenClock) -> None:
        for i in range(5):
            _put(engine, clock, f"now{i}", chat_id=i)
        _put(engine, clock, "later", due=clock.now() + dt.timedelta(hours=1))
        sender = RecordingSender()
        stats = await _dispatcher(engine, clock, sender).run_once()
        assert stats.sent == 5 and sorted(sender.texts()) == [f"message now{i}" for i in range(5)]
        assert (await _dispatcher(engine, clock, sender).run_once()).sent == 0
        rows = by_key(engine)
        assert rows["later"].status == OutboxStatus.pending and all(
            rows[f"now{i}"].status == OutboxStatus.sent and rows[f"now{i}"].sent_at == clock.now() for i in range(5)
        )

    async def test_a_row_due_in_quiet_hours_moves_to_the_next_allowed_time(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        clock.set(paris(2026, 11, 24, 21))
        _put(engine, clock, "evening")
        sender = RecordingSender()
        await _dispatcher(engine, clock, sender).run_once()
        assert sender.sent == [] and by_key(engine)["evening"].due_at == paris(2026, 11, 25, 9)
        clock.set(paris(2026, 11, 25, 9))
        await _dispatcher(engine, clock, sender).run_once()
        assert sender.texts() == ["message evening"]

    async def test_the_48h_reminder_due_on_a_sunday_goes_on_monday(self, seeded: Engine, clock: FrozenClock) -> None:
        resident = add_resident(seeded, clock)
        with UnitOfWork(seeded) as uow:  # Tuesday 1 December 14:00 → reminder due Sunday 29 14:00
            appointment = booking.book(
                uow,
                clock,
                resident_id=resident,
                permanence_id=permanence(seeded, GRESILLES, 1).id,
                starts_at=paris(2026, 12, 1, 14),
                tz=PARIS,
            )
        clock.set(paris(2026, 11, 29, 14))
        sender = RecordingSender()
        await _dispatcher(seeded, clock, sender).run_once()
        assert by_key(seeded)[f"appt:{appointment.id}:r48"].due_at == paris(2026, 11, 30, 9)
        clock.set(paris(2026, 11, 30, 9, 1))
        await _dispatcher(seeded, clock, sender).run_once()
        assert any("Rappel" in t for t in sender.texts())

    async def test_a_2h_reminder_that_would_go_out_after_the_appointment_is_dropped(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(seeded, clock)
        with UnitOfWork(seeded) as uow:  # Wednesday 9:00 → the 2 h reminder is due at 7:00, in the quiet hours
            appointment = booking.book(
                uow,
                clock,
                resident_id=resident,
                permanence_id=permanence(seeded, FONTAINE, 2).id,
                starts_at=paris(2026, 12, 2, 9),
                tz=PARIS,
            )
        clock.set(paris(2026, 12, 2, 7))
        sender = RecordingSender()
        await _dispatcher(seeded, clock, sender).run_once()
        late = by_key(seeded)[f"appt:{appointment.id}:r2"]
        assert late.status == OutboxStatus.dropped and "expired" in (late.last_error or "")
        assert not any("Dans 2 heures" in t for t in sender.texts())

    async def test_expired_rows_are_dropped_not_sent(self, engine: Engine, clock: FrozenClock) -> None:
        _put(
            engine, clock, "stale", due=clock.now() - dt.timedelta(hours=3), expires=clock.now() - dt.timedelta(hours=1)
        )
        sender = RecordingSender()
        stats = await _dispatcher(engine, clock, sender).run_once()
        assert sender.sent == [] and stats.dropped == 1 and by_key(engine)["stale"].status == OutboxStatus.dropped

    async def test_guards_drop_rows_of_opted_out_residents_and_cancelled_appointments(
        self, seeded: Engine, clock: FrozenClock
    ) -> None:
        opted = add_resident(seeded, clock)
        _put(seeded, clock, "to-opted-out", resident_id=opted)
        with UnitOfWork(seeded) as uow:  # opted out without the rows being dropped (a race, an old row)
            row = uow.session.get(Resident, opted)
            assert row is not None
            row.opted_out_at = clock.now()
            uow.session.add(row)
            uow.commit()
        with UnitOfWork(seeded) as uow:
            outbox.enqueue(
                uow,
                key="reminder-of-nothing",
                chat_id=5,
                kind=booking.KIND_REMINDER,
                payload={"text": "Rappel", "appointment_id": 999_999},
                due_at=clock.now(),
            )
            uow.commit()
        sender = RecordingSender()
        await _dispatcher(seeded, clock, sender).run_once()
        rows = by_key(seeded)
        assert sender.sent == []
        assert rows["to-opted-out"].last_error == "opted out" and rows["reminder-of-nothing"].status == "dropped"

    async def test_transient_errors_are_retried_with_backoff_then_failed(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        _put(engine, clock, "flaky", chat_id=7)
        _put(engine, clock, "bad", chat_id=8)
        sender = RecordingSender()
        sender.results[7] = [SendResult.failure("502: Bad Gateway")] * 3
        sender.results[8] = [SendResult.failure("400: chat not found", permanent=True)]
        dispatcher = _dispatcher(engine, clock, sender, max_attempts=3)
        await dispatcher.run_once()
        rows = by_key(engine)
        assert rows["bad"].status == OutboxStatus.failed and rows["bad"].attempts == 1
        assert rows["flaky"].status == OutboxStatus.pending and rows["flaky"].due_at == clock.now() + dt.timedelta(
            seconds=5
        )
        for _ in range(2):
            clock.advance(minutes=5)
            await dispatcher.run_once()
        flaky = by_key(engine)["flaky"]
        assert flaky.status == OutboxStatus.failed and flaky.attempts == 3 and flaky.last_error == "502: Bad Gateway"

    async def test_rows_left_sending_by_a_crashed_worker_are_claimed_again_after_the_lease(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        _put(engine, clock, "orphan")
        _put(engine, clock, "in-flight-elsewhere")
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        with engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.idempotency_key == "orphan")
                .values(status="sending", claimed_at=clock.now() - dt.timedelta(seconds=61))
            )
            connection.execute(
                update(table)
                .where(table.c.idempotency_key == "in-flight-elsewhere")
                .values(status="sending", claimed_at=clock.now() - dt.timedelta(seconds=10))
            )
        sender = RecordingSender()
        await _dispatcher(engine, clock, sender, lease=60).run_once()
        assert sender.texts() == ["message orphan"]
        assert by_key(engine)["in-flight-elsewhere"].status == OutboxStatus.sending

    async def test_two_dispatchers_never_send_the_same_row(self, engine: Engine, clock: FrozenClock) -> None:
        for i in range(60):
            _put(engine, clock, f"m{i}", chat_id=i)
        sender = RecordingSender()
        first = _dispatcher(engine, clock, sender, batch_size=10)
        second = _dispatcher(engine, clock, sender, batch_size=10)
        await asyncio.gather(first.run_once(), second.run_once())
        ids = [row.id for row in sender.sent]
        assert len(ids) == 60 and len(set(ids)) == 60
        assert {r.status for r in outbox_rows(engine)} == {OutboxStatus.sent}

    def test_the_rate_can_never_be_set_above_telegrams_limit(self, engine: Engine, clock: FrozenClock) -> None:
        with pytest.raises(ValueError, match="above"):
            Dispatcher(engine, clock, RecordingSender(), rate=31)


class TestOneChatManyRows:
    async def test_rows_beyond_what_one_chat_can_take_within_the_lease_wait_their_turn_in_the_table(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        for n in range(6):
            _put(engine, clock, f"same{n}", chat_id=3)
        sender = RecordingSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.2, lease=2.4)
        assert dispatcher.max_held_per_chat == 3
        stats = await dispatcher.run_once()
        assert sender.texts() == [f"message same{n}" for n in range(3)] and stats.released == 3
        later = [r for r in outbox_rows(engine) if r.status == OutboxStatus.pending]
        assert [r.idempotency_key for r in later] == [f"same{n}" for n in range(3, 6)]
        assert all(r.due_at > clock.now() for r in later)


class TestSchedulerJob:
    async def test_a_tick_during_a_long_run_returns_at_once(self, engine: Engine, clock: FrozenClock) -> None:
        jobs: list[dict[str, object]] = []

        class Scheduler:
            def add_job(self, func: object, trigger: str, **kw: object) -> None:
                jobs.append({"func": func, "trigger": trigger, **kw})

        started, release = asyncio.Event(), asyncio.Event()

        class SlowSender(RecordingSender):
            async def send(self, row: outbox.OutboxRow) -> SendResult:
                started.set()
                await release.wait()
                return await super().send(row)

        sender = SlowSender()
        _put(engine, clock, "slow")
        dispatcher = _dispatcher(engine, clock, sender)
        dispatcher.add_job(Scheduler(), seconds=1.0)
        job = jobs[0]
        assert job["trigger"] == "interval" and job["seconds"] == 1.0 and job["id"] == "outbox"
        first = asyncio.create_task(job["func"]())  # type: ignore[operator]
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.wait_for(job["func"](), 1)  # type: ignore[operator]  # returns at once
        release.set()
        await asyncio.wait_for(first, 10)
        assert sender.texts() == ["message slow"]
