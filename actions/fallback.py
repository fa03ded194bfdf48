"""The fallback ladder. A message the NLU is unsure of: the resident chooses between the likely intents
(outreach/services/understanding.py); nothing likely: rephrase with topic buttons; the second miss in a row: a
person takes over."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.channel import resident_of, say, typed_text
from actions.handoff import hand_off
from outreach import texts
from outreach.i18n import N_
from outreach.services import understanding

FALLBACK_INTENT = "nlu_fallback"
REPHRASE_BUTTONS = [
    {"title": title, "payload": payload}
    for title, payload in (
        (N_("Mes droits"), "/check_rights"),
        (N_("Trouver un emploi"), "/find_job"),
        (N_("Logement"), "/housing_help"),
        (N_("Santé"), "/health_cover"),
        (N_("Parler à quelqu'un"), "/talk_to_human"),
    )
]


def consecutive_misses(events: list[dict[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood."""
    misses = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != FALLBACK_INTENT:
            break
        misses += 1
    return misses


def ranking(tracker: Tracker) -> list[tuple[str, float]]:
    """The latest message's intents with their confidences, best first, the fallback left out."""
    found = (tracker.latest_message or {}).get("intent_ranking") or []
    return [(str(i.get("name")), float(i.get("confidence") or 0)) for i in found if i.get("name") != FALLBACK_INTENT]


class ActionFallbackLadder(Action):
    def name(self) -> str:
        return "action_fallback_ladder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if consecutive_misses(tracker.events) >= 2:  # a person takes over
            return hand_off(dispatcher, tracker, "fallback")
        if not _offer_choice(dispatcher, tracker, ranking(tracker), close=False):
            dispatcher.utter_message(text=texts.ASK_REPHRASE, buttons=REPHRASE_BUTTONS)
        return []


def _offer_choice(
    dispatcher: CollectingDispatcher, tracker: Tracker, ranked: list[tuple[str, float]], *, close: bool
) -> bool:
    """The choice between the likely intents (outreach/services/understanding.py), said; False when there is none."""
    resident = resident_of(tracker)
    if resident is None:
        return False
    rt = runtime.current()
    with rt.uow() as uow:
        replies = understanding.clarify(
            uow, rt.clock, tz=rt.settings.tz, resident_id=resident.id, ranking=ranked, close=close
        )
    say(dispatcher, replies)
    return bool(replies)


def confirm_if_close(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Before a weighty action (cancel an appointment, stop messages, erase…) read from typed words: when another
    intent came close, the resident chooses (True: the question was asked, the action waits for the answer)."""
    ranked = ranking(tracker)
    if not typed_text(tracker) or not understanding.close_call(ranked):
        return False
    return _offer_choice(dispatcher, tracker, ranked, close=True)
