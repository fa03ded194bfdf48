"""outreach/metrics.py: the values the instrumentation functions leave, the database values read at scrape time
(on SQLite and PostgreSQL), a scrape that survives a failing query or an unreachable database, and the 429s
the Bot API sender counts."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import (
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    DeliveryStatus,
    Handoff,
    HandoffStatus,
    OutboxMessage,
    OutboxStatus,
    Resident,
)
from outreach import metrics, senders
from outreach.clock import FrozenClock

REGISTRY = metrics.REGISTRY


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def count(name: str, **labels: str) -> float:
    return value(name, **labels) or 0.0


@pytest.fixture(autouse=True)
def no_database_collector() -> Iterator[None]:
    """Each test registers its own engine; none stays registered after it."""
    metrics.unregister_database()
    yield
    metrics.unregister_database()


# ---------------------------------------------------------------- counted in this process


def test_a_turn_is_observed_in_its_kind_and_buckets() -> None:
    before = count("outreach_turn_seconds_count", kind="button")
    below_half = count("outreach_turn_seconds_bucket", kind="button", le="0.5")
    below_quarter = count("outreach_turn_seconds_bucket", kind="button", le="0.25")
    metrics.observe_turn(0.3, "button")
    assert count("outreach_turn_seconds_count", kind="button") == before + 1
    assert count("outreach_turn_seconds_bucket", kind="button", le="0.5") == below_half + 1
    assert count("outreach_turn_seconds_bucket", kind="button", le="0.25") == below_quarter


def test_an_unknown_turn_kind_counts_as_other() -> None:
    before = count("outreach_turn_seconds_count", kind="other")
    metrics.observe_turn(1.5, "sticker")
    assert count("outreach_turn_seconds_count", kind="other") == before + 1
    assert value("outreach_turn_seconds_count", kind="sticker") is None


def test_updates_are_counted_by_outcome_and_an_unknown_outcome_is_not() -> None:
    before = {outcome: count("outreach_updates_total", outcome=outcome) for outcome in metrics.UPDATE_OUTCOMES}
    metrics.count_update("handled")
    metrics.count_update("handled")
    metrics.count_update("duplicate")
    metrics.count_update("flood_dropped")
    metrics.count_update("error")
    metrics.count_update("lost")
    after = {outcome: count("outreach_updates_total", outcome=outcome) for outcome in metrics.UPDATE_OUTCOMES}
    assert {k: after[k] - before[k] for k in after} == {"handled": 2, "duplicate": 1, "flood_dropped": 1, "error": 1}
    assert value("outreach_updates_total", outcome="lost") is None


def test_every_label_value_is_there_from_the_start() -> None:
    for kind in metrics.TURN_KINDS:
        assert value("outreach_turn_seconds_count", kind=kind) is not None
    for outcome in metrics.UPDATE_OUTCOMES:
        assert value("outreach_updates_total", outcome=outcome) is not None
    for reason in metrics.RASA_ERROR_REASONS:
        assert value("outreach_rasa_errors_total", reason=reason) is not None


def test_rasa_errors_by_reason() -> None:
    timeout, other = count("outreach_rasa_errors_total", reason="timeout"), count("outreach_rasa_errors_total",
                                                                                  reason="other")
    metrics.count_rasa_error("timeout")
    metrics.count_rasa_error("invalid JSON")
    assert count("outreach_rasa_errors_total", reason="timeout") == timeout + 1
    assert count("outreach_rasa_errors_total", reason="other") == other + 1


def test_rate_limits_count_and_keep_their_retry_after() -> None:
    before, waited = count("outreach_telegram_429_total"), count("outreach_telegram_retry_after_seconds_sum")
    metrics.count_rate_limited(7)
    assert count("outreach_telegram_429_total") == before + 1
    assert count("outreach_telegram_retry_after_seconds_sum") == waited + 7


def test_the_bot_api_sender_counts_a_429() -> None:
    before, waited = count("outreach_telegram_429_total"), count("outreach_telegram_retry_after_seconds_sum")
    answer = httpx.Response(
        429,
        json={"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 12",
              "parameters": {"retry_after": 12}},
    )
    result = senders._result(answer)
    assert result.retry_after == 12
    assert count("outreach_telegram_429_total") == before + 1
    assert count("outreach_telegram_retry_after_seconds_sum") == waited + 12
    senders._result(httpx.Response(200, json={"ok": True, "result": {"message_id": 5}}))
    senders._result(httpx.Response(403, json={"ok": False, "error_code": 403, "description": "blocked"}))
    assert count("outreach_telegram_429_total") == before + 1


def test_readiness_and_worker_name() -> None:
    metrics.set_ready(True)
    assert value("outreach_ready") == 1
    metrics.set_ready(False)
    assert value("outreach_ready") == 0
    metrics.set_worker("worker-2")
    assert value("outreach_worker_info", worker="worker-2") == 1


def test_the_exposition_is_prometheus_text_with_process_metrics() -> None:
    metrics.set_worker("worker-1")
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain") and "version=" in content_type
    page = body.decode()
    for name in ("outreach_turn_seconds_bucket", "outreach_updates_total", "outreach_rasa_errors_total",
                 "outreach_telegram_429_total", "outreach_ready", 'outreach_worker_info{worker="worker-1"}',
                 "process_cpu_seconds_total", "python_info"):
        assert name in page, name
    assert "_created" not in page


# ---------------------------------------------------------------- read from the database


def a_resident(uow: UnitOfWork, clock: FrozenClock, n: int) -> int:
    resident = Resident(public_id=f"r{n}", telegram_user_id=5000 + n, chat_id=5000 + n, created_at=clock.now())
    uow.session.add(resident)
    uow.session.flush()
    assert resident.id is not None
    return resident.id


def an_outbox_row(uow: UnitOfWork, clock: FrozenClock, key: str, status: OutboxStatus, due_in_minutes: float) -> None:
    uow.session.add(OutboxMessage(
        idempotency_key=key, chat_id=42, kind="test", payload={"text": "x"}, status=status,
        due_at=clock.now() + dt.timedelta(minutes=due_in_minutes), created_at=clock.now(),
    ))


def a_campaign(uow: UnitOfWork, clock: FrozenClock, status: CampaignStatus, name: str = "c") -> int:
    campaign = Campaign(name=name, territory_id="dijon", text="Bonjour", status=status, created_at=clock.now())
    uow.session.add(campaign)
    uow.session.flush()
    assert campaign.id is not None
    return campaign.id


def a_delivery(
    uow: UnitOfWork, clock: FrozenClock, campaign_id: int, resident_id: int, status: DeliveryStatus,
    outbox_key: str | None = None,
) -> None:
    uow.session.add(CampaignDelivery(campaign_id=campaign_id, resident_id=resident_id, status=status,
                                     outbox_key=outbox_key, created_at=clock.now()))


def a_case(uow: UnitOfWork, clock: FrozenClock, resident_id: int, status: HandoffStatus, minutes_ago: float) -> None:
    uow.session.add(Handoff(resident_id=resident_id, source="button", reason="test", status=status,
                            created_at=clock.now() - dt.timedelta(minutes=minutes_ago)))


def test_the_database_values_at_scrape_time(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        an_outbox_row(uow, clock, "late", OutboxStatus.pending, -10)
        an_outbox_row(uow, clock, "due", OutboxStatus.pending, -1)
        an_outbox_row(uow, clock, "later", OutboxStatus.pending, 30)
        an_outbox_row(uow, clock, "busy", OutboxStatus.sending, -2)
        an_outbox_row(uow, clock, "sent-1", OutboxStatus.sent, -60)
        an_outbox_row(uow, clock, "sent-2", OutboxStatus.sent, -60)
        an_outbox_row(uow, clock, "failed", OutboxStatus.failed, -60)
        residents = [a_resident(uow, clock, n) for n in range(6)]
        running = a_campaign(uow, clock, CampaignStatus.running)
        a_delivery(uow, clock, running, residents[0], DeliveryStatus.pending)
        a_delivery(uow, clock, running, residents[1], DeliveryStatus.queued, "due")
        a_delivery(uow, clock, running, residents[2], DeliveryStatus.queued, "sent-1")
        a_delivery(uow, clock, running, residents[3], DeliveryStatus.queued, "failed")
        a_delivery(uow, clock, running, residents[4], DeliveryStatus.queued, "gone")  # its row was deleted
        a_delivery(uow, clock, running, residents[5], DeliveryStatus.capped)
        done = a_campaign(uow, clock, CampaignStatus.done)
        a_delivery(uow, clock, done, residents[0], DeliveryStatus.queued, "sent-2")
        a_case(uow, clock, residents[0], HandoffStatus.waiting, 30)
        a_case(uow, clock, residents[1], HandoffStatus.waiting, 5)
        a_case(uow, clock, residents[2], HandoffStatus.claimed, 50)
        a_case(uow, clock, residents[3], HandoffStatus.closed, 500)
        uow.commit()
    metrics.register_database(engine, clock)

    statuses = {s.value: value("outreach_outbox_messages", status=s.value) for s in OutboxStatus}
    assert statuses == {"pending": 3, "sending": 1, "sent": 2, "failed": 1, "dropped": 0}
    assert value("outreach_outbox_due") == 2
    assert value("outreach_outbox_lag_seconds") == pytest.approx(600)
    deliveries = {
        state: value("outreach_campaign_deliveries", campaign=str(running), state=state)
        for state in metrics.CAMPAIGN_STATES
    }
    assert deliveries == {"pending": 1, "queued": 1, "sent": 1, "failed": 1, "dropped": 1, "capped": 1,
                          "excluded": 0, "cancelled": 0}
    assert value("outreach_campaign_deliveries", campaign=str(done), state="sent") is None
    assert value("outreach_cases_waiting") == 2
    assert value("outreach_cases_oldest_waiting_seconds") == pytest.approx(1800)
    assert value("outreach_db_up") == 1
    assert value("outreach_db_pool_size") is not None
    assert value("outreach_db_pool_checked_out") == 0
    with engine.connect():
        assert value("outreach_db_pool_checked_out") == 1

    clock.advance(minutes=40)  # the same rows, later: everything pending is due
    assert value("outreach_outbox_due") == 3
    assert value("outreach_outbox_lag_seconds") == pytest.approx(3000)
    assert value("outreach_cases_oldest_waiting_seconds") == pytest.approx(4200)


def test_an_empty_database_gives_zeros(engine: Engine, clock: FrozenClock) -> None:
    metrics.register_database(engine, clock)
    assert value("outreach_outbox_due") == 0
    assert value("outreach_outbox_lag_seconds") == 0
    assert value("outreach_outbox_messages", status="pending") == 0
    assert value("outreach_cases_waiting") == 0
    assert value("outreach_cases_oldest_waiting_seconds") == 0
    assert "outreach_campaign_deliveries{" not in metrics.exposition()[0].decode()


def test_only_the_latest_campaigns_sending_have_series(sqlite_engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(sqlite_engine) as uow:
        resident = a_resident(uow, clock, 1)
        ids = []
        for n in range(metrics.CAMPAIGNS_SHOWN + 5):
            status = CampaignStatus.scheduled if n % 2 else CampaignStatus.running
            ids.append(a_campaign(uow, clock, status, name=f"c{n}"))
            a_delivery(uow, clock, ids[-1], resident, DeliveryStatus.pending)
        for status in (CampaignStatus.draft, CampaignStatus.paused, CampaignStatus.cancelled):
            other = a_campaign(uow, clock, status)
            a_delivery(uow, clock, other, resident, DeliveryStatus.pending)
        uow.commit()
    metrics.register_database(sqlite_engine, clock)
    page = metrics.exposition()[0].decode()
    shown = {line.split('campaign="')[1].split('"')[0] for line in page.splitlines()
             if line.startswith("outreach_campaign_deliveries{")}
    assert shown == {str(i) for i in ids[-metrics.CAMPAIGNS_SHOWN:]}


def test_registering_twice_keeps_one_collector(sqlite_engine: Engine, clock: FrozenClock) -> None:
    metrics.register_database(sqlite_engine, clock)
    metrics.register_database(sqlite_engine, clock)
    later = FrozenClock(clock.now() + dt.timedelta(hours=1))
    metrics.register_database(sqlite_engine, later)  # replaces, does not add
    page = metrics.exposition()[0].decode()
    assert page.count("# TYPE outreach_outbox_due gauge") == 1


def test_a_failing_query_loses_its_family_only(
    sqlite_engine: Engine, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    with UnitOfWork(sqlite_engine) as uow:
        an_outbox_row(uow, clock, "due", OutboxStatus.pending, -1)
        uow.commit()
    metrics.register_database(sqlite_engine, clock)
    with sqlite_engine.begin() as connection:
        connection.execute(text("ALTER TABLE handoff RENAME TO handoff_elsewhere"))
    caplog.set_level(logging.WARNING, logger="outreach.metrics")

    first = metrics.exposition()[0].decode()
    second = metrics.exposition()[0].decode()
    for page in (first, second):
        assert "outreach_cases_waiting" not in page
        assert "outreach_outbox_due 1.0" in page
        assert "outreach_db_up 0.0" in page
        assert "outreach_turn_seconds_bucket" in page
    warnings = [r.getMessage() for r in caplog.records if r.name == "outreach.metrics"]
    assert len(warnings) == 1 and "cases" in warnings[0]  # once, not at every scrape

    with sqlite_engine.begin() as connection:
        connection.execute(text("ALTER TABLE handoff_elsewhere RENAME TO handoff"))
    page = metrics.exposition()[0].decode()
    assert "outreach_cases_waiting 0.0" in page and "outreach_db_up 1.0" in page


def test_an_unreachable_database_still_gives_a_scrape(tmp_path: Path, clock: FrozenClock) -> None:
    missing = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    try:
        metrics.register_database(missing, clock)
        body, _ = metrics.exposition()
    finally:
        missing.dispose()
    page = body.decode()
    assert "outreach_db_up 0.0" in page
    assert "outreach_outbox_messages" not in page and "outreach_updates_total" in page
