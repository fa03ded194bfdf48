"""The intent classifier: TF-IDF over words (1-2 grams) and characters (1-5 grams inside words) of the
accent-folded text, and a linear SVM (scikit-learn), with a softmax over its scores as the confidence.

Chosen by 5-fold cross-validation of the written training data (outreach/nlu_cv.py, BENCHMARKS.md) against DIET
(no transformer layer) and Rasa's LogisticRegressionClassifier on raw counts: as accurate or better on messages
unlike the training data, and it trains in seconds instead of minutes on 2 cores (DIET took 5 min per fold once
the data grew to ~6,000 examples). Entities come from the lookup tables (RegexEntityExtractor), FAQ answers from
the ResponseSelector, both after this component.

The softmax temperature makes the confidence usable by the FallbackClassifier (threshold and ambiguity) and by the
choice offered to the resident when two intents come close (outreach/services/understanding.py).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import Pipeline, make_union
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from components.french import fold

FILE = "linear.pkl"


def _features(config: dict[str, Any]) -> Any:
    return make_union(
        TfidfVectorizer(preprocessor=fold, ngram_range=(1, int(config["word_max_ngram"])), sublinear_tf=True),
        TfidfVectorizer(
            preprocessor=fold, analyzer="char_wb", ngram_range=(1, int(config["char_max_ngram"])), sublinear_tf=True
        ),
    )


def _tfidf(vectorizer: TfidfVectorizer, texts: list[str]) -> Any:
    """`vectorizer.transform(texts)` (fitted, with IDF): its counts, then its TfidfTransformer's steps."""
    transformer = vectorizer._tfidf
    matrix = CountVectorizer.transform(vectorizer, texts).astype(np.float64)
    if transformer.sublinear_tf:
        np.log(matrix.data, matrix.data)
        matrix.data += 1
    matrix = matrix @ transformer._idf_diag
    return normalize(matrix, norm=transformer.norm, copy=False) if transformer.norm else matrix


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 0.5, "temperature": 5.0, "word_max_ngram": 2, "char_max_ngram": 5, "ranking_length": 10,
                "random_seed": 42}

    def __init__(self, config: dict[str, Any], storage: ModelStorage, resource: Resource, model: Any) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = storage, resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource, None)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                model = pickle.loads((directory / FILE).read_bytes())  # our own model file, written by train()
        except ValueError:  # nothing persisted (no training data)
            model = None
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels = [], []
        for example in training_data.intent_examples:
            if example.get(TEXT) and example.get(INTENT):
                texts.append(example.get(TEXT))
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            return self._resource
        classifier = LinearSVC(
            C=float(self.config["C"]), class_weight="balanced", random_state=int(self.config["random_seed"])
        )
        self.model = Pipeline([("features", _features(self.config)), ("svm", classifier)]).fit(texts, labels)
        with self._storage.write_to(self._resource) as directory:
            (directory / FILE).write_bytes(pickle.dumps(self.model))
        return self._resource

    def scores(self, texts: list[str]) -> Any:
        """The SVM's scores of the texts: the model's `decision_function`, computed without scikit-learn's checks
        and dispatch around each step (joblib for the union, the fitted-state checks that sum the whole IDF
        matrix on each call: a fifth of Rasa's CPU per turn once the rest was cut, issue 15). The same numbers:
        tests/unit/graph_checks.py compares them with `decision_function` on the trained model."""
        features, svm = self.model.named_steps["features"], self.model.named_steps["svm"]
        blocks = [_tfidf(vectorizer, texts) for _, vectorizer in features.transformer_list]
        matrix = scipy.sparse.hstack(blocks).tocsr()
        return matrix @ svm.coef_.T + svm.intercept_

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None:
            return messages
        texts = [message.get(TEXT) or "" for message in messages]
        scores = np.atleast_2d(self.scores(texts)) * float(self.config["temperature"])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        confidences = scores / scores.sum(axis=1, keepdims=True)
        names = self.model.classes_
        length = int(self.config["ranking_length"])
        for message, text, row in zip(messages, texts, confidences, strict=True):
            if not text.strip():
                continue
            order = np.argsort(-row)[:length]
            ranking = [{INTENT_NAME_KEY: str(names[i]), PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
