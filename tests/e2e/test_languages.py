"""Residents who do not read French well (issue 14), end to end through the Bot API emulator: the consent and the
menu in their language (Telegram's language_code, or the language they write in), "Continue in English?", /langue,
a language the bot does not speak (French + English, and a person), a voice note."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Handoff, Resident
from outreach import i18n, texts
from tests.conftest import BotHarness

pytestmark = pytest.mark.rasa

ARABIC = re.compile(r"[\u0600-\u06FF]")


def said(name: str, code: str) -> str:
    """texts.NAME as the bot says it in `code`."""
    with i18n.speaking(code):
        return str(getattr(texts, name))


def in_(code: str, french: str) -> str:
    return i18n.translate(french, code)


def residents_of(harness: BotHarness) -> list[Resident]:
    with UnitOfWork(harness.engine) as uow:
        return list(uow.session.exec(select(Resident)).all())


async def test_telegram_in_english_gets_the_consent_and_the_menu_in_english(
    bot: BotHarness, telegram: object
) -> None:
    joy = await telegram.user(2001, "Joy", language_code="en")
    await joy.send("/start")
    consent = await joy.wait_for(lambda m: said("CONSENT_ACCEPT", "en") in m.buttons)
    assert consent.text == said("CONSENT", "en") and texts.LANGUAGE_BUTTON in consent.buttons
    await joy.press(said("CONSENT_ACCEPT", "en"), message=consent)
    welcome = await joy.wait_for(lambda m: bool(m.buttons) and m.message_id != consent.message_id and not m.edited)
    assert in_("en", "Mes droits") in welcome.buttons and "Bonjour" not in welcome.text
    [resident] = residents_of(bot)
    assert resident.language == "en"


async def test_a_first_message_in_arabic_gets_everything_in_arabic(bot: BotHarness, telegram: object) -> None:
    samir = await telegram.user(2002, "Samir", language_code="fr")
    await samir.send("السلام عليكم، أحتاج مساعدة في ملف الكاف")
    consent = await samir.wait_for(lambda m: said("CONSENT_ACCEPT", "ar") in m.buttons)
    assert consent.text == said("CONSENT", "ar")
    await samir.press(said("CONSENT_ACCEPT", "ar"), message=consent)
    answer = await samir.wait_for(lambda m: m.message_id != consent.message_id and not m.edited)
    assert ARABIC.search(answer.text), answer.text  # what he asked, answered in Arabic
    [resident] = residents_of(bot)
    assert resident.language == "ar"
    await samir.send("/langue")
    choice = await samir.wait_for(lambda m: "Français" in m.buttons)
    assert choice.text == said("LANGUAGE_CHOOSE", "ar")
    await samir.press("Français", message=choice)
    await samir.wait_for(lambda m: m.text == texts.french("LANGUAGE_SET"))


async def test_a_french_resident_writing_english_is_offered_english(bot: BotHarness, telegram: object) -> None:
    grace = await telegram.user(2003, "Grace", language_code="fr")
    await grace.send("/start")
    consent = await grace.wait_for(lambda m: texts.french("CONSENT_ACCEPT") in m.buttons)
    await grace.press(texts.french("CONSENT_ACCEPT"), message=consent)
    await grace.wait_for(lambda m: bool(m.buttons) and m.message_id != consent.message_id and not m.edited)
    await grace.send("hello, I don't speak French, I need help with my rent")
    offer = await grace.wait_for(lambda m: "✅ English" in m.buttons)
    assert offer.text == said("LANGUAGE_OFFER", "en") and "Français" in offer.buttons
    await grace.press("✅ English", message=offer)
    await grace.wait_for(lambda m: m.text == said("LANGUAGE_SET", "en"))
    answer = await grace.next_message()  # her message, answered in English
    assert "vous" not in answer.text.lower().split(), answer.text
    with UnitOfWork(bot.engine) as uow:
        [resident] = uow.session.exec(select(Resident)).all()
        assert resident.language == "en" and resident.language_confirmed_at is not None


async def test_spanish_gets_french_and_english_and_a_person(bot: BotHarness, telegram: object) -> None:
    lucia = await telegram.user(2004, "Lucía", language_code="es")
    await lucia.send("Buenos días, necesito ayuda con mi alquiler por favor")
    answer = await lucia.wait_for(lambda m: texts.UNSUPPORTED_BUTTON in m.buttons)
    assert in_("fr", texts.french("UNSUPPORTED_LANGUAGE")) in answer.text
    assert in_("en", texts.french("UNSUPPORTED_LANGUAGE")) in answer.text
    assert residents_of(bot) == []  # nothing stored before the consent
    await lucia.press(texts.UNSUPPORTED_BUTTON, message=answer)
    consent = await lucia.wait_for(lambda m: said("CONSENT_ACCEPT", "en") in m.buttons)
    await lucia.press(said("CONSENT_ACCEPT", "en"), message=consent)
    await lucia.wait_for(lambda m: m.message_id != consent.message_id and not m.edited)
    with UnitOfWork(bot.engine) as uow:
        [case] = uow.session.exec(select(Handoff)).all()
        assert case.language == "es"


async def test_a_voice_note_is_answered_in_the_residents_language(bot: BotHarness, telegram: object) -> None:
    joy = await telegram.user(2005, "Joy", language_code="en")
    await joy.send("/start")
    consent = await joy.wait_for(lambda m: said("CONSENT_ACCEPT", "en") in m.buttons)
    await joy.press(said("CONSENT_ACCEPT", "en"), message=consent)
    await joy.wait_for(lambda m: bool(m.buttons) and m.message_id != consent.message_id and not m.edited)
    await joy.send_kind("voice")
    answer = await joy.wait_for(lambda m: m.text == said("VOICE_NOTE", "en"))
    assert answer.buttons == [said("VOICE_BUTTON", "en")]
