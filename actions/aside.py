"""A question asked where a form expects an answer ("c'est gratuit ?", "pourquoi vous demandez ça ?"): answered,
then the form asks its question again. Only stop, delete, a person and cancel leave a form (their rules)."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.channel import typed_text
from outreach import texts
from outreach.i18n import N_, _
from outreach.places import fold
from outreach.screening import questions

WHY = re.compile(  # i18n: ignore
    r"\b(pourquoi|pk|pq|pkoi|pourkoi|a quoi (ca|sa) sert|c est pour quoi|pour quoi faire|obligatoire|oblige|why|"
    r"3lach|3lah|neden|por que|porque)\b|لماذا|علاش|ليش|لاش"
)
FAQ_CONFIDENCE = 0.5
WHY_PLACE = N_("C'est pour vous proposer la permanence la plus proche de chez vous.")


WHAT_IS = re.compile(r"\b(c est quoi|cest quoi|qu est ce que c est|ca veut dire quoi|c quoi|kesako|ca consiste)\b")


def faq_answer(tracker: Tracker, *, any_intent: bool = False) -> str | None:
    """The FAQ response (utter_faq/<name>) the latest message asks for, if the NLU is fairly sure (`any_intent`:
    whatever intent won, e.g. a long message read as check_rights that ends with "qu'est-ce que c'est ?")."""
    message = tracker.latest_message or {}
    if not any_intent and ((message.get("intent") or {}).get("name")) != "faq":
        return None
    selectors = message.get("response_selector") or {}
    # one ResponseSelector for all retrieval intents: its results are under "default"
    selected = (selectors.get("faq") or selectors.get("default") or {}).get("response") or {}
    key = selected.get("intent_response_key")
    if not key or float(selected.get("confidence") or 0) < FAQ_CONFIDENCE:
        return None
    return f"utter_{key}"


def answer(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str | None) -> bool:
    """Say the answer to a question asked instead of an answer; True when there was one."""
    text = typed_text(tracker)
    if not text:
        return False
    if reason and WHY.search(fold(text)):
        dispatcher.utter_message(
            text=_("{reason} Vos réponses servent seulement à estimer vos droits.").format(reason=_(reason))
        )
        return True
    response = faq_answer(tracker)
    if response is not None:
        dispatcher.utter_message(response=response)
        return True
    return False


class ActionFormHelp(Action):
    """ "aide", "pourquoi vous demandez ça ?" at a form's question: why that question, or how the form works; the form
    then asks its question again (stories/screening.yml, stories/forms.yml)."""

    def name(self) -> str:
        return "action_form_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slot = tracker.get_slot("requested_slot")
        place = tracker.active_loop_name == "where_form"
        reason = WHY_PLACE if place or slot in ("commune", "quartier") else questions.REASONS.get(str(slot))
        if not answer(dispatcher, tracker, reason):
            dispatcher.utter_message(text=texts.PLACE_HELP if place else texts.FORM_HELP)
        return []
