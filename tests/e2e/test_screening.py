"""The screening, end to end: real PTB Application ⇄ Bot API emulator, real Rasa, real action server,
OpenFisca-France and the local catalogue; results shown and stored."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import RightStatus, Screening, ScreeningRight
from sandbox.drills import SCREENING
from tests.conftest import BotHarness
from tests.e2e.test_conversation import consent

pytestmark = pytest.mark.rasa


BUTTONS_ONLY = SCREENING  # the titles pressed, one per question: a young job seeker, alone, housed by someone


def stored(harness: BotHarness) -> tuple[list[Screening], list[ScreeningRight]]:
    with UnitOfWork(harness.engine) as uow:
        return list(uow.session.exec(select(Screening)).all()), list(uow.session.exec(select(ScreeningRight)).all())


async def next_question(user: object, number: int) -> object:
    """The `number`-th question: "Encore N questions au plus." (or "Dernière question :") before its text, N never
    growing from one question to the next."""
    question = await user.wait_for(lambda m: not m.edited and m.text.startswith(("Encore ", "Dernière")), timeout=30)
    found = re.match(r"Encore (\d+) questions au plus\.\n", question.text)
    count = int(found.group(1)) if found else 1
    counts = user.__dict__.setdefault("question_counts", {})
    assert count <= counts.get(number - 1, count), (counts, question.text)
    counts[number] = count
    assert "Je ne sais pas" in question.buttons and "Annuler" in question.buttons
    return question


async def results_of(user: object) -> list[object]:
    """The messages after the last answer, up to the closing one (with the next-step buttons)."""
    shown = []
    while True:
        message = await user.wait_for(lambda m: not m.edited, timeout=60)
        shown.append(message)
        if "Refaire le point" in message.buttons:
            return shown


async def test_screening_with_buttons_only_shows_stores_and_explains(bot: BotHarness, telegram: object) -> None:
    fatou = await telegram.user(1003, "Fatou")
    welcome = await consent(fatou)
    await fatou.press("Mes droits", message=welcome)
    intro = await fatou.wait_for(lambda m: not m.edited)
    assert "questions" in intro.text
    for number, button in enumerate(BUTTONS_ONLY, start=1):
        question = await next_question(fatou, number)
        await fatou.press(button, message=question)
    shown = await results_of(fatou)
    assert "estimations" in shown[0].text
    lines = [m.text for m in shown[1:-1]]
    assert any("Mission locale" in line or "CEJ" in line for line in lines), lines
    assert all(m.buttons == ["Pourquoi ?", "Comment faire ?"] for m in shown[1:-1])
    await fatou.press("Pourquoi ?", message=shown[1])
    why = await fatou.wait_for(lambda m: not m.edited and "pourquoi" in m.text)
    assert len(why.text) <= 400
    screenings, rights = stored(bot)
    assert len(screenings) == 1 and screenings[0].answers["age"] == 21
    assert {r.status for r in rights} == {RightStatus.to_claim}
    assert len(rights) == len(lines)


async def test_screening_with_typed_answers_without_accents(bot: BotHarness, telegram: object) -> None:
    karim = await telegram.user(1002, "Karim")
    await consent(karim)
    await karim.send("jai droit a quelles aides ?")
    typed = [
        "troyes",
        "j ai 40 ans",
        "seul",
        "2 enfants de 4 et 9 ans",
        "je suis en hlm",
        "380",
        "je cherche du travail",
        "14 mois",
        "jsp",
        "non",
        "oui",
    ]
    for number, text in enumerate(typed, start=1):
        await next_question(karim, number)
        await karim.send(text)
    # a child with a disability (AEEH), asked because there are children under 20: a button this time (13
    # messages typed within 10 s would meet the flood gate, which no resident typing by hand reaches)
    last = await next_question(karim, len(typed) + 1)
    await karim.press("Non", message=last)
    shown = await results_of(karim)
    lines = " ".join(m.text for m in shown[1:-1])
    assert "€ par mois" in lines  # national rights with amounts (RSA, aides au logement, family benefits…)
    assert "Dijon" not in lines  # a Troyes resident gets Troyes services
    screenings, _ = stored(bot)
    assert screenings[0].answers["children_ages"] == [4, 9] and screenings[0].missing  # "jsp" to the amount


async def test_an_answer_not_understood_is_asked_again_with_an_example(bot: BotHarness, telegram: object) -> None:
    amina = await telegram.user(1001, "Amina")
    await consent(amina)
    await amina.send("/droits")
    question = await next_question(amina, 1)
    await amina.press("Dijon", message=question)
    await next_question(amina, 2)
    await amina.send("vieille")
    again = await amina.wait_for(lambda m: not m.edited and "Par exemple" in m.text)
    assert "34" in again.text
    await next_question(amina, 2)
