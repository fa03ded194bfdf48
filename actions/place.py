"""The "where do you live" form: commune then quartier, with buttons, typos, "je ne sais pas"."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking import last_request
from actions.channel import run
from outreach import places
from outreach.services import booking_dialogue as dialogue

CANCEL_BUTTONS = [
    {"title": "Je ne sais pas", "payload": "/dont_know"},
    {"title": "Annuler", "payload": "/cancel"},
]


def inform(slot: str, value: str) -> str:
    return "/inform" + json.dumps({slot: value}, ensure_ascii=False)


class ValidateWhereForm(FormValidationAction):
    def name(self) -> str:
        return "validate_where_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("commune") in (places.OTHER, places.UNKNOWN):
            return ["commune"]  # no quartier to ask about
        return domain_slots

    def validate_commune(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        commune = places.resolve_commune(str(value or ""))
        if commune is None:
            dispatcher.utter_message(response="utter_commune_not_understood")
            return {"commune": None}
        return {"commune": commune}

    def validate_quartier(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        quartier = places.resolve_quartier(str(value or ""), tracker.get_slot("commune"))
        if quartier is None:
            dispatcher.utter_message(response="utter_quartier_not_understood")
            return {"quartier": None}
        return {"quartier": quartier}


class ActionAskQuartier(Action):
    """Question 2: the QPV of the commune given, as buttons."""

    def name(self) -> str:
        return "action_ask_quartier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        commune = tracker.get_slot("commune") or ""
        buttons = [{"title": q.name, "payload": inform("quartier", q.id)} for q in places.quartiers_of(commune)]
        buttons.append({"title": "Un autre quartier", "payload": inform("quartier", places.NONE_OF_THESE)})
        dispatcher.utter_message(response="utter_ask_quartier", buttons=buttons + CANCEL_BUTTONS, commune=commune)
        return []


class ActionPlaceDone(Action):
    """Remember the place, then propose slots (outreach's booking dialogue)."""

    def name(self) -> str:
        return "action_place_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        commune, quartier = tracker.get_slot("commune"), tracker.get_slot("quartier")
        if commune in (None, places.UNKNOWN):
            dispatcher.utter_message(response="utter_place_unknown")
            return []
        if commune == places.OTHER:
            dispatcher.utter_message(response="utter_place_outside")
            return []
        _, wish = last_request(tracker, ("book_appointment",))
        run(dispatcher, tracker, dialogue.start_at_place, commune=commune, quartier=quartier, wish=wish)
        return []
