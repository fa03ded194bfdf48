"""Benchmark: a 10,000-resident campaign sent by `python -m outreach.campaigns` (the campaign pump and the
outbox dispatcher as APScheduler jobs, as in the service) to the Bot API emulator in its own process,
Telegram's limits enforced (30 msg/s, 1 msg/s per chat).

Reports, on the emulator's clock, the sustained rate (messages - 1 over the time from the first to the
last), the busiest rolling second, the 429 count and duplicates; the pace the pump scheduled (due times)
and the lateness of the sends behind it; the sending process's peak RSS; the campaign's progress at the
end. Targets: sustained rate within 5 % of the configured rate (25 by default), no 429, no duplicate,
RSS < 300 MB.

    .venv/bin/python -m bench.campaign [--residents 10000] [--rate 25] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import create_engine, insert, select, text

from bench.common import machine, percentile, publish, wait_http
from db.engine import UnitOfWork, make_engine
from db.models import OutboxMessage, Resident
from outreach import PROJECT_ROOT, campaigns
from outreach.cli import prepare_database
from outreach.clock import SystemClock
from sandbox.launch import free_port

TOKEN = "123456:BENCH-token_for-outreach"
FIRST_CHAT = 3_000_000


def busiest_second(times: list[float]) -> int:
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def _database(postgres_url: str | None, workdir: str) -> tuple[str, Any]:
    """A fresh database (SQLite file, or a new PostgreSQL database) and how to drop it."""
    if not postgres_url:
        return f"sqlite:///{Path(workdir) / 'campaign.db'}", lambda: None
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return postgres_url.rsplit("/", 1)[0] + f"/{name}", drop


def main(residents: int, rate: float, postgres_url: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        url, drop = _database(postgres_url, workdir)
        emulator = sender = None
        try:
            prepare_database(url)
            port = free_port()
            emulator = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "--port", str(port), "--enforce-limits"],
                cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/control/status", 30)
            chats = range(FIRST_CHAT, FIRST_CHAT + residents)
            with httpx.Client(base_url=base, timeout=10) as control:
                for chat in chats:
                    control.post("/control/users", json={"user_id": chat, "first_name": f"H{chat}"})
            clock = SystemClock()
            now = clock.now()
            engine = make_engine(url)
            with engine.begin() as connection:
                connection.execute(insert(Resident.__table__), [  # type: ignore[attr-defined]
                    {"public_id": f"b{chat:031d}", "telegram_user_id": chat, "chat_id": chat,
                     "first_name": f"H{chat}", "territory_id": "dijon",
                     "quartier_id": ("gresilles", "fontaine_d_ouche", "le_mail")[chat % 3],
                     "consent_version": "2026-11", "consent_at": now, "last_seen_at": now, "created_at": now}
                    for chat in chats
                ])
            spec = campaigns.CampaignSpec(
                name="Bench", territory="dijon", audience=campaigns.Audience(territory="dijon"),
                text="Bonjour {prenom}, à {quartier} une permanence vous aide pour {droit}.",
                buttons=["screening", "book", "stop"], rate=rate,
            )
            with UnitOfWork(engine) as uow:
                campaign = campaigns.create(uow, clock, spec, created_by=None)
            assert campaign.id is not None
            env = dict(
                os.environ, DATABASE_URL=url, TELEGRAM_API_BASE_URL=f"{base}/bot", TELEGRAM_BOT_TOKEN=TOKEN,
                OUTREACH_OUTBOX_RATE=str(rate), OUTREACH_QUIET_HOURS="none", OUTREACH_QUIET_DAYS="none",
                OUTREACH_LOG_LEVEL="WARNING",
            )
            sender = subprocess.Popen([sys.executable, "-m", "outreach.campaigns"], cwd=PROJECT_ROOT, env=env)
            watched = psutil.Process(sender.pid)
            time.sleep(2)  # the process starts (imports) before the campaign does
            started = time.monotonic()
            with UnitOfWork(engine) as uow:
                campaigns.start(uow, clock, campaign.id)
            peak = 0
            deadline = started + residents / rate * 1.5 + 60
            while time.monotonic() < deadline:
                peak = max(peak, watched.memory_info().rss)
                with UnitOfWork(engine) as uow:  # the status only: progress() would take CPU from the sender
                    if campaigns.get(uow.session, campaign.id).status == "done":
                        break
                time.sleep(0.5)  # sampling the sender's memory and the campaign's status
            wall = time.monotonic() - started
            with UnitOfWork(engine) as uow:
                status = campaigns.progress(uow.session, campaign.id)
            sender.send_signal(signal.SIGTERM)
            sender.wait(timeout=60)
            stats = httpx.get(f"{base}/control/stats", timeout=30).json()
            events = httpx.get(f"{base}/control/events", timeout=60).json()["events"]
            table = OutboxMessage.__table__  # type: ignore[attr-defined]
            with engine.connect() as connection:
                rows = connection.execute(
                    select(table.c.due_at, table.c.sent_at).where(table.c.kind == campaigns.KIND)
                ).all()
            engine.dispose()
        finally:
            for process in (sender, emulator):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=15)
            drop()
    times = sorted(e["time"] for e in events if e["type"] == "message" and e["from_bot"])
    sustained = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    duplicates = sum(count - 1 for count in stats["sends_per_chat"].values())
    dues = sorted(due for due, _ in rows)
    scheduled = (len(dues) - 1) / (dues[-1] - dues[0]).total_seconds() if len(dues) > 1 else 0.0
    lateness = [(sent - due).total_seconds() for due, sent in rows if sent is not None]
    return {
        "benchmark": "campaign",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "database": "postgresql" if postgres_url else "sqlite",
        "residents": residents,
        "configured_rate_msg_per_s": rate,
        "messages_received_by_emulator": len(times),
        "sustained_rate_msg_per_s": round(sustained, 2),
        "rate_deviation_percent": round(abs(sustained - rate) / rate * 100, 2),
        "scheduled_rate_msg_per_s": round(scheduled, 2),  # the due times the pump gave (1/rate apart)
        "lateness_p50_s": round(percentile(lateness, 50), 2) if lateness else None,
        "lateness_max_s": round(max(lateness), 2) if lateness else None,
        "busiest_second": busiest_second(times),
        "send_span_s": round(times[-1] - times[0], 1) if times else None,
        "start_to_done_s": round(wall, 1),
        "emulator_429": stats["too_many_requests"],
        "duplicates": duplicates,
        "sender_peak_rss_mb": round(peak / 1e6, 1),
        "progress_at_end": status,
        "targets": "rate within 5 % of the configured rate, no 429, no duplicate, RSS < 300 MB",
        "ok": bool(
            len(times) == residents
            and abs(sustained - rate) / rate <= 0.05
            and stats["too_many_requests"] == 0
            and duplicates == 0
            and peak < 300e6
            and status.get("status") == "done"
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--postgres-url", default=None, help="run on a new database of this PostgreSQL server")
    args = parser.parse_args()
    report = main(args.residents, args.rate, args.postgres_url)
    publish("campaign" + ("_postgresql" if args.postgres_url else ""), report)
