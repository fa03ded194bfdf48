"""The screening form: at most 12 questions, buttons wherever possible, "je ne sais pas" accepted,
answers not understood asked again with an example, a progress hint. Rules are in
outreach/screening/questions.py; when the form is done, outreach/services/screening_done.py computes,
stores and says the results."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.channel import resident_of, say
from actions.handoff import hand_off
from outreach import places, texts
from outreach.screening import questions
from outreach.services import screening_done

log = logging.getLogger(__name__)

FORM = "screening_form"
DONT_KNOW_BUTTON = {"title": "Je ne sais pas", "payload": "/dont_know"}
CANCEL_BUTTON = {"title": "Annuler", "payload": "/cancel"}
COMMUNE_SLOT_VALUES = {c.name for c in places.communes()}


def _answers(tracker: Tracker) -> dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in ("commune", "quartier", "s_ask_commune", *questions.SLOTS)}


def inform(slot: str, value: str) -> str:
    return "/inform" + json.dumps({slot: value}, ensure_ascii=False)


class ValidateScreeningForm(FormValidationAction):
    def name(self) -> str:
        return "validate_screening_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return questions.required(_answers(tracker))

    def __getattr__(self, attribute: str) -> Any:
        """validate_<slot> for every question: one rule for all of them (questions.understand)."""
        slot = attribute.removeprefix("validate_")
        if attribute.startswith("validate_") and slot in questions.BY_SLOT:
            return lambda value, dispatcher, tracker, domain: self._validate(slot, value, dispatcher, tracker)
        raise AttributeError(attribute)

    @staticmethod
    def _validate(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        if value is None:
            return {slot: None}
        understood = questions.understand(slot, str(value))
        if understood is None:
            if slot == tracker.get_slot("requested_slot"):
                example = questions.BY_SLOT[slot].example
                dispatcher.utter_message(response="utter_screening_not_understood", example=example)
            return {slot: None}
        return {slot: understood}


class _AskScreening:
    """Asks one question of the screening form, with its progress and buttons (one subclass per slot:
    the action server registers every concrete Action subclass)."""

    slot: str

    def name(self) -> str:
        return f"action_ask_{FORM}_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        answers = _answers(tracker)
        question = questions.BY_SLOT[self.slot]
        number, total = questions.progress(self.slot, answers)
        buttons = [{"title": title, "payload": inform(self.slot, value)} for title, value in question.buttons]
        if self.slot == "commune":
            buttons = [{"title": c.name, "payload": inform("commune", c.name)} for c in places.communes()]
            buttons.append({"title": "Une autre commune", "payload": inform("commune", places.OTHER)})
        text = f"Question {number} sur {total} : {questions.text_of(question, answers)}"
        dispatcher.utter_message(text=text, buttons=[*buttons, DONT_KNOW_BUTTON, CANCEL_BUTTON])
        return []


def _ask_action(slot: str) -> type[Action]:
    """A module-level class per question (Sanic pickles the registered actions for its worker)."""
    name = f"ActionAskScreening_{slot}"
    cls = type(name, (_AskScreening, Action), {"slot": slot, "__module__": __name__, "__qualname__": name})
    globals()[name] = cls
    return cls


ASK_ACTIONS = {slot: _ask_action(slot) for slot in questions.BY_SLOT}


class ActionScreeningStart(Action):
    """A new screening: forget the previous answers (the place is kept), say what is coming."""

    def name(self) -> str:
        return "action_screening_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_screening_intro")
        events: list[EventType] = [SlotSet(slot, None) for slot in questions.SLOTS]
        known = tracker.get_slot("commune") in COMMUNE_SLOT_VALUES | {places.OTHER}
        if not known:
            events.append(SlotSet("commune", None))
        events.append(SlotSet("s_ask_commune", not known))
        return events


_SCREENING_LOCK = asyncio.Lock()  # one OpenFisca computation at a time (CPU-bound, in a worker thread)


class ActionScreeningDone(Action):
    """Computes the rights (OpenFisca, in a worker thread), stores the screening with its follow-ups in
    one transaction and shows the results; a complex case goes to a person."""

    def name(self) -> str:
        return "action_screening_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        answers = _answers(tracker)
        resident = resident_of(tracker)
        try:
            profile = screening_done.read_answers(answers)
        except ValueError:
            profile = None
        if resident is None or profile is None:
            log.warning("screening answers could not be used")
            dispatcher.utter_message(text=texts.TECHNICAL_ERROR)
            return []
        rt = runtime.current()
        today = rt.clock.now().astimezone(rt.settings.tz).date()
        async with _SCREENING_LOCK:
            result, complex_case = await asyncio.to_thread(screening_done.compute, profile, today)
        with rt.uow() as uow:
            done = screening_done.complete(
                uow,
                rt.clock,
                resident_id=resident.id,
                answers=answers,
                profile=profile,
                result=result,
                complex_case=complex_case,
                tz=rt.settings.tz,
            )
        say(dispatcher, done.replies)
        if done.complex_case:  # the rules say a person should look at it: the case opens by itself
            return hand_off(dispatcher, tracker, "screening")
        return []
