"""`outreach screen`: JSONL profiles in, JSONL results out, in micro-batches (one OpenFisca run each)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Any

from pydantic import ValidationError

from outreach.clock import SystemClock
from outreach.screening import screen_many
from outreach.screening.model import Profile, ScreeningResult


def _error(line_number: int, message: str) -> dict[str, Any]:
    return {"line": line_number, "error": message}


def parse_line(line_number: int, line: str) -> Profile | dict[str, Any]:
    """A Profile, or the error object to print for that line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(line_number, f"not JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(data, dict):
        return _error(line_number, "a profile is a JSON object")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}" for e in exc.errors()]
        return _error(line_number, "; ".join(problems[:5]))


def render(result: ScreeningResult) -> dict[str, Any]:
    rights = []
    for right in result.rights:
        item: dict[str, Any] = {
            "id": right.id,
            "label": right.label,
            "kind": right.kind,
            "monthly_amount": right.monthly_amount,
            "why": right.why,
            "next_step": right.next_step,
            "uncertain": right.uncertain,
        }
        if right.kind == "national":
            item["yearly_amount"] = right.yearly_amount  # a right paid once a year (monthly_amount: yearly / 12)
        if right.kind == "local":
            item |= {
                "service_id": right.service_id,
                "reseaux_porteurs": right.reseaux_porteurs,
                "thematiques": right.thematiques,
            }
        rights.append(item)
    out: dict[str, Any] = {"rights": rights, "missing": result.missing}
    if result.notice:
        out["notice"] = result.notice
    return out


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[tuple[int, str]]]:
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    while chunk := list(islice(numbered, size)):
        yield chunk


def screen_lines(source: IO[str], sink: IO[str], *, batch_size: int = 5000, today: dt.date | None = None) -> int:
    """Screen every line of `source`; returns the number of lines answered. Output order = input order."""
    day = today or SystemClock().now().date()
    answered = 0
    for chunk in _chunks(source, batch_size):
        parsed = [parse_line(n, line) for n, line in chunk]
        profiles = [p for p in parsed if isinstance(p, Profile)]
        results = iter(screen_many(profiles, day)) if profiles else iter(())
        for item in parsed:
            out = render(next(results)) if isinstance(item, Profile) else item
            sink.write(json.dumps(out, ensure_ascii=False) + "\n")
            answered += 1
        sink.flush()
    return answered
