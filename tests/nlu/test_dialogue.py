"""Rasa's own conversation tests (test stories, with the messages parsed by the NLU: --e2e)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from outreach import PROJECT_ROOT
from outreach.rasa_model import model_path, rasa_env, rasa_executable, train

pytestmark = pytest.mark.rasa


def test_test_stories_pass_with_the_trained_model(tmp_path: Path) -> None:
    train()
    result = subprocess.run(
        [
            str(rasa_executable()),
            "test",
            "core",
            "--stories",
            str(PROJECT_ROOT / "tests" / "rasa"),
            "--model",
            str(model_path()),
            "--e2e",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = tmp_path / "story_report.json"
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert report.exists()
