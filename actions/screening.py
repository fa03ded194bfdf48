"""The screening form: at most 12 questions, buttons wherever possible, "je ne sais pas" accepted,
answers not understood asked again with an example, a progress hint. Rules are in
outreach/screening/questions.py; when the form is done, outreach/services/screening_done.py computes,
stores and says the results."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aside, runtime
from actions.channel import resident_of, say, typed_text
from actions.handoff import hand_off
from actions.place import commune_buttons
from outreach import options, places, texts
from outreach.i18n import N_
from outreach.places import fold
from outreach.screening import prefill, questions
from outreach.services import screening_done

log = logging.getLogger(__name__)

FORM = "screening_form"
DONT_KNOW_BUTTON = {"title": N_("Je ne sais pas"), "payload": "/dont_know"}
CANCEL_BUTTON = {"title": N_("Annuler"), "payload": "/cancel"}
COMMUNE_SLOT_VALUES = {c.name for c in places.communes()}


def _answers(tracker: Tracker) -> dict[str, Any]:
    slots = ("commune", "quartier", "s_ask_commune", "s_children_count", *questions.SLOTS)
    return {slot: tracker.get_slot(slot) for slot in slots}


def _more_facts(text: str, answers: dict[str, Any], requested: str) -> dict[str, str]:
    """What an answer says beyond its question ("je cherche du travail depuis 1 an"): the questions still empty."""
    found = prefill.facts(text) if text else {}
    return {slot: value for slot, value in found.items() if slot != requested and answers.get(slot) is None}



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
        requested = slot == tracker.get_slot("requested_slot")
        if slot == "commune":  # a quartier answers it too: "les grésilles", "Grésilles à Dijon"
            commune, quartier = places.resolve_place(str(value))
            if commune is not None:
                return {"commune": commune, **({"quartier": quartier} if quartier else {})}
            understood = None
        else:
            understood = questions.understand(slot, str(value))
        if understood is None:
            if requested and not aside.answer(dispatcher, tracker, questions.REASONS.get(slot)):
                example = questions.example_of(questions.BY_SLOT[slot])
                dispatcher.utter_message(text=texts.SCREENING_NOT_UNDERSTOOD.format(example=example))
            return {slot: None}
        validated: dict[str, Any] = {slot: understood}
        if requested:
            validated |= _more_facts(str(value), _answers(tracker), slot)
        return validated


class _AskScreening:
    """Asks one question of the screening form, with its progress and buttons (one subclass per slot:
    the action server registers every concrete Action subclass)."""

    slot: str

    def name(self) -> str:
        return f"action_ask_{FORM}_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        answers = _answers(tracker)
        question = questions.BY_SLOT[self.slot]
        shown = questions.buttons_of(question)
        buttons = [{"title": title, "payload": options.inform(self.slot, value)} for title, value in shown]
        if self.slot == "commune":
            buttons = commune_buttons()
        text = f"{questions.progress_text(answers)}\n{questions.text_of(question, answers)}"
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
        text = typed_text(tracker)
        what = aside.faq_answer(tracker, any_intent=True) if aside.WHAT_IS.search(fold(text)) else None
        if what is not None:  # "… la prime d'activité, qu'est-ce que c'est ?": the answer, then the screening
            dispatcher.utter_message(response=what)
        events: list[EventType] = [SlotSet(slot, None) for slot in (*questions.SLOTS, "s_children_count")]
        known = tracker.get_slot("commune") in COMMUNE_SLOT_VALUES | {places.OTHER}
        facts = prefill.facts(text) if text else {}
        noted = prefill.summary(facts, text) if facts else ""
        if not known and text:  # "je suis aux Grésilles, j'ai droit à quoi ?"
            commune, quartier = places.mentioned_place(text)
            if commune in COMMUNE_SLOT_VALUES:
                known = True
                events += [SlotSet("commune", commune), SlotSet("quartier", quartier)]
                where = places.quartier_name(quartier)
                noted = ", ".join(part for part in (f"{where} ({commune})" if where else commune, noted) if part)
        if not known:
            events.append(SlotSet("commune", None))
        events.append(SlotSet("s_ask_commune", not known))
        events += [SlotSet(slot, value) for slot, value in facts.items()]
        if noted:  # what the message already said is not asked again
            dispatcher.utter_message(text=texts.SCREENING_INTRO_NOTED.format(noted=noted))
        else:
            dispatcher.utter_message(text=texts.SCREENING_INTRO)
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
