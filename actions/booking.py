"""Appointments: my appointments, cancel, reschedule, carried out by outreach's booking dialogue (the
booking itself starts with the where_form: actions/place.py)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.channel import run
from actions.fallback import confirm_if_close
from outreach.services import booking_dialogue as dialogue

BOOKING_INTENTS = ("book_appointment", "reschedule_appointment", "cancel_appointment", "my_appointments")


def last_request(tracker: Tracker, intents: tuple[str, ...] = BOOKING_INTENTS) -> tuple[str | None, str]:
    """The latest user message whose intent is one of `intents`: (intent, text). Button payloads give ""."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in intents:
            text = str(event.get("text") or "")
            return intent, "" if text.startswith("/") else text
    return None, ""


class ActionBooking(Action):
    """my_appointments, cancel_appointment, reschedule_appointment (book_appointment after the place)."""

    def name(self) -> str:
        return "action_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent, text = last_request(tracker)
        if intent in ("reschedule_appointment", "cancel_appointment") and confirm_if_close(dispatcher, tracker):
            return []
        if intent == "book_appointment":
            run(dispatcher, tracker, dialogue.start, wish=text)
        elif intent == "reschedule_appointment":
            run(dispatcher, tracker, dialogue.reschedule, wish=text)
        elif intent == "cancel_appointment":
            run(dispatcher, tracker, dialogue.ask_cancel)
        else:
            run(dispatcher, tracker, dialogue.my_appointments)
        return []
