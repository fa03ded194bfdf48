"""The FAQ answer picked, and its features computed, only for messages that may ask the FAQ.

Rasa's ResponseSelector (a small TensorFlow model over the message's word and character counts) picks the
`utter_faq/<name>` answer of a `faq` message. It ran on every message, a quarter of Rasa's CPU per turn (py-spy,
issue 15), while its pick is read only when the message's intent is `faq` (the `faq` rule, a question inside a
form: actions/aside.py) or `check_rights` (a screening asked for with "… qu'est-ce que c'est ?":
actions/screening.py). It now runs when the intent classifier's likeliest intent is one of `for_intents` (the
components after it only ever take the intent away: unsure, no known word); its training and its answers are
ResponseSelector's own. Its word and character counts (two CountVectorsFeaturizers, read by nothing else) are
computed for those messages only, the same way (another ~5 % of a turn).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def may_ask_the_faq(message: Message, for_intents: frozenset[str]) -> bool:
    """The likeliest intent so far is one whose actions read the FAQ's pick."""
    intent = message.get(INTENT)
    return (intent.get(INTENT_NAME_KEY) if isinstance(intent, dict) else intent) in for_intents


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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class FaqCountVectorsFeaturizer(CountVectorsFeaturizer):
    """CountVectorsFeaturizer for the FAQ selector: trained on every example, run on the messages it may read."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**CountVectorsFeaturizer.get_default_config(), "for_intents": ["faq", "check_rights"]}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        super().process(training_data.training_examples)  # every example, as CountVectorsFeaturizer does
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for_intents = frozenset(self._config["for_intents"])
        asking = [message for message in messages if may_ask_the_faq(message, for_intents)]
        if asking:
            super().process(asking)
        return messages
