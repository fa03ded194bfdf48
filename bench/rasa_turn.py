"""Rasa's CPU per turn as a conversation grows, in one process (no HTTP): the trained model behind Rasa's SQL
tracker store on SQLite, three residents writing 150 messages each (the load benchmark's mix, bench/load.py MIX),
custom actions unreachable (their calls fail at once). Runs inside .venv-rasa:

    PYTHONPATH=nlu .venv-rasa/bin/python bench/rasa_turn.py [--patches none|speedups|round2|all]

`none`: Rasa 3.6 as released; `speedups`: nlu/serving/speedups.py alone (before issue 15's second round);
`round2`: speedups, tracker_cache and history (issue 15's second round); `all`: what `outreach run` installs
(those and graph). Prints, per 30 messages of each
conversation, the mean CPU milliseconds of a turn (time.process_time around Agent.handle_text), and how much
the process's memory grew over the conversations. `--profile FILE`: cProfile of the turns (the first WARM_UP of
each conversation left out), to read with `python -m pstats FILE`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import random
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 20  # messages of each conversation left out of --profile (TensorFlow's first calls trace its graphs)


def mix() -> tuple[list[tuple[float, tuple[str, ...]]], str, list[tuple[str, ...]]]:
    """MIX, BOOKING and BOOKING_FOLLOW_UPS of bench/load.py (which imports the service's packages, absent here)."""
    source = (ROOT / "bench" / "load.py").read_text(encoding="utf-8")
    start = source.index("MIX: list")
    end = source.index("\n\n\ndef draw")
    names: dict[str, object] = {}
    exec(source[start:end], names)  # noqa: S102 (our own file)
    return names["MIX"], names["BOOKING"], names["BOOKING_FOLLOW_UPS"]  # type: ignore[return-value]


def rss_mb() -> float:
    """The process's resident memory now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def run(
    patches: str, conversations: int, messages: int, bucket: int, profile: cProfile.Profile | None = None
) -> tuple[list[float], float]:
    from serving import graph, history, speedups, tracker_cache

    if patches in ("speedups", "round2", "all"):
        speedups.install()
    if patches in ("all", "round2"):
        tracker_cache.install()
        history.install()
    if patches == "all":
        graph.install()
    from rasa.core.agent import load_agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # as `rasa run` does: debug lines dropped at once, not printed
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    weighted, booking, follow_ups = mix()
    with tempfile.TemporaryDirectory() as directory:
        endpoints = AvailableEndpoints(
            action=EndpointConfig(url="http://127.0.0.1:9/webhook"),
            tracker_store=EndpointConfig(type="SQL", db=str(Path(directory) / "tracker.db")),
        )
        agent = await load_agent(model_path=str(ROOT / "models" / "outreach.tar.gz"), endpoints=endpoints)
        loaded = rss_mb()
        rng = random.Random(1)
        spent: list[list[float]] = [[] for _ in range((messages + bucket - 1) // bucket)]
        for conversation in range(conversations):
            script: deque[str] = deque()
            for index in range(messages):
                if script:
                    text = script.popleft()
                else:
                    group = rng.choices([m for _, m in weighted], weights=[w for w, _ in weighted])[0]
                    text = rng.choice(group)
                    if text == booking:
                        script.extend(rng.choice(follow_ups))
                profiled = profile is not None and index >= WARM_UP
                if profiled:
                    profile.enable()
                started = time.process_time()
                await agent.handle_text(text, sender_id=f"resident-{conversation}")
                spent[index // bucket].append(time.process_time() - started)
                if profiled:
                    profile.disable()
        grown = rss_mb() - loaded
    return [round(1000 * sum(b) / len(b), 1) for b in spent], round(grown, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", choices=["none", "speedups", "round2", "all"], default="all")
    parser.add_argument("--conversations", type=int, default=3)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--bucket", type=int, default=30)
    parser.add_argument("--profile", type=Path, help=f"cProfile the turns (after {WARM_UP} of each) into this file")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    profile = cProfile.Profile() if args.profile else None
    means, grown = asyncio.run(run(args.patches, args.conversations, args.messages, args.bucket, profile))
    if profile is not None:
        profile.dump_stats(args.profile)
    print(
        json.dumps(
            {
                "patches": args.patches,
                "messages_per_bucket": args.bucket,
                "cpu_ms_per_turn": means,
                "rss_growth_mb": grown,  # the conversations held in memory (and Python's own growth)
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
