"""Benchmark: the outbox dispatcher (`python -m outreach.dispatch`) on a SQLite outbox of 1,000,000
pending rows, against the Bot API emulator (its own process, Telegram's limits enforced).

A stream of messages falls due at 25 msg/s for a bounded run (60 s by default) while the rest of the
million rows wait in the future (the claim queries must stay fast on a big table). Reports the
lateness of each message (sent_at - due_at: p50/p95/p99/max), the dispatcher's peak RSS, the
emulator's 429 count and its highest rate over any rolling second.
Targets: p95 lateness < 1 s, RSS < 300 MB, no 429.

    .venv/bin/python -m bench.outbox [--rows 1000000] [--seconds 60] [--rate 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, insert, select

from bench.common import machine, percentile, publish, wait_http
from db.engine import make_engine
from db.models import OutboxMessage, OutboxStatus
from outreach import PROJECT_ROOT
from outreach.cli import prepare_database
from outreach.clock import SystemClock
from sandbox.launch import free_port

TOKEN = "123456:BENCH-token_for-outreach"
CHATS = 500  # the live stream cycles over these chats (one message each every 20 s at 25/s)
CHUNK = 50_000


def fill(url: str, count: int, first: int, due: Callable[[int], dt.datetime], chat: Callable[[int], int]) -> float:
    """Bulk insert `count` pending rows (keys from `first`), in chunks, in one transaction; returns seconds."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    engine = make_engine(url)
    began = time.perf_counter()
    payload = {"text": "Rappel : rendez-vous demain à 14 h avec Samia, Centre social des Grésilles."}
    created = SystemClock().now()
    with engine.begin() as connection:
        batch = []
        for i in range(first, first + count):
            batch.append({
                "idempotency_key": f"bench:{i}", "chat_id": chat(i), "kind": "appointment_reminder",
                "payload": payload, "due_at": due(i), "status": OutboxStatus.pending.value, "attempts": 0,
                "created_at": created,
            })
            if len(batch) == CHUNK:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
    engine.dispose()
    return time.perf_counter() - began


def main(rows: int, seconds: float, rate: float) -> dict[str, object]:
    live = int(seconds * rate)
    with tempfile.TemporaryDirectory() as workdir:
        db_path = Path(workdir) / "outbox.db"
        url = f"sqlite:///{db_path}"
        prepare_database(url)
        port = free_port()
        emulator = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(port), "--enforce-limits"],
            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        dispatcher: subprocess.Popen[bytes] | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/control/status", 30)
            with httpx.Client(base_url=base, timeout=10) as control:
                for chat in range(CHATS):
                    control.post("/control/users", json={"user_id": 1_000_000 + chat, "first_name": f"H{chat}"})
            later = SystemClock().now() + dt.timedelta(days=1)  # the bulk: due over the next 30 days
            insert_s = fill(url, rows - live, live, lambda i: later + dt.timedelta(seconds=(i * 2.6) % (30 * 86400)),
                            lambda i: 2_000_000 + i % 50_000)
            start = SystemClock().now() + dt.timedelta(seconds=5)  # the live stream, after the start-up
            fill(url, live, 0, lambda i: start + dt.timedelta(seconds=i / rate), lambda i: 1_000_000 + i % CHATS)
            env = dict(
                os.environ, DATABASE_URL=url, TELEGRAM_API_BASE_URL=f"{base}/bot", TELEGRAM_BOT_TOKEN=TOKEN,
                OUTREACH_OUTBOX_RATE=str(rate), OUTREACH_QUIET_HOURS="none", OUTREACH_QUIET_DAYS="none",
                OUTREACH_LOG_LEVEL="WARNING",
            )
            dispatcher = subprocess.Popen([sys.executable, "-m", "outreach.dispatch"], cwd=PROJECT_ROOT, env=env)
            watched = psutil.Process(dispatcher.pid)
            peak = 0
            end = start + dt.timedelta(seconds=seconds + 3)
            while SystemClock().now() < end:
                peak = max(peak, watched.memory_info().rss)
                time.sleep(0.25)  # sampling the dispatcher's memory
            dispatcher.send_signal(signal.SIGTERM)
            dispatcher.wait(timeout=30)
            stats = httpx.get(f"{base}/control/stats", timeout=10).json()
        finally:
            for process in (dispatcher, emulator):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=15)
        engine = make_engine(url)
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        with engine.connect() as connection:
            sent = connection.execute(
                select(table.c.due_at, table.c.sent_at).where(table.c.status == OutboxStatus.sent.value)
            ).all()
            pending = connection.execute(
                select(func.count()).select_from(table).where(table.c.status == OutboxStatus.pending.value)
            ).scalar_one()
        engine.dispose()
        size_mb = db_path.stat().st_size / 1e6
    lateness = [(sent_at - due_at).total_seconds() for due_at, sent_at in sent]
    p95 = percentile(lateness, 95) if lateness else float("inf")
    return {
        "benchmark": "outbox",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "rows_in_outbox": rows,
        "insert_s": round(insert_s, 1),
        "db_size_mb": round(size_mb, 1),
        "rate_msg_per_s": rate,
        "run_s": seconds,
        "messages_due": live,
        "messages_sent": len(sent),
        "pending_after_run": pending,
        "lateness_p50_s": round(percentile(lateness, 50), 3) if lateness else None,
        "lateness_p95_s": round(p95, 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3) if lateness else None,
        "lateness_max_s": round(max(lateness), 3) if lateness else None,
        "dispatcher_peak_rss_mb": round(peak / 1e6, 1),
        "emulator_429": stats["too_many_requests"],
        "emulator_max_sends_in_a_second": stats["max_global_send_rate"],
        "targets": "p95 lateness < 1 s, RSS < 300 MB, no 429",
        "ok": bool(len(sent) == live and p95 < 1.0 and peak < 300e6 and stats["too_many_requests"] == 0),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args()
    publish("outbox", main(args.rows, args.seconds, args.rate))
