"""Benchmark: national rights with OpenFisca-France (outreach.screening.national).

Measures, in one fresh process: the cold first call (loading France's tax and benefit system and the first
simulation), `warm_up` (what the service runs at start-up: one simulation of each kind), the warm
single-profile latency over varied profiles (p50/p95), and a large batch through
`national_rights` (wall time, peak RSS of the process). Targets: warm p95 < 500 ms; 10,000 profiles < 60 s
and < 2 GB RSS.

    .venv/bin/python -m bench.screening [--profiles 10000] [--singles 50] [--seed 1] [--no-warm-up]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import time

from outreach.screening.model import Income, Profile
from outreach.screening.national import CHUNK_SIZE, national_rights, warm_up

TODAY = dt.date(2025, 10, 15)
COMMUNES = ["21231", "21231", "21166", "21617", "10387", "10362", "75056"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def varied_profile(rnd: random.Random) -> Profile:
    """A plausible resident of a priority neighbourhood, with a few unanswered questions."""
    activity = rnd.choices(["employed", "jobseeker", "student", "inactive", "retired"], weights=[38, 20, 8, 20, 14])[0]
    ages = {"retired": (66, 88), "student": (19, 25)}.get(activity, (22, 62))
    age = rnd.randint(*ages)
    couple = rnd.random() < (0.15 if activity == "student" else 0.45)
    children_count = 0 if activity == "student" else rnd.choices(range(6), weights=[35, 22, 20, 13, 7, 3])[0]
    children = [rnd.randint(0, 20) for _ in range(children_count)]
    housing = rnd.choices(["social_tenant", "tenant", "hosted", "owner", "homeless"], weights=[55, 22, 12, 8, 3])[0]
    income = Income(
        salary=rnd.choice([450, 800, 1100, 1400, 1800, 2400]) if activity == "employed" else 0,
        unemployment=rnd.choice([600, 900, 1200]) if activity == "jobseeker" else 0,
        pension=rnd.choice([700, 950, 1300, 1800]) if activity == "retired" else 0,
        other=rnd.choice([0, 0, 0, 0, 120, 300]),
        partner_salary=rnd.choice([0, 0, 1200, 1700, 2200]) if couple else None,
    )
    disability = rnd.choices([0, 50, 80], weights=[88, 5, 7])[0]
    fields: dict[str, object] = {
        "age": age,
        "couple": couple,
        "partner_age": max(18, age + rnd.randint(-6, 6)) if couple else None,
        "children_ages": children,
        "housing": housing,
        "rent": rnd.choice([280, 350, 420, 500, 650]) if housing in ("tenant", "social_tenant") else None,
        "income": income,
        "activity": activity,
        "jobseeker_since_months": rnd.randint(1, 30) if activity == "jobseeker" else None,
        "disability_rate": disability,
        "residence_ok": rnd.random() > 0.07,
        "commune_insee": rnd.choice(COMMUNES),
        "receives": rnd.choice([[], [], [], ["aide_logement"], ["allocations_familiales"] if children else []]),
    }
    for name in ("rent", "couple", "income", "disability_rate", "residence_ok", "commune_insee", "activity"):
        if rnd.random() < 0.06:  # "je ne sais pas"
            fields[name] = None
    return Profile.model_validate(fields)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(count: int, singles: int, seed: int, warm: bool = True) -> dict[str, object]:
    rnd = random.Random(seed)
    first = varied_profile(rnd)
    started = time.perf_counter()
    national_rights([first], TODAY)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    if warm:
        warm_up(TODAY)  # what the service does at start-up
    warm_up_s = time.perf_counter() - started

    latencies = []
    for _ in range(singles):
        profile = varied_profile(rnd)
        started = time.perf_counter()
        national_rights([profile], TODAY)
        latencies.append((time.perf_counter() - started) * 1000)
    rss_before_batch = peak_rss_mb()

    batch = [varied_profile(rnd) for _ in range(count)]
    started = time.perf_counter()
    outcomes = national_rights(batch, TODAY)
    wall = time.perf_counter() - started
    shown = sum(len(outcome.rights) for outcome in outcomes)
    return {
        "benchmark": "screening_national",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "month_computed": TODAY.strftime("%Y-%m"),
        "cold_first_call_s": round(cold, 2),
        "warm_up_s": round(warm_up_s, 2) if warm else None,
        "warm_single_profiles": singles,
        "warm_single_p50_ms": round(percentile(latencies, 50), 1),
        "warm_single_p95_ms": round(percentile(latencies, 95), 1),
        "warm_single_max_ms": round(max(latencies), 1),
        "warm_single_mean_ms": round(statistics.mean(latencies), 1),
        "batch_profiles": count,
        "batch_chunk_size": CHUNK_SIZE,
        "batch_wall_s": round(wall, 1),
        "batch_ms_per_profile": round(wall / count * 1000, 2),
        "batch_rights_shown_per_profile": round(shown / count, 2),
        "peak_rss_mb_before_batch": round(rss_before_batch),
        "peak_rss_mb": round(peak_rss_mb()),
        "targets": "warm p95 < 500 ms; 10,000 profiles < 60 s and < 2 GB RSS",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-warm-up", action="store_true", help="measure the singles right after the first call")
    args = parser.parse_args()
    report = main(args.profiles, args.singles, args.seed, warm=not args.no_warm_up)
    print(json.dumps(report, indent=2, ensure_ascii=False))
