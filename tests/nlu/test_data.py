"""The training data and domain: Rasa's own validator finds nothing (--fail-on-warnings), every intent of
ARCHITECTURE.md has at least 150 written examples, no text is labelled twice, and the coverage grid exists."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from outreach import PROJECT_ROOT
from outreach.rasa_model import rasa_env, rasa_executable

pytestmark = pytest.mark.rasa

# Rasa 3.6 merges the retrieval intents of the training data into the domain and warns that `faq` is declared
# twice (nlu/domain/faq.yml says why it stays declared); every other warning fails the build.
KNOWN_RASA_QUIRK = "duplicated intents have been found across multiple domain files: faq"


def validate_env() -> dict[str, str]:
    """Rasa's environment without the training-only TF_DETERMINISTIC_OPS (TensorFlow warns about it)."""
    env = rasa_env()
    env.pop("TF_DETERMINISTIC_OPS", None)
    return env


def test_rasa_validates_the_data_without_warnings() -> None:
    done = subprocess.run(
        [
            str(rasa_executable()),
            "data",
            "validate",
            "--fail-on-warnings",
            "--domain",
            "nlu/domain",
            "--data",
            "nlu/data",
            "stories",
            "--config",
            "nlu/config.yml",
        ],
        cwd=PROJECT_ROOT,
        env=validate_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    assert [w for w in warnings if KNOWN_RASA_QUIRK not in w] == [], warnings


def test_every_intent_has_150_written_examples_and_one_label_each() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/nlu_counts.py", "--min", "150"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    print("\n" + done.stdout)
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_coverage_grid_is_written_down() -> None:
    grid = PROJECT_ROOT / "docs" / "nlu-coverage.md"
    assert grid.exists()
    for dimension in ("register", "length", "spelling", "allophone", "emoji", "negation"):
        assert dimension in grid.read_text(encoding="utf-8").lower(), dimension
