"""Benchmark and long fuzz: at least 10,000 generated updates of every type (the generators and checks of
tests/fuzz/test_updates.py: tests/fuzz/updates.py, tests/fuzz/harness.py) sent to the real service, the
project's PTB Application polling the Bot API emulator, with the real Rasa server and our action endpoint, as in
the tests (tests/conftest.py). Uses the trained model in models/ as it is (never trains). Prints a JSON summary
(updates per type, bot answers, errors, violations per property with an example of each, duration) and saves it
to bench/results/fuzz.json.

    .venv/bin/python -m bench.fuzz [--private 1600] [--groups 420] [--lone 420] [--concurrency 12]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bench.common import machine, publish
from db.engine import make_engine
from outreach.cli import prepare_database
from outreach.rasa_model import is_current, model_path
from sandbox.client import EmulatorClient
from sandbox.emulator import running_emulator
from tests.conftest import BotHarness, bot_running, serving_rasa
from tests.fuzz.harness import Fuzz, known_bug
from tests.fuzz.updates import generate, update_count


@contextlib.contextmanager
def rasa_serving(workdir: Path) -> Iterator[str]:
    """The `rasa_stack` fixture's Rasa and action endpoint, without training."""
    if not model_path().exists():
        raise SystemExit("no trained model in models/: run `make train` first")
    with serving_rasa(workdir) as stack:
        yield stack.url


@contextlib.asynccontextmanager
async def service(workdir: Path) -> AsyncIterator[tuple[EmulatorClient, BotHarness]]:
    with rasa_serving(workdir) as rasa_url:
        url = f"sqlite:///{workdir / 'outreach.db'}"
        prepare_database(url)
        engine = make_engine(url)
        async with running_emulator() as emulator, EmulatorClient(emulator.url) as telegram:
            async with bot_running(emulator, engine, url, rasa_url) as harness:
                await telegram.wait_polling()
                yield telegram, harness
        engine.dispose()


def _examples(fuzz: Fuzz) -> list[dict[str, Any]]:
    """One violation of each kind (check and kind of update), shortened."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    counts: dict[tuple[str, str], int] = {}
    for violation in fuzz.violations:
        detail = violation.detail.strip().splitlines()
        summary = f"{detail[0][:60]} … {detail[-1][:160]}" if len(detail) > 1 else detail[0][:200]
        key = (violation.check, re.sub(r"\d+", "N", summary))  # the same violation for other users, chats
        counts[key] = counts.get(key, 0) + 1
        seen.setdefault(
            key,
            {
                "check": violation.check,
                "known_open_bug": known_bug(violation),
                "detail": "\n".join(detail[:1] + detail[-4:])[:1200],
                "update": repr(violation.update)[:1200] if violation.update else None,
                "bot": [text[:200] for text in violation.answer],
            },
        )
    return [dict(example, count=counts[key]) for key, example in seen.items()]


async def main(private: int, groups: int, lone: int, concurrency: int) -> dict[str, Any]:
    started = time.perf_counter()
    scenarios = generate(private=private, groups=groups, lone=lone)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as workdir:
        async with service(Path(workdir)) as (telegram, harness):
            fuzz = Fuzz(telegram, harness.application, harness.services, concurrency=concurrency)  # type: ignore[arg-type]
            with fuzz.attached():
                await fuzz.run(scenarios)
                still_served = True
                try:
                    await fuzz.resident_still_served()
                except (AssertionError, TimeoutError) as exc:
                    still_served = False
                    print(f"the service no longer answers a resident: {exc}", file=sys.stderr)
                await fuzz.finish()
    summary = fuzz.summary()
    return {
        "benchmark": "fuzz",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "model_current": is_current(),
        "scenarios": {"private": private, "groups_and_channels": groups, "lone_updates": lone},
        "concurrency": concurrency,
        "generated_updates": sum(update_count(s) for s in scenarios),
        "generation_s": round(generated, 1),
        **summary,
        "resident_still_served": still_served,
        "violation_examples": _examples(fuzz),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--private", type=int, default=1600, help="private-chat scenarios (≈ 6 updates each)")
    parser.add_argument("--groups", type=int, default=420, help="group, supergroup and channel scenarios")
    parser.add_argument("--lone", type=int, default=420, help="updates without a chat")
    parser.add_argument("--concurrency", type=int, default=12, help="scenarios played at once")
    args = parser.parse_args()
    report = asyncio.run(main(args.private, args.groups, args.lone, args.concurrency))
    publish("fuzz", report)
