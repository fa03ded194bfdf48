"""Checks of nlu/serving/tracker_cache.py, run inside .venv-rasa (Rasa 3.6) by tests/unit/test_tracker_cache.py:
`python tracker_cache_checks.py <database url>`, one JSON object of what was seen on stdout."""

from __future__ import annotations

import asyncio
import json
import sys

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from serving import tracker_cache

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  commune:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
"""
)


async def main(url: str) -> dict[str, object]:
    cache = tracker_cache.install(tracker_cache.TrackerCache(capacity=2))
    store = SQLTrackerStore(DOMAIN, host=url)
    seen: dict[str, object] = {}

    tracker = await store.get_or_create_tracker("alice")  # created: Rasa's own save
    tracker = await store.retrieve("alice")
    tracker.update(UserUttered("bonjour", {"name": "greet"}))
    tracker.update(SlotSet("commune", "Grigny"))
    await store.save(tracker)
    again = await store.retrieve("alice")
    seen["same_object_after_save"] = again is tracker
    seen["hits_after_one_turn"] = cache.hits

    # what a fresh read of the database gives is what the cache gives
    cache.drop("alice")
    fresh = await store.retrieve("alice")
    seen["stored_events_equal"] = [e.as_dict() for e in fresh.events] == [e.as_dict() for e in tracker.events]
    seen["slot_after_reload"] = fresh.get_slot("commune")

    # a turn stopped before its save: the unsaved event is not served
    fresh.update(UserUttered("pas sauvé", {"name": "greet"}))
    reread = await store.retrieve("alice")
    seen["unsaved_event_served"] = any(getattr(e, "text", None) == "pas sauvé" for e in reread.events)

    # another writer (a replica, an erasure): the database wins
    with store.session_scope() as session:
        session.add(
            store.SQLEvent(
                sender_id="alice",
                type_name="slot",
                timestamp=reread.events[-1].timestamp + 1,
                data=json.dumps(SlotSet("commune", "Évry").as_dict()),
            )
        )
        session.commit()
    after_other_writer = await store.retrieve("alice")
    seen["slot_after_other_writer"] = after_other_writer.get_slot("commune")
    with store.session_scope() as session:
        session.execute(sa.delete(store.SQLEvent).where(store.SQLEvent.sender_id == "alice"))
        session.commit()
    seen["after_erasure"] = await store.retrieve("alice")

    # Rasa's API replacing the events (another tracker object saved): the cached one is dropped
    bob = await store.get_or_create_tracker("bob")
    bob = await store.retrieve("bob")
    bob.update(SlotSet("commune", "Grigny"))
    await store.save(bob)
    replacement = store.init_tracker("bob")
    await store.save(replacement)
    seen["cached_after_replacement"] = cache.get("bob") is not None

    # a new session: the object holds the old one too, so it is not kept
    bob = await store.retrieve("bob")
    bob.update(ActionExecuted("action_session_start"))
    bob.update(SessionStarted())
    bob.update(ActionExecuted("action_listen"))
    await store.save(bob)
    seen["cached_after_new_session"] = cache.get("bob") is not None
    new_session = await store.retrieve("bob")
    seen["new_session_starts_with"] = new_session.events[0].type_name
    seen["new_session_slot"] = new_session.get_slot("commune")

    # bounded: the least recently used conversation leaves
    for sender in ("c1", "c2", "c3"):
        await store.get_or_create_tracker(sender)
        await store.retrieve(sender)
    seen["cached_conversations"] = len(cache)
    seen["oldest_still_cached"] = cache.get("c1") is not None

    # and a conversation left idle leaves at the next one's message
    idle = tracker_cache.TrackerCache(capacity=10, idle=0.05)
    idle.put("quiet", tracker_cache.Entry(new_session, 1, (1, 1)))
    await asyncio.sleep(0.1)  # monotonic: at least 0.1 s pass, twice the idle time
    idle.put("busy", tracker_cache.Entry(new_session, 1, (2, 1)))
    seen["idle_conversation_kept"] = idle.get("quiet") is not None
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1])), default=str))
