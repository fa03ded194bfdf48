"""Checks of nlu/serving/graph.py and of the intent classifier's scores, run inside .venv-rasa (Rasa 3.6) by
tests/unit/test_graph_runner.py on the trained model: the classifier's scores equal its scikit-learn pipeline's;
each message parsed by the graph run in our order and by dask gives the same result (intent, ranking, entities, FAQ
pick); along a conversation (a form, a question inside it, a cancel), each next action predicted both ways is the
same, with the rule policy's kept rules checked against Rasa's own filter at every prediction (check mode). One
JSON object on stdout."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rasa.core.agent import load_agent
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.utils import AvailableEndpoints
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.log_utils import configure_structlog

dask_run = DaskGraphRunner.run

from serving import graph  # noqa: E402  (dask's run is taken above, before ours replaces it)

graph.install(check=True)
ours_run = DaskGraphRunner.run

TEXTS = [
    "bonjour",
    "c quoi la css",
    "je voudrais un rendez-vous",
    "j'habite à Grigny",
    "jhabite aux gresilles",
    "merci beaucoup",
    "qsdfqsdf",
    "est ce que j'ai droit au rsa ?",
    "je cherche du travail",
    "parler à quelqu'un",
    "/inform",
]
CONVERSATION = [
    "bonjour",
    "je voudrais un rdv avec la médiatrice",
    "c gratuit ?",
    "Grigny",
    "annuler",
    "est-ce que j'ai droit à des aides ?",
    "c'est quoi le rsa",
    "stop",
    "merci, au revoir",
]


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def prediction(found: PolicyPrediction) -> str:
    events = [{k: v for k, v in event.as_dict().items() if k != "timestamp"} for event in found.events]
    return canonical([found.policy_name, found.probabilities, events, found.is_end_to_end_prediction])


async def main(model: str) -> dict[str, Any]:
    seen: dict[str, Any] = {"parsed": 0, "parsed_same": 0, "predicted": 0, "predicted_same": 0, "actions": set()}
    with tempfile.TemporaryDirectory() as directory:
        endpoints = AvailableEndpoints(
            action=EndpointConfig(url="http://127.0.0.1:9/webhook"),
            tracker_store=EndpointConfig(type="SQL", db=str(Path(directory) / "tracker.db")),
        )
        agent = await load_agent(model_path=model, endpoints=endpoints)
        classifier = next(
            node._component
            for node in agent.processor.graph_runner._instantiated_nodes.values()
            if type(node._component).__name__ == "LinearIntentClassifier"
        )
        texts = TEXTS + CONVERSATION + ["", "ÉÉÉ", "a" * 4000, "RSA CAF CSS APL AAH"]
        seen["scores_same"] = bool(
            np.allclose(classifier.scores(texts), classifier.model.decision_function(texts), rtol=1e-9, atol=1e-12)
        )
        for text in TEXTS:
            DaskGraphRunner.run = ours_run  # type: ignore[method-assign]
            ours = await agent.parse_message(text)
            DaskGraphRunner.run = dask_run  # type: ignore[method-assign]
            expected = await agent.parse_message(text)
            seen["parsed"] += 1
            seen["parsed_same"] += canonical(ours) == canonical(expected)
        DaskGraphRunner.run = ours_run  # type: ignore[method-assign]
        processor = agent.processor
        for text in CONVERSATION:  # Rasa's handle_message, with the first prediction of the turn made both ways
            message = UserMessage(text, sender_id="resident")
            tracker = await processor.log_message(message, should_save_tracker=False)
            tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
            found = processor._predict_next_with_tracker(tracker)
            DaskGraphRunner.run = dask_run  # type: ignore[method-assign]
            expected = processor._predict_next_with_tracker(tracker)
            DaskGraphRunner.run = ours_run  # type: ignore[method-assign]
            seen["predicted"] += 1
            seen["predicted_same"] += prediction(found) == prediction(expected)
            seen["actions"].add(processor.domain.action_names_or_texts[found.max_confidence_index])
            await processor._run_prediction_loop(message.output_channel, tracker)
            await processor.save_tracker(tracker)
    seen["actions"] = sorted(seen["actions"])
    return seen


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    configure_structlog(logging.WARNING)
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
