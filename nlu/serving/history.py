"""Work of Rasa 3.6 that grew with the length of a conversation, done once per event instead of once per use.

With the tracker kept in memory (serving/tracker_cache.py), a turn still walked the whole session several times:
- the events that apply (`tracker.applied_events()`, those not reverted nor before a restart) were worked out
  from the first event on every call, seven times a turn: the result is kept on the tracker and carried on over
  the events added since; worked out again when an event it had seen is no longer there or a form it had not
  seen appears (the rule for a form's steps depends on every form of the conversation);
- every action ran on a copy of the tracker made by replaying every event into a new one (`tracker.copy()`:
  the processor's temporary tracker, a form's activation): the copy is now made from the tracker's state (its
  events, slots, form, latest action and messages), which is what the replay rebuilds;
- every prediction (two or three a turn) rebuilt the dialogue state after each action of the session
  (`Domain.states_for_tracker_history`, for the rule and memoization policies): the states already built for a
  tracker are kept on it with the replay that built them, and only the events added since are replayed. They are
  rebuilt from the start when the session's applied events no longer begin with the ones already replayed (a
  restart, an utterance or action reverted) or the options differ.

Both give what Rasa's own code gives. With OUTREACH_RASA_CHECK_HISTORY=1 (set for every Rasa the tests start,
tests/conftest.py), Rasa's own functions run beside these on every call and a difference stops the turn with an
error: the whole test suite's conversations are checked that way.

`install()` runs in the Rasa process before the server starts (nlu/serving/__main__.py)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any

STATES = "_outreach_states"  # attribute of a tracker: its replays, by options
APPLIED = "_outreach_applied"  # attribute of a tracker: its applied events so far
CHECK_VARIABLE = "OUTREACH_RASA_CHECK_HISTORY"
MAX_REPLAYS = 4  # per tracker: one per set of options the policies ask with (two today)


class HistoryMismatch(BaseException):  # not an Exception: Rasa's `except Exception` around actions must not hide it
    """This module gave another result than Rasa's own code (check mode only)."""


@dataclass
class Replay:
    """States of a tracker's applied events up to `done`, and what their loop carried on."""

    tracker: Any  # the tracker rebuilt up to `done` applied events
    done: int = 0
    last: Any = None  # the `done`-th applied event (identity tells whether the prefix is unchanged)
    states: list[Any] = field(default_factory=list)
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False


@dataclass
class Applied:
    """The applied events of a tracker's first `seen` events."""

    events: Any  # the tracker's deque they were read from
    seen: int
    last: Any  # its `seen`-th event
    loop_names: set[str]
    applied: list[Any]


def applied_events(tracker: Any) -> list[Any]:
    """DialogueStateTracker.applied_events, carried on from the tracker's previous call (see the module)."""
    from rasa.shared.core.events import ActiveLoop

    events = tracker.events
    memo: Applied | None = tracker.__dict__.get(APPLIED)
    if memo is not None and not (
        memo.events is events and memo.seen <= len(events) and (memo.seen == 0 or events[memo.seen - 1] is memo.last)
    ):
        memo = None
    if memo is not None:
        new = list(itertools.islice(events, memo.seen, None))
        if any(isinstance(e, ActiveLoop) and e.name and e.name not in memo.loop_names for e in new):
            memo = None  # a form not seen before: Rasa's loop reads every form of the conversation
    if memo is None:
        new = list(events)
        memo = Applied(events, 0, None, {e.name for e in new if isinstance(e, ActiveLoop) and e.name}, [])
    _fold(tracker, memo, new)
    memo.seen = len(events)
    memo.last = events[-1] if events else None
    tracker.__dict__[APPLIED] = memo
    return list(memo.applied)


def _fold(tracker: Any, memo: Applied, new: list[Any]) -> None:
    """The loop of Rasa's applied_events over `new`, on memo.applied."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )

    applied = memo.applied
    for event in new:
        if isinstance(event, Restarted | SessionStarted):
            applied.clear()
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in memo.loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)


def copy_tracker(tracker: Any) -> Any:
    """A tracker in the same state as `tracker`, made without replaying its events (see the module)."""
    duplicate = copy.copy(tracker)
    duplicate.__dict__.pop(STATES, None)
    duplicate.__dict__.pop(APPLIED, None)
    duplicate.events = copy.copy(tracker.events)  # a deque: the events themselves are shared, as by a replay
    slots = copy.copy(tracker.slots)  # same mapping class (AnySlotDict included)
    for name, slot in tracker.slots.items():
        slots[name] = copy.copy(slot)
    duplicate.slots = slots
    if tracker.active_loop is not None:
        duplicate.active_loop = dataclasses.replace(tracker.active_loop)
    if isinstance(tracker.latest_action, dict):
        duplicate.latest_action = dict(tracker.latest_action)
    return duplicate


def _step(
    domain: Any, replay: Replay, tr: Any, hide_rule_turn: bool, options: tuple[bool, bool, Any], *, kept: bool = True
) -> None:
    """The body of Domain.states_for_tracker_history's loop for one prior tracker, on `replay`'s variables. `kept`:
    a state kept for the next calls (not the last one, which the featurizer reads for the latest message)."""
    omit_unset_slots, ignore_rule_only_turns, rule_only_data = options
    if ignore_rule_only_turns:
        if not replay.turn_was_hidden:
            replay.last_ml_action_sub_state = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
            replay.turn_was_hidden = hide_rule_turn
        if replay.turn_was_hidden:
            return
    state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if replay.states:
            domain._substitute_rule_only_user_input(state, replay.states[-1])
        if replay.last_ml_action_sub_state:
            from rasa.shared.core.constants import PREVIOUS_ACTION

            state[PREVIOUS_ACTION] = replay.last_ml_action_sub_state
    state = domain._clean_state(state)
    if kept:
        _drop_text_beside_intent(state)
    replay.states.append(state)


def _drop_text_beside_intent(state: dict[str, Any]) -> None:
    """What the featurizer does to every state it is given (MaxHistoryTrackerFeaturizer._remove_user_text_if_intent,
    in place), done once here: the states kept are then never changed by a caller."""
    from rasa.shared.core.constants import USER
    from rasa.shared.nlu.constants import INTENT, TEXT

    user = state.get(USER)
    if user and user.get(INTENT) and user.get(TEXT):
        del user[TEXT]


def states_for_tracker_history(
    domain: Any,
    tracker: Any,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[Any]:
    """Domain.states_for_tracker_history, carried on from the states already built for this tracker."""
    from rasa.shared.core.events import ActionExecuted

    options = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    only = tuple(
        sorted((name, tuple(values)) for name, values in (rule_only_data or {}).items())
    )  # a new dict each call
    key = (id(domain), omit_unset_slots, ignore_rule_only_turns, only)
    replays: dict[Any, Replay] = tracker.__dict__.setdefault(STATES, {})
    if key not in replays and len(replays) >= MAX_REPLAYS:
        replays.clear()
    applied = tracker.applied_events()
    replay = replays.get(key)
    if replay is None or len(applied) < replay.done or (replay.done and applied[replay.done - 1] is not replay.last):
        replay = Replay(tracker.init_copy())
        replays[key] = replay
    for event in applied[replay.done :]:
        if isinstance(event, ActionExecuted):
            _step(domain, replay, replay.tracker, event.hide_rule_turn, options)
        replay.tracker.update(event)
    replay.done = len(applied)
    replay.last = applied[-1] if applied else None
    # the state after the last event: Rasa's generator yields it last, with hide_rule_turn False; built on a copy
    # of the loop's variables, since the next events will come before it
    ending = dataclasses.replace(replay, states=list(replay.states))
    _step(domain, ending, replay.tracker, False, options, kept=False)
    return ending.states


def _fingerprint(tracker: Any) -> Any:
    from rasa.shared.core.trackers import EventVerbosity

    return (
        tracker.current_state(EventVerbosity.ALL),
        {name: slot.value for name, slot in tracker.slots.items()},
        tracker.active_loop,
        tracker.latest_action,
        tracker.latest_bot_utterance,
        tracker.followup_action,
        tracker.sender_id,
    )


def install(check: bool = False) -> None:
    """Replace Rasa's functions (once); `check`: run Rasa's own beside them and raise HistoryMismatch on a
    difference."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(Domain.states_for_tracker_history, "outreach_history", False):
        return
    rasa_states, rasa_copy = Domain.states_for_tracker_history, DialogueStateTracker.copy
    rasa_applied = DialogueStateTracker.applied_events
    states, copier, applied = states_for_tracker_history, copy_tracker, applied_events
    if check:

        def applied(tracker: Any) -> list[Any]:
            found, expected = applied_events(tracker), rasa_applied(tracker)
            if len(found) != len(expected) or any(a is not b for a, b in zip(found, expected, strict=True)):
                raise HistoryMismatch("applied events differ")
            return found

        def states(domain: Any, tracker: Any, *args: Any, **kwargs: Any) -> list[Any]:
            expected = rasa_states(domain, tracker, *args, **kwargs)
            for state in expected[:-1]:
                _drop_text_beside_intent(state)
            found = states_for_tracker_history(domain, tracker, *args, **kwargs)
            if found != expected:
                raise HistoryMismatch(f"dialogue states differ: {found[-3:]} != {expected[-3:]}")
            return found

        def copier(tracker: Any) -> Any:
            found = copy_tracker(tracker)
            if _fingerprint(found) != _fingerprint(rasa_copy(tracker)):
                raise HistoryMismatch("a tracker's copy differs from its replay")
            return found

    states.outreach_history = True  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = states  # type: ignore[method-assign]
    DialogueStateTracker.copy = copier  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = applied  # type: ignore[method-assign]
