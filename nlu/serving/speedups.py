"""Work Rasa 3.6 does on every turn that can be done once (found with py-spy under load, issue 15):

- the action server's answer is validated with `jsonschema.validate`, which checks the schema itself and
  builds a validator on every call (~15 % of Rasa's CPU per turn): the validator is built once;
- its SQL tracker store on SQLite commits each turn with a full fsync (`synchronous=FULL`, rollback journal:
  ~14 %): write-ahead log and `synchronous=NORMAL`, which survive a crash of any process (SIGKILL included) and
  may lose the last turns only if the machine itself loses power;
- SQLAlchemy 1.4 opens and closes a new SQLite connection for every session (NullPool, ~8 %): a pool;
- every event read back from the store looks its class up among all subclasses of Event, recomputed each time
  (~9 %): a table built once;
- the rule policy formats every dialogue state of the session into text for a debug log line at each prediction,
  whatever the log level (O(length of the conversation)): only when debug logging is on;
- every call to the action server carried the whole conversation session (every event, each user message with its
  intent ranking and FAQ responses: hundreds of kilobytes after a hundred messages, serialised by Rasa and parsed
  by the action server at every custom action): it carries the events of the latest ACTION_HISTORY_MESSAGES
  messages of the resident, which is all our actions read (the latest request, misses in a row, the exchanges a
  case card shows); slots, the active form and the latest message are sent whole as before.

- Python's full garbage collections walked the loaded model's ~575,000 objects each time: with the conversations
  kept in memory, one took ~370 ms every few thousand turns (every turn waiting meanwhile: the late spikes of the
  load benchmark). Once the model is loaded, its objects are set apart (`gc.freeze()`): the same collection takes
  ~100 ms (bench: 100 conversations of 60 messages in one process). A model loaded again (Rasa's PUT /model) is
  set apart too; the former one's objects stay set apart (freed by reference counting, not by the collector);
- every message checked whether the model's domain is empty by building an empty domain and comparing both as dicts
  (~2 % of a turn): the answer is kept per domain object (a loaded model's domain does not change).

`install()` runs in the Rasa process before the server starts (nlu/serving/__main__.py)."""

from __future__ import annotations

from typing import Any

DOCS = "https://rasa.com/docs/rasa/custom-actions"
ACTION_HISTORY_MESSAGES = 10  # a case card shows the latest 10 lines (outreach.rasa.exchanges): 5 messages at most


def _cached_action_validation() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    validator = validator_class(spec)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:  # the same message as Rasa's own
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the Action "
                f"endpoint is valid. For more information about the format visit {DOCS}"
            )
            raise
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def _sqlite_write_ahead_log() -> None:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def _pooled_sqlite_tracker_store() -> None:
    from rasa.core import tracker_store
    from sqlalchemy.pool import QueuePool

    original = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        if str(url).startswith("sqlite"):
            return {"poolclass": QueuePool, "pool_size": 2, "connect_args": {"check_same_thread": False}}
        return original(url)

    tracker_store.create_engine_kwargs = create_engine_kwargs


def _event_classes_table() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    table: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        if not table:
            for cls in all_subclasses(Event):
                table.setdefault(cls.type_name, cls)  # the first found wins, as in Rasa's loop
        found = table.get(type_name)
        return found if found is not None else original(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def recent_events(events: Any, messages: int = ACTION_HISTORY_MESSAGES) -> list[Any]:
    """The events from the `messages`-th latest user message on (all of them when there are fewer)."""
    from rasa.shared.core.events import UserUttered

    events = list(events)
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == messages:
                return events[index:]
    return events


def _recent_history_to_actions() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    original = RemoteAction._action_call_format

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        return original(self, _Recent(tracker), domain)

    class _Recent:
        """The tracker, whose current_state(ALL) holds only the recent events."""

        def __init__(self, tracker: Any) -> None:
            self._tracker = tracker

        def __getattr__(self, name: str) -> Any:
            return getattr(self._tracker, name)

        def current_state(self, verbosity: Any = EventVerbosity.NONE) -> dict[str, Any]:
            state = self._tracker.current_state(EventVerbosity.NONE)
            if verbosity == EventVerbosity.ALL:
                state["events"] = [event.as_dict() for event in recent_events(self._tracker.events)]
            return state

    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]


def _states_formatted_only_for_debug() -> None:
    import logging

    from rasa.core.policies.policy import Policy

    original = Policy.format_tracker_states
    logger = logging.getLogger("rasa.core.policies.rule_policy")

    def format_tracker_states(states: list[dict[str, Any]]) -> str:
        return original(states) if logger.isEnabledFor(logging.DEBUG) else ""

    Policy.format_tracker_states = staticmethod(format_tracker_states)  # type: ignore[method-assign]


def _domain_emptiness_kept() -> None:
    from rasa.shared.core.domain import Domain

    original = Domain.is_empty

    def is_empty(self: Domain) -> bool:
        known = self.__dict__.get("_outreach_is_empty")
        if known is None:
            known = self.__dict__["_outreach_is_empty"] = original(self)
        return known

    Domain.is_empty = is_empty  # type: ignore[method-assign]


def _model_set_apart_from_collections() -> None:
    import gc

    from rasa.core import agent

    original = agent.load_agent

    async def load_agent(*args: Any, **kwargs: Any) -> Any:
        loaded = await original(*args, **kwargs)
        gc.collect()
        gc.freeze()
        return loaded

    agent.load_agent = load_agent  # type: ignore[assignment]


def install() -> None:
    _model_set_apart_from_collections()
    _domain_emptiness_kept()
    _states_formatted_only_for_debug()
    _recent_history_to_actions()
    _cached_action_validation()
    _sqlite_write_ahead_log()
    _pooled_sqlite_tracker_store()
    _event_classes_table()
