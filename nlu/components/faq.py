"""The FAQ answer picked only for messages that may ask the FAQ.

Rasa's ResponseSelector (a small TensorFlow model over the message's word and character counts) picks the
`utter_faq/<name>` answer of a `faq` message. It ran on every message, a quarter of Rasa's CPU per turn (py-spy,
issue 15), while its pick is read only when the message's intent is `faq` (the `faq` rule, a question inside a
form: actions/aside.py) or `check_rights` (a screening asked for with "… qu'est-ce que c'est ?":
actions/screening.py). It now runs when the intent classifier's likeliest intent is one of `for_intents` (the
components after it only ever take the intent away: unsure, no known word); its training and its answers are
ResponseSelector's own.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


def may_ask_the_faq(message: Message, for_intents: frozenset[str]) -> bool:
    """The likeliest intent so far is one whose actions read the FAQ's pick."""
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) in for_intents


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**ResponseSelector.get_default_config(), "for_intents": ["faq", "check_rights"]}

    def process(self, messages: list[Message]) -> list[Message]:
        for_intents = frozenset(self.component_config["for_intents"])
        asking = [message for message in messages if may_ask_the_faq(message, for_intents)]
        if asking:
            super().process(asking)
        return messages
