"""Benchmark: N simulated residents chatting at once through the Bot API emulator with the whole
service running (`outreach run`, sandbox mode). Reports p50/p95 from the user's message to the bot's
reply, after a warm-up. Each resident waits 1-1.5 s (seeded) between a reply and their next message,
as a person reading then typing would. Target: p95 < 150 ms with 20 concurrent residents.

    .venv/bin/python -m bench.turn_latency [--residents 20] [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import machine, percentile, publish
from sandbox.client import EmulatorClient
from sandbox.launch import launch_outreach

MESSAGES = [
    "bonjour",
    "merci beaucoup",
    "c quoi ce service",
    "slt",
    "je comprends pas comment ça marche",
    "bonne journée",
    "ok",
    "non merci",
    "hello",
    "vous pouvez m'aider ?",
]


async def resident(telegram: EmulatorClient, user_id: int, turns: int, warmup: int) -> list[float]:
    think = random.Random(user_id)
    user = await telegram.user(user_id, f"Habitant{user_id}")
    await user.send("/start")
    question = await user.wait_for(lambda m: "J'accepte" in " ".join(m.buttons))
    await user.press("✅ J'accepte", message=question)
    await user.wait_for(lambda m: not m.edited and m.message_id != question.message_id)
    latencies = []
    for turn in range(warmup + turns):
        await asyncio.sleep(think.uniform(1.0, 1.5))  # the resident reads, then types
        text = MESSAGES[(user_id + turn) % len(MESSAGES)]
        started = time.perf_counter()
        await user.send(text)
        await user.wait_for(lambda m: not m.edited, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        if turn >= warmup:
            latencies.append(elapsed)
    return latencies


async def server_side_latencies(telegram: EmulatorClient, user_id: int, warmup: int) -> list[float]:
    """From the emulator's own clock: a user's message queued as an update → the bot's reply received."""
    events = (await telegram.events(user_id, after=0))["events"]
    latencies, pending = [], None
    for event in events:
        if event["type"] != "message":
            continue
        if not event["from_bot"]:
            pending = event["time"]
        elif pending is not None:
            latencies.append((event["time"] - pending) * 1000)
            pending = None
    return latencies[1 + warmup :]  # /start and the warm-up turns


async def main(residents: int, turns: int, warmup: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir, launch_outreach(Path(workdir)) as service:
        assert service.sandbox_url
        async with EmulatorClient(service.sandbox_url) as telegram:
            started = time.perf_counter()
            results = await asyncio.gather(*(resident(telegram, 5000 + i, turns, warmup) for i in range(residents)))
            wall = time.perf_counter() - started
            server = [v for i in range(residents) for v in await server_side_latencies(telegram, 5000 + i, warmup)]
    latencies = [value for batch in results for value in batch]
    return {
        "benchmark": "turn_latency",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "residents": residents,
        "turns_measured": len(latencies),
        "update_to_reply_p50_ms": round(percentile(server, 50), 1),
        "update_to_reply_p95_ms": round(percentile(server, 95), 1),
        "update_to_reply_max_ms": round(max(server), 1),
        "client_round_trip_p50_ms": round(percentile(latencies, 50), 1),
        "client_round_trip_p95_ms": round(percentile(latencies, 95), 1),
        "client_round_trip_mean_ms": round(statistics.mean(latencies), 1),
        "wall_s": round(wall, 1),
        "target": "p95 < 150 ms",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    report = asyncio.run(main(args.residents, args.turns, args.warmup))
    publish("turn_latency", report)
