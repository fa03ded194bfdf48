"""Figures a test wants at the end of pytest's output (printed by `make test` even without -s): the stranger set,
the cross-validation, the conversation suite."""

from __future__ import annotations

from typing import Any

import pytest


class _Summary:
    def __init__(self, title: str, lines: list[str]) -> None:
        self.title, self.lines = title, lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", self.title)
        for line in self.lines:
            terminalreporter.write_line(line)


def at_the_end(request: pytest.FixtureRequest, title: str, lines: list[str]) -> None:
    """Print `lines` now and again under `title` at the very end of pytest's output."""
    print("\n" + "\n".join(lines), flush=True)
    request.config.pluginmanager.register(_Summary(title, lines), f"outreach-summary-{title}")
