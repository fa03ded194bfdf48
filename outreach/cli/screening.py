"""`outreach screen`: JSONL profiles on stdin, JSONL results on stdout."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer


def screen(
    batch: Annotated[int, typer.Option("--batch", min=1, max=20000, help="Profiles computed together.")] = 5000,
    today: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD (default: today).")] = None,
) -> None:
    """Read one profile (JSON) per line on stdin; write one result per line (rights, missing).

    A bad line gets {"error": ...} on its line and the batch goes on."""
    # Imported here only to keep every other command (and `outreach --help`) fast: it loads OpenFisca-France.
    from outreach.screening.batch import screen_lines

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        typer.echo("--date must look like 2026-12-01", err=True)
        raise typer.Exit(2) from None
    screen_lines(sys.stdin, sys.stdout, batch_size=batch, today=day)
