"""outreach/inbox.py: an update is written down before it is handled, handled once when delivered twice, handled
again after a crash, and what the person wrote is erased once handled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.engine import Engine

from outreach import inbox
from outreach.clock import FrozenClock

UPDATE = {"update_id": 7, "message": {"message_id": 1, "text": "je voudrais un rendez-vous"}}


def test_an_update_delivered_twice_is_held_once(engine: Engine, clock: FrozenClock) -> None:
    assert inbox.hold(engine, 7, UPDATE, clock.now())
    assert not inbox.hold(engine, 7, UPDATE, clock.now())  # being handled
    inbox.done(engine, 7, clock.now())
    assert not inbox.hold(engine, 7, UPDATE, clock.now())  # handled


def test_what_was_not_finished_is_handed_back_in_order_and_the_words_go_once_handled(
    engine: Engine, clock: FrozenClock
) -> None:
    for update_id in (12, 10, 11):
        inbox.hold(engine, update_id, {**UPDATE, "update_id": update_id}, clock.now())
    inbox.done(engine, 11, clock.now())
    assert [u["update_id"] for u in inbox.unfinished(engine)] == [10, 12]
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT payload FROM inbox_update WHERE update_id = 11")).scalar()
    assert kept is None  # handled: the text is gone, the id stays for duplicates


def test_ids_are_forgotten_after_two_days(engine: Engine, clock: FrozenClock) -> None:
    inbox.hold(engine, 7, UPDATE, clock.now())
    inbox.done(engine, 7, clock.now())
    assert inbox.purge(engine, clock.now() + dt.timedelta(days=1)) == 0
    assert inbox.purge(engine, clock.now() + dt.timedelta(days=3)) == 1


def test_dates_ptb_leaves_in_an_update_are_kept_as_timestamps(engine: Engine, clock: FrozenClock) -> None:
    """Found by the fuzz: a pinned message of date 0 came back from PTB's to_dict as a datetime."""
    pinned = {"message_id": 1, "chat": {"id": -5, "type": "group"}, "date": dt.datetime(1970, 1, 1, tzinfo=dt.UTC)}
    assert inbox.hold(engine, 8, {"update_id": 8, "message": {"pinned_message": pinned}}, clock.now())
    [kept] = inbox.unfinished(engine)
    assert kept["message"]["pinned_message"]["date"] == 0
