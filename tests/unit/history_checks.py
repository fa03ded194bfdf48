"""Checks of nlu/serving/history.py, run inside .venv-rasa (Rasa 3.6) by tests/unit/test_dialogue_history.py: a tracker
grown one event at a time through forms, reverts, restarts and a new session; after each event, the applied events,
a copy and the dialogue states of ours are compared with Rasa's own functions. One JSON object on stdout."""

from __future__ import annotations

import json

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

rasa_applied = DialogueStateTracker.applied_events
rasa_copy = DialogueStateTracker.copy
rasa_states = Domain.states_for_tracker_history

from serving import history  # noqa: E402  (Rasa's functions are taken above, before ours replace them)

history.install()

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, book, inform, faq, stop]
entities: [commune]
slots:
  commune:
    type: text
    mappings: [{type: from_entity, entity: commune}]
forms:
  where_form:
    required_slots: [commune]
responses:
  utter_greet: [{text: "Bonjour"}]
  utter_ask_commune: [{text: "Où ?"}]
actions: [action_booking]
"""
)


def user(intent: str, text: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0})


EVENTS = [
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
    user("greet", "bonjour"),
    ActionExecuted("utter_greet"),
    ActionExecuted("action_listen"),
    user("book", "un rdv"),
    ActionExecuted("where_form"),
    ActiveLoop("where_form"),
    SlotSet("requested_slot", "commune"),
    ActionExecuted("action_listen"),
    user("faq", "c gratuit ?"),
    ActionExecuted("where_form"),
    ActionExecuted("utter_greet"),
    ActionExecuted("where_form"),
    ActionExecuted("action_listen"),
    user("inform", "Grigny"),
    SlotSet("commune", "Grigny"),
    ActionExecuted("where_form"),
    ActiveLoop(None),
    SlotSet("requested_slot", None),
    ActionExecuted("action_booking"),
    ActionExecuted("action_listen"),
    user("greet", "re"),
    UserUtteranceReverted(),
    ActionExecuted("action_listen"),
    user("greet", "salut"),
    ActionExecuted("utter_greet"),
    ActionReverted(),
    ActionExecuted("action_listen"),
    user("stop", "stop"),
    Restarted(),
    ActionExecuted("action_listen"),
    user("greet", "bonjour"),
    ActionExecuted("utter_greet"),
    ActionExecuted("action_session_start"),
    SessionStarted(),
    ActionExecuted("action_listen"),
    user("book", "rdv"),
    ActionExecuted("where_form"),
    ActiveLoop("where_form"),
    ActionExecuted("action_listen"),
    user("inform", "Évry"),
]


def fingerprint(tracker: DialogueStateTracker) -> str:
    return json.dumps(
        [
            tracker.current_state(),
            {name: slot.value for name, slot in tracker.slots.items()},
            str(tracker.active_loop),
            tracker.latest_action,
            tracker.followup_action,
            [event.as_dict() for event in tracker.events],
        ],
        sort_keys=True,
        default=str,
    )


def main() -> dict[str, int]:
    tracker = DialogueStateTracker("resident", DOMAIN.slots)
    seen = {"events": 0, "applied_same": 0, "copy_same": 0, "states_same": 0, "copy_independent": 0}
    for event in EVENTS:
        tracker.update(event, DOMAIN)
        seen["events"] += 1
        expected = rasa_applied(tracker)
        found = tracker.applied_events()
        seen["applied_same"] += len(found) == len(expected) and all(
            a is b for a, b in zip(found, expected, strict=True)
        )
        copied = tracker.copy()
        seen["copy_same"] += fingerprint(copied) == fingerprint(rasa_copy(tracker))
        copied.update(SlotSet("commune", "Ailleurs"))
        seen["copy_independent"] += (
            tracker.get_slot("commune") != "Ailleurs" and len(copied.events) == len(tracker.events) + 1
        )
        for options in ({}, {"ignore_rule_only_turns": True, "rule_only_data": {"slots": [], "loops": []}}):
            expected_states = rasa_states(DOMAIN, tracker, **options)
            for state in expected_states[:-1]:
                history._drop_text_beside_intent(state)
            if DOMAIN.states_for_tracker_history(tracker, **options) != expected_states:
                break
        else:
            seen["states_same"] += 1
    return seen


if __name__ == "__main__":
    print(json.dumps(main()))
