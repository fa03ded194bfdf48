"""The outbox: every proactive message is a row, written in the same unit of work as its cause.

`enqueue` adds a row (idempotent on its key). A `Dispatcher` claims due rows, sends them through a
`Sender` port while keeping Telegram's limits, and records the result on the row:

- claim: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` (several workers never take the same row);
  on SQLite an `UPDATE … WHERE status = 'pending'` guard (writers are serialised, the guard makes a
  row go to one claimer only). Claimed rows are `sending` with `claimed_at`; rows left in `sending`
  longer than the lease (a crashed worker) go back to `pending`. Each result is committed before the
  send's slot is freed, so after a `kill -9` only the sends in flight (at most `concurrency`) can
  be sent twice.
- limits: a global rate over any rolling second (default 25/s, never above 30), at most one message
  per chat per second, a 429's `retry_after` pauses every send, a 403 marks the resident unreachable
  and drops their pending rows.
- quiet hours (default 20:00-09:00, Sundays and French public holidays, Europe/Paris): a due row in
  a quiet time moves to the next allowed time, or is dropped when it expires before then.
- guards run at claim time: rows of residents who opted out or became unreachable are dropped, and
  callers (booking, follow-ups) add their own ("the appointment was cancelled", "already answered").

Payload: `{"text": str, "buttons": [[title, callback_data], ...], "document": {"filename", "content_b64"}}`
(buttons and document optional; other keys are for guards and are not sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.engine import UnitOfWork
from db.models import Event, OutboxMessage, OutboxStatus, Resident
from outreach.clock import Clock
from outreach.public_holidays import is_public_holiday

if TYPE_CHECKING:
    from outreach.config import Settings

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MAX_RATE = 30.0  # Telegram: about 30 messages per second per bot
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
_T = OutboxMessage.__table__  # type: ignore[attr-defined]


# ---------------------------------------------------------------- rows in and out


class OutboxError(ValueError):
    """A payload Telegram would refuse (empty text, too long, callback_data over 64 bytes...)."""


def check_payload(payload: dict[str, Any]) -> None:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise OutboxError("payload needs a non-empty 'text'")
    if len(text) > MAX_TEXT:
        raise OutboxError(f"text over {MAX_TEXT} characters")
    for button in payload.get("buttons") or []:
        if not (isinstance(button, list | tuple) and len(button) == 2 and all(isinstance(x, str) for x in button)):
            raise OutboxError(f"a button is [title, callback_data], got {button!r}")
        if not button[0].strip() or not 1 <= len(button[1].encode()) <= MAX_CALLBACK_BYTES:
            raise OutboxError(f"button {button[0]!r}: empty title or callback_data not 1-64 bytes")
    document = payload.get("document")
    if document is not None and not (
        isinstance(document, dict) and document.get("filename") and document.get("content_b64")
    ):
        raise OutboxError("document needs 'filename' and 'content_b64'")


def enqueue(
    uow: UnitOfWork,
    *,
    key: str,
    chat_id: int,
    kind: str,
    payload: dict[str, Any],
    due_at: dt.datetime,
    expires_at: dt.datetime | None = None,
    resident_id: int | None = None,
    staff_id: int | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Add a message to the outbox in the caller's transaction (no commit). Idempotent on `key`.

    Returns True when a row was added, False when that key already existed (the row is left as is).
    `now` is the creation time (defaults to `due_at`).
    """
    if due_at.tzinfo is None or (expires_at is not None and expires_at.tzinfo is None):
        raise ValueError("due_at and expires_at must be timezone-aware")
    check_payload(payload)
    session = uow.session
    session.flush()  # pending ORM rows first (FKs), then the insert below
    values = {
        "idempotency_key": key[:128],
        "chat_id": chat_id,
        "resident_id": resident_id,
        "staff_id": staff_id,
        "kind": kind[:32],
        "payload": payload,
        "due_at": due_at,
        "expires_at": expires_at,
        "status": OutboxStatus.pending.value,
        "attempts": 0,
        "created_at": now or due_at,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_T).values(values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(_T).values(values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    else:  # pragma: no cover - only our two databases are supported
        statement = insert(_T).values(values)
    return session.execute(statement.returning(_T.c.id)).first() is not None


def cancel_pending(uow: UnitOfWork, keys: Iterable[str], *, reason: str) -> int:
    """Drop the still-pending rows with these keys (in the caller's transaction). Returns how many."""
    keys = list(keys)
    if not keys:
        return 0
    result = uow.session.execute(
        update(_T)
        .where(_T.c.idempotency_key.in_(keys), _T.c.status == OutboxStatus.pending.value)
        .values(status=OutboxStatus.dropped.value, last_error=reason[:255])
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class OutboxRow:
    """A claimed row, as the sender sees it."""

    id: int
    key: str
    chat_id: int
    kind: str
    payload: dict[str, Any]
    resident_id: int | None
    staff_id: int | None
    attempts: int
    due_at: dt.datetime
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: int | None = None
    retry_after: float | None = None  # 429: Telegram asks to wait
    blocked: bool = False  # 403: the user blocked the bot (or never started it)
    permanent: bool = False  # 400 and the like: retrying will not help
    error: str | None = None

    @classmethod
    def sent(cls, message_id: int | None = None) -> SendResult:
        return cls(ok=True, message_id=message_id)

    @classmethod
    def rate_limited(cls, retry_after: float, error: str = "429") -> SendResult:
        return cls(ok=False, retry_after=max(0.0, retry_after), error=error)

    @classmethod
    def forbidden(cls, error: str = "403") -> SendResult:
        return cls(ok=False, blocked=True, error=error)

    @classmethod
    def failure(cls, error: str, *, permanent: bool = False) -> SendResult:
        return cls(ok=False, permanent=permanent, error=error)


class Sender(Protocol):
    async def send(self, row: OutboxRow) -> SendResult:
        """Deliver one row; never raise for Telegram errors, return them."""
        ...


# Guards run at claim time, in the claim's transaction: {row id: reason} for rows to drop.
Guard = Callable[[Session, Sequence[OutboxRow], dt.datetime], dict[int, str]]


def resident_guard(session: Session, rows: Sequence[OutboxRow], now: dt.datetime) -> dict[int, str]:
    """No proactive message to a resident who opted out or is known unreachable."""
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return {}
    found = session.execute(
        select(Resident.id, Resident.opted_out_at, Resident.unreachable_at).where(col(Resident.id).in_(ids))
    ).all()
    reasons: dict[int, str] = {}
    for resident_id, opted_out_at, unreachable_at in found:
        if opted_out_at is not None:
            reasons[resident_id] = "opted out"
        elif unreachable_at is not None:
            reasons[resident_id] = "unreachable"
    return {row.id: reasons[row.resident_id] for row in rows if row.resident_id in reasons}


def default_guards() -> list[Guard]:
    """The resident guard plus those of the services that enqueue (booking, follow-ups)."""
    from outreach import campaigns
    from outreach.services import booking, followups

    return [resident_guard, booking.reminder_guard, followups.guard, campaigns.guard]


# ---------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """When no proactive message goes out: a nightly window, Sundays, French public holidays (local time)."""

    start: dt.time | None = dt.time(20, 0)  # None: no nightly window
    end: dt.time | None = dt.time(9, 0)
    sundays: bool = True
    holidays: bool = True
    tz: ZoneInfo = PARIS

    @classmethod
    def parse(cls, hours: str = "20:00-09:00", days: str = "sunday,holidays", tz: str | ZoneInfo = PARIS) -> QuietHours:
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        words = {w.strip().lower() for w in days.split(",")}
        start = end = None
        if hours.strip().lower() != "none":
            first, last = hours.strip().split("-")
            start, end = dt.time.fromisoformat(first), dt.time.fromisoformat(last)
        return cls(start=start, end=end, sundays="sunday" in words, holidays="holidays" in words, tz=zone)

    @classmethod
    def from_settings(cls, settings: Settings) -> QuietHours:
        return cls.parse(settings.quiet_hours, getattr(settings, "quiet_days", "sunday,holidays"), settings.tz)

    @classmethod
    def never(cls) -> QuietHours:
        return cls(start=None, end=None, sundays=False, holidays=False)

    def _quiet_day(self, day: dt.date) -> bool:
        return (self.sundays and day.weekday() == 6) or (self.holidays and is_public_holiday(day))

    def _in_window(self, moment: dt.time) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # over midnight

    def is_quiet(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.tz)
        return self._quiet_day(local.date()) or self._in_window(local.time())

    def next_allowed(self, moment: dt.datetime) -> dt.datetime:
        """`moment` itself when it is allowed, else the first allowed time after it (UTC)."""
        local = moment.astimezone(self.tz)
        for _ in range(400):
            if self._quiet_day(local.date()):
                local = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0, 0), self.tz)
                continue
            if self._in_window(local.time()):
                assert self.start is not None and self.end is not None
                day = local.date()
                if self.start > self.end and local.time() >= self.start:
                    day += dt.timedelta(days=1)
                local = dt.datetime.combine(day, self.end, self.tz)
                continue
            return local.astimezone(dt.UTC)
        raise ValueError("quiet hours leave no allowed time")  # pragma: no cover


# ---------------------------------------------------------------- pacing


class _Pacer:
    """Telegram's limits in one place: a rolling-second global rate, a per-chat interval, pauses.

    A send counts in the rolling second from its start until one second after it completed: Telegram
    saw it somewhere in between, so no second as Telegram measures it holds more than `rate` sends."""

    def __init__(self, rate: float, per_chat_interval: float) -> None:
        self.rate = min(max(rate, 0.1), MAX_RATE)
        self.per_second = max(1, int(self.rate))
        self.spacing = 0.5 / self.rate  # smooths bursts; the rolling window keeps the average
        self.per_chat_interval = per_chat_interval
        self.window: deque[float] = deque()  # completion times of recent sends
        self.in_flight = 0
        self.last_send = -1e9
        self.paused_until = 0.0
        self.chat_last: dict[int, float] = {}

    def global_wait(self, now: float) -> float:
        """Seconds to wait before the next send is allowed anywhere (inf: wait for a send to complete)."""
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        wait = max(0.0, self.paused_until - now, self.last_send + self.spacing - now)
        if len(self.window) + self.in_flight >= self.per_second:
            wait = max(wait, self.window[0] + 1.0 - now if self.window else float("inf"))
        return wait

    def chat_ready_at(self, chat_id: int) -> float:
        return self.chat_last.get(chat_id, -1e9) + self.per_chat_interval

    def record(self, chat_id: int, now: float) -> None:
        """A send starts."""
        self.in_flight += 1
        self.last_send = now
        self.chat_last[chat_id] = now
        if len(self.chat_last) > 50_000:  # forget chats idle for longer than the interval
            horizon = now - self.per_chat_interval
            self.chat_last = {c: t for c, t in self.chat_last.items() if t > horizon}

    def done(self, chat_id: int, now: float) -> None:
        """A send completed: the per-chat interval and the rolling second count from here."""
        self.in_flight = max(0, self.in_flight - 1)
        self.window.append(now)
        self.chat_last[chat_id] = max(self.chat_last.get(chat_id, now), now)

    def pause(self, seconds: float, now: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)


# ---------------------------------------------------------------- the dispatcher


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    retried: int = 0
    rate_limited: int = 0
    blocked: int = 0
    released: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Run:
    """In-memory state of one run: claimed rows waiting per chat, a heap of chats by ready time."""

    queues: dict[int, deque[OutboxRow]] = field(default_factory=dict)
    heap: list[tuple[float, int, int]] = field(default_factory=list)
    busy: set[int] = field(default_factory=set)  # chats with a send in flight
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    seq: int = 0
    stats: DispatchStats = field(default_factory=DispatchStats)

    @property
    def held(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def push(self, chat_id: int, ready_at: float) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (ready_at, self.seq, chat_id))


class Dispatcher:
    """Claims due outbox rows and sends them; `run_once` for a scheduler job, `run` for a process."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sender: Sender,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        concurrency: int = 8,
        batch_size: int = 50,
        lease: float = 60.0,
        max_attempts: int = 5,
        quiet: QuietHours | None = None,
        quiet_exempt_kinds: Iterable[str] = ("handoff_relay", "console_link", "campaign_test"),  # staff, not residents
        guards: Sequence[Guard] | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        if rate > MAX_RATE:
            raise ValueError(f"rate {rate}/s is above Telegram's limit ({MAX_RATE:g}/s)")
        self.engine = engine
        self.clock = clock
        self.sender = sender
        self.concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        self.lease = dt.timedelta(seconds=lease)
        self.max_attempts = max(1, max_attempts)
        self.quiet = quiet if quiet is not None else QuietHours()
        self.quiet_exempt_kinds = frozenset(quiet_exempt_kinds)
        self.guards = list(guards) if guards is not None else default_guards()
        self.poll_interval = poll_interval
        self.pacer = _Pacer(rate, per_chat_interval)
        self._postgres = engine.dialect.name == "postgresql"
        # Rows of one chat held in memory at most (they leave one per interval, and must leave within the lease).
        self.max_held_per_chat = max(3, int(lease / max(per_chat_interval, 0.001) / 4))
        self._job_running = False
        self._job_budget = 30.0

    @classmethod
    def from_settings(cls, engine: Engine, clock: Clock, sender: Sender, settings: Settings, **kw: Any) -> Dispatcher:
        options: dict[str, Any] = {
            "rate": settings.outbox_rate,
            "concurrency": settings.outbox_concurrency,
            "lease": settings.outbox_lease_seconds,
            "quiet": QuietHours.from_settings(settings),
        }
        options.update(kw)
        return cls(engine, clock, sender, **options)

    # -- public --------------------------------------------------------------

    async def run_once(self, *, budget: float = 10.0) -> DispatchStats:
        """Send what is due now, until nothing is due or `budget` seconds passed (an APScheduler job)."""
        return await self._serve(stop=None, budget=budget)

    async def run(self, stop: asyncio.Event) -> DispatchStats:
        """Send continuously until `stop` is set (the standalone `python -m outreach.dispatch`)."""
        return await self._serve(stop=stop, budget=None)

    def add_job(self, scheduler: Any, *, seconds: float = 2.0, job_id: str = "outbox", budget: float = 30.0) -> None:
        """Run as an APScheduler interval job: every `seconds`, send what is due (one run at a time; a tick
        that comes while a long run drains a backlog returns at once instead of piling up)."""
        self._job_budget = budget
        scheduler.add_job(
            self._job,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            max_instances=2,
            coalesce=True,
            misfire_grace_time=30,
        )

    async def _job(self) -> None:
        if self._job_running:
            return
        self._job_running = True
        try:
            await self.run_once(budget=self._job_budget)
        finally:
            self._job_running = False

    # -- the loop ----------------------------------------------------------------

    async def _serve(self, *, stop: asyncio.Event | None, budget: float | None) -> DispatchStats:
        run = _Run()
        wake = asyncio.Event()
        stopper = asyncio.create_task(self._relay(stop, wake)) if stop is not None else None
        started = time.monotonic()
        next_claim = 0.0
        exhausted = False  # the last claim found fewer rows than asked
        try:
            while True:
                now_m = time.monotonic()
                stopping = (stop is not None and stop.is_set()) or (budget is not None and now_m - started > budget)
                if stopping:
                    break
                low_water = max(self.concurrency, self.batch_size // 2)
                if run.held < low_water and now_m >= next_claim:
                    want = self.batch_size - run.held
                    rows, dropped = await asyncio.to_thread(self._claim, want)
                    run.stats.claimed += len(rows)
                    run.stats.dropped += dropped
                    overflow = [row.id for row in rows if not self._hold(run, row)]
                    if overflow:  # too many for one chat: their turn is later, not in this worker's memory
                        delay = self.max_held_per_chat * self.pacer.per_chat_interval
                        run.stats.released += await asyncio.to_thread(self._release, overflow, delay)
                    exhausted = len(rows) + dropped < want
                    next_claim = now_m if not exhausted else now_m + await self._idle_delay()
                if budget is not None and exhausted and not run.held and not run.tasks:
                    break  # run_once: nothing more is due
                self._launch(run, wake)
                timeout = self._next_wake(run, next_claim if run.held < low_water else None)
                wake.clear()
                if timeout > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout)
                else:
                    await asyncio.sleep(0)  # sends, the stop event and everyone else run on this loop too
        finally:
            await self._finish(run)
            if stopper is not None:
                stopper.cancel()
        if run.stats.claimed:
            log.info(
                "outbox: %s claimed, %s sent, %s retried, %s failed, %s dropped",
                run.stats.claimed, run.stats.sent, run.stats.retried, run.stats.failed, run.stats.dropped,
            )
        return run.stats

    @staticmethod
    async def _relay(stop: asyncio.Event, wake: asyncio.Event) -> None:
        await stop.wait()
        wake.set()

    async def _idle_delay(self) -> float:
        """How long to wait before claiming again when nothing more is due."""
        next_due = await asyncio.to_thread(self._next_due)
        if next_due is None:
            return self.poll_interval
        ahead = (next_due - self.clock.now()).total_seconds()
        return min(self.poll_interval, max(0.02, ahead))

    def _hold(self, run: _Run, row: OutboxRow) -> bool:
        queue = run.queues.get(row.chat_id)
        if queue is None:
            queue = run.queues[row.chat_id] = deque()
            if row.chat_id not in run.busy:
                run.push(row.chat_id, self.pacer.chat_ready_at(row.chat_id))
        if len(queue) >= self.max_held_per_chat:
            return False
        queue.append(row)
        return True

    def _launch(self, run: _Run, wake: asyncio.Event) -> None:
        """Start every send that the limits allow right now."""
        while run.heap and len(run.tasks) < self.concurrency:
            now_m = time.monotonic()
            ready_at, _, chat_id = run.heap[0]
            if ready_at > now_m or self.pacer.global_wait(now_m) > 0:
                return
            heapq.heappop(run.heap)
            queue = run.queues.get(chat_id)
            if not queue:
                run.queues.pop(chat_id, None)
                continue
            row = queue.popleft()
            run.busy.add(chat_id)
            self.pacer.record(chat_id, now_m)
            task = asyncio.create_task(self._send_one(run, row, wake))
            run.tasks.add(task)

    def _next_wake(self, run: _Run, next_claim: float | None) -> float:
        """Seconds until something can happen: a claim (when one is wanted), a chat ready, the poll."""
        now_m = time.monotonic()
        candidates = [self.poll_interval]
        if next_claim is not None:
            candidates.append(next_claim - now_m)
        if run.heap and len(run.tasks) < self.concurrency:
            candidates.append(max(run.heap[0][0] - now_m, self.pacer.global_wait(now_m)))
        return max(0.0, min(candidates))

    async def _send_one(self, run: _Run, row: OutboxRow, wake: asyncio.Event) -> None:
        try:
            try:
                result = await self.sender.send(row)
            except Exception as exc:  # a sender bug or a network error: transient
                log.warning("outbox: send of row %s raised %s", row.id, type(exc).__name__)
                result = SendResult.failure(f"{type(exc).__name__}: {exc}"[:255])
            if result.retry_after is not None:
                run.stats.rate_limited += 1
                self.pacer.pause(result.retry_after, time.monotonic())
                run.queues.setdefault(row.chat_id, deque()).appendleft(row)  # still claimed: try again after
                if result.retry_after > self.lease.total_seconds() / 4:
                    await asyncio.to_thread(self._release, self._take_all(run))
            else:
                held_for_chat = list(run.queues.get(row.chat_id, ())) if result.blocked else []
                outcome = await asyncio.to_thread(self._record, row, result, [r.id for r in held_for_chat])
                setattr(run.stats, outcome, getattr(run.stats, outcome) + 1)
                if result.blocked:
                    run.stats.blocked += 1
                    run.stats.dropped += len(held_for_chat)
                    run.queues.pop(row.chat_id, None)
        finally:
            self.pacer.done(row.chat_id, time.monotonic())
            run.busy.discard(row.chat_id)
            if run.queues.get(row.chat_id):
                run.push(row.chat_id, self.pacer.chat_ready_at(row.chat_id))
            else:
                run.queues.pop(row.chat_id, None)
            task = asyncio.current_task()
            if task is not None:
                run.tasks.discard(task)  # type: ignore[arg-type]
            wake.set()

    @staticmethod
    def _take_all(run: _Run) -> list[int]:
        ids = [row.id for queue in run.queues.values() for row in queue]
        run.queues.clear()
        run.heap.clear()
        return ids

    async def _finish(self, run: _Run) -> None:
        """Stop: held rows go back to pending at once; sends in flight finish and are recorded."""
        held = self._take_all(run)
        if held:
            run.stats.released += await asyncio.to_thread(self._release, held)
        if run.tasks:
            await asyncio.wait(set(run.tasks), timeout=30)
        leftover = self._take_all(run)  # rows re-queued by a 429 meanwhile
        if leftover:
            run.stats.released += await asyncio.to_thread(self._release, leftover)

    # -- database (run in a worker thread) ---------------------------------------

    def _claim(self, limit: int) -> tuple[list[OutboxRow], int]:
        now = self.clock.now()
        with Session(self.engine) as session:
            # 1. rows of a crashed worker (lease over) are pending again
            session.execute(
                update(_T)
                .where(_T.c.status == OutboxStatus.sending.value, _T.c.claimed_at < now - self.lease)
                .values(status=OutboxStatus.pending.value, claimed_at=None)
            )
            due = (_T.c.status == OutboxStatus.pending.value) & (_T.c.due_at <= now)
            kinds_filter = None
            dropped = 0
            # 2. quiet time: due rows move to the next allowed time, or are dropped if they expire first
            if self.quiet.is_quiet(now):
                allowed = self.quiet.next_allowed(now)
                not_exempt = _T.c.kind.not_in(sorted(self.quiet_exempt_kinds)) if self.quiet_exempt_kinds else True
                dropped += int(
                    session.execute(
                        update(_T)
                        .where(due, not_exempt, _T.c.expires_at.is_not(None), _T.c.expires_at <= allowed)
                        .values(status=OutboxStatus.dropped.value, last_error="expired (quiet hours)")
                    ).rowcount
                    or 0
                )
                session.execute(update(_T).where(due, not_exempt).values(due_at=allowed))
                if not self.quiet_exempt_kinds:
                    session.commit()
                    return [], dropped
                kinds_filter = _T.c.kind.in_(sorted(self.quiet_exempt_kinds))
            # 3. claim
            query = select(_T.c.id).where(due)
            if kinds_filter is not None:
                query = query.where(kinds_filter)
            query = query.order_by(_T.c.due_at).limit(limit)
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            ids = list(session.execute(query).scalars())
            if not ids:
                session.commit()
                return [], dropped
            claimed = session.execute(
                update(_T)
                .where(_T.c.id.in_(ids), _T.c.status == OutboxStatus.pending.value)  # the SQLite guard
                .values(status=OutboxStatus.sending.value, claimed_at=now)
                .returning(
                    _T.c.id, _T.c.idempotency_key, _T.c.chat_id, _T.c.kind, _T.c.payload, _T.c.resident_id,
                    _T.c.staff_id, _T.c.attempts, _T.c.due_at, _T.c.expires_at,
                )
            ).all()
            rows = sorted((OutboxRow(*values) for values in claimed), key=lambda r: (r.due_at, r.id))
            # 4. expired rows and guards
            reasons = {row.id: "expired" for row in rows if row.expires_at is not None and row.expires_at <= now}
            live = [row for row in rows if row.id not in reasons]
            for guard in self.guards:
                if live:
                    reasons.update(guard(session, live, now))
                    live = [row for row in live if row.id not in reasons]
            for reason in sorted(set(reasons.values())):
                session.execute(
                    update(_T)
                    .where(_T.c.id.in_([i for i, r in reasons.items() if r == reason]))
                    .values(status=OutboxStatus.dropped.value, last_error=reason[:255], claimed_at=None)
                )
            session.commit()
        return live, dropped + len(reasons)

    def _next_due(self) -> dt.datetime | None:
        with Session(self.engine) as session:
            value = session.execute(
                select(func.min(_T.c.due_at)).where(_T.c.status == OutboxStatus.pending.value)
            ).scalar()
        return value

    def _release(self, ids: list[int], delay: float = 0.0) -> int:
        """Claimed rows back to pending (due `delay` seconds from now when given)."""
        if not ids:
            return 0
        values: dict[str, Any] = {"status": OutboxStatus.pending.value, "claimed_at": None}
        if delay > 0:
            values["due_at"] = self.clock.now() + dt.timedelta(seconds=delay)
        with Session(self.engine) as session:
            count = session.execute(
                update(_T).where(_T.c.id.in_(ids), _T.c.status == OutboxStatus.sending.value).values(**values)
            ).rowcount
            session.commit()
        return int(count or 0)

    def _record(self, row: OutboxRow, result: SendResult, also_drop: list[int]) -> str:
        """Write the outcome of one send; returns the DispatchStats field to count it in."""
        now = self.clock.now()
        mine = (_T.c.id == row.id) & (_T.c.status == OutboxStatus.sending.value)
        error = (result.error or "")[:255] or None
        with Session(self.engine) as session:
            if result.ok:
                values: dict[str, Any] = {"status": OutboxStatus.sent.value, "sent_at": now, "last_error": None}
                outcome = "sent"
            elif result.blocked:
                values = {"status": OutboxStatus.dropped.value, "last_error": f"blocked: {error or '403'}"[:255]}
                outcome = "dropped"
                self._unreachable(session, row, now, also_drop)
            elif result.permanent or row.attempts + 1 >= self.max_attempts:
                values = {"status": OutboxStatus.failed.value, "last_error": error}
                outcome = "failed"
            else:
                backoff = min(600.0, 5.0 * 2**row.attempts)
                values = {
                    "status": OutboxStatus.pending.value,
                    "due_at": now + dt.timedelta(seconds=backoff),
                    "claimed_at": None,
                    "last_error": error,
                }
                outcome = "retried"
            session.execute(update(_T).where(mine).values(attempts=_T.c.attempts + 1, **values))
            session.commit()
        return outcome

    @staticmethod
    def _unreachable(session: Session, row: OutboxRow, now: dt.datetime, also_drop: list[int]) -> None:
        """403: the resident blocked the bot; nothing more is sent to them until they write again."""
        blocked = {"status": OutboxStatus.dropped.value, "last_error": "blocked", "claimed_at": None}
        if row.resident_id is not None:
            session.execute(
                update(Resident.__table__)  # type: ignore[attr-defined]
                .where(Resident.__table__.c.id == row.resident_id, Resident.__table__.c.unreachable_at.is_(None))  # type: ignore[attr-defined]
                .values(unreachable_at=now)
            )
            mine = _T.c.resident_id == row.resident_id
            session.add(Event(at=now, kind="resident_unreachable", resident_id=row.resident_id))
        else:
            mine = _T.c.chat_id == row.chat_id
        session.execute(update(_T).where(mine, _T.c.status == OutboxStatus.pending.value).values(**blocked))
        if also_drop:
            session.execute(
                update(_T).where(_T.c.id.in_(also_drop), _T.c.status == OutboxStatus.sending.value).values(**blocked)
            )
