"""The FAQ answer is picked for messages that may ask the FAQ, and only for them (nlu/components/faq.py): a question
gets its answer's key, a greeting or an appointment request gets none (the selector no longer runs on every
message). Through the served model's parse endpoint."""

from __future__ import annotations

import pytest

from tests.conftest import RasaStack

pytestmark = pytest.mark.rasa


async def selected(rasa_stack: RasaStack, text: str) -> str | None:
    async with rasa_stack.client() as client:
        response = await client.post("/model/parse", json={"text": text})
    response.raise_for_status()
    selector = response.json().get("response_selector") or {}
    return ((selector.get("default") or {}).get("response") or {}).get("intent_response_key")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("c quoi la css", "faq/css"),
        ("c'est quoi la prime d'activité ?", "faq/prime_activite"),
        ("je voudrais savoir si j'ai droit au rsa, le rsa c'est quoi ?", "faq/rsa"),
    ],
)
async def test_a_question_to_the_faq_gets_its_answer(rasa_stack: RasaStack, text: str, key: str) -> None:
    assert await selected(rasa_stack, text) == key


@pytest.mark.parametrize("text", ["bonjour", "je voudrais un rendez-vous", "merci beaucoup"])
async def test_a_message_that_asks_no_question_is_not_looked_up(rasa_stack: RasaStack, text: str) -> None:
    assert await selected(rasa_stack, text) is None
