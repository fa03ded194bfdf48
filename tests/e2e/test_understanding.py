"""Understanding in context, end to end (real PTB Application ⇄ Bot API emulator, real Rasa, action server):
a typed word chooses a button (4a), a quartier answers the commune question (4b), what a message already says is
not asked again (4c), a question in the middle of a form is answered and the form goes on (4d), the count of
questions never grows (4e), questions right after the results are about them (4f), and an unsure reading is a
choice for the resident (4g)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Event, Screening
from outreach.services import understanding
from tests.conftest import BotHarness
from tests.e2e.test_booking import Desk, desk, proposals, where  # noqa: F401  (desk is a fixture)
from tests.e2e.test_conversation import consent, resident_count
from tests.e2e.test_place_form import ask_to_book

pytestmark = pytest.mark.rasa

COUNT = re.compile(r"^(Encore (\d+) questions au plus\.|Dernière question :)\n")


def is_question(message: object) -> bool:
    return not message.edited and COUNT.match(message.text or "") is not None  # type: ignore[attr-defined]


def left(message: object) -> int:
    found = COUNT.match(message.text)  # type: ignore[attr-defined]
    assert found is not None
    return int(found.group(2)) if found.group(2) else 1


# Answers a resident gives, by what the question asks: a button to press, or words to type.
ANSWERS = (  # the more specific first: "Avez-vous des enfants à charge ? … écrivez leur âge."
    ("enfants à charge", "Pas d'enfant"),
    ("Quel âge ont vos", "3 et 7"),
    ("enfants a-t-il un handicap", "Non"),
    ("collège ou au lycée", "Collège"),
    ("commune", "Dijon"),
    ("Quel âge avez-vous", "30-49 ans"),
    ("en couple", "Seul(e)"),
    ("Où habitez-vous", "Locataire (privé)"),
    ("loyer", "480"),
    ("Quelle est votre situation", "Je cherche un emploi"),
    ("Depuis combien", "1 à 2 ans"),
    ("France Travail", "Rien (0 €)"),
    ("autres revenus", "Rien (0 €)"),
    ("gagnez", "900"),
    ("handicap reconnu", "Non"),
    ("titre de séjour", "Oui"),
)


async def answer_until_results(user: object, first: object) -> tuple[list[str], list[int], list[object]]:
    """Answer every question (pressing its button, or typing when there is none) up to the results: the questions
    asked, the counts shown before each, and the results' messages."""
    asked, counts, question = [], [], first
    while True:
        asked.append(question.text)
        counts.append(left(question))
        answer = next(a for key, a in ANSWERS if key in question.text)
        if answer in question.buttons:
            await user.press(answer, message=question)
        else:
            await user.send(answer)
        message = await user.wait_for(lambda m: not m.edited, timeout=60)
        if not is_question(message):
            shown = [message]
            while "Refaire le point" not in shown[-1].buttons:
                shown.append(await user.wait_for(lambda m: not m.edited, timeout=60))
            return asked, counts, shown
        question = message


async def test_4a_a_typed_word_chooses_the_topic_button(desk: Desk) -> None:  # noqa: F811
    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    await amina.send("je voudrais un rendez-vous")
    await where(amina)
    await amina.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    await amina.send("caf")  # not the FAQ about the CAF: the topic "vos droits"
    offer = await proposals(amina)
    assert any("·" in b for b in offer.buttons)


async def test_4a_a_typed_answer_to_a_form_question_is_that_choice(bot: BotHarness, telegram: object) -> None:
    karim = await telegram.user(1002, "Karim")
    await consent(karim)
    await karim.send("/droits")
    question = await karim.wait_for(is_question)
    for answer in ("Dijon", "30-49 ans"):
        await karim.press(answer, message=question)
        question = await karim.wait_for(is_question)
    assert "en couple" in question.text
    await karim.send("toute seule")
    question = await karim.wait_for(is_question)
    assert "enfants" in question.text
    await karim.send("annuler")
    cancelled = await karim.wait_for(lambda m: not m.edited)
    assert "j'arrête les questions" in cancelled.text


async def test_4b_a_quartier_answers_the_commune_question(bot: BotHarness, telegram: object) -> None:
    fatou = await telegram.user(1003, "Fatou")
    await consent(fatou)
    await fatou.send("/droits")
    question = await fatou.wait_for(is_question)
    assert "commune" in question.text
    await fatou.send("les grezilles")
    after = await fatou.wait_for(lambda m: not m.edited)
    assert is_question(after) and "âge" in after.text, after.text
    await answer_until_results(fatou, after)
    with UnitOfWork(bot.engine) as uow:
        [screening] = uow.session.exec(select(Screening)).all()
    assert screening.answers.get("quartier") == "gresilles"


async def test_4b_quartier_and_commune_in_one_answer_fill_both(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await ask_to_book(amina)
    await amina.send("Grésilles à Dijon")
    assert (await amina.next_message()).text == "C'est à quel sujet ?"  # no quartier question
    [resident] = resident_count(bot)
    assert (resident.territory_id, resident.quartier_id) == ("dijon", "gresilles")


async def test_4c_4e_the_first_message_is_not_asked_again_and_the_count_only_goes_down(
    bot: BotHarness, telegram: object
) -> None:
    sarah = await telegram.user(1004, "Sarah")
    await consent(sarah)
    await sarah.send(
        "slt jsuis toute seule avec mes 2 enfants de 3 et 7 ans, jcherche du taf depuis 1 an, jai droit a quoi"
    )
    intro = await sarah.wait_for(lambda m: not m.edited)
    assert "J'ai noté : seule, 2 enfants (3 et 7 ans), en recherche d'emploi depuis 1 an." in intro.text
    asked, counts, shown = await answer_until_results(sarah, await sarah.wait_for(is_question))
    for already_said in ("en couple", "enfants à charge", "Quelle est votre situation", "Depuis combien"):
        assert not any(already_said in text for text in asked), (already_said, "\n".join(asked))
    assert counts == sorted(counts, reverse=True) and counts[-1] == 1, counts
    assert "estimations" in shown[0].text
    with UnitOfWork(bot.engine) as uow:
        [screening] = uow.session.exec(select(Screening)).all()
    assert screening.answers["children_ages"] == [3, 7] and screening.answers["jobseeker_since_months"] == 12


async def test_4c_an_answer_that_says_more_fills_the_next_question(bot: BotHarness, telegram: object) -> None:
    karim = await telegram.user(1002, "Karim")
    await consent(karim)
    await karim.send("/droits")
    question = await karim.wait_for(is_question)
    for answer in ("Dijon", "30-49 ans", "Seul(e)", "Pas d'enfant", "Hébergé(e)"):
        await karim.press(answer, message=question)
        question = await karim.wait_for(is_question)
    assert "Quelle est votre situation" in question.text
    before = left(question)
    await karim.send("je cherche du travail depuis 1 an")
    question = await karim.wait_for(is_question)
    assert "Depuis combien" not in question.text and "France Travail" in question.text, question.text
    assert left(question) <= before - 2  # two questions answered at once


async def test_4d_a_question_in_the_middle_is_answered_then_the_form_goes_on(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await amina.send("/droits")
    question = await amina.wait_for(is_question)
    await amina.send("c'est gratuit ?")
    answer = await amina.wait_for(lambda m: not m.edited)
    assert "gratuit" in answer.text.lower(), answer.text
    again = await amina.wait_for(is_question)
    assert again.text == question.text
    await amina.press("Dijon", message=again)
    age = await amina.wait_for(is_question)
    await amina.send("pourquoi vous demandez ça ?")
    reason = await amina.wait_for(lambda m: not m.edited)
    assert "âge" in reason.text and "RSA" in reason.text, reason.text
    assert (await amina.wait_for(is_question)).text == age.text


async def test_4f_questions_right_after_the_results_are_about_them(bot: BotHarness, telegram: object) -> None:
    fatou = await telegram.user(1003, "Fatou")
    await consent(fatou)
    await fatou.send("/droits")
    _, _, shown = await answer_until_results(fatou, await fatou.wait_for(is_question))
    rights = [m.text for m in shown[1:-1]]
    assert rights
    await fatou.send("pourquoi ?")
    reply = await fatou.wait_for(lambda m: not m.edited)
    if len(rights) > 1:  # which one: the rights as buttons
        assert reply.text == "Pour quelle aide ?" and len(reply.buttons) == len(rights)
        await fatou.press(reply.buttons[0], message=reply)
        reply = await fatou.wait_for(lambda m: not m.edited)
    assert "— pourquoi ?" in reply.text
    await fatou.send("et la CSS ?")
    reply = await fatou.wait_for(lambda m: not m.edited)
    assert "Complémentaire santé solidaire" in reply.text, reply.text
    await fatou.send("comment je fais ?")
    reply = await fatou.wait_for(lambda m: not m.edited)
    assert "— comment faire ?" in reply.text or reply.text == "Pour quelle aide ?", reply.text


UNSURE = "je sais plus si je dois annuler le rendez vous ou juste arreter vos messages"


async def test_4g_an_unsure_reading_lets_the_resident_choose(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await amina.send(UNSURE)
    choice = await amina.wait_for(lambda m: not m.edited)
    assert choice.text == understanding.QUESTION, choice.text
    offered = [b for b in choice.buttons if b in understanding.CHOICES.values()]
    assert len(offered) >= 1 and "Parler à quelqu'un" in choice.buttons
    await amina.press(
        understanding.CHOICES["stop_messages"] if understanding.CHOICES["stop_messages"] in offered else offered[0],
        message=choice,
    )
    assert (await amina.wait_for(lambda m: not m.edited)).text != understanding.QUESTION
    with UnitOfWork(bot.engine) as uow:
        events = uow.session.exec(select(Event).where(Event.kind == "clarification_asked")).all()
    assert len(events) == 1
