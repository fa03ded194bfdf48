"""What every benchmark shares: percentiles, the machine line, and the report (printed, and saved
under bench/results/<name>.json for BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def publish(name: str, report: dict[str, Any]) -> None:
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n")


def wait_http(url: str, within: float) -> None:
    """Wait until an external process (the emulator) answers 200 at `url`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # an external process starting
    raise RuntimeError(f"{url} did not answer within {within} s")
