"""Whole journeys in English and in Arabic (issue 14), through the Bot API emulator with the real Rasa and action
server: consent, menu, the screening with its buttons up to the results, and a booking up to its confirmation —
every message in the resident's language, the adulte-relais' notice in French."""

from __future__ import annotations

import re

import pytest

from outreach import i18n
from tests.conftest import BotHarness
from tests.e2e.test_booking import Desk, desk  # noqa: F401 - the fixture
from tests.e2e.test_conversation import consent
from tests.e2e.test_screening import BUTTONS_ONLY

pytestmark = pytest.mark.rasa

ARABIC = re.compile(r"[\u0600-\u06FF]")
FRENCH_WORDS = re.compile(r"\b(vous|votre|vos|êtes|avez)\b", re.IGNORECASE)


def reads_as(code: str, text: str) -> bool:
    """The text is in `code`: Arabic letters for Arabic, no French "vous" words for English."""
    if code == "ar":
        return bool(ARABIC.search(text))
    return not FRENCH_WORDS.search(text)


ANSWERS = BUTTONS_ONLY  # the French titles of the buttons pressed, translated to press them


@pytest.mark.parametrize("code", ["en", "ar"])
async def test_screening_to_results_in_the_residents_language(bot: BotHarness, telegram: object, code: str) -> None:
    def t(french: str) -> str:
        return i18n.translate(french, code)

    resident = await telegram.user(3001, "Amal", language_code=code)
    welcome = await consent(resident, language=code)
    assert reads_as(code, welcome.text) and t("Mes droits") in welcome.buttons
    await resident.press(t("Mes droits"), message=welcome)
    for number, french in enumerate(ANSWERS, start=1):
        question = await resident.wait_for(lambda m: not m.edited and t("Je ne sais pas") in m.buttons, timeout=30)
        assert reads_as(code, question.text), (number, question.text)
        await resident.press(t(french), message=question)
    shown = []
    while True:
        message = await resident.wait_for(lambda m: not m.edited, timeout=60)
        shown.append(message)
        if t("Refaire le point") in message.buttons:
            break
    # a local service is shown by its name ("🤝 Mission locale de Dijon"): a name, as on its door, not translated
    assert all(reads_as(code, m.text) for m in shown if not m.text.startswith("🤝")), [m.text for m in shown]
    assert all(m.buttons == [t("Pourquoi ?"), t("Comment faire ?")] for m in shown[1:-1])
    await resident.press(t("Pourquoi ?"), message=shown[1])
    why = await resident.wait_for(lambda m: not m.edited)
    assert reads_as(code, why.text), why.text


@pytest.mark.parametrize("code", ["en", "ar"])
async def test_booking_in_the_residents_language_and_the_relay_told_in_french(desk: Desk, code: str) -> None:  # noqa: F811
    def t(french: str) -> str:
        return i18n.translate(french, code)

    samia = await desk.samia()
    resident = await desk.telegram.user(3002, "Amal", language_code=code)
    await consent(resident, language=code)
    await resident.send("/rendezvous")
    first = await resident.wait_for(lambda m: not m.edited and "Dijon" in m.buttons)
    assert reads_as(code, first.text)
    await resident.press("Dijon", message=first)
    second = await resident.wait_for(lambda m: not m.edited and "Grésilles" in m.buttons)
    await resident.press("Grésilles", message=second)
    topic = await resident.wait_for(lambda m: not m.edited and m.text == t("C'est à quel sujet ?"))
    await resident.press(topic.buttons[0], message=topic)
    offer = await resident.wait_for(lambda m: not m.edited and t("Autres créneaux") in m.buttons, timeout=30)
    assert reads_as(code, offer.text)
    await resident.press(offer.buttons[0], message=offer)
    confirmation = await resident.wait_for(lambda m: not m.edited and "Samia" in m.text, timeout=30)
    assert reads_as(code, confirmation.text) and "Grésilles" in confirmation.text, confirmation.text
    await desk.dispatch()
    notice = await samia.wait_for(lambda m: not m.edited)
    assert "Amal" in notice.text and not ARABIC.search(notice.text) and "vous" in notice.text.lower()
