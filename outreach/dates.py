"""What a resident means by "mardi aprem", "demain 14h", "la semaine pro", "le 21": a time window.

dateparser (a maintained French-aware parser) reads the day part; the spoken parts of the day and
clock times, which it handles poorly ("14h", "aprem"), are read here first. The reference time is
an input (the injectable clock), never "now".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dateparser

PARTS_OF_DAY = {  # folded words → (start, end)
    "matin": (dt.time(8, 30), dt.time(12, 0)),
    "matinee": (dt.time(8, 30), dt.time(12, 0)),
    "midi": (dt.time(12, 0), dt.time(14, 0)),
    "aprem": (dt.time(13, 30), dt.time(18, 0)),
    "apres midi": (dt.time(13, 30), dt.time(18, 0)),
    "apresmidi": (dt.time(13, 30), dt.time(18, 0)),
    "am": (dt.time(13, 30), dt.time(18, 0)),
    "soir": (dt.time(17, 0), dt.time(20, 0)),
    "fin de journee": (dt.time(16, 0), dt.time(19, 0)),
}
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])\s*(?:h|heures?|:)\s*([0-5]\d)?\b")
_DAY_OF_MONTH = re.compile(r"^(?:le\s+)?(\d{1,2})(?:er)?$")
_DAY_OF_MONTH_IN_TEXT = re.compile(r"\ble\s+(\d{1,2})(?:er)?\b")
_NEXT_WEEK = re.compile(r"\bsemaine\s+(?:pro|prochaine|d'apres|qui vient)\b")
_THIS_WEEK = re.compile(r"\bcette\s+semaine\b")
_FILLER = re.compile(r"\b(?:a|vers|pour|plutot|je peux|c'est mieux|c mieux|ca m'arrange|si possible|svp|stp|ok)\b")


@dataclass(frozen=True)
class TimeWish:
    """A window in which the resident would like the appointment (timezone-aware)."""

    start: dt.datetime
    end: dt.datetime
    exact: bool = False  # a precise clock time was given

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", " ").split())


def _day_window(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """First and last day meant by the day part of the wish (inclusive)."""
    if not text:
        return None
    if _NEXT_WEEK.search(text):
        monday = today + dt.timedelta(days=7 - today.weekday())
        return monday, monday + dt.timedelta(days=4)
    if _THIS_WEEK.search(text):
        return today, today + dt.timedelta(days=max(0, 4 - today.weekday()))
    # the day words may stand inside a sentence ("je voudrais un rdv demain")
    if re.search(r"\bapres\s?demain\b", text):
        return (today + dt.timedelta(days=2),) * 2
    if re.search(r"\bdemain\b", text):
        return (today + dt.timedelta(days=1),) * 2
    if re.search(r"\b(?:aujourd'hui|aujourdhui|ce jour)\b", text):
        return today, today
    # "mardi je peux pas, mercredi ?": the last day named is the one wished
    named = [
        (found.start(), index, found.group(0))
        for index, name in enumerate(WEEKDAYS)
        for found in re.finditer(rf"\b(?:ce\s+)?{name}(?:\s+(?:prochain|qui vient))?\b", text)
    ]
    if named:
        _, index, words = max(named)
        ahead = (index - today.weekday()) % 7 or 7
        if "prochain" in words and ahead < 7:
            ahead = ahead if ahead > 1 else ahead + 7
        return (today + dt.timedelta(days=ahead),) * 2
    in_text = _DAY_OF_MONTH_IN_TEXT.findall(text)
    match = _DAY_OF_MONTH.match(text) or (re.match(r"(\d+)", in_text[-1]) if in_text else None)
    if match:
        day = int(match.group(1))
        year, month = today.year, today.month
        for _ in range(3):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                candidate = None
            if candidate is not None and candidate > today:
                return candidate, candidate
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return None
    parsed = dateparser.parse(
        text,
        languages=["fr"],
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12, 0)),
                  "RETURN_AS_TIMEZONE_AWARE": False},
    )
    if parsed is None:
        return None
    return parsed.date(), parsed.date()


_CANNOT = re.compile(
    r"\b(?:pas|plus|impossible|travaille|bosse|empeche|occupee?|indisponible|peux pas|pourrai pas|cannot|can t)\b"
)


def parse_wish(text: str, now: dt.datetime, tz: ZoneInfo) -> TimeWish | None:
    """The window meant by a free-text wish, or None when nothing usable was said. A day said to be impossible
    ("mardi je travaille, pas possible venir") is not the wish: another day named is, or else the two weeks after
    the impossible one."""
    clauses = [c for c in re.split(r"[,.;!?]|\bmais\b|\bsinon\b|\bplutot\b", fold(text)) if c.strip()]
    if len(clauses) > 1 or (clauses and _CANNOT.search(clauses[0])):
        possible = [c for c in clauses if not _CANNOT.search(c)]
        wish = _parse_wish(" ".join(possible), now, tz) if possible else None
        if wish is not None:
            return wish
        impossible = _parse_wish(" ".join(c for c in clauses if _CANNOT.search(c)), now, tz)
        if impossible is not None and not impossible.exact:
            start = dt.datetime.combine(impossible.end.astimezone(tz).date() + dt.timedelta(days=1), dt.time(0, 0), tz)
            return TimeWish(start=start, end=start + dt.timedelta(days=14))
        if possible or impossible is not None:
            return None
    return _parse_wish(text, now, tz)


def _parse_wish(text: str, now: dt.datetime, tz: ZoneInfo) -> TimeWish | None:
    local_now = now.astimezone(tz)
    folded = fold(text)
    times: tuple[dt.time, dt.time] | None = None
    exact = False
    clock = _CLOCK.search(folded)
    if clock:
        start = dt.time(int(clock.group(1)), int(clock.group(2) or 0))
        end_dt = dt.datetime.combine(local_now.date(), start) + dt.timedelta(hours=1)
        times, exact = (start, end_dt.time() if end_dt.date() == local_now.date() else dt.time(23, 59)), True
        folded = (folded[: clock.start()] + " " + folded[clock.end():]).strip()
    for words in sorted(PARTS_OF_DAY, key=len, reverse=True):
        pattern = rf"\b(?:l'|le |en |dans l'|cet |ce )?{words}\b"
        if re.search(pattern, folded):
            if times is None:
                times = PARTS_OF_DAY[words]
            folded = re.sub(pattern, " ", folded)
            break
    folded = " ".join(_FILLER.sub(" ", folded).split())
    days = _day_window(folded, local_now.date())
    if days is None and times is None:
        return None
    if days is None:  # only a time: the next day on which that time is still ahead
        still_ahead = times is not None and dt.datetime.combine(local_now.date(), times[1], tz) > local_now
        first = local_now.date() if still_ahead else local_now.date() + dt.timedelta(days=1)
        days = (first, first)
    start_time, end_time = times or (dt.time(0, 0), dt.time(23, 59))
    start = dt.datetime.combine(days[0], start_time, tz)
    end = dt.datetime.combine(days[1], end_time, tz)
    if end <= local_now:
        return None
    return TimeWish(start=max(start, local_now) if not exact else start, end=end, exact=exact)
