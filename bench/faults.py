"""Fault drills, longer than tests/faults (sandbox/drills.py): the whole service (`outreach run`, sandbox mode),
more residents chatting, bigger campaigns, a PostgreSQL outage of a few seconds, Telegram failing more often.
One JSON per drill in bench/results/faults-<drill>.json (what was killed, messages sent / answered / lost /
duplicated, the form, the booking, the campaign, recovery times).

    .venv/bin/python -m bench.faults [--only rasa,actions,service,in_flight,telegram,postgres]
        [--talkers 12] [--campaign 1000] [--postgres-down 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine, publish
from sandbox.client import EmulatorClient
from sandbox.drills import (
    Postgres,
    in_flight_drill,
    kill_drill,
    own_postgres,
    postgres_drill,
    running_service,
    telegram_drill,
)

DRILLS = ("rasa", "actions", "service", "in_flight", "telegram", "postgres")


def _publish(name: str, report: dict[str, Any]) -> None:
    publish(f"faults-{name}", {**report, "machine": machine(), "date": dt.date.today().isoformat()})


async def _sqlite_drills(url: str, service: Any, wanted: set[str], talkers: int, campaign: int) -> None:
    async with EmulatorClient(url) as telegram:
        first = 100_000
        for child in ("rasa", "actions", "service"):
            if child in wanted:
                report = await kill_drill(
                    service, telegram, child, first_id=first, talkers=talkers, campaign_size=campaign,
                    answer_within=60 if child == "service" else None, within=240,
                )
                _publish(child, report)
            first += 100_000
        if "in_flight" in wanted:
            _publish("in_flight", await in_flight_drill(service, telegram, first_id=first))
        first += 100_000
        if "telegram" in wanted:
            report = await telegram_drill(service, telegram, first_id=first, campaign_size=min(campaign, 300))
            await telegram.clear_faults()
            _publish("telegram", report)


async def _postgres_drill(service: Any, cluster: Postgres, talkers: int, campaign: int, down: float) -> None:
    async with EmulatorClient(service.url) as telegram:
        for label, outage in (("postgres", 0.0), ("postgres-outage", down)):
            report = await postgres_drill(
                service, cluster, telegram, first_id=800_000 if not outage else 900_000, talkers=talkers,
                campaign_size=campaign, down_for=outage, within=240,
            )
            _publish(label, report)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(DRILLS), help="drills to run, comma-separated")
    parser.add_argument("--talkers", type=int, default=12, help="residents chatting during each drill")
    parser.add_argument("--campaign", type=int, default=1000, help="audience of the campaign sent during a drill")
    parser.add_argument("--postgres-down", type=float, default=5.0, help="seconds PostgreSQL stays down (outage)")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - set(DRILLS)
    if unknown:
        parser.error(f"unknown drills: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir:
        if wanted - {"postgres"}:
            with running_service(Path(workdir) / "sqlite") as service:
                asyncio.run(_sqlite_drills(service.url, service, wanted, args.talkers, args.campaign))
        if "postgres" in wanted:
            with own_postgres() as cluster:
                url = cluster.database("outreach_bench")
                with running_service(Path(workdir) / "postgres", database_url=url) as service:
                    asyncio.run(_postgres_drill(service, cluster, args.talkers, args.campaign, args.postgres_down))
    print(f"fault drills done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
