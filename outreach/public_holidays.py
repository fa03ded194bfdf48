"""French public holidays (jours fériés), from the maintained `holidays` library: no hand-made list."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _france(year: int) -> holidays.HolidayBase:
    # Metropolitan France (Dijon, Troyes); Alsace-Moselle and overseas days are not ours.
    return holidays.France(years=year, language="fr")


def is_public_holiday(day: dt.date) -> bool:
    return day in _france(day.year)


def holiday_name(day: dt.date) -> str | None:
    """The French name of the holiday on `day` ("Noël"), or None."""
    return _france(day.year).get(day)
