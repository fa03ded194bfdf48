"""Prometheus metrics of one worker process (`python -m outreach.service`), served by its web console at
`/metrics` (outreach/console/web.py). What they mean and the alerts worth setting: docs/operations.md.

One registry of our own (`REGISTRY`, with the process and platform collectors), not prometheus_client's global
one: tests read its values, and nothing a library registers globally leaks into our exposition.

Two kinds of metrics:
- counted in this process by the functions below (`observe_turn`, `count_update`, `count_rasa_error`,
  `count_rate_limited`, `set_ready`, `set_worker`): never raise, unknown label values are folded into
  a known one (labels stay bounded);
- read from the database at scrape time (`register_database`): the outbox, the campaigns sending, the
  cases waiting, the connection pool. Every worker reports the same database values: aggregate them with
  max(), not sum(). A failing query skips its family (a warning in the log, once until it works again) and
  sets `outreach_db_up` to 0; the scrape itself always succeeds.

No label carries personal data: kinds, outcomes, reasons, statuses, campaign ids and the worker's name.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from db.models import (
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    DeliveryStatus,
    Handoff,
    HandoffStatus,
    OutboxMessage,
    OutboxStatus,
)
from outreach.clock import Clock

log = logging.getLogger("outreach.metrics")

disable_created_metrics()  # no *_created series next to each counter and histogram: noise for our alerts
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds…
PlatformCollector(registry=REGISTRY)  # python_info

TURN_KINDS = ("text", "button", "command", "other")
UPDATE_OUTCOMES = ("handled", "duplicate", "flood_dropped", "error")
RASA_ERROR_REASONS = ("unreachable", "timeout", "http_error", "other")
CAMPAIGN_STATES = ("pending", "queued", "sent", "failed", "dropped", "capped", "excluded", "cancelled")
CAMPAIGNS_SHOWN = 20  # campaigns with series at most (the latest ones running or scheduled)
CAMPAIGNS_SENDING = (CampaignStatus.running.value, CampaignStatus.scheduled.value)
POSTGRES_STATEMENT_TIMEOUT_MS = 2000  # a scrape never waits long on a busy database

TURNS = Histogram(
    "outreach_turn_seconds",
    "Time to handle one resident's update, from its arrival to the bot's answer, by kind of update.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0),
    registry=REGISTRY,
)
UPDATES = Counter(
    "outreach_updates",  # exposed as outreach_updates_total
    "Telegram updates taken by this worker, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
RASA_ERRORS = Counter(
    "outreach_rasa_errors",
    "Failed calls to Rasa, by reason.",
    ["reason"],
    registry=REGISTRY,
)
TELEGRAM_429 = Counter(
    "outreach_telegram_429",
    "Answers 429 (Too Many Requests) from the Bot API.",
    registry=REGISTRY,
)
TELEGRAM_RETRY_AFTER = Histogram(
    "outreach_telegram_retry_after_seconds",
    "The retry_after Telegram asked for with its 429 answers.",
    buckets=(1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
    registry=REGISTRY,
)
READY = Gauge(
    "outreach_ready",
    "1 when this worker is ready to handle updates (what /pret answers), else 0.",
    registry=REGISTRY,
)
WORKER = Info(
    "outreach_worker",  # exposed as outreach_worker_info{worker="…"} 1
    "This worker process's name (OUTREACH_WORKER_NAME).",
    registry=REGISTRY,
)

for _kind in TURN_KINDS:  # every series exists from the start at 0: rate() and alerts see them at once
    TURNS.labels(kind=_kind)
for _outcome in UPDATE_OUTCOMES:
    UPDATES.labels(outcome=_outcome)
for _reason in RASA_ERROR_REASONS:
    RASA_ERRORS.labels(reason=_reason)

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def _known(value: str, allowed: tuple[str, ...], fallback: str, what: str) -> str:
    if value in allowed:
        return value
    _warn_once(f"label:{what}:{value}", "metrics: unknown %s %r counted as %r", what, value, fallback)
    return fallback


# ---------------------------------------------------------------- counted in this process


def observe_turn(seconds: float, kind: str) -> None:
    """One update handled in `seconds` (wall clock, from its arrival to the end of its handling).
    `kind`: text | button | command | other (anything else counts as other)."""
    TURNS.labels(kind=_known(kind, TURN_KINDS, "other", "turn kind")).observe(max(float(seconds), 0.0))


def count_update(outcome: str) -> None:
    """One Telegram update taken by this worker. `outcome`: handled (answered), duplicate (delivered twice,
    handled once), flood_dropped (refused by the flood gate), error (the handler failed). An unknown outcome
    is logged once and not counted."""
    if outcome not in UPDATE_OUTCOMES:
        _warn_once(f"label:outcome:{outcome}", "metrics: unknown update outcome %r not counted", outcome)
        return
    UPDATES.labels(outcome=outcome).inc()


def count_rasa_error(reason: str) -> None:
    """One failed call to Rasa. `reason`: unreachable (connection refused / DNS), timeout, http_error (an answer
    other than 200), other (invalid JSON…; anything else counts as other)."""
    RASA_ERRORS.labels(reason=_known(reason, RASA_ERROR_REASONS, "other", "Rasa error reason")).inc()


def count_rate_limited(retry_after: float) -> None:
    """One 429 from the Bot API, which asked to wait `retry_after` seconds."""
    TELEGRAM_429.inc()
    TELEGRAM_RETRY_AFTER.observe(max(float(retry_after), 0.0))


def set_ready(ready: bool) -> None:
    """Whether this worker is ready (outreach_ready 1/0); /pret and /metrics also set it from the readiness
    callable given to the console."""
    READY.set(1 if ready else 0)


def set_worker(name: str) -> None:
    """This worker's name (Settings.effective_worker_name), as outreach_worker_info{worker=name} 1."""
    WORKER.info({"worker": name})


def exposition() -> tuple[bytes, str]:
    """The body and content type of a /metrics answer (Prometheus text format). Runs the database queries when
    register_database was called: call it from a thread, not the event loop."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- read from the database at scrape time

_T = OutboxMessage.__table__  # type: ignore[attr-defined]
_D = CampaignDelivery.__table__  # type: ignore[attr-defined]
_C = Campaign.__table__  # type: ignore[attr-defined]
_H = Handoff.__table__  # type: ignore[attr-defined]


def _campaign_state(delivery: str, outbox_status: str | None) -> str:
    """A delivery's state for the metric: its own status, then (queued) its outbox row's; a row gone is
    dropped (compare outreach/campaigns/results.py, which also reads why a row was dropped)."""
    if delivery != DeliveryStatus.queued.value:
        return delivery if delivery in CAMPAIGN_STATES else "dropped"
    if outbox_status in (OutboxStatus.pending.value, OutboxStatus.sending.value):
        return "queued"
    if outbox_status in (OutboxStatus.sent.value, OutboxStatus.failed.value):
        return outbox_status
    return "dropped"


class DatabaseCollector(Collector):
    """The values read from the database at each scrape, each family by one cheap query (COUNT … GROUP BY on
    indexed columns) on a connection of its own: one failing query loses its family only."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # no query at registration time

    def collect(self) -> Iterator[Metric]:
        now = self.clock.now()
        ok = True
        families: list[tuple[str, Callable[[Connection, dt.datetime], list[Metric]]]] = [
            ("outbox", self._outbox),
            ("campaigns", self._campaigns),
            ("cases", self._cases),
        ]
        for name, query in families:
            try:
                found = self._run(query, now)
            except Exception as exc:  # a scrape never fails because of the database
                ok = False
                _warn_once(f"db:{name}", "metrics: the %s query failed (%s); its metrics are left out until it "
                           "works again", name, type(exc).__name__)
                continue
            with _warned_lock:
                _warned.discard(f"db:{name}")
            yield from found
        up = GaugeMetricFamily("outreach_db_up", "1 when every database query of this scrape answered, else 0.")
        up.add_metric([], 1 if ok else 0)
        yield up
        yield from self._pool()

    def _run(self, query: Callable[[Connection, dt.datetime], list[Metric]], now: dt.datetime) -> list[Metric]:
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SET LOCAL statement_timeout = {POSTGRES_STATEMENT_TIMEOUT_MS}"))
            try:
                return query(connection, now)
            finally:
                connection.rollback()  # read only: nothing to keep

    @staticmethod
    def _outbox(connection: Connection, now: dt.datetime) -> list[Metric]:
        by_status = GaugeMetricFamily(
            "outreach_outbox_messages", "Rows of the outbox by status.", labels=["status"]
        )
        counts = {status.value: 0 for status in OutboxStatus}
        for status, count in connection.execute(select(_T.c.status, func.count()).group_by(_T.c.status)):
            counts[str(status)] = int(count)
        for status, count in counts.items():
            by_status.add_metric([status], count)
        due_count, oldest = connection.execute(
            select(func.count(), func.min(_T.c.due_at)).where(
                _T.c.status == OutboxStatus.pending.value, _T.c.due_at <= now
            )
        ).one()
        due = GaugeMetricFamily("outreach_outbox_due", "Pending outbox rows whose due time has passed.")
        due.add_metric([], int(due_count or 0))
        lag = GaugeMetricFamily(
            "outreach_outbox_lag_seconds", "Age of the oldest pending outbox row already due (0 when none)."
        )
        lag.add_metric([], max((now - _aware(oldest)).total_seconds(), 0.0) if oldest is not None else 0.0)
        return [by_status, due, lag]

    @staticmethod
    def _campaigns(connection: Connection, _now: dt.datetime) -> list[Metric]:
        family = GaugeMetricFamily(
            "outreach_campaign_deliveries",
            f"Deliveries of the campaigns running or scheduled (the latest {CAMPAIGNS_SHOWN}), by state.",
            labels=["campaign", "state"],
        )
        shown = (
            select(_C.c.id)
            .where(_C.c.status.in_(CAMPAIGNS_SENDING))
            .order_by(_C.c.id.desc())
            .limit(CAMPAIGNS_SHOWN)
            .scalar_subquery()
        )
        rows = connection.execute(
            select(_D.c.campaign_id, _D.c.status, _T.c.status, func.count())
            .select_from(_D.outerjoin(_T, _T.c.idempotency_key == _D.c.outbox_key))
            .where(_D.c.campaign_id.in_(shown))
            .group_by(_D.c.campaign_id, _D.c.status, _T.c.status)
        )
        counts: dict[tuple[str, str], int] = {}
        campaigns: set[str] = set()
        for campaign_id, delivery, outbox_status, count in rows:
            campaign = str(campaign_id)
            campaigns.add(campaign)
            key = (campaign, _campaign_state(str(delivery), outbox_status))
            counts[key] = counts.get(key, 0) + int(count)
        for campaign in sorted(campaigns, key=int):
            for state in CAMPAIGN_STATES:
                family.add_metric([campaign, state], counts.get((campaign, state), 0))
        return [family]

    @staticmethod
    def _cases(connection: Connection, now: dt.datetime) -> list[Metric]:
        count, oldest = connection.execute(
            select(func.count(), func.min(_H.c.created_at)).where(_H.c.status == HandoffStatus.waiting.value)
        ).one()
        waiting = GaugeMetricFamily(
            "outreach_cases_waiting", "Cases handed to a person that no adulte-relais has taken yet."
        )
        waiting.add_metric([], int(count or 0))
        age = GaugeMetricFamily(
            "outreach_cases_oldest_waiting_seconds", "How long the oldest case not taken has waited (0 when none)."
        )
        age.add_metric([], max((now - _aware(oldest)).total_seconds(), 0.0) if oldest is not None else 0.0)
        return [waiting, age]

    def _pool(self) -> Iterator[Metric]:
        pool: Any = self.engine.pool
        if not isinstance(pool, QueuePool):
            return
        checked_out = GaugeMetricFamily(
            "outreach_db_pool_checked_out", "Database connections of this worker's pool in use now."
        )
        checked_out.add_metric([], pool.checkedout())
        size = GaugeMetricFamily(
            "outreach_db_pool_size", "Connections the pool keeps (more, up to its overflow, are opened when busy)."
        )
        size.add_metric([], pool.size())
        yield checked_out
        yield size


def _aware(value: dt.datetime) -> dt.datetime:
    """MIN() of a UTCDateTime column: aware when the type's processing applied, naive UTC on some drivers."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


_database: DatabaseCollector | None = None
_database_lock = threading.Lock()


def register_database(engine: Engine, clock: Clock) -> None:
    """Read the database values at each scrape from this engine (idempotent: a second call replaces the engine
    and clock, never adds a second collector)."""
    global _database
    with _database_lock:
        if _database is not None:
            if _database.engine is engine and _database.clock is clock:
                return
            REGISTRY.unregister(_database)
        _database = DatabaseCollector(engine, clock)
        REGISTRY.register(_database)


def unregister_database() -> None:
    """Stop reading the database at scrape time (tests, or an engine being disposed)."""
    global _database
    with _database_lock:
        if _database is not None:
            REGISTRY.unregister(_database)
            _database = None


__all__ = [
    "REGISTRY",
    "DatabaseCollector",
    "count_rasa_error",
    "count_rate_limited",
    "count_update",
    "exposition",
    "observe_turn",
    "register_database",
    "set_ready",
    "set_worker",
    "unregister_database",
]
