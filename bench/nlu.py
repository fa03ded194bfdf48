"""Benchmark: `outreach nlu parse` on a batch (throughput, per-message p50/p95 after the model is
loaded) and, with --train, the model's training time from scratch. Targets: p95 < 30 ms per message
on 2 cores; training < 5 min.

    .venv/bin/python -m bench.nlu [--messages 2000] [--train]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import machine, percentile, publish
from outreach import PROJECT_ROOT, augment
from outreach.rasa_model import model_path, rasa_env, train

STRANGER = PROJECT_ROOT / "tests" / "nlu" / "stranger"
OUTREACH = PROJECT_ROOT / ".venv" / "bin" / "outreach"


def stranger_messages() -> list[str]:
    """The stranger set's messages (tests/nlu/stranger): resident-style text the model was not trained on."""
    messages = []
    for path in sorted(STRANGER.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in item.get("examples", "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    messages.append(line[2:])
    return messages


def parse_batch(count: int) -> dict[str, float]:
    """Feed `count` messages one line at a time; time each answer line as it comes back."""
    pool = stranger_messages()
    messages = [pool[i % len(pool)] for i in range(count)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(OUTREACH), "nlu", "parse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    assert process.stdin and process.stdout
    # warm-up message: the model is loaded when its answer comes back
    process.stdin.write("bonjour\n")
    process.stdin.flush()
    process.stdout.readline()
    loaded = time.perf_counter() - started
    latencies = []
    batch_start = time.perf_counter()
    for message in messages:
        sent = time.perf_counter()
        process.stdin.write(message + "\n")
        process.stdin.flush()
        json.loads(process.stdout.readline())
        latencies.append((time.perf_counter() - sent) * 1000)
    batch = time.perf_counter() - batch_start
    process.stdin.close()
    process.wait(timeout=60)
    return {
        "startup_and_model_load_s": round(loaded, 1),
        "messages": count,
        "throughput_msg_per_s": round(count / batch, 1),
        "per_message_p50_ms": round(percentile(latencies, 50), 1),
        "per_message_p95_ms": round(percentile(latencies, 95), 1),
        "per_message_max_ms": round(max(latencies), 1),
    }


def training_time() -> float:
    """Train from scratch as `outreach train` does (written examples + seeded variants) into a temporary
    directory (the project's model is kept)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        data = augment.build(PROJECT_ROOT / "nlu" / "data", Path(out) / "data")
        subprocess.run(
            [
                str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"),
                "train",
                "--config",
                str(PROJECT_ROOT / "nlu" / "config.yml"),
                "--domain",
                str(PROJECT_ROOT / "nlu" / "domain"),
                "--data",
                str(data),
                str(PROJECT_ROOT / "stories"),
                "--out",
                out,
                "--fixed-model-name",
                "bench",
            ],
            cwd=out,
            env=rasa_env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--train", action="store_true", help="also time a training from scratch")
    args = parser.parse_args()
    train()
    report: dict[str, object] = {
        "benchmark": "nlu",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "model": str(model_path().relative_to(PROJECT_ROOT)),
        **parse_batch(args.messages),
        "target": "p95 < 30 ms per message; training < 5 min",
    }
    if args.train:
        report["training_from_scratch_s"] = round(training_time(), 1)
    publish("nlu", report)


if __name__ == "__main__":
    main()
