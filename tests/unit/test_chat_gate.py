"""The per-chat gate (bot/channel.py) over a long day: what it keeps about chats goes once they are quiet, except a
turn's lock still held or awaited (forgetting it would let a second turn of the chat in)."""

from __future__ import annotations

import asyncio

from bot.channel import ChatGate

CHATS = 10_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_quiet_chats_are_forgotten_and_a_held_lock_is_kept() -> None:
    clock = Clock()
    gate = ChatGate(window_seconds=10.0, clock=clock)
    for chat_id in range(CHATS):
        async with gate.lock(chat_id):
            assert gate.admit_update(chat_id, 0) == "ok" and gate.admit(chat_id) == "ok"
    held, awaited = gate.lock(7), gate.lock(8)
    await held.acquire()
    await awaited.acquire()
    waiter = asyncio.create_task(awaited.acquire())
    await asyncio.sleep(0)  # a second turn of chat 8 waits on its lock
    clock.now += 60  # a minute of silence, then others write
    for chat_id in range(CHATS, CHATS + 4096):
        gate.admit_update(chat_id, 0)
    assert gate.lock(7) is held and gate.lock(8) is awaited  # held, awaited: the same locks
    assert len(gate._locks) == 2 and len(gate._recent) == 0 and len(gate._updates) <= 4096
    awaited.release()
    await asyncio.wait_for(waiter, 5)  # the second turn got the lock it waited for
    assert awaited.locked()
