"""The outbox's priority lane (fake sender, database on SQLite and PostgreSQL): priority rows are claimed
before a backlog, leave at night, keep Telegram's per-chat burst, and `wake()` makes them leave at once;
payloads for files by file_id and edits; after-sent hooks in the transaction that records the send."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import UnitOfWork
from db.models import AuditLog, OutboxStatus, Resident
from outreach import outbox
from outreach.bootstrap import make_dispatcher
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher, OutboxRow, QuietHours, SendResult
from outreach.senders import RecordingSender
from tests.booking.conftest import add_resident, by_key, paris


def put(
    engine: Engine, clock: FrozenClock, key: str, *, chat_id: int = 1, priority: bool = False,
    kind: str = "test", resident_id: int | None = None, **payload: Any,
) -> None:
    with UnitOfWork(engine) as uow:
        outbox.enqueue(
            uow, key=key, chat_id=chat_id, kind=kind, payload={"text": f"message {key}", **payload},
            due_at=clock.now(), resident_id=resident_id, now=clock.now(), priority=priority,
        )
        uow.commit()


def backlog(engine: Engine, clock: FrozenClock, count: int, *, first_chat: int = 10_000) -> None:
    """`count` ordinary rows, one per chat, due a minute ago (a campaign being sent)."""
    due = clock.now() - dt.timedelta(minutes=1)
    with UnitOfWork(engine) as uow:
        for n in range(count):
            outbox.enqueue(uow, key=f"camp:{n}", chat_id=first_chat + n, kind="campaign",
                           payload={"text": f"campagne {n}"}, due_at=due, now=due)
        uow.commit()


class TimedSender(RecordingSender):
    """Records when each row was sent (monotonic), optionally taking `delay` per send."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.times: dict[str, float] = {}

    async def send(self, row: OutboxRow) -> SendResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.times[row.key] = time.monotonic()
        return await super().send(row)


class TestTheLane:
    async def test_priority_rows_are_claimed_and_sent_before_a_backlog(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        backlog(engine, clock, 120)
        for n in range(3):
            put(engine, clock, f"relay{n}", chat_id=500 + n, priority=True, kind="handoff_relay")
        sender = RecordingSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0, concurrency=1, batch_size=20)
        stats = await dispatcher.run_once(budget=30)
        assert stats.sent == 123
        assert [row.key for row in sender.sent[:3]] == ["relay0", "relay1", "relay2"]
        assert all(row.priority for row in sender.sent[:3]) and not any(row.priority for row in sender.sent[3:])

    async def test_at_night_priority_rows_leave_and_the_others_wait_for_the_morning(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        night, sunday, noel = paris(2026, 11, 24, 21), paris(2026, 11, 29, 12), paris(2026, 12, 25, 10)
        for moment in (night, sunday, noel):
            clock.set(moment)
            key = f"{moment:%d%H}"
            put(engine, clock, f"reminder{key}", chat_id=1)
            put(engine, clock, f"relay{key}", chat_id=2, priority=True, kind="handoff_relay")
            sender = RecordingSender()
            await Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0, quiet=QuietHours()).run_once()
            assert sender.texts() == [f"message relay{key}"]
            waiting = by_key(engine)[f"reminder{key}"]
            assert waiting.status == OutboxStatus.pending and waiting.due_at > moment

    async def test_a_relayed_answer_reaches_a_resident_who_opted_out_of_proactive_messages(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        resident = add_resident(engine, clock, quartier=None, territory=None, chat_id=4040)
        with UnitOfWork(engine) as uow:
            row = uow.session.get(Resident, resident)
            assert row is not None
            row.opted_out_at = clock.now()
            uow.session.add(row)
            uow.commit()
        put(engine, clock, "nudge", chat_id=4040, resident_id=resident)
        put(engine, clock, "answer", chat_id=4040, resident_id=resident, priority=True, kind="handoff_relay")
        sender = RecordingSender()
        await make_dispatcher(engine, clock, sender, rate=30, per_chat_interval=0).run_once()
        assert sender.texts() == ["message answer"] and by_key(engine)["nudge"].last_error == "opted out"

    async def test_one_chat_gets_a_burst_of_three_then_one_per_interval(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        for n in range(5):
            put(engine, clock, f"p{n}", chat_id=9, priority=True)
        sender = TimedSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.5)
        await dispatcher.run_once(budget=10)
        times = [sender.times[f"p{n}"] for n in range(5)]
        assert times[2] - times[0] < 0.2  # the burst
        assert times[3] - times[2] >= 0.45 and times[4] - times[3] >= 0.45  # then one per interval

    async def test_ordinary_rows_of_one_chat_keep_one_per_interval(self, engine: Engine, clock: FrozenClock) -> None:
        for n in range(3):
            put(engine, clock, f"o{n}", chat_id=9)
        sender = TimedSender()
        await Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.3).run_once(budget=10)
        times = [sender.times[f"o{n}"] for n in range(3)]
        assert times[1] - times[0] >= 0.28 and times[2] - times[1] >= 0.28


class TestWake:
    async def test_wake_sends_a_priority_row_within_100_ms_while_a_backlog_drains(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        backlog(engine, clock, 400)
        sender = TimedSender(delay=0.01)
        dispatcher = Dispatcher(engine, clock, sender, rate=25, per_chat_interval=1.0, poll_interval=5.0)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            await asyncio.sleep(1.0)  # the dispatcher holds a batch of the backlog and sends it at 25/s
            latencies = []
            for n in range(3):
                enqueued = time.monotonic()
                await asyncio.to_thread(put, engine, clock, f"relay{n}", chat_id=900 + n, priority=True)
                dispatcher.wake()
                while f"relay{n}" not in sender.times:
                    assert time.monotonic() - enqueued < 2, "the priority row did not leave"
                    await asyncio.sleep(0.002)  # polling the fake sender
                latencies.append(sender.times[f"relay{n}"] - enqueued)
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            await running
        assert max(latencies) < 0.1, latencies
        assert len(sender.sent) < 400  # the backlog was still being sent

    async def test_between_two_scheduler_ticks_wake_starts_a_run_at_once(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        jobs: list[Any] = []

        class Scheduler:
            def add_job(self, func: Any, trigger: str, **kw: Any) -> None:
                jobs.append(func)

        sender = TimedSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30)
        dispatcher.add_job(Scheduler(), seconds=1.0)  # no tick will come: only wake() can send
        put(engine, clock, "relay", chat_id=5, priority=True)
        enqueued = time.monotonic()  # committed: from here on it is the dispatcher's time
        dispatcher.wake()
        while "relay" not in sender.times:
            assert time.monotonic() - enqueued < 2, "wake() started no run"
            await asyncio.sleep(0.002)  # polling the fake sender
        assert sender.times["relay"] - enqueued < 0.1
        await dispatcher.shutdown(within=5)

    async def test_wake_from_another_thread(self, engine: Engine, clock: FrozenClock) -> None:
        sender = TimedSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30, poll_interval=5.0)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await asyncio.sleep(0.2)  # idle, waiting for its next poll in 5 s
        started = time.monotonic()

        def enqueue_in_a_worker() -> None:
            put(engine, clock, "from-thread", chat_id=6, priority=True)
            dispatcher.wake()
            assert threading.current_thread() is not threading.main_thread()

        await asyncio.to_thread(enqueue_in_a_worker)
        while "from-thread" not in sender.times:
            assert time.monotonic() - started < 2, "the wake from a thread was lost"
            await asyncio.sleep(0.002)  # polling the fake sender
        stop.set()
        await running
        assert sender.times["from-thread"] - started < 0.1

    async def test_shutdown_ends_a_long_run_and_puts_held_rows_back(self, engine: Engine, clock: FrozenClock) -> None:
        backlog(engine, clock, 200)
        sender = TimedSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=10, per_chat_interval=0)
        run = asyncio.create_task(dispatcher.run_once(budget=60))
        await asyncio.sleep(0.5)
        began = time.monotonic()
        await dispatcher.shutdown(within=10)
        assert run.done() and time.monotonic() - began < 2
        statuses = {row.status for row in by_key(engine).values()}
        assert statuses == {OutboxStatus.sent, OutboxStatus.pending}  # nothing left claimed


class TestPayloads:
    @pytest.mark.parametrize(
        "payload",
        [
            {"photo": {"file_id": "AgAD"}},
            {"photo": {"file_id": "AgAD"}, "text": "Amina a envoyé une photo", "buttons": [["Voir", "s:see:1"]]},
            {"document": {"file_id": "BQAD"}, "text": "Amina a envoyé un document"},
            {"edit": {"message_id": 42}, "text": "Pris par Samia"},
            {"edit": {"message_id": 42}, "buttons": [["Je prends", "s:take:1"]]},
            {"edit": {"message_id": 42}},  # the keyboard removed
        ],
    )
    def test_files_by_file_id_and_edits_are_accepted(self, engine: Engine, clock: FrozenClock, payload: dict) -> None:
        with UnitOfWork(engine) as uow:
            assert outbox.enqueue(uow, key="ok", chat_id=1, kind="t", payload=payload, due_at=clock.now())

    @pytest.mark.parametrize(
        "payload",
        [
            {"photo": {"file_id": ""}},
            {"photo": {"file_id": "AgAD"}, "text": "x" * 1025},
            {"photo": {"file_id": "AgAD"}, "document": {"file_id": "BQAD"}},
            {"document": {"file_id": "BQAD"}, "text": ""},
            {"edit": {"message_id": 0}, "text": "Pris"},
            {"edit": {}, "text": "Pris"},
            {"edit": {"message_id": 3}, "text": "x" * 4097},
            {"edit": {"message_id": 3}, "photo": {"file_id": "AgAD"}},
        ],
    )
    def test_what_telegram_would_refuse_is_refused_at_once(
        self, engine: Engine, clock: FrozenClock, payload: dict
    ) -> None:
        with UnitOfWork(engine) as uow, pytest.raises(outbox.OutboxError):
            outbox.enqueue(uow, key="bad", chat_id=1, kind="t", payload=payload, due_at=clock.now())


class TestAfterSentHooks:
    async def test_the_hook_of_the_kind_runs_in_the_transaction_that_records_the_send(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        seen: list[tuple[str, int | None]] = []

        def card_sent(session: Session, row: OutboxRow, result: SendResult, now: dt.datetime) -> None:
            seen.append((row.key, result.message_id))
            session.add(AuditLog(at=now, actor="system", action="card_sent", subject=row.key,
                                 detail={"message_id": result.message_id}))

        put(engine, clock, "card", chat_id=3, kind="handoff_card", priority=True)
        put(engine, clock, "other", chat_id=4)
        sender = RecordingSender()
        await make_dispatcher(engine, clock, sender, rate=30, per_chat_interval=0,
                              after_sent={"handoff_card": card_sent}).run_once()
        assert seen == [("card", 1)]
        with Session(engine) as session:
            [audit] = session.execute(select(AuditLog).where(AuditLog.action == "card_sent")).scalars()
        assert audit.subject == "card" and audit.detail == {"message_id": 1}

    async def test_a_failing_hook_leaves_the_row_sent_and_writes_nothing(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        def broken(session: Session, row: OutboxRow, result: SendResult, now: dt.datetime) -> None:
            session.add(AuditLog(at=now, actor="system", action="half_done", subject=row.key, detail={}))
            session.flush()
            raise RuntimeError("bug in a hook")

        put(engine, clock, "card", chat_id=3, kind="handoff_card")
        sender = RecordingSender()
        sender.results[5] = [SendResult.failure("400: chat not found", permanent=True)]
        put(engine, clock, "lost", chat_id=5, kind="handoff_card")
        stats = await Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0,
                                 after_sent={"handoff_card": broken}).run_once()
        assert stats.sent == 1 and stats.failed == 1
        assert by_key(engine)["card"].status == OutboxStatus.sent
        with Session(engine) as session:
            assert session.execute(select(AuditLog).where(AuditLog.action == "half_done")).first() is None


class TestJoining:
    async def test_relayed_texts_held_by_the_chat_limit_leave_together_in_order(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        """Five relayed lines waiting for one relay's chat leave as one message (one line each, in order)
        instead of one per second; a photo is never joined and keeps its place; every row is sent."""
        for n in range(5):
            put(engine, clock, f"relay{n}", chat_id=7, priority=True, kind="handoff_relay", join=True)
        put(engine, clock, "photo", chat_id=7, priority=True, kind="handoff_relay", photo={"file_id": "AgAD"})
        put(engine, clock, "after", chat_id=7, priority=True, kind="handoff_relay", join=True)
        sender = RecordingSender()
        dispatcher = Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.2, priority_burst=1)
        stats = await dispatcher.run_once(budget=10)
        texts = [row.payload.get("text") for row in sender.sent]
        assert texts[0] == "\n".join(f"message relay{n}" for n in range(5))  # waited together: one message
        assert [row.key for row in sender.sent[1:]] == ["photo", "after"]  # a file is never joined, order kept
        assert stats.sent == 7
        assert {row.status for row in by_key(engine).values()} == {OutboxStatus.sent}

    async def test_texts_with_buttons_or_not_marked_are_never_joined(self, engine: Engine, clock: FrozenClock) -> None:
        put(engine, clock, "a", chat_id=8, priority=True, join=True)
        put(engine, clock, "b", chat_id=8, priority=True)
        put(engine, clock, "c", chat_id=8, priority=True, join=True, buttons=[["Oui", "x:1"]])
        sender = RecordingSender()
        await Dispatcher(engine, clock, sender, rate=30, per_chat_interval=0.05, priority_burst=1).run_once(budget=5)
        assert [row.payload["text"] for row in sender.sent] == ["message a", "message b", "message c"]
