"""Benchmark: a batch of profiles through the `outreach screen` command (JSONL in, JSONL out: national
rights with OpenFisca-France and the local catalogue), as a script would run it. Reports wall time and
the peak RSS of the command. Target: 10,000 profiles < 60 s and < 2 GB RSS.

    .venv/bin/python -m bench.screen_cli [--profiles 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import machine, publish
from bench.screening import TODAY, varied_profile
from outreach import PROJECT_ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        source, sink = Path(tmp) / "profiles.jsonl", Path(tmp) / "results.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for _ in range(args.profiles):
                out.write(varied_profile(rnd).model_dump_json(exclude_none=True) + "\n")
        started = time.perf_counter()
        with source.open("rb") as stdin, sink.open("wb") as stdout:
            subprocess.run(
                [str(PROJECT_ROOT / ".venv" / "bin" / "outreach"), "screen", "--date", TODAY.isoformat()],
                stdin=stdin,
                stdout=stdout,
                check=True,
            )
        wall = time.perf_counter() - started
        lines = sink.read_text(encoding="utf-8").splitlines()
        errors = sum(1 for line in lines if "error" in json.loads(line))
        rights = sum(len(json.loads(line).get("rights", [])) for line in lines)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {
        "benchmark": "screen_cli",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "profiles": args.profiles,
        "lines_out": len(lines),
        "error_lines": errors,
        "rights_found": rights,
        "wall_s": round(wall, 1),
        "profiles_per_s": round(args.profiles / wall),
        "peak_rss_mb": round(peak_mb),
        "target": "10,000 profiles < 60 s and < 2 GB RSS",
    }
    publish("screen_cli", report)


if __name__ == "__main__":
    main()
