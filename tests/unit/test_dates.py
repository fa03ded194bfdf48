"""Free-text appointment wishes as residents write them, read against a fixed clock.

Reference: Tuesday 24 November 2026, 10:00 in Paris."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outreach.dates import parse_wish

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("wish", "start", "end"),
    [
        ("demain 14h", at(25, 14), at(25, 15)),
        ("demain à 14h30", at(25, 14, 30), at(25, 15, 30)),
        ("mardi aprem", at(1, 13, 30, 12), at(1, 18, 0, 12)),
        ("jeudi matin", at(26, 8, 30), at(26, 12)),
        ("jeudi matin svp", at(26, 8, 30), at(26, 12)),
        ("plutôt vendredi après-midi", at(27, 13, 30), at(27, 18)),
        ("la semaine pro", at(30, 0), at(4, 23, 59, 12)),
        ("semaine prochaine l'aprem", at(30, 13, 30), at(4, 18, 0, 12)),
        ("le 21", at(21, 0, 0, 12), at(21, 23, 59, 12)),
        ("le 30", at(30, 0), at(30, 23, 59)),
        ("lundi 9h30", at(30, 9, 30), at(30, 10, 30)),
        ("mercredi 15 h", at(25, 15), at(25, 16)),
        ("apres demain", at(26, 0), at(26, 23, 59)),
    ],
)
def test_wishes_become_time_windows(wish: str, start: dt.datetime, end: dt.datetime) -> None:
    window = parse_wish(wish, NOW, PARIS)
    assert window is not None, wish
    assert (window.start, window.end) == (start, end)


def test_a_time_alone_means_the_next_time_it_comes() -> None:
    assert parse_wish("9h", NOW, PARIS).start == at(25, 9)
    assert parse_wish("16h", NOW, PARIS).start == at(24, 16)


def test_this_afternoon_starts_now_at_the_earliest() -> None:
    late = dt.datetime(2026, 11, 24, 15, 0, tzinfo=PARIS)
    window = parse_wish("cet aprem", late, PARIS)
    assert window.start == late and window.end == at(24, 18)


@pytest.mark.parametrize("nothing", ["", "je sais pas", "quand vous voulez", "n'importe"])
def test_no_date_gives_nothing(nothing: str) -> None:
    assert parse_wish(nothing, NOW, PARIS) is None


@pytest.mark.parametrize(
    ("sentence", "day"),
    [
        ("je voudrais un rdv demain aprem", 25),
        ("bonjour, un rendez-vous jeudi matin svp", 26),
        ("le 14 je peux pas, le 27 ?", 27),
        ("mardi c pas possible, jeudi ca va ?", 26),
    ],
)
def test_the_day_is_found_inside_a_sentence_and_the_last_one_named_wins(sentence: str, day: int) -> None:
    assert parse_wish(sentence, NOW, PARIS).start.date() == dt.date(2026, 11, day)


@pytest.mark.parametrize(
    "sentence", ["Jeudi je travaille, pas possible venir", "je peux pas venir jeudi", "jeudi impossible pour moi"]
)
def test_a_day_said_impossible_is_not_the_wish_the_days_after_it_are(sentence: str) -> None:
    wish = parse_wish(sentence, NOW, PARIS)
    assert wish is not None and wish.start == at(27, 0) and wish.end == at(11, 0, month=12)
