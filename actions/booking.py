"""Appointments: Rasa recognises the request, the channel does the booking (it owns the resident's
record and the slots): a custom payload {"command": <intent>, "wish": <the resident's own words>}."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

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
    """my_appointments, cancel_appointment, reschedule_appointment: handed to the channel."""

    def name(self) -> str:
        return "action_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent, text = last_request(tracker)
        dispatcher.utter_message(json_message={"command": intent or "my_appointments", "wish": text})
        return []
