"""The first form (where the resident lives), asked before booking: buttons, typed answers without
accents, "je ne sais pas", "annuler", and "stop" in the middle of it."""

from __future__ import annotations

import pytest

from outreach import texts
from tests.conftest import BotHarness
from tests.e2e.test_conversation import consent, resident_count

pytestmark = pytest.mark.rasa


async def ask_to_book(user: object) -> object:
    await user.send("je voudrais prendre un rdv avec un adulte relais")
    question = await user.next_message()
    assert question.text.startswith("Question 1 sur 2") and "Chenôve" in question.buttons
    return question


async def test_booking_asks_where_then_remembers_it_with_buttons(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    question = await ask_to_book(amina)
    await amina.press("Chenôve", message=question)
    second = await amina.wait_for(lambda m: not m.edited)
    assert second.text == "Question 2 sur 2 : dans quel quartier de Chenôve habitez-vous ?"
    assert second.buttons[:2] == ["Le Mail", "Un autre quartier"] and "Annuler" in second.buttons
    await amina.press("Le Mail", message=second)
    answer = await amina.wait_for(lambda m: not m.edited)
    assert answer.text == "C'est à quel sujet ?"  # then the slots (tests/e2e/test_booking.py)
    [resident] = resident_count(bot)
    assert (resident.territory_id, resident.quartier_id) == ("dijon", "le_mail")


async def test_typed_answers_without_accents_and_a_typo_are_understood(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await ask_to_book(amina)
    await amina.send("marseille")
    assert "Je ne trouve pas cette commune" in (await amina.next_message()).text
    assert (await amina.next_message()).text.startswith("Question 1 sur 2")
    await amina.send("dijon")
    assert (await amina.next_message()).text.startswith("Question 2 sur 2")
    await amina.send("les gresille")
    assert (await amina.next_message()).text == "C'est à quel sujet ?"
    [resident] = resident_count(bot)
    assert resident.quartier_id == "gresilles"


async def test_je_ne_sais_pas_is_an_answer(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await ask_to_book(amina)
    await amina.send("Troyes")
    assert (await amina.next_message()).text.startswith("Question 2 sur 2")
    await amina.send("jsp")
    assert (await amina.next_message()).text == "C'est à quel sujet ?"
    [resident] = resident_count(bot)
    assert (resident.territory_id, resident.quartier_id) == ("troyes", None)


async def test_annuler_ends_the_questions(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    question = await ask_to_book(amina)
    await amina.press("Annuler", message=question)
    answer = await amina.wait_for(lambda m: not m.edited)
    assert answer.text.startswith("D'accord, j'arrête les questions")
    await amina.send("merci")
    assert not (await amina.next_message()).text.startswith("Question")


async def test_stop_in_the_middle_of_the_form_stops_messages_and_the_form(
    bot: BotHarness, telegram: object
) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await ask_to_book(amina)
    await amina.send("stop je veux plus de messages")
    assert (await amina.next_message()).text == texts.STOPPED
    [resident] = resident_count(bot)
    assert resident.opted_out_at is not None
    await amina.send("bonjour")
    assert "Bonjour" in (await amina.next_message()).text


async def test_at_dijons_quartier_question_another_communes_quartier_a_landmark_and_a_question(
    bot: BotHarness, telegram: object
) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    question = await ask_to_book(amina)
    await amina.press("Dijon", message=question)
    await amina.wait_for(lambda m: not m.edited and m.text.startswith("Question 2 sur 2"))
    await amina.send("a coté de la gare")  # a place described: not a quartier the bot knows
    assert (await amina.next_message()).text.startswith("Je ne trouve pas ce quartier")
    assert (await amina.next_message()).text.startswith("Question 2 sur 2")
    await amina.send("ça dure combien de temps")  # a question the bot cannot answer here: said so
    assert (await amina.next_message()).text == texts.PLACE_QUESTION_LATER
    assert (await amina.next_message()).text.startswith("Question 2 sur 2")
    await amina.send("en fait c'est le Mail, à Chenôve")  # another commune's quartier
    assert (await amina.next_message()).text == "C'est à quel sujet ?"
    [resident] = resident_count(bot)
    assert (resident.territory_id, resident.quartier_id) == ("dijon", "le_mail")
