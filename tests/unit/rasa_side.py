"""Running a check script inside .venv-rasa (Rasa 3.6 and nlu/ importable) from a test: its last stdout line is
the JSON of what it saw."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from outreach.rasa_model import RASA_VENV, rasa_env


def run_check(script: str, *args: str, cwd: Path) -> Any:
    result = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), str(Path(__file__).with_name(script)), *args],
        cwd=cwd,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
