"""Benchmark: the outbox's priority lane under a campaign backlog. The dispatcher runs as in the service
(outreach/bootstrap.py: the APScheduler job, `wake()` after each enqueue) against the Bot API emulator in
its own process, Telegram's limits enforced (30 msg/s, 1 msg/s per chat with a burst of 3). A backlog of
campaign rows (all due) is being sent at the configured rate while messages relayed between residents and
adultes-relais are enqueued as priority rows (from a worker thread, as the bot's services do), one every
`--every` seconds spread over a few relay chats.

Reports, on one clock (the emulator's receive time minus the enqueue time), the enqueue → received
latency of the priority rows (p50/p95/max), the campaign's sustained rate meanwhile and that of both
lanes (the configured rate is their common budget; the relays may go above it up to Telegram's 30/s rather
than wait), the 429 count and the busiest rolling second. Target: p95 < 100 ms, no 429, both lanes within
5 % of the configured rate.

    .venv/bin/python -m bench.outbox_priority [--backlog 3000] [--relays 40] [--every 0.5] [--rate 25]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from bench.common import machine, percentile, publish, wait_http
from db.engine import UnitOfWork
from db.models import OutboxMessage, OutboxStatus
from outreach import PROJECT_ROOT, bootstrap, outbox
from outreach.cli import prepare_database
from outreach.config import Settings
from sandbox.launch import free_port

TOKEN = "123456:BENCH-token_for-outreach"
FIRST_CHAT = 4_000_000
RELAY_CHATS = [5_000_001, 5_000_002, 5_000_003]  # the adultes-relais (and residents) talking


def busiest_second(times: list[float]) -> int:
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


async def run(base: str, url: str, backlog: int, relays: int, every: float, rate: float) -> dict[str, object]:
    settings = Settings(database_url=url, telegram_bot_token=TOKEN, telegram_api_base_url=f"{base}/bot",
                        quiet_hours="none", quiet_days="none", outbox_rate=rate)
    container = bootstrap.build(settings)
    now = container.clock.now()
    with container.engine.begin() as connection:  # a backlog: every row due (9:00 after the quiet hours)
        connection.execute(insert(OutboxMessage.__table__), [  # type: ignore[attr-defined]
            {"idempotency_key": f"camp:1:{n}", "chat_id": FIRST_CHAT + n, "kind": "campaign",
             "payload": {"text": "Bonjour, une permanence aux Grésilles vous aide pour vos droits."},
             "due_at": now - dt.timedelta(seconds=1), "status": OutboxStatus.pending.value, "attempts": 0,
             "priority": False, "created_at": now}
            for n in range(backlog)
        ])
    scheduler = bootstrap.scheduler(container)
    bootstrap.add_jobs(container, scheduler, jobs=("outbox",))
    scheduler.start()
    enqueued: dict[str, float] = {}

    def relay(n: int) -> None:
        """What the bot does for a relayed message: one priority row, committed, then wake()."""
        key = f"relay:{n}"
        enqueued[key] = time.time()
        with UnitOfWork(container.engine) as uow:
            outbox.enqueue(uow, key=key, chat_id=RELAY_CHATS[n % len(RELAY_CHATS)], kind="handoff_relay",
                           payload={"text": f"Amina : message {n}"}, due_at=container.clock.now(), priority=True)
            uow.commit()
        container.wake()

    try:
        await asyncio.sleep(2.0)  # the campaign is being sent at full rate
        for n in range(relays):
            await asyncio.to_thread(relay, n)
            await asyncio.sleep(every)
        await asyncio.sleep(1.0)
    finally:
        scheduler.shutdown(wait=False)
        await container.aclose()
    return enqueued


def main(backlog: int, relays: int, every: float, rate: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'outbox.db'}"
        prepare_database(url)
        port = free_port()
        emulator = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(port), "--enforce-limits"],
            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/control/status", 30)
            with httpx.Client(base_url=base, timeout=10) as control:
                for chat in [*range(FIRST_CHAT, FIRST_CHAT + backlog), *RELAY_CHATS]:
                    control.post("/control/users", json={"user_id": chat, "first_name": f"H{chat}"})
            enqueued = asyncio.run(run(base, url, backlog, relays, every, rate))
            stats = httpx.get(f"{base}/control/stats", timeout=30).json()
            events = httpx.get(f"{base}/control/events", timeout=60).json()["events"]
        finally:
            emulator.terminate()
            emulator.wait(timeout=15)
    received = {}
    campaign_times = []
    for event in events:
        if event["type"] != "message" or not event["from_bot"]:
            continue
        text = event["message"].get("text") or ""
        if text.startswith("Amina : message "):
            received[f"relay:{text.removeprefix('Amina : message ')}"] = event["time"]
        else:
            campaign_times.append(event["time"])
    latencies = [(received[key] - at) * 1000 for key, at in enqueued.items() if key in received]
    campaign_times.sort()
    relay_span = (min(enqueued.values()), max(enqueued.values())) if enqueued else (0.0, 0.0)
    during = [t for t in campaign_times if relay_span[0] <= t <= relay_span[1]]
    campaign_rate = (len(during) - 1) / (during[-1] - during[0]) if len(during) > 1 else 0.0
    # the configured rate is the budget of both lanes: the relays take their share of it (and may go above
    # it, up to Telegram's 30/s, rather than wait)
    both = sorted([*during, *(t for t in received.values() if relay_span[0] <= t <= relay_span[1])])
    total_rate = (len(both) - 1) / (both[-1] - both[0]) if len(both) > 1 else 0.0
    p95 = percentile(latencies, 95) if latencies else float("inf")
    return {
        "benchmark": "outbox_priority",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "campaign_backlog": backlog,
        "configured_rate_msg_per_s": rate,
        "priority_rows": relays,
        "priority_rows_received": len(latencies),
        "priority_latency_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "priority_latency_p95_ms": round(p95, 1),
        "priority_latency_max_ms": round(max(latencies), 1) if latencies else None,
        "campaign_rate_while_relaying_msg_per_s": round(campaign_rate, 2),
        "both_lanes_rate_msg_per_s": round(total_rate, 2),
        "campaign_messages_sent": len(campaign_times),
        "busiest_second": busiest_second(sorted(campaign_times + list(received.values()))),
        "emulator_429": stats["too_many_requests"],
        "target": "priority p95 < 100 ms, no 429, both lanes within 5 % of the configured rate",
        "ok": bool(
            len(latencies) == relays and p95 < 100 and stats["too_many_requests"] == 0
            and abs(total_rate - rate) / rate <= 0.05
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--relays", type=int, default=40)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args()
    publish("outbox_priority", main(args.backlog, args.relays, args.every, args.rate))
