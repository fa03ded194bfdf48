"""Scale-out benchmark (issue 16): the load of bench/load.py (N residents each writing every 2-4 s without
waiting) against `outreach cluster up --workers W --rasa R` (sandbox mode, PostgreSQL, Redis, nginx), for each
topology asked; plus the memory each extra replica costs (resident set of each process once warm).

    .venv/bin/python -m bench.scaleout [--topologies 1x1,3x2] [--residents 200] [--duration 120] [--think 2-4]

Needs PostgreSQL (scripts/postgres.sh, started here) and the cluster's packages (scripts/cluster-deps.sh). One
cluster at a time (var/cluster): stop yours first (`outreach cluster down`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import machine, publish
from bench.load import run_load, target_pids, think_range
from bench.stats import postgres_database
from sandbox.drills import ClusterService, running_cluster
from sandbox.launch import PROJECT_ROOT


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the PostgreSQL of scripts/postgres.sh (started here), dropped afterwards."""
    admin_url = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "postgres.sh"), "start"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with postgres_database(admin_url) as url:
        yield url


def memory(cluster: ClusterService) -> dict[str, float | None]:
    return {name: rss_mb(pid) for name, pid in sorted(target_pids(cluster).items())}


async def one(workers: int, rasa: int, residents: int, duration: float, think: tuple[float, float]) -> dict[str, Any]:
    memory_seen: dict[str, Any] = {}

    @contextlib.contextmanager
    def cluster(workdir: Path) -> Iterator[ClusterService]:
        with fresh_database() as url, running_cluster(workdir, url, workers=workers, rasa=rasa) as running:
            yield running
            memory_seen.update(memory(running))

    report, _, _ = await run_load(residents, duration, think, target=cluster)
    keep = (
        "offered_per_s",
        "served_turns_per_s",
        "latency_ms",
        "lost",
        "answered_twice",
        "errors_in_log",
        "cpu_share_of_one_core",
        "consent_s",
        "drain_s",
    )
    return {
        "topology": f"{workers} workers, {rasa} Rasa",
        **{key: report[key] for key in keep if key in report},
        "rss_mb": memory_seen,
        "full": report,
    }


def topology(text_value: str) -> tuple[int, int]:
    workers, _, rasa = text_value.partition("x")
    return int(workers), int(rasa or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topologies", default="1x1,3x2", help="WORKERSxRASA, comma-separated")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--think", type=think_range, default=(2.0, 4.0), help="seconds between messages, LOW-HIGH")
    args = parser.parse_args()
    runs = [
        asyncio.run(one(*topology(t), args.residents, args.duration, args.think)) for t in args.topologies.split(",")
    ]
    think = f"{args.think[0]:g}-{args.think[1]:g}"
    publish(
        f"scaleout-think-{think}",
        {
            "benchmark": "scaleout",
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine(),
            "residents": args.residents,
            "duration_s": args.duration,
            "think_s": list(args.think),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
