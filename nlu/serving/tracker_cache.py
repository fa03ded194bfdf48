"""The latest session's tracker of each conversation kept in memory, in front of Rasa 3.6's SQL tracker store.

Without it, every turn reads back every event of the conversation's session from the database, parses each as
JSON and replays them into a new tracker (~20 % of Rasa's CPU at 40 residents, and it grows with the
conversation), then counts them again before writing the new ones (py-spy, issue 15). With it, a turn costs one
indexed query that tells whether the conversation in memory is still the one in the database (the highest event
id and the number of events of that sender), then the new events' inserts.

The cached tracker is used only while it is provably the stored one:
- the sender's (highest id, number of events) in the database is the one recorded when the tracker was read or
  last saved here: another replica, an erasure (rows deleted) or any other writer makes it read again;
- it holds exactly the events recorded then: a turn that stopped before saving (the action server unreachable,
  an error) leaves events in the object that are not stored, so it is read again;
- a save of another tracker object for the sender (Rasa's API replacing the events) drops it;
- a save that started a new session drops it (the database's view of the latest session starts there; the
  object still holds the previous session's events).
At most MAX_TRACKERS conversations are kept, the least recently used leaving first, and none unused for IDLE
seconds (a conversation of 60 messages holds ~1 MB with its dialogue states: bench/rasa_turn.py). A conversation
is handled by one turn at a time (Rasa's lock store, shared by the replicas), so no two turns use one object at once.

`install()` runs in the Rasa process before the server starts (nlu/serving/__main__.py)."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_TRACKERS = 1000
IDLE = 1800.0  # seconds without a message after which a conversation leaves the memory

Mark = tuple[int | None, int]  # (highest event id, number of events) of a sender in the store


@dataclass
class Entry:
    tracker: Any  # DialogueStateTracker
    length: int  # len(tracker.events) when it matched the store
    mark: Mark


class TrackerCache:
    def __init__(self, capacity: int = MAX_TRACKERS, idle: float = IDLE) -> None:
        self.capacity, self.idle = capacity, idle
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._used: dict[str, float] = {}
        self.hits = 0
        self.misses = 0

    def get(self, sender_id: str) -> Entry | None:
        return self._entries.get(sender_id)

    def put(self, sender_id: str, entry: Entry) -> None:
        now = time.monotonic()
        self._entries[sender_id] = entry
        self._entries.move_to_end(sender_id)
        self._used[sender_id] = now
        while self._entries:
            oldest = next(iter(self._entries))
            if len(self._entries) <= self.capacity and now - self._used[oldest] < self.idle:
                break
            self.drop(oldest)

    def drop(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)
        self._used.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)


_MARK_QUERIES: dict[type, Any] = {}


def _mark(store: Any, session: Any, sender_id: str) -> Mark:
    """One indexed query on the session's connection (the statement built once: the ORM's Query cost more than
    the database's work)."""
    import sqlalchemy as sa

    event = store.SQLEvent
    query = _MARK_QUERIES.get(event)
    if query is None:
        query = _MARK_QUERIES[event] = sa.select(sa.func.max(event.id), sa.func.count(event.id)).where(
            event.sender_id == sa.bindparam("sender_id")
        )
    highest, count = session.connection().execute(query, {"sender_id": sender_id}).one()
    return highest, int(count)


def _row(store: Any, sender_id: str, event: Any) -> Any:
    """The table row of one event, as Rasa's SQLTrackerStore.save writes it."""
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    data = event.as_dict()
    return store.SQLEvent(
        sender_id=sender_id,
        type_name=event.type_name,
        timestamp=data.get("timestamp"),
        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        action_name=data.get("name"),
        data=json.dumps(data),
    )


def install(cache: TrackerCache | None = None) -> TrackerCache:
    """Put the cache in front of SQLTrackerStore.retrieve and .save (once); returns it."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    installed = getattr(SQLTrackerStore, "outreach_tracker_cache", None)
    if installed is not None:
        return installed
    cache = cache if cache is not None else TrackerCache()
    original_save = SQLTrackerStore.save

    async def retrieve(self: SQLTrackerStore, sender_id: str) -> DialogueStateTracker | None:
        entry = cache.get(sender_id)
        with self.session_scope() as session:
            mark = _mark(self, session, sender_id)
            if entry is not None and entry.mark == mark and len(entry.tracker.events) == entry.length:
                cache.hits += 1
                cache.put(sender_id, entry)  # most recently used
                return entry.tracker
            cache.misses += 1
            cache.drop(sender_id)
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows or not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(row.data) for row in rows], self.domain.slots)
        cache.put(sender_id, Entry(tracker, len(tracker.events), mark))
        return tracker

    async def save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        entry = cache.get(sender_id)
        if entry is None or entry.tracker is not tracker:
            cache.drop(sender_id)
            await original_save(self, tracker)
            return
        new_events = list(itertools.islice(tracker.events, entry.length, None))
        with self.session_scope() as session:
            mark = _mark(self, session, sender_id)
            if mark == entry.mark:
                rows = [_row(self, sender_id, event) for event in new_events]
                session.add_all(rows)
                session.flush()  # gives the rows their ids
                highest = max(row.id for row in rows) if rows else mark[0]
                session.commit()
        if mark != entry.mark:  # written by someone else since it was read: Rasa's own way
            cache.drop(sender_id)
            await original_save(self, tracker)
            return
        await self.stream_events(tracker)  # to the event broker, if any: once, whichever way the events were written
        if any(isinstance(event, SessionStarted) for event in new_events):
            cache.drop(sender_id)
        else:
            entry.length = len(tracker.events)
            entry.mark = (highest, mark[1] + len(rows))

    SQLTrackerStore.retrieve = retrieve  # type: ignore[method-assign]
    SQLTrackerStore.save = save  # type: ignore[method-assign]
    SQLTrackerStore.outreach_tracker_cache = cache  # type: ignore[attr-defined]
    return cache
