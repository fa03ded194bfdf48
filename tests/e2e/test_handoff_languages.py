"""A person who speaks it (issue 14): a case from a resident whose language is not French goes first to the
available adultes-relais of the territory who speak it, the card shows the language; when nobody does, the card
says "interprète nécessaire" and the resident is told honestly how someone will answer."""

from __future__ import annotations

import pytest

from outreach import i18n, texts
from tests.e2e.test_handoff import Team, card_of, team  # noqa: F401 - the fixture

pytestmark = pytest.mark.rasa


def said(name: str, code: str) -> str:
    with i18n.speaking(code):
        return str(getattr(texts, name))


@pytest.mark.parametrize(("code", "name"), [("ar", "arabe"), ("en", "anglais")])
async def test_a_case_goes_to_the_relay_who_speaks_the_residents_language(
    team: Team, code: str, name: str  # noqa: F811
) -> None:
    samia = await team.member(2001, "Samia", "dijon", languages=[code])
    paul = await team.member(2002, "Paul", "dijon")
    samir = await team.resident(1001, "Samir", language=code)
    await samir.send("/parler")
    opened = await samir.wait_for(lambda m: not m.edited)
    assert opened.text == said("HANDOFF_OPENED", code)
    card = await card_of(samia)
    assert f"🌍 Langue : {name}" in card.text and "interprète" not in card.text
    assert await paul.drain() == []  # first to the one who speaks it
    await samia.press(texts.CARD_TAKE, message=card)
    claimed = await samir.wait_for(lambda m: not m.edited and "Samia" in m.text)
    with i18n.speaking(code):
        assert claimed.text == texts.HANDOFF_CLAIMED.format(prenom="Samia")
    thanks = "شكرا" if code == "ar" else "thank you"
    await samir.send(thanks)
    await samia.wait_for(lambda m: not m.edited and m.text.endswith(thanks))  # as written, to the relay
    [case] = team.cases()
    assert case.language == code


async def test_nobody_speaks_turkish_the_card_asks_for_an_interpreter_and_the_resident_is_told(
    team: Team,  # noqa: F811
) -> None:
    paul = await team.member(2002, "Paul", "dijon")
    ayse = await team.resident(1002, "Ayşe", language="tr")
    await ayse.send("/parler")
    first = await ayse.wait_for(lambda m: not m.edited)
    assert first.text == said("HANDOFF_OPENED", "tr")
    honest = await ayse.wait_for(lambda m: not m.edited and m.message_id != first.message_id)
    with i18n.speaking("tr"):
        assert honest.text == texts.HANDOFF_NO_SPEAKER.format(langue="Türkçe")
    card = await card_of(paul)
    assert "🌍 Langue : turc — interprète nécessaire" in card.text
