"""Benchmark: the coordinators' figures (outreach/stats.py) on 100,000 residents and their events.

Twelve months of facts (December 2025 to November 2026, Paris time) spread over every QPV of Dijon and
Troyes, bulk-inserted with SQLAlchemy core (seeded, so every run builds the same data): consents, places
(most in a QPV, some outside, a few never given), screenings with their detected rights and amounts,
right status changes (asked, opened, failed, refused), appointments (booked, marked, cancelled),
handoffs (opened, claimed, closed with an outcome), opt-outs, erased residents (events kept, resident_id
NULL), and a campaign per territory and month with deliveries, outbox rows and clicks.
Times `figures()` for one territory-month, `figures()` for one QPV-month, `by_quartier()` and a 6-month
`monthly_series()`: p50/p95 over --runs runs each, on SQLite, and on PostgreSQL with --postgres-url
(a fresh database is created there and dropped afterwards). Target: < 200 ms per query.

    .venv/bin/python -m bench.stats [--residents 100000] [--runs 20] [--postgres-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import machine, percentile, publish
from db.engine import make_engine
from db.models import Campaign, CampaignDelivery, Event, OutboxMessage, Quartier, Resident
from outreach import stats
from outreach.cli import prepare_database

PARIS = ZoneInfo("Europe/Paris")
FIRST = dt.datetime(2025, 12, 1, tzinfo=PARIS).astimezone(dt.UTC)
LAST = dt.datetime(2026, 12, 1, tzinfo=PARIS).astimezone(dt.UTC)
MONTH, SERIES_END = "2026-10", "2026-11"
CHUNK = 20_000
TARGET_MS = 200.0
RIGHTS = [  # id, label, monthly amount range (None: no amount), how often it is found
    ("prime_activite", "Prime d'activité", (120, 320), 0.45),
    ("rsa", "Revenu de solidarité active", (300, 650), 0.25),
    ("aide_logement", "Aide au logement", (90, 380), 0.40),
    ("css", "Complémentaire santé solidaire", None, 0.50),
    ("cheque_energie", "Chèque énergie", (8, 23), 0.35),
    ("allocations_familiales", "Allocations familiales", (140, 320), 0.20),
    ("asf", "Allocation de soutien familial", (195, 200), 0.08),
    ("france_travail", "Inscription à France Travail", None, 0.30),
    ("plie", "PLIE : accompagnement vers l'emploi", None, 0.15),
    ("cej", "Contrat d'engagement jeune", None, 0.10),
]
OUTCOMES = ["oriente", "rendez_vous", "droit_ouvert", "dossier_en_cours", "sans_suite"]


class Facts:
    """The generated rows, table by table (plain dicts for SQLAlchemy core inserts)."""

    def __init__(self) -> None:
        self.residents: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.campaigns: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []

    def event(
        self, at: dt.datetime, kind: str, resident: int | None, place: tuple[str | None, str | None], **data: Any
    ) -> None:
        self.events.append(
            {
                "at": at,
                "kind": kind,
                "resident_id": resident,
                "territory_id": place[0],
                "quartier_id": place[1],
                "data": data,
            }
        )


def generate(count: int, quartiers: dict[str, list[str]], seed: int = 8) -> Facts:
    """`count` residents consenting uniformly over the twelve months, with what happens to them after."""
    rnd = random.Random(seed)
    facts = Facts()
    span = (LAST - FIRST).total_seconds()
    territories = list(quartiers)
    reached_by_territory: dict[str, list[tuple[dt.datetime, int]]] = {t: [] for t in territories}
    appointment_id = handoff_id = 0
    for number in range(1, count + 1):
        consent = FIRST + dt.timedelta(seconds=rnd.random() * span)
        territory = territories[0] if rnd.random() < 0.55 else territories[1]
        if rnd.random() < 0.06:
            place: tuple[str | None, str | None] = (None, None)  # never said where they live
        else:
            place = (territory, rnd.choice(quartiers[territory]) if rnd.random() < 0.8 else None)
        erased = rnd.random() < 0.02
        resident = None if erased else number
        if not erased:
            facts.residents.append(
                {
                    "id": number,
                    "public_id": uuid.UUID(int=rnd.getrandbits(128)).hex,
                    "telegram_user_id": 10**9 + number,
                    "chat_id": 10**9 + number,
                    "first_name": "Habitant",
                    "language": "fr",
                    "territory_id": place[0],
                    "quartier_id": place[1],
                    "consent_version": "2026-11",
                    "consent_at": consent,
                    "created_at": consent,
                    "last_seen_at": consent,
                }
            )
        facts.event(consent, "resident_reached", resident, place)
        if place[0] is not None and not erased:
            reached_by_territory[place[0]].append((consent, number))
        if rnd.random() < 0.72:  # a screening, a few minutes after the consent
            screened = consent + dt.timedelta(minutes=rnd.uniform(2, 40))
            found = [r for r in RIGHTS if rnd.random() < r[3]] or [RIGHTS[3]]
            detected = [
                {
                    "id": rid,
                    "label": label,
                    "monthly_amount": round(rnd.uniform(*amount), 2) if amount else None,
                    "repeat": False,
                }
                for rid, label, amount, _ in found
            ]
            if rnd.random() < 0.08:  # redone a few days later (another answer): the same rights are repeats
                again = [dict(item, repeat=True) for item in detected if rnd.random() < 0.8]
                facts.event(
                    screened + dt.timedelta(days=rnd.uniform(0, 20)),
                    "screening_completed",
                    resident,
                    place,
                    rights=[d["id"] for d in again],
                    detected=again,
                    complex=False,
                )
            facts.event(
                screened,
                "screening_completed",
                resident,
                place,
                rights=[d["id"] for d in detected],
                detected=detected,
                complex=rnd.random() < 0.1,
            )
            for item in detected:
                if rnd.random() < 0.45:
                    days = rnd.expovariate(1 / 9)
                    asked = screened + dt.timedelta(days=days)
                    facts.event(
                        asked,
                        "right_status",
                        resident,
                        place,
                        right=item["id"],
                        status="asked",
                        label=item["label"],
                        detected_at=screened.isoformat(),
                        days_since_detection=round(days, 3),
                        claim=True,
                        **{"from": "to_claim"},
                    )
                    roll = rnd.random()
                    if roll < 0.75:
                        later = rnd.uniform(7, 60)
                        final = "opened" if roll < 0.6 else "refused"
                        facts.event(
                            asked + dt.timedelta(days=later),
                            "right_status",
                            resident,
                            place,
                            right=item["id"],
                            status=final,
                            label=item["label"],
                            detected_at=screened.isoformat(),
                            days_since_detection=round(days + later, 3),
                            claim=False,
                            **{"from": "asked"},
                        )
                elif rnd.random() < 0.1:
                    days = rnd.uniform(3, 30)
                    facts.event(
                        screened + dt.timedelta(days=days),
                        "right_status",
                        resident,
                        place,
                        right=item["id"],
                        status="failed",
                        label=item["label"],
                        detected_at=screened.isoformat(),
                        days_since_detection=round(days, 3),
                        claim=False,
                        **{"from": "to_claim"},
                    )
        if place[0] is not None and rnd.random() < 0.22:  # an appointment at a permanence
            appointment_id += 1
            booked = consent + dt.timedelta(hours=rnd.uniform(1, 72))
            starts = booked + dt.timedelta(days=rnd.uniform(2, 14))
            common = {"appointment_id": appointment_id, "permanence_id": rnd.randint(1, 12), "channel": "permanence"}
            facts.event(booked, "appointment_booked", resident, place, **common, lead_hours=24.0)
            roll = rnd.random()
            if roll < 0.12:
                facts.event(
                    starts - dt.timedelta(hours=rnd.uniform(1, 40)),
                    "appointment_cancelled",
                    resident,
                    place,
                    **common,
                    by="resident",
                    late=False,
                )
            else:
                kind = (
                    "appointment_seen"
                    if roll < 0.8
                    else "appointment_no_show"
                    if roll < 0.93
                    else ("appointment_excused")
                )
                facts.event(starts + dt.timedelta(hours=1), kind, resident, place, **common, previous_status="booked")
        if place[0] is not None and rnd.random() < 0.1:  # a handoff to an adulte-relais
            handoff_id += 1
            opened = consent + dt.timedelta(minutes=rnd.uniform(5, 600))
            waited = rnd.expovariate(1 / 1200)
            common = {"handoff": handoff_id, "source": "talk_to_human"}
            facts.event(opened, "handoff_opened", resident, place, **common)
            facts.event(
                opened + dt.timedelta(seconds=waited),
                "handoff_claimed",
                resident,
                place,
                **common,
                waited_s=round(waited),
            )
            facts.event(
                opened + dt.timedelta(seconds=waited, minutes=rnd.uniform(10, 3000)),
                "handoff_closed",
                resident,
                place,
                **common,
                outcome=rnd.choice(OUTCOMES),
                by="staff",
            )
        if rnd.random() < 0.05:
            facts.event(
                consent + dt.timedelta(days=rnd.uniform(1, 90)),
                "resident_opted_out",
                resident,
                place,
                **({"campaign_id": rnd.randint(1, 24)} if rnd.random() < 0.4 else {}),
            )
    _campaigns(rnd, facts, reached_by_territory)
    facts.events.sort(key=lambda row: row["at"])  # a live table fills in time order (ids follow the clock)
    return facts


def _campaigns(rnd: random.Random, facts: Facts, reached: dict[str, list[tuple[dt.datetime, int]]]) -> None:
    """One campaign per territory and month, to a quarter of the residents reached before (3,000 at most)."""
    campaign_id = 0
    for month in range(12):
        start = dt.datetime(2025 + (11 + month) // 12, (11 + month) % 12 + 1, 5, 9, tzinfo=PARIS).astimezone(dt.UTC)
        for territory, people in reached.items():
            campaign_id += 1
            facts.campaigns.append(
                {
                    "id": campaign_id,
                    "name": f"Campagne {campaign_id}",
                    "territory_id": territory,
                    "audience": {},
                    "text": "Bonjour {prenom}",
                    "buttons": [],
                    "schedule": "at",
                    "starts_at": start,
                    "rate": 25.0,
                    "status": "done",
                    "created_at": start,
                    "started_at": start,
                    "finished_at": start,
                }
            )
            audience = [number for consent, number in people if consent < start]
            for i, number in enumerate(rnd.sample(audience, min(len(audience) // 4, 3000))):
                key = f"campaign:{campaign_id}:{number}"
                sent_at = start + dt.timedelta(seconds=i / 25)
                status = "sent" if rnd.random() < 0.96 else "dropped"
                facts.outbox.append(
                    {
                        "idempotency_key": key,
                        "chat_id": 10**9 + number,
                        "resident_id": number,
                        "kind": "campaign",
                        "payload": {},
                        "due_at": sent_at,
                        "status": status,
                        "attempts": 1,
                        "sent_at": sent_at if status == "sent" else None,
                        "created_at": start,
                    }
                )
                clicked = status == "sent" and rnd.random() < 0.08
                facts.deliveries.append(
                    {
                        "campaign_id": campaign_id,
                        "resident_id": number,
                        "status": "queued",
                        "outbox_key": key,
                        "created_at": start,
                        "queued_at": start,
                        "clicked_at": sent_at + dt.timedelta(minutes=rnd.uniform(1, 600)) if clicked else None,
                    }
                )


def load(engine: Engine, facts: Facts) -> float:
    """Bulk insert everything (core inserts by chunks, one transaction); returns seconds."""
    began = time.perf_counter()
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Resident.__table__, facts.residents),  # type: ignore[attr-defined]
        (Event.__table__, facts.events),  # type: ignore[attr-defined]
        (Campaign.__table__, facts.campaigns),  # type: ignore[attr-defined]
        (OutboxMessage.__table__, facts.outbox),  # type: ignore[attr-defined]
        (CampaignDelivery.__table__, facts.deliveries),  # type: ignore[attr-defined]
    ]
    with engine.begin() as connection:
        for table, rows in tables:
            for first in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[first : first + CHUNK])
    if engine.dialect.name == "postgresql":  # what autovacuum does on a live database (SQLite: nobody does)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - began


def timed(engine: Engine, call: Callable[[Session], object], runs: int) -> dict[str, float]:
    """p50/p95 (ms) of `call` on a new session each run, after one warm-up run."""
    times = []
    for i in range(runs + 1):
        with Session(engine) as session:
            began = time.perf_counter()
            call(session)
            if i:
                times.append((time.perf_counter() - began) * 1000)
    return {
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1),
    }


def measure(url: str, residents: int, runs: int) -> dict[str, Any]:
    prepare_database(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            quartiers: dict[str, list[str]] = {}
            for quartier_id, territory in session.execute(select(Quartier.id, Quartier.territory_id)):
                quartiers.setdefault(territory, []).append(quartier_id)
        began = time.perf_counter()
        facts = generate(residents, quartiers)
        generate_s = time.perf_counter() - began
        insert_s = load(engine, facts)
        with Session(engine) as session:
            events = session.execute(select(func.count()).select_from(Event)).scalar_one()
            sample = stats.figures(session, territory="dijon", month=MONTH)
        qpv = quartiers["dijon"][0]
        queries = {
            "figures_territory_month": lambda s: stats.figures(s, territory="dijon", month=MONTH),
            "figures_qpv_month": lambda s: stats.figures(s, territory="dijon", month=MONTH, quartier=qpv),
            "by_quartier": lambda s: stats.by_quartier(s, territory="dijon", month=MONTH),
            "monthly_series_6": lambda s: stats.monthly_series(s, territory="dijon", months=6, end_month=SERIES_END),
        }
        timings = {name: timed(engine, call, runs) for name, call in queries.items()}
    finally:
        engine.dispose()
    return {
        "database": engine.dialect.name,
        "residents": residents,
        "events": events,
        "campaign_deliveries": len(facts.deliveries),
        "generate_s": round(generate_s, 1),
        "insert_s": round(insert_s, 1),
        "sample_dijon_month": {
            "month": MONTH,
            "residents_reached": sample["residents_reached"],
            "screenings_completed": sample["screenings_completed"],
            "rights_detected_total": sample["rights_detected_total"],
            "rights_reported": sample["rights_reported"],
            "appointments": sample["appointments"],
            "handoffs_opened": sample["handoffs"]["opened"],
            "campaigns": sample["campaigns"],
        },
        "queries": timings,
        "ok": all(t["p95_ms"] < TARGET_MS for t in timings.values()),
    }


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"bench_stats_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(residents: int, runs: int, postgres_url: str | None) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        results.append(measure(f"sqlite:///{Path(workdir) / 'stats.db'}", residents, runs))
    if postgres_url:
        with postgres_database(postgres_url) as url:
            results.append(measure(url, residents, runs))
    return {
        "benchmark": "stats",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "runs": runs,
        "target": f"p95 < {TARGET_MS:.0f} ms per query",
        "results": results,
        "ok": all(r["ok"] for r in results),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres-url", default=None, help="an admin URL: a fresh database is created there")
    args = parser.parse_args()
    publish("stats", main(args.residents, args.runs, args.postgres_url))
