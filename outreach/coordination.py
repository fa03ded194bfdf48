"""What several service workers share through Redis (OUTREACH_REDIS_URL; one process needs none of it):

- a chat's turn: one worker at a time handles a chat's updates (`chat_turn`), a Redis lock with an expiry that
  the holder keeps renewing; a worker killed while holding it lets go when the expiry passes;
- Telegram's global send rate: every worker's outbox takes its sending slot from one schedule in Redis
  (`send_slot`: a slot every 1/rate s, whoever asks, and no more than `rate` sends in any second until they
  completed, `send_done`), and a 429 pauses them all (`pause_sends`).

Order within a chat comes from the inbox (outreach/inbox.py): the worker holding a chat's turn handles every
update of that chat written down and not handled yet, oldest first (bot/app.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

TURN_EXPIRY = 15.0  # seconds a turn survives its holder (renewed every TURN_EXPIRY / 3 while held)
LONG_TURN = 90.0  # a turn held this long is stuck somewhere: said in the log, with where
TURN_POLL = 0.01  # how often a worker waiting for a chat's turn looks again
PREFIX = "outreach:"
IN_FLIGHT = 30.0  # seconds a send may be in flight (above the sender's timeouts): counted at most this long
IN_FLIGHT_POLL_MS = 10  # every send of the last second still in flight: ask again this soon

# A send slot: the next free instant on one shared schedule, at least `interval` after the previous one and not
# before a 429's pause ends; returns how long the caller waits for it (ms). Redis's own clock: one for all workers.
_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(now, next_free, paused)
redis.call('SET', KEYS[1], slot + interval, 'PX', 60000)
return slot - now
"""
# A send within the cap: no more than ARGV[1] sends in any rolling second, on Redis's clock (scores in µs). A send
# counts from its start until one second after it completed (`_DONE` moves its score there): Telegram saw it
# somewhere in between. While in flight its score is its start plus IN_FLIGHT_US, which lets a send of a killed
# worker go after that long. Returns 0 (counted: go) or how long to wait before asking again (ms).
_CAP = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0') * 1000
if paused > now then return math.ceil((paused - now) / 1000) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) / 1000) + 2000)
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
if oldest > now then return tonumber(ARGV[4]) end
return math.max(1, math.ceil((oldest + 1000000 - now) / 1000))
"""
_DONE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
return redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
"""
_PAUSE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > paused then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return until_ms
"""


class Coordination:
    """The Redis-backed coordination of the workers (one per process, `connect`)."""

    def __init__(self, client: redis.Redis, *, turn_expiry: float = TURN_EXPIRY) -> None:
        self.client = client
        self.turn_expiry = turn_expiry
        self._slot = client.register_script(_SLOT)
        self._cap = client.register_script(_CAP)
        self._done = client.register_script(_DONE)
        self._starts = itertools.count()
        self._name = secrets.token_hex(6)  # this process's sends among every worker's
        self._pause = client.register_script(_PAUSE)

    @contextlib.asynccontextmanager
    async def chat_turn(self, chat_id: int, *, wait: bool = True) -> AsyncIterator[bool]:
        """Hold the chat's turn: no other worker handles this chat meanwhile. Waits for it as long as it takes;
        with `wait=False`, yields False at once when someone holds it (alive: a sweep has nothing to do there)."""
        lock = Lock(
            self.client, f"{PREFIX}chat:{chat_id}", timeout=self.turn_expiry, sleep=TURN_POLL, thread_local=False
        )
        if not await lock.acquire(blocking=wait):
            yield False
            return
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep(lock, asyncio.current_task(), done))
        try:
            yield True
        finally:
            # told to stop, not cancelled: a cancellation that reaches it inside a Redis call may be swallowed
            # there (seen: the keeper went on renewing a finished turn, and this chat waited forever)
            done.set()
            await keeper
            try:
                await lock.release()
            except (LockError, RedisError) as exc:  # expired meanwhile (a very long turn, Redis restarted)
                log.warning("chat turn: released after it expired (%s)", type(exc).__name__)

    async def _keep(self, lock: Lock, holder: asyncio.Task[Any] | None, done: asyncio.Event) -> None:
        """Renew the turn every third of its expiry until `done`."""
        held, warned = 0.0, False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.turn_expiry / 3)
            if done.is_set():
                return
            held += self.turn_expiry / 3
            if held >= LONG_TURN and not warned and holder is not None:
                warned = True  # where the turn is stuck (code locations only: no data of the resident)
                log.warning("chat turn held for %.0f s, at %s", held, _awaiting(holder))
            try:
                await lock.reacquire()
            except (LockError, RedisError) as exc:
                log.warning("chat turn: not renewed (%s)", type(exc).__name__)

    async def send_slot(self, rate: float) -> str:
        """Wait for this worker's next send to be allowed by the rate shared by every worker: spaced 1/rate apart
        on one schedule (smooth), and never more than `rate` sends in any rolling second, each counted from its
        start until one second after it completed (a worker whose loop was busy, or a request slow to arrive,
        cannot make a second hold more). Returns the send's ticket, for `send_done` once Telegram answered."""
        interval_ms = max(1, round(1000 / rate))
        wait_ms = await self._slot(keys=[f"{PREFIX}send:next", f"{PREFIX}send:paused"], args=[interval_ms])
        if int(wait_ms) > 0:
            await asyncio.sleep(int(wait_ms) / 1000)
        ticket = f"{self._name}:{next(self._starts)}"
        args = [int(rate), ticket, round(IN_FLIGHT * 1_000_000), IN_FLIGHT_POLL_MS]
        while (  # noqa: ASYNC110 - waiting on Redis's clock, shared by the workers
            wait_ms := int(await self._cap(keys=[f"{PREFIX}send:starts", f"{PREFIX}send:paused"], args=args))
        ) > 0:
            await asyncio.sleep(wait_ms / 1000)
        return ticket

    async def send_done(self, ticket: str) -> None:
        """The send of `ticket` completed: it leaves the shared count one second from now."""
        await self._done(keys=[f"{PREFIX}send:starts"], args=[ticket])

    async def pause_sends(self, seconds: float) -> None:
        """Telegram answered 429 with `retry_after`: every worker's sends wait that long."""
        await self._pause(keys=[f"{PREFIX}send:paused"], args=[max(1, round(seconds * 1000))])

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except RedisError:
            return False

    async def aclose(self) -> None:
        await self.client.aclose()


def _awaiting(task: asyncio.Task[Any]) -> str:
    """Where a suspended task waits: its chain of awaited coroutines (function and line, outermost first)."""
    where, awaited = [], task.get_coro()
    while awaited is not None and len(where) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            where.append(type(awaited).__name__)
            break
        where.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(where)


def connect(url: str | None) -> Coordination | None:
    """The coordination of the workers, or None when there is one process (no OUTREACH_REDIS_URL)."""
    if not url:
        return None
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
    return Coordination(client)
