"""When a person answers: the adultes-relais' office hours (Monday to Friday, 9:00-12:30 and 13:30-17:00,
Europe/Paris, not on French public holidays). Used to tell a resident plainly when someone will answer."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from outreach import i18n
from outreach.i18n import _

PERIODS = ((dt.time(9, 0), dt.time(12, 30)), (dt.time(13, 30), dt.time(17, 0)))
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@cache
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.France(years=year)


def _working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def is_open(at: dt.datetime, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz)
    return _working_day(local.date()) and any(start <= local.time() < end for start, end in PERIODS)


def next_opening(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The next moment someone is at work (`at` itself when open now), timezone-aware."""
    local = at.astimezone(tz)
    for offset in range(0, 15):
        day = local.date() + dt.timedelta(days=offset)
        if not _working_day(day):
            continue
        for start, end in PERIODS:
            opening = dt.datetime.combine(day, start, tzinfo=tz)
            closing = dt.datetime.combine(day, end, tzinfo=tz)
            if local < closing:
                return max(opening, local)
    return local  # pragma: no cover - there is always a working day within two weeks


def say_when(moment: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> str:
    """ "demain à 9 h", "lundi 7 décembre à 9 h", "aujourd'hui à 13 h 30" (plain, in the language of the turn:
    "tomorrow at 09:00", "Monday 7 December at 09:00")."""
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    french = i18n.current() == i18n.DEFAULT
    if french:
        hour = f"{local.hour} h" + (f" {local.minute:02d}" if local.minute else "")
    else:
        hour = i18n.clock(local.time())
    if local.date() == today:
        return _("aujourd'hui à {time}").format(time=hour)
    if local.date() == today + dt.timedelta(days=1):
        return _("demain à {time}").format(time=hour)
    if french:
        day = f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"
    else:
        day = f"{i18n.weekday(local.date())} {i18n.month_day(local.date())}"
    return _("{day} à {time}").format(day=day, time=hour)
