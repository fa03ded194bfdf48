"""The fault drills (sandbox/drills.py) on the whole service: marked `faults` (and `rasa`); they run in
`make test`. Longer variants: `python -m bench.faults`."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault drills on the whole service (tests/faults, bench/faults.py)")
