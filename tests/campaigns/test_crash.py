"""kill -9 of the sending process (`python -m outreach.campaign_sender`: the campaign pump and the outbox
dispatcher, the two jobs of the service) in the middle of a 2,000-resident campaign, then a restart:
everyone in the audience gets it, once; the only duplicates are the sends in flight at the kill (at most
the dispatcher's concurrency)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import CampaignStatus, Resident
from outreach import PROJECT_ROOT, campaigns
from outreach.clock import SystemClock
from tests.booking.test_crash import eventually
from tests.campaigns.conftest import progress, spec
from tests.conftest import TOKEN

AUDIENCE = 2000
CONCURRENCY = 8
FIRST_CHAT = 600_000


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "outreach.campaign_sender", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log.open("ab"),
    )


async def test_kill_9_mid_campaign_then_restart_reaches_everyone_once(
    engine: Engine, emulator: Any, tmp_path: Path
) -> None:
    state = emulator.state
    chats = range(FIRST_CHAT, FIRST_CHAT + AUDIENCE)
    clock = SystemClock()  # the subprocess runs on the real clock
    now = clock.now()
    for chat in chats:
        state.register_user(chat, f"H{chat}")
    with engine.begin() as connection:
        connection.execute(insert(Resident.__table__), [  # type: ignore[attr-defined]
            {"public_id": f"c{chat:031d}", "telegram_user_id": chat, "chat_id": chat, "first_name": f"H{chat}",
             "territory_id": "dijon", "consent_version": "2026-11", "consent_at": now, "created_at": now}
            for chat in chats
        ])
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(uow, clock, spec(rate=30, text="Bonjour {prenom}, venez à la permanence."),
                                    created_by=None)
    assert campaign.id is not None
    with UnitOfWork(engine) as uow:
        campaigns.start(uow, clock, campaign.id)
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
    log = tmp_path / "campaigns.log"
    first = await _start(env, log)
    try:
        await eventually(lambda: state.total_sends >= 300, 60, "300 messages sent by the first process")
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    sent_before_crash = state.total_sends
    assert 300 <= sent_before_crash < AUDIENCE, log.read_text()[-2000:]

    second = await _start(env, log)
    try:
        await eventually(lambda: all(state.sends_per_chat[c] for c in chats), 150, "everyone reached")
        await eventually(
            lambda: progress(engine, campaign.id)["status"] == CampaignStatus.done, 30, "the campaign done"  # type: ignore[arg-type]
        )
    finally:
        second.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(second.wait(), 40)
    assert code == 0, log.read_text()[-2000:]
    duplicates = sum(state.sends_per_chat[c] - 1 for c in chats)
    print(f"\ncampaign crash test: {sent_before_crash} sent before kill -9, {duplicates} duplicates")
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates"
    assert state.total_sends == AUDIENCE + duplicates
    assert state.max_send_rate <= 30
    counts = progress(engine, campaign.id)
    assert counts["total"] == counts["sent"] == AUDIENCE and counts["percent"] == 100
