"""`outreach stats --territory T --month YYYY-MM --json`: the console's figures (outreach/stats.py)."""

from __future__ import annotations


def stats_command() -> None:
    """The figures of a territory for a month (same definitions as the console)."""
    raise NotImplementedError
