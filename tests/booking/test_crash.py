"""kill -9 in the middle of a dispatch: after a restart every reminder is delivered, and the only
duplicates are the sends that were in flight (at most the dispatcher's concurrency)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import OutboxMessage, OutboxStatus
from outreach import PROJECT_ROOT, outbox
from outreach.clock import SystemClock
from tests.conftest import TOKEN

REMINDERS = 1000
CONCURRENCY = 8
FIRST_CHAT = 500_000


async def eventually(condition: Callable[[], bool], within: float, what: str) -> None:
    """Wait for `condition` (checked every 50 ms) with a deadline."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {within:g} s")
        await asyncio.sleep(0.05)


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outreach.dispatch",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _statuses(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        rows = uow.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)  # type: ignore[arg-type]
        ).all()
    return {str(status): count for status, count in rows}


async def test_kill_9_mid_dispatch_then_restart_delivers_everything_once(
    engine: Engine, emulator: Any, tmp_path: Path
) -> None:
    state = emulator.state
    chats = range(FIRST_CHAT, FIRST_CHAT + REMINDERS)
    for chat in chats:
        state.register_user(chat, f"H{chat}")
    now = SystemClock().now()  # the subprocess runs on the real clock
    with UnitOfWork(engine) as uow:
        for chat in chats:
            outbox.enqueue(
                uow,
                key=f"reminder:{chat}",
                chat_id=chat,
                kind="appointment_reminder",
                payload={"text": "Rappel : rendez-vous demain à 14 h."},
                due_at=now,
                now=now,
            )
        uow.commit()
    env = dict(
        os.environ,
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        OUTREACH_OUTBOX_RATE="30",
        OUTREACH_OUTBOX_CONCURRENCY=str(CONCURRENCY),
        OUTREACH_OUTBOX_LEASE_SECONDS="3",
        OUTREACH_QUIET_HOURS="none",
        OUTREACH_QUIET_DAYS="none",
        OUTREACH_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "dispatch.log"
    first = await _start(env, log)
    try:
        await eventually(lambda: state.total_sends >= 200, 30, "200 reminders sent by the first dispatcher")
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    sent_before_crash = state.total_sends
    assert 200 <= sent_before_crash < REMINDERS, log.read_text()[-2000:]

    second = await _start(env, log)
    try:
        await eventually(lambda: all(state.sends_per_chat[c] for c in chats), 60, "every reminder delivered")
        await eventually(lambda: _statuses(engine) == {OutboxStatus.sent.value: REMINDERS}, 15, "every row sent")
    finally:
        second.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(second.wait(), 30)
    assert code == 0, log.read_text()[-2000:]
    duplicates = sum(state.sends_per_chat[c] - 1 for c in chats)
    print(f"\ncrash test: {sent_before_crash} sent before kill -9, {duplicates} duplicates")
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates"
    assert state.total_sends == REMINDERS + duplicates
    assert state.max_send_rate <= 30
