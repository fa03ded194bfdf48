"""The outbox: every message the service sends on its own initiative is a row, written in the same unit of
work as its cause.

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
- quiet hours (default 20:00-09:00, Sundays and French public holidays, in the settings' time zone): a
  due row in a quiet time moves to the next allowed time, or is dropped when it expires before then.
- guards run at claim time: rows of residents who opted out or became unreachable are dropped
  (`resident_guard`); the composition root (outreach/bootstrap.py) gives the dispatcher the guards of
  the services that enqueue ("the appointment was cancelled", "already answered", "campaign paused").
- after-sent hooks, per kind, also injected: called with the claim's result in the transaction that
  records it (a handoff card keeps the message_id Telegram gave it).
- the priority lane: rows enqueued with `priority=True` (a message relayed in a live conversation, a
  handoff card, a coordinator alert) are claimed before the others, are not held by quiet hours, and
  may use Telegram's short per-chat burst (3 at once, then one per second); `Dispatcher.wake()` makes
  a running dispatcher claim them at once instead of at its next tick.

Payload (keys other than these are for guards and hooks, and are not sent):
- a text message: `{"text": str, "buttons": [[title, callback_data], ...]}` (buttons optional);
- a file uploaded from bytes: `{"text": caption, "document": {"filename", "content_b64", "mime_type"?}}`;
- a photo or a document Telegram already has: `{"photo": {"file_id"}}` or `{"document": {"file_id"}}`,
  with an optional `"text"` as the caption (1024 characters at most) and optional buttons;
- `"join": true` on a text alone (a message relayed in a conversation): when the chat's limit holds several
  of them back, they leave as one message, one per line, in order (each row is recorded as sent);
- an edit of a message the bot sent in that chat: `{"edit": {"message_id": int}, "text": str,
  "buttons": ...}` (editMessageText; without buttons the keyboard is removed, as Telegram does), or
  without "text" an edit of the keyboard only (editMessageReplyMarkup).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.engine import UnitOfWork
from db.models import Event, OutboxMessage, OutboxStatus, Resident
from outreach.clock import Clock
from outreach.config import default_tz
from outreach.public_holidays import is_public_holiday

if TYPE_CHECKING:
    from outreach.config import Settings

log = logging.getLogger(__name__)

MAX_RATE = 30.0  # Telegram: about 30 messages per second per bot
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
PRIORITY_BURST = 3  # messages of the priority lane one chat may get at once (then one per interval)
_T = OutboxMessage.__table__  # type: ignore[attr-defined]
# Kinds whose payload carries a secret (a single-use login link): erased as soon as the row is done with
# (sent, failed, dropped), so the database keeps no usable link.
SECRET_KINDS = frozenset({"console_link"})
ERASED_PAYLOAD: dict[str, Any] = {"erased": True}


# ---------------------------------------------------------------- rows in and out


class OutboxError(ValueError):
    """A payload Telegram would refuse (empty text, too long, callback_data over 64 bytes...)."""


def _check_text(text: object, *, limit: int, required: bool) -> None:
    if text is None and not required:
        return
    if not isinstance(text, str) or not text.strip():
        raise OutboxError("payload needs a non-empty 'text'")
    if len(text) > limit:
        raise OutboxError(f"text over {limit} characters")


def _check_buttons(buttons: object) -> None:
    for button in buttons or []:  # type: ignore[attr-defined]
        if not (isinstance(button, list | tuple) and len(button) == 2 and all(isinstance(x, str) for x in button)):
            raise OutboxError(f"a button is [title, callback_data], got {button!r}")
        if not button[0].strip() or not 1 <= len(button[1].encode()) <= MAX_CALLBACK_BYTES:
            raise OutboxError(f"button {button[0]!r}: empty title or callback_data not 1-64 bytes")


def _has_file_id(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("file_id"), str) and bool(value["file_id"].strip())


def check_payload(payload: dict[str, Any]) -> None:
    """Refuse at enqueue time what Telegram would refuse at send time (see the module's payload shapes)."""
    _check_buttons(payload.get("buttons"))
    edit, photo, document = payload.get("edit"), payload.get("photo"), payload.get("document")
    if edit is not None:
        message_id = edit.get("message_id") if isinstance(edit, dict) else None
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
            raise OutboxError("edit needs {'message_id': a positive int}")
        if photo is not None or document is not None:
            raise OutboxError("an edit changes a text or a keyboard, not a file")
        _check_text(payload.get("text"), limit=MAX_TEXT, required=False)
        return
    if photo is not None:
        if document is not None:
            raise OutboxError("one file per message: photo or document")
        if not _has_file_id(photo):
            raise OutboxError("photo needs a 'file_id'")
        _check_text(payload.get("text"), limit=MAX_CAPTION, required=False)
        return
    if _has_file_id(document):
        _check_text(payload.get("text"), limit=MAX_CAPTION, required=False)
        return
    _check_text(payload.get("text"), limit=MAX_TEXT, required=True)
    if document is not None and not (
        isinstance(document, dict) and document.get("filename") and document.get("content_b64")
    ):
        raise OutboxError("document needs 'filename' and 'content_b64' (or a 'file_id')")


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
    priority: bool = False,
) -> bool:
    """Add a message to the outbox in the caller's transaction (no commit). Idempotent on `key`.

    Returns True when a row was added, False when that key already existed (the row is left as is).
    `now` is the creation time (defaults to `due_at`). `priority`: the priority lane (claimed first, not
    held by quiet hours); after the commit, call the dispatcher's `wake()` so it leaves at once.
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
        "priority": bool(priority),
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
    _erase_secrets(uow.session, _T.c.idempotency_key.in_(keys))
    return int(result.rowcount or 0)


def _erase_secrets(session: Session, condition: Any) -> None:
    """Erase the payload of the done rows of a secret kind among those matching `condition`."""
    done = [OutboxStatus.sent.value, OutboxStatus.failed.value, OutboxStatus.dropped.value]
    session.execute(
        update(_T)
        .where(condition, _T.c.kind.in_(sorted(SECRET_KINDS)), _T.c.status.in_(done))
        .values(payload=ERASED_PAYLOAD)
    )


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
    priority: bool = False


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

# After-sent hooks, per kind: called once a row of that kind was sent (result.ok), in the transaction that
# records it as sent (a savepoint: a hook that raises is logged and rolled back, the row stays sent).
AfterSent = Callable[[Session, OutboxRow, SendResult, dt.datetime], None]


def resident_guard(session: Session, rows: Sequence[OutboxRow], now: dt.datetime) -> dict[int, str]:
    """No proactive message to a resident who opted out or is known unreachable. Opting out stops what the
    service says on its own initiative, not a conversation the resident is having with a person: rows of
    the priority lane (a relayed answer) still reach a resident who opted out."""
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return {}
    found = session.execute(
        select(Resident.id, Resident.opted_out_at, Resident.unreachable_at).where(col(Resident.id).in_(ids))
    ).all()
    opted_out = {resident_id for resident_id, opted_out_at, _ in found if opted_out_at is not None}
    unreachable = {resident_id for resident_id, _, unreachable_at in found if unreachable_at is not None}
    reasons: dict[int, str] = {}
    for row in rows:
        if row.resident_id in opted_out and not row.priority:
            reasons[row.id] = "opted out"
        elif row.resident_id in unreachable:
            reasons[row.id] = "unreachable"
    return reasons


# ---------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """When no proactive message goes out: a nightly window, Sundays, French public holidays (local time)."""

    start: dt.time | None = dt.time(20, 0)  # None: no nightly window
    end: dt.time | None = dt.time(9, 0)
    sundays: bool = True
    holidays: bool = True
    tz: ZoneInfo = field(default_factory=default_tz)  # processes give settings.tz (from_settings)

    @classmethod
    def parse(
        cls, hours: str = "20:00-09:00", days: str = "sunday,holidays", tz: str | ZoneInfo | None = None
    ) -> QuietHours:
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz) if tz is not None else default_tz()
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
    def never(cls, tz: ZoneInfo | None = None) -> QuietHours:
        return cls(start=None, end=None, sundays=False, holidays=False, tz=tz or default_tz())

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
    saw it somewhere in between, so no second as Telegram measures it holds more than `rate` sends.

    Per chat, the ordinary rows leave one per `per_chat_interval` (counted from the previous send's
    completion). The priority lane may use Telegram's tolerance for short bursts: a token bucket per chat
    of `burst` sends that refills one per interval (the refill only counts between sends, so it stays
    behind Telegram's own bucket, which counts from the arrival)."""

    def __init__(self, rate: float, per_chat_interval: float, burst: int = PRIORITY_BURST) -> None:
        self.rate = min(max(rate, 0.1), MAX_RATE)
        self.per_second = max(1, int(self.rate))
        self.spacing = 0.5 / self.rate  # smooths bursts; the rolling window keeps the average
        self.per_chat_interval = per_chat_interval
        self.burst = max(1, burst)
        self.window: deque[float] = deque()  # completion times of recent sends
        self.in_flight = 0
        self.last_send = -1e9
        self.paused_until = 0.0
        self.chat_last: dict[int, float] = {}
        self.buckets: dict[int, tuple[float, float]] = {}  # chat → (tokens, when counted)

    def global_wait(self, now: float, priority: bool = False) -> float:
        """Seconds to wait before the next send is allowed anywhere (inf: wait for a send to complete).
        The priority lane may go above the configured rate up to Telegram's own limit (MAX_RATE): a relayed
        message does not wait for a campaign's second to end, and no second holds more than MAX_RATE sends."""
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if priority:
            wait, limit = max(0.0, self.paused_until - now), max(self.per_second, int(MAX_RATE))
        else:
            wait, limit = max(0.0, self.paused_until - now, self.last_send + self.spacing - now), self.per_second
        if len(self.window) + self.in_flight >= limit:  # wait until enough sends leave the rolling second
            ages_out = self.window[-(limit - self.in_flight)] + 1.0 if self.in_flight < limit else float("inf")
            wait = max(wait, ages_out - now)
        return wait

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self.buckets.get(chat_id, (float(self.burst), now))
        if self.per_chat_interval <= 0:
            return float(self.burst)
        return min(float(self.burst), tokens + max(0.0, now - at) / self.per_chat_interval)

    def chat_ready_at(self, chat_id: int, priority: bool = False, counts: bool = True) -> float:
        """When the chat may get its next row (monotonic time). An edit of a message already sent (`counts`
        False) adds no message to the chat: only the global rate holds it."""
        if not counts:
            return -1e9
        if not priority:
            return self.chat_last.get(chat_id, -1e9) + self.per_chat_interval
        bucket = self.buckets.get(chat_id)
        if bucket is None or self.per_chat_interval <= 0:
            return -1e9
        tokens, at = bucket
        return at + max(0.0, 1.0 - tokens) * self.per_chat_interval

    def record(self, chat_id: int, now: float, counts: bool = True) -> None:
        """A send starts (`counts`: a new message in the chat, not an edit)."""
        self.in_flight += 1
        self.last_send = now
        if not counts:
            return
        self.chat_last[chat_id] = now
        self.buckets[chat_id] = (max(0.0, self._tokens(chat_id, now) - 1.0), now)
        if len(self.chat_last) > 50_000:  # forget chats idle for longer than the interval (their bucket is full)
            horizon = now - self.per_chat_interval * self.burst
            self.chat_last = {c: t for c, t in self.chat_last.items() if t > horizon}
            self.buckets = {c: b for c, b in self.buckets.items() if c in self.chat_last}

    def done(self, chat_id: int, now: float, counts: bool = True) -> None:
        """A send completed: the per-chat interval, the chat's refill and the rolling second count from here."""
        self.in_flight = max(0, self.in_flight - 1)
        self.window.append(now)
        if not counts:
            return
        self.chat_last[chat_id] = max(self.chat_last.get(chat_id, now), now)
        tokens, at = self.buckets.get(chat_id, (float(self.burst) - 1.0, now))
        self.buckets[chat_id] = (tokens, max(at, now))

    def pause(self, seconds: float, now: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)


# ---------------------------------------------------------------- the dispatcher


class SharedRate(Protocol):
    """Telegram's global rate shared by several workers' dispatchers (outreach/coordination.py)."""

    async def send_slot(self, rate: float) -> str: ...

    async def send_done(self, ticket: str) -> None: ...

    async def pause_sends(self, seconds: float) -> None: ...


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
    """In-memory state of one run: claimed rows waiting per chat (priority rows first), and two heaps of
    chats by ready time: those whose next row is of the priority lane, and the others."""

    queues: dict[int, deque[OutboxRow]] = field(default_factory=dict)
    lanes: tuple[list[tuple[float, int, int]], list[tuple[float, int, int]]] = field(default_factory=lambda: ([], []))
    entry: dict[int, int] = field(default_factory=dict)  # chat → seq of its live heap entry (others are stale)
    busy: set[int] = field(default_factory=set)  # chats with a send in flight
    sending: set[int] = field(default_factory=set)  # ids of the rows in flight, until their result is recorded
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    seq: int = 0
    stats: DispatchStats = field(default_factory=DispatchStats)
    unrecorded: bool = False  # a send's outcome could not be written (database down): send nothing more

    @property
    def held(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def has(self, row: OutboxRow) -> bool:
        """This run holds the row already (waiting in its chat's queue, or in flight)."""
        return row.id in self.sending or any(held.id == row.id for held in self.queues.get(row.chat_id, ()))

    def push(self, chat_id: int, ready_at: float, priority: bool) -> None:
        self.seq += 1
        self.entry[chat_id] = self.seq
        heapq.heappush(self.lanes[0 if priority else 1], (ready_at, self.seq, chat_id))

    def top(self, lane: int) -> tuple[float, int, int] | None:
        heap = self.lanes[lane]
        while heap and self.entry.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)  # an entry replaced by a later push
        return heap[0] if heap else None

    def pop(self, lane: int) -> int:
        _, _, chat_id = heapq.heappop(self.lanes[lane])
        del self.entry[chat_id]
        return chat_id

    def clear(self) -> list[int]:
        ids = [row.id for queue in self.queues.values() for row in queue]
        self.queues.clear()
        for heap in self.lanes:
            heap.clear()
        self.entry.clear()
        return ids


class Dispatcher:
    """Claims due outbox rows and sends them; `run_once` for a scheduler job, `run` for a process.

    `guards` (default: `resident_guard` only) and `after_sent` hooks (per kind) come from the composition
    root, outreach/bootstrap.py, which knows the services; this module imports none."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sender: Sender,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        priority_burst: int = PRIORITY_BURST,
        concurrency: int = 8,
        batch_size: int = 50,
        lease: float = 60.0,
        max_attempts: int = 5,
        quiet: QuietHours | None = None,
        quiet_exempt_kinds: Iterable[str] = ("handoff_relay", "console_link", "campaign_test"),  # staff, not residents
        guards: Sequence[Guard] | None = None,
        after_sent: Mapping[str, AfterSent] | None = None,
        poll_interval: float = 0.5,
        shared_rate: SharedRate | None = None,
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
        self.guards: list[Guard] = list(guards) if guards is not None else [resident_guard]
        self.after_sent: dict[str, AfterSent] = dict(after_sent or {})
        self.poll_interval = poll_interval
        self.pacer = _Pacer(rate, per_chat_interval, priority_burst)
        self.shared_rate = shared_rate  # several workers: `rate` is for them all (outreach/coordination.py)
        self._postgres = engine.dialect.name == "postgresql"
        # Rows of one chat held in memory at most (they leave one per interval, and must leave within the lease).
        self.max_held_per_chat = max(3, int(lease / max(per_chat_interval, 0.001) / 4))
        self._job_running = False
        self._job_budget = 30.0
        self._job_added = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakers: set[asyncio.Event] = set()  # one per run in progress
        self._wake_pending = False
        self._spawned: set[asyncio.Task[None]] = set()
        self._closing = False
        self._runs: set[asyncio.Task[Any]] = set()  # the tasks running `_serve`

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
        self._job_added = True
        with contextlib.suppress(RuntimeError):  # called from the service's loop: wake() can start a run
            self._loop = asyncio.get_running_loop()
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

    async def shutdown(self, within: float = 40.0) -> None:
        """End the runs in progress as `run`'s stop event does (held rows go back to pending, sends in flight
        are recorded) and wait for them, at most `within` seconds; later ticks and wakes do nothing."""
        self._closing = True
        for event in self._wakers:
            event.set()
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=within)

    def wake(self) -> None:
        """Claim due rows of the priority lane now (call it after committing one): a run in progress claims
        at once, even while it drains a backlog; between two scheduler ticks a run starts at once. Safe to
        call from any thread; before the dispatcher ever ran, its first run claims them first."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake_pending = True
            return
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            self._on_wake()
        else:
            loop.call_soon_threadsafe(self._on_wake)

    def _on_wake(self) -> None:
        self._wake_pending = True
        if self._wakers:
            for event in self._wakers:
                event.set()
        elif self._job_added and not self._job_running and not self._closing:
            task = asyncio.get_running_loop().create_task(self._job())
            self._spawned.add(task)
            task.add_done_callback(self._spawned.discard)

    async def _job(self) -> None:
        if self._job_running or self._closing:
            return
        self._job_running = True
        try:
            while True:
                await self.run_once(budget=self._job_budget)
                if not self._wake_pending or self._closing:  # a wake while this run was ending: one more
                    break
        finally:
            self._job_running = False

    # -- the loop ----------------------------------------------------------------

    async def _serve(self, *, stop: asyncio.Event | None, budget: float | None) -> DispatchStats:
        run = _Run()
        wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._wakers.add(wake)
        me = asyncio.current_task()
        if me is not None:
            self._runs.add(me)
        stopper = asyncio.create_task(self._relay(stop, wake)) if stop is not None else None
        started = time.monotonic()
        next_claim = 0.0
        exhausted = False  # the last claim found fewer rows than asked
        try:
            while True:
                now_m = time.monotonic()
                stopping = (stop is not None and stop.is_set()) or (budget is not None and now_m - started > budget)
                if stopping or self._closing:
                    break
                if run.unrecorded:
                    log.error("outbox: a sent message could not be recorded (database unreachable?): run stopped")
                    break
                low_water = max(self.concurrency, self.batch_size // 2)
                woken, self._wake_pending = self._wake_pending, False
                if run.held < low_water and (now_m >= next_claim or woken):
                    want = self.batch_size - run.held
                    rows, dropped = await asyncio.to_thread(self._claim, want)
                    exhausted = len(rows) + dropped < want
                    next_claim = now_m if not exhausted else now_m + await self._idle_delay()
                    await self._take(run, rows, dropped)
                elif woken:  # busy with a backlog: the priority lane only, at once
                    rows, dropped = await asyncio.to_thread(self._claim, self.batch_size, True)
                    await self._take(run, rows, dropped)
                if budget is not None and exhausted and not run.held and not run.tasks and not self._wake_pending:
                    break  # run_once: nothing more is due
                self._launch(run, wake)
                timeout = self._next_wake(run, next_claim if run.held < low_water else None)
                wake.clear()
                if self._wake_pending:
                    timeout = 0.0
                if timeout > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout)
                else:
                    await asyncio.sleep(0)  # sends, the stop event and everyone else run on this loop too
        finally:
            self._wakers.discard(wake)
            await self._finish(run)
            if stopper is not None:
                stopper.cancel()
            if me is not None:
                self._runs.discard(me)
        if run.stats.claimed:
            log.info(
                "outbox: %s claimed, %s sent, %s retried, %s failed, %s dropped",
                run.stats.claimed, run.stats.sent, run.stats.retried, run.stats.failed, run.stats.dropped,
            )
        return run.stats

    async def _take(self, run: _Run, rows: list[OutboxRow], dropped: int) -> None:
        """Claimed rows into the run's memory; what one chat cannot take within the lease goes back. A row
        this run already holds or is sending (its lease ran out while it waited: a slow machine, a long
        per-chat queue) was claimed again by ourselves: it is not taken twice."""
        rows = [row for row in rows if not run.has(row)]
        run.stats.claimed += len(rows)
        run.stats.dropped += dropped
        overflow = [row_id for row in rows for row_id in self._hold(run, row)]
        if overflow:  # too many for one chat: their turn is later, not in this worker's memory
            delay = self.max_held_per_chat * self.pacer.per_chat_interval
            run.stats.released += await asyncio.to_thread(self._release, overflow, delay)

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

    def _hold(self, run: _Run, row: OutboxRow) -> list[int]:
        """Queue a claimed row behind its chat's (a priority row behind the chat's priority rows only).
        Returns the ids of rows that do not fit (the row itself, or an ordinary row it pushed out)."""
        queue = run.queues.get(row.chat_id)
        if queue is None:
            queue = run.queues[row.chat_id] = deque()
        out: list[int] = []
        if len(queue) >= self.max_held_per_chat:
            if not row.priority or queue[-1].priority:
                return [row.id]
            out.append(queue.pop().id)  # the priority row takes the place of the last ordinary one
        if row.priority:
            queue.insert(_first_ordinary(queue), row)
        else:
            queue.append(row)
        head = queue[0]
        if row.chat_id not in run.busy and (row.chat_id not in run.entry or head is row):
            ready = self.pacer.chat_ready_at(row.chat_id, head.priority, _new_message(head))
            run.push(row.chat_id, ready, head.priority)
        return out

    def _launch(self, run: _Run, wake: asyncio.Event) -> None:
        """Start every send that the limits allow right now (the priority lane first)."""
        while len(run.tasks) < self.concurrency and not run.unrecorded:
            now_m = time.monotonic()
            lane = self._ready_lane(run, now_m)
            if lane is None:
                return
            chat_id = run.pop(lane)
            queue = run.queues.get(chat_id)
            if not queue:
                run.queues.pop(chat_id, None)
                continue
            row = queue.popleft()
            joined = _join_waiting(row, queue)
            run.sending.update(r.id for r in (row, *joined))
            run.busy.add(chat_id)
            self.pacer.record(chat_id, now_m, _new_message(row))
            task = asyncio.create_task(self._send_one(run, row, wake, joined))
            run.tasks.add(task)

    def _next_wake(self, run: _Run, next_claim: float | None) -> float:
        """Seconds until something can happen: a claim (when one is wanted), a chat ready, the poll."""
        now_m = time.monotonic()
        candidates = [self.poll_interval]
        if next_claim is not None:
            candidates.append(next_claim - now_m)
        if len(run.tasks) < self.concurrency:
            for lane in (0, 1):
                top = run.top(lane)
                if top is not None:
                    candidates.append(max(top[0] - now_m, self.pacer.global_wait(now_m, priority=lane == 0)))
        return max(0.0, min(candidates))

    def _ready_lane(self, run: _Run, now_m: float) -> int | None:
        """The lane whose first chat may be sent to now (0, the priority lane, first), or None."""
        for lane in (0, 1):
            top = run.top(lane)
            if top is not None and top[0] <= now_m and self.pacer.global_wait(now_m, priority=lane == 0) <= 0:
                return lane
        return None

    async def _send_one(
        self, run: _Run, row: OutboxRow, wake: asyncio.Event, joined: Sequence[OutboxRow] = ()
    ) -> None:
        """Send one row (with the rows `joined` to it: one message, their texts one per line)."""
        try:
            try:
                sent = row
                if joined:
                    text = "\n".join(str(r.payload["text"]) for r in (row, *joined))
                    sent = replace(row, payload={**row.payload, "text": text})
                async with self._shared_slot():
                    result = await self.sender.send(sent)
            except Exception as exc:  # a sender bug or a network error: transient
                log.warning("outbox: send of row %s raised %s", row.id, type(exc).__name__)
                result = SendResult.failure(f"{type(exc).__name__}: {exc}"[:255])
            if result.retry_after is not None:
                run.stats.rate_limited += 1
                self.pacer.pause(result.retry_after, time.monotonic())
                await self._shared_pause(result.retry_after)
                for again in (*reversed(joined), row):  # still claimed: try again after, in order
                    _put_back(run.queues.setdefault(row.chat_id, deque()), again)
                if result.retry_after > self.lease.total_seconds() / 4:
                    await asyncio.to_thread(self._release, run.clear())
            else:
                held_for_chat = list(run.queues.get(row.chat_id, ())) if result.blocked else []
                try:
                    outcome = await asyncio.to_thread(self._record, row, result, [r.id for r in held_for_chat])
                except Exception:
                    # what was sent cannot be recorded: every further send of this run would be sent again once
                    # its lease ends; the run stops here (its rows come back after the lease, sent once more at most
                    # for those in flight)
                    run.unrecorded = True
                    wake.set()
                    raise
                setattr(run.stats, outcome, getattr(run.stats, outcome) + 1)
                for other in joined:  # the same message: the same outcome
                    outcome = await asyncio.to_thread(self._record, other, result, [])
                    setattr(run.stats, outcome, getattr(run.stats, outcome) + 1)
                if result.blocked:
                    run.stats.blocked += 1
                    run.stats.dropped += len(held_for_chat)
                    run.queues.pop(row.chat_id, None)
        finally:
            self.pacer.done(row.chat_id, time.monotonic(), _new_message(row))
            run.sending.difference_update(r.id for r in (row, *joined))
            run.busy.discard(row.chat_id)
            queue = run.queues.get(row.chat_id)
            if queue:
                head = queue[0]
                ready = self.pacer.chat_ready_at(row.chat_id, head.priority, _new_message(head))
                run.push(row.chat_id, ready, head.priority)
            else:
                run.queues.pop(row.chat_id, None)
            task = asyncio.current_task()
            if task is not None:
                run.tasks.discard(task)  # type: ignore[arg-type]
            wake.set()

    @contextlib.asynccontextmanager
    async def _shared_slot(self) -> AsyncIterator[None]:
        """With several workers, send within the rate they share (their own pacer keeps its limits too): wait for a
        slot, and say when the send completed (it counts in the shared second until one second after)."""
        if self.shared_rate is None:
            yield
            return
        ticket = None
        try:
            ticket = await self.shared_rate.send_slot(self.pacer.rate)
        except Exception as exc:  # Redis unreachable: each worker's own pacer still holds its rate
            log.warning("outbox: shared rate unavailable (%s)", type(exc).__name__)
        try:
            yield
        finally:
            if ticket is not None:
                try:
                    await self.shared_rate.send_done(ticket)
                except Exception as exc:  # the send then counts until its in-flight horizon
                    log.warning("outbox: shared rate not told of a send's end (%s)", type(exc).__name__)

    async def _shared_pause(self, seconds: float) -> None:
        if self.shared_rate is None:
            return
        try:
            await self.shared_rate.pause_sends(seconds)
        except Exception as exc:
            log.warning("outbox: shared pause unavailable (%s)", type(exc).__name__)

    async def _finish(self, run: _Run) -> None:
        """Stop: held rows go back to pending at once; sends in flight finish and are recorded."""
        held = run.clear()
        if held:
            run.stats.released += await asyncio.to_thread(self._release, held)
        if run.tasks:
            await asyncio.wait(set(run.tasks), timeout=30)
        leftover = run.clear()  # rows re-queued by a 429 meanwhile
        if leftover:
            run.stats.released += await asyncio.to_thread(self._release, leftover)

    # -- database (run in a worker thread) ---------------------------------------

    def _claim(self, limit: int, priority_only: bool = False) -> tuple[list[OutboxRow], int]:
        """Claim up to `limit` due rows, the priority lane first (only those with `priority_only`)."""
        now = self.clock.now()
        with Session(self.engine) as session:
            # 1. rows of a crashed worker (lease over) are pending again
            session.execute(
                update(_T)
                .where(_T.c.status == OutboxStatus.sending.value, _T.c.claimed_at < now - self.lease)
                .values(status=OutboxStatus.pending.value, claimed_at=None)
            )
            due = (_T.c.status == OutboxStatus.pending.value) & (_T.c.due_at <= now)
            ordinary = _T.c.priority == false()
            kinds_filter = None
            dropped = 0
            # 2. quiet time: due ordinary rows move to the next allowed time, or are dropped if they expire first
            #    (the priority lane and the exempt kinds, for staff, are not held)
            if self.quiet.is_quiet(now):
                allowed = self.quiet.next_allowed(now)
                held = ordinary
                if self.quiet_exempt_kinds:
                    held = held & _T.c.kind.not_in(sorted(self.quiet_exempt_kinds))
                expiring = due & held & _T.c.expires_at.is_not(None) & (_T.c.expires_at <= allowed)
                secret = _T.c.kind.in_(sorted(SECRET_KINDS))
                session.execute(update(_T).where(expiring & secret).values(payload=ERASED_PAYLOAD))
                dropped += int(
                    session.execute(
                        update(_T)
                        .where(expiring)
                        .values(status=OutboxStatus.dropped.value, last_error="expired (quiet hours)")
                    ).rowcount
                    or 0
                )
                session.execute(update(_T).where(due, held).values(due_at=allowed))
                kinds_filter = _T.c.kind.in_(sorted(self.quiet_exempt_kinds)) if self.quiet_exempt_kinds else false()
            # 3. claim: the priority lane, then (unless asked for it alone) the others, each by due time
            ids = self._due_ids(session, due & (_T.c.priority == true()), limit)
            if not priority_only and len(ids) < limit:
                query = due & ordinary if kinds_filter is None else due & ordinary & kinds_filter
                ids += self._due_ids(session, query, limit - len(ids))
            if not ids:
                session.commit()
                return [], dropped
            # the SQLite guard (status still pending); `status || ''` keeps the rows found by their primary key:
            # given the status, SQLite (no statistics) would walk a status index over every pending row
            claimed = session.execute(
                update(_T)
                .where(_T.c.id.in_(ids), _T.c.status.concat("") == OutboxStatus.pending.value)
                .values(status=OutboxStatus.sending.value, claimed_at=now)
                .returning(
                    _T.c.id, _T.c.idempotency_key, _T.c.chat_id, _T.c.kind, _T.c.payload, _T.c.resident_id,
                    _T.c.staff_id, _T.c.attempts, _T.c.due_at, _T.c.expires_at, _T.c.priority,
                )
            ).all()
            rows = sorted(
                (OutboxRow(*values[:10], priority=bool(values[10])) for values in claimed),
                key=lambda r: (not r.priority, r.due_at, r.id),
            )
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
            if reasons:
                _erase_secrets(session, _T.c.id.in_(list(reasons)))
            session.commit()
        return live, dropped + len(reasons)

    def _due_ids(self, session: Session, condition: Any, limit: int) -> list[int]:
        query = select(_T.c.id).where(condition).order_by(_T.c.due_at).limit(limit)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return list(session.execute(query).scalars())

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
            if row.kind in SECRET_KINDS and outcome != "retried":
                values["payload"] = ERASED_PAYLOAD  # the link is in the staff member's chat, not in our DB
            session.execute(update(_T).where(mine).values(attempts=_T.c.attempts + 1, **values))
            hook = self.after_sent.get(row.kind) if result.ok else None
            if hook is not None:
                try:
                    with session.begin_nested():
                        hook(session, row, result, now)
                except Exception:  # the message left: it stays sent whatever the hook did
                    log.exception("outbox: after-sent hook of %s failed for row %s", row.kind, row.id)
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
        _erase_secrets(session, mine)
        if also_drop:
            session.execute(
                update(_T).where(_T.c.id.in_(also_drop), _T.c.status == OutboxStatus.sending.value).values(**blocked)
            )


def _joinable(row: OutboxRow) -> bool:
    """A text alone (no buttons, file or edit) whose enqueuer allowed it to share a message ("join")."""
    payload = row.payload or {}
    return bool(payload.get("join")) and isinstance(payload.get("text"), str) and not (
        payload.keys() & {"buttons", "photo", "document", "edit"}
    )


def _join_waiting(row: OutboxRow, queue: deque[OutboxRow]) -> list[OutboxRow]:
    """The joinable texts of the same lane waiting right behind a joinable row, taken off the chat's queue:
    when a chat's limit holds messages back (a relay who receives faster than Telegram lets one chat get),
    they leave together as one message, in order, instead of one per second."""
    joined: list[OutboxRow] = []
    if not _joinable(row):
        return joined
    length = len(row.payload["text"])
    while queue and _joinable(queue[0]) and queue[0].priority == row.priority:
        extra = len(queue[0].payload["text"]) + 1
        if length + extra > MAX_TEXT:
            break
        length += extra
        joined.append(queue.popleft())
    return joined


def _new_message(row: OutboxRow) -> bool:
    """False for an edit of a message already in the chat: Telegram's per-chat limit is about new messages."""
    return "edit" not in (row.payload or {})


def _first_ordinary(queue: deque[OutboxRow]) -> int:
    """Where the chat's ordinary rows start (its priority rows are ahead of them)."""
    return next((i for i, held in enumerate(queue) if not held.priority), len(queue))


def _put_back(queue: deque[OutboxRow], row: OutboxRow) -> None:
    """A row to send again first (after a 429): ahead of its own lane, behind the priority rows."""
    if row.priority:
        queue.appendleft(row)
    else:
        queue.insert(_first_ordinary(queue), row)
