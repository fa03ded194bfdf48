"""A vocabulary gate: a message in which no word is known gets no intent.

DIET reads character n-grams, which makes it robust to typos but also lets it find an intent in
keyboard mashing ("azerty qsdf" came out as `thanks` at 0.59). This component remembers the words
of the training data (accent-folded, see french.py) and, when not one word of a message is known
nor close to a known word, sets the intent confidence to 0 so that the FallbackClassifier after it
asks the resident to rephrase. Typos stay understood: "bonjourr", "rendevous" are close to known
words. Button payloads ("/intent") never reach the NLU pipeline.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.french import fold

WORD = re.compile(r"[^\W\d_]{2,}")  # words of letters only: numbers and times are not evidence
FILE = "vocabulary.json"


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class VocabularyGate(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"similarity": 0.8}

    def __init__(
        self, config: dict[str, Any], storage: ModelStorage, resource: Resource, vocabulary: frozenset[str]
    ) -> None:
        self.similarity = float(config.get("similarity", 0.8))
        self._storage, self._resource = storage, resource
        self.vocabulary = vocabulary
        self._by_initial: dict[str, list[str]] = {}
        for word in vocabulary:
            self._by_initial.setdefault(word[0], []).append(word)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VocabularyGate:
        return cls(config, model_storage, resource, frozenset())

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> VocabularyGate:
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = frozenset(json.loads((directory / FILE).read_text(encoding="utf-8")))
        except ValueError:  # nothing persisted (no training data): the gate lets everything through
            vocabulary = frozenset()
        return cls(config, model_storage, resource, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary: set[str] = set()
        for example in training_data.training_examples:
            vocabulary.update(words(example.get(TEXT) or ""))
        for table in training_data.lookup_tables:
            for element in table.get("elements") or []:
                vocabulary.update(words(str(element)))
        for synonym in training_data.entity_synonyms:
            vocabulary.update(words(synonym))
        with self._storage.write_to(self._resource) as directory:
            (directory / FILE).write_text(json.dumps(sorted(vocabulary), ensure_ascii=False), encoding="utf-8")
        self.vocabulary = frozenset(vocabulary)
        return self._resource

    def _known(self, word: str) -> bool:
        if word in self.vocabulary:
            return True
        candidates = self._by_initial.get(word[0], [])
        return bool(difflib.get_close_matches(word, candidates, n=1, cutoff=self.similarity))

    def process(self, messages: list[Message]) -> list[Message]:
        if not self.vocabulary:
            return messages
        for message in messages:
            found = words(message.get(TEXT) or "")
            intent = message.get(INTENT)
            if not found or not intent or any(word in self.vocabulary for word in found):
                continue
            if any(self._known(word) for word in found):
                continue
            intent[PREDICTED_CONFIDENCE_KEY] = 0.0
            for ranked in message.get(INTENT_RANKING_KEY) or []:
                ranked[PREDICTED_CONFIDENCE_KEY] = 0.0
        return messages
