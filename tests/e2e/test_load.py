"""The load benchmark (bench/load.py), short: 30 residents writing every 2-4 s for 30 s to the whole service
(`outreach run`, sandbox mode), without waiting for the answers. Nothing is lost, every message gets exactly one
answer (one turn: one to three messages), nothing goes wrong in the log. No latency target here: the benchmark
measures speed (`python -m bench.load`, BENCHMARKS.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.load import run_load

pytestmark = pytest.mark.rasa


async def test_thirty_residents_writing_for_thirty_seconds_all_get_one_answer(tmp_path: Path) -> None:
    report, matches, log_text = await run_load(residents=30, duration=30.0, think=(2.0, 4.0), seed=1, workdir=tmp_path)
    shown = json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1, ensure_ascii=False)
    unanswered = [
        (user_id, turn.text) for user_id, match in matches.items() for turn in match.turns if not turn.answered
    ]
    assert report["messages_sent"] > 200, shown  # ≈ 30 residents × 30 s / 3 s
    assert report["send_errors"] == 0, shown
    assert report["messages_seen_by_emulator"] == report["messages_sent"], shown
    assert report["lost"] == 0 and not unanswered, f"{unanswered[:10]}\n{shown}"
    assert report["answered"] == report["messages_sent"], shown
    assert report["answered_more_than_once"] == 0, shown
    assert report["unattributed_bot_messages"] == 0 and report["flood_warnings"] == 0, shown
    errors = [line for line in log_text.splitlines() if " ERROR " in line]
    assert not errors, "\n".join(errors[:20])
    assert report["restarts"] == 0, shown
