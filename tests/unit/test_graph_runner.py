"""The prediction graph run in a fixed order without dask and the rule policy's matches kept per state
(nlu/serving/graph.py) give what Rasa's own runner and filter give, on the trained model (run inside .venv-rasa).
Every Rasa the tests start also checks both on every turn (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.rasa_model import model_path, train
from tests.unit.rasa_side import run_check

pytestmark = pytest.mark.rasa


def test_scores_parses_and_predictions_equal_rasa_s_own(tmp_path: Path) -> None:
    train()
    seen = run_check("graph_checks.py", str(model_path()), cwd=tmp_path)
    assert {k: seen[k] for k in ("scores_same", "parsed", "parsed_same", "predicted", "predicted_same")} == {
        "scores_same": True,
        "parsed": 11,
        "parsed_same": 11,
        "predicted": 9,
        "predicted_same": 9,
    }
    # the conversation went through a form, a question inside it, its cancel, the screening and a goodbye
    assert {"where_form", "utter_faq", "utter_form_cancelled", "action_screening_start", "utter_goodbye"} <= set(
        seen["actions"]
    )
