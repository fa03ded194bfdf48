"""The "where do you live" form: commune then quartier, with buttons, typos, "je ne sais pas"."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aside, runtime
from actions.booking import last_request
from actions.channel import resident_of, run, typed_text
from outreach import options, places, texts
from outreach.dates import parse_wish
from outreach.i18n import N_
from outreach.places import fold
from outreach.services import booking_dialogue as dialogue
from outreach.services import residents

TALK_BUTTON = {"title": N_("Parler à quelqu'un"), "payload": "/talk_to_human"}
RIGHTS_BUTTON = {"title": N_("Faire le point sur mes droits"), "payload": "/check_rights"}
CANCEL_BUTTONS = [
    {"title": N_("Je ne sais pas"), "payload": "/dont_know"},
    {"title": N_("Annuler"), "payload": "/cancel"},
]
SURE = 0.5  # the NLU's confidence above which a message at the place question is taken for what it says
SENTENCE_WORDS = 6
SMALL_TALK = frozenset({"thanks", "affirm", "deny", "greet"})
SOON = re.compile(  # i18n: ignore
    r"\b(urgent|urgence|au plus vite|le plus vite|vite|rapidement|au plus tot|des que possible|asap)\b"
)
# a place described rather than named ("près de la gare", "rue de la Liberté", "dans les HLM derrière l'école")
PLACE_WORDS = re.compile(  # i18n: ignore
    r"\b(pres|a cote|derriere|devant|en face|rue|avenue|av|bd|boulevard|allee|impasse|place|quartier|centre|"
    r"centre ville|gare|tram|arret de (?:tram|bus)|immeuble|batiment|residence|cite|hlm|au dessus|en dessous|vers|"
    r"j habite|habite)\b"
)
ABOUT_THE_HOUSEHOLD = frozenset({  # facts or a reason for coming ("je travaille pas, j'ai 2 enfants")
    "inform", "check_rights", "find_job", "housing_help", "health_cover", "money_trouble", "childcare", "mobility",
    "digital_help", "language_help",
})


def commune_buttons() -> list[dict[str, str]]:
    """The communes of the territories, then "Une autre commune" (the place form's and the screening's question)."""
    buttons = [{"title": c.name, "payload": options.inform("commune", c.name)} for c in places.communes()]
    return [*buttons, {"title": N_("Une autre commune"), "payload": options.inform("commune", places.OTHER)}]


def _mentioned(tracker: Tracker) -> tuple[str | None, str | None]:
    """The place the booking request names, if any."""
    _, wish = last_request(tracker, ("book_appointment",))
    return places.mentioned_place(wish) if wish else (None, None)


def _place_known(tracker: Tracker) -> bool:
    return _mentioned(tracker)[0] is not None or _place_stored(tracker)


def _place_stored(tracker: Tracker) -> bool:
    """Whether the resident said where they live before (their record has a territory)."""
    resident = resident_of(tracker)
    if resident is None:
        return False
    with runtime.current().uow() as uow:
        return residents.place_of(uow, resident.id) is not None


def _time_wish(text: str) -> bool:
    """A time to come ("plutôt mardi matin"), or as soon as possible (the slots come soonest first anyway)."""
    rt = runtime.current()
    return bool(SOON.search(fold(text))) or parse_wish(text, rt.clock.now(), rt.settings.tz) is not None


def _no_place_named(dispatcher: CollectingDispatcher, tracker: Tracker, said: str, not_found: str) -> None:
    """A message at the place question that names no place the form knows (the form asks its question again
    after this): a question is answered, or said to be for the appointment; a time ("plutôt mardi matin") is kept
    for the slots (`_wish`); thanks, "ok", "bonjour" need only the question again; a place described ("près de la
    gare", "rue …") is a place not found; facts about the household or the reason for coming are for the
    appointment; anything else is a place not found."""
    if aside.answer(dispatcher, tracker, aside.WHY_PLACE):
        return
    typed = typed_text(tracker)
    text = typed or said  # `said`: the words given to the form as an answer (the channel's /inform of them)
    intent = ((tracker.latest_message or {}).get("intent") or {}) if typed else {}  # /inform's: not the NLU's
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0)
    if text and _time_wish(text):
        dispatcher.utter_message(text=texts.PLACE_WISH_NOTED)
    elif name in SMALL_TALK and confidence >= SURE:
        if name == "thanks":
            dispatcher.utter_message(text=texts.PLACE_THANKS)
    elif text and options.is_question(text):
        dispatcher.utter_message(text=texts.PLACE_QUESTION_LATER)
    elif _about_the_household(text, name, confidence):
        dispatcher.utter_message(text=texts.PLACE_FACTS_NOTED)
    else:
        dispatcher.utter_message(text=not_found)


def _about_the_household(text: str, intent: str | None, confidence: float) -> bool:
    """Facts or a reason for coming rather than a place: what the NLU reads as such, or a sentence (a quartier's
    name is a few words; a longer message that names none is about something else), unless it describes a place."""
    folded = fold(text)
    if PLACE_WORDS.search(folded):
        return False
    return (intent in ABOUT_THE_HOUSEHOLD and confidence >= SURE) or len(folded.split()) >= SENTENCE_WORDS


def _wish(tracker: Tracker) -> str:
    """When the resident would like to come: a time said at the place question (the latest), else the booking
    request's own words."""
    for event in reversed(tracker.events):  # one walk back to the request (what `last_request` finds)
        if event.get("event") != "user":
            continue
        text = str(event.get("text") or "")
        words = "" if text.startswith("/") else text  # a button's payload says no time
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "book_appointment":
            return words
        if words and places.resolve_place(words)[0] is None and _time_wish(words):
            return words
    return ""


class ValidateWhereForm(FormValidationAction):
    def name(self) -> str:
        return "validate_where_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("commune") in (places.OTHER, places.UNKNOWN):
            return ["commune"]  # no quartier to ask about
        if tracker.get_slot("commune") is None and _place_known(tracker):
            return []  # said in the request ("un rdv, j'habite à la Fontaine d'Ouche"), or known from before
        return domain_slots

    def validate_commune(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        commune, quartier = places.resolve_place(str(value or ""))  # a quartier answers it too
        if commune is None:
            _no_place_named(dispatcher, tracker, str(value or ""), texts.COMMUNE_NOT_UNDERSTOOD)
            return {"commune": None}
        return {"commune": commune, **({"quartier": quartier} if quartier else {})}

    def validate_quartier(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        quartier = places.resolve_quartier(str(value or ""), tracker.get_slot("commune"))
        if quartier is None:
            commune = places.resolve_commune(str(value or ""))  # "au Mail à Chenôve", asked about Dijon's
            if commune not in (None, places.UNKNOWN, places.OTHER, tracker.get_slot("commune")):
                return {"commune": commune, "quartier": places.resolve_quartier(str(value or ""), commune)}
            _no_place_named(dispatcher, tracker, str(value or ""), texts.QUARTIER_NOT_UNDERSTOOD)
            return {"quartier": None}
        return {"quartier": quartier}


class ActionAskCommune(Action):
    """Question 1: the communes of the territories as buttons; a quartier's name is understood too."""

    def name(self) -> str:
        return "action_ask_commune"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=texts.ASK_COMMUNE, buttons=commune_buttons() + CANCEL_BUTTONS)
        return []


class ActionAskQuartier(Action):
    """Question 2: the QPV of the commune given, as buttons."""

    def name(self) -> str:
        return "action_ask_quartier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        commune = tracker.get_slot("commune") or ""
        buttons = [{"title": q.name, "payload": options.inform("quartier", q.id)} for q in places.quartiers_of(commune)]
        buttons.append({"title": "Un autre quartier", "payload": options.inform("quartier", places.NONE_OF_THESE)})
        dispatcher.utter_message(text=texts.ASK_QUARTIER.format(commune=commune), buttons=buttons + CANCEL_BUTTONS)
        return []


class ActionPlaceDone(Action):
    """Remember the place, then propose slots (outreach's booking dialogue)."""

    def name(self) -> str:
        return "action_place_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        commune, quartier = tracker.get_slot("commune"), tracker.get_slot("quartier")
        wish = _wish(tracker)
        events: list[EventType] = []
        if commune is None:
            commune, quartier = _mentioned(tracker)
            if commune is not None:
                events = [SlotSet("commune", commune), SlotSet("quartier", quartier)]
            elif _place_stored(tracker):  # known from before: straight to the topic and the slots
                run(dispatcher, tracker, dialogue.start, wish=wish)
                return []
        if commune in (None, places.UNKNOWN):
            dispatcher.utter_message(text=texts.PLACE_UNKNOWN, buttons=[TALK_BUTTON])
            return []
        if commune == places.OTHER:
            dispatcher.utter_message(text=texts.PLACE_OUTSIDE, buttons=[RIGHTS_BUTTON, TALK_BUTTON])
            return []
        run(dispatcher, tracker, dialogue.start_at_place, commune=commune, quartier=quartier, wish=wish)
        return events
