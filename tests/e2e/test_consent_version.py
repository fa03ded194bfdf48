"""A new version of the consent text, end to end: a resident who accepted an older one is asked again at their next
message (the whole text once, in their language), their message is answered once they accept; refusing is the
usual refusal path and erases what was kept. Real PTB Application ⇄ Bot API emulator, real Rasa."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, Event, Resident
from outreach import i18n, texts
from outreach.services import residents
from tests.conftest import BotHarness
from tests.e2e.test_conversation import MENU, consent

pytestmark = pytest.mark.rasa

OLDER = "2000-01"
CONSENT_BUTTONS = [texts.CONSENT_ACCEPT, texts.CONSENT_REFUSE, texts.LANGUAGE_BUTTON]


def the_resident(harness: BotHarness) -> Resident:
    with UnitOfWork(harness.engine) as uow:
        return uow.session.exec(select(Resident)).one()


def accepted_long_ago(harness: BotHarness, *, version: str = OLDER) -> Resident:
    """The resident accepted the consent text of `version` (before it changed)."""
    with UnitOfWork(harness.engine) as uow:
        row = uow.session.exec(select(Resident)).one()
        row.consent_version = version
        uow.session.add(row)
        uow.commit()
        return row


async def asked_again(user: object, language: str = "fr") -> object:
    """The notice that the rules changed, then the consent text with its buttons; returns the latter."""
    with i18n.speaking(language):
        changed, text = texts.CONSENT_CHANGED, texts.CONSENT
    notice = await user.next_message()  # type: ignore[attr-defined]
    assert notice.text == changed and notice.buttons == []
    question = await user.next_message()  # type: ignore[attr-defined]
    assert question.text == text and len(question.buttons) == 3
    return question


class TestAskedAgain:
    async def test_the_next_message_gets_the_new_text_then_its_answer(self, bot: BotHarness, telegram: object) -> None:
        amina = await telegram.user(1001, "Amina")
        await consent(amina)
        before = accepted_long_ago(bot)
        await amina.send("c koi le rsa exactement")
        question = await asked_again(amina)
        assert question.buttons == CONSENT_BUTTONS
        assert the_resident(bot).consent_asked_version == texts.CONSENT_VERSION
        await amina.press(texts.CONSENT_ACCEPT, message=question)
        answer = await amina.wait_for(lambda m: not m.edited)
        assert answer.text.startswith("Le RSA")  # the message held while asked goes on as usual
        after = the_resident(bot)
        assert (after.id, after.public_id, after.first_name) == (before.id, before.public_id, "Amina")
        assert (after.consent_version, after.consent_asked_version) == (texts.CONSENT_VERSION, None)
        with UnitOfWork(bot.engine) as uow:
            assert [e.kind for e in uow.session.exec(select(Event)).all()].count("resident_reached") == 1
        await amina.send("bjr")  # up to date: never asked again
        greeting = await amina.next_message()
        assert greeting.buttons == MENU

    async def test_the_whole_text_comes_once_then_a_short_reminder(self, bot: BotHarness, telegram: object) -> None:
        amina = await telegram.user(1001, "Amina")
        await consent(amina)
        accepted_long_ago(bot)
        await amina.send("bonjour")
        await asked_again(amina)
        await amina.send("allo ?")
        reminder = await amina.next_message()
        assert reminder.text == texts.CONSENT_NEEDED and reminder.buttons == CONSENT_BUTTONS
        await amina.send("/start")  # asks to start again: the whole text again
        question = await asked_again(amina)
        await amina.press(texts.CONSENT_ACCEPT, message=question)
        assert (await amina.wait_for(lambda m: not m.edited)).buttons == MENU

    async def test_asked_in_their_own_language_which_stays(self, bot: BotHarness, telegram: object) -> None:
        leila = await telegram.user(1005, "Leïla", language_code="ar")
        await consent(leila, language="ar")
        accepted_long_ago(bot)
        await leila.send("bonjour je voudrais savoir quelles aides je peux avoir")  # written in French
        question = await asked_again(leila, "ar")
        with i18n.speaking("ar"):
            accept = texts.CONSENT_ACCEPT
        await leila.press(accept, message=question)
        await leila.wait_for(lambda m: not m.edited)
        assert the_resident(bot).language == "ar"  # not switched by a guess made while she was asked

    async def test_a_button_pressed_meanwhile_asks_first_and_works_after(
        self, bot: BotHarness, telegram: object
    ) -> None:
        amina = await telegram.user(1001, "Amina")
        welcome = await consent(amina)
        accepted_long_ago(bot)
        await amina.press("Mes droits", message=welcome)
        question = await asked_again(amina)
        with UnitOfWork(bot.engine) as uow:  # the button was not spent
            assert residents.keyboard(uow, bot.services.clock, the_resident(bot).id or 0)
        await amina.press(texts.CONSENT_ACCEPT, message=question)
        again = await amina.wait_for(lambda m: not m.edited)
        assert again.buttons == MENU  # nothing was held: the welcome
        await amina.press("Mes droits", message=again)
        await amina.wait_for(lambda m: not m.edited and m.text.startswith("Encore "))

    async def test_the_data_buttons_need_no_new_consent(self, bot: BotHarness, telegram: object) -> None:
        amina = await telegram.user(1001, "Amina")
        await consent(amina)
        await amina.send("/donnees")
        summary = await amina.next_message()
        accepted_long_ago(bot)
        await amina.press(texts.DATA_EXPORT, message=summary)
        document = await amina.wait_for(lambda m: m.document is not None)
        exported = json.loads(await telegram.file_bytes(document.document["file_id"]))
        assert exported["accord"]["version"] == OLDER and exported["acces_de_l_equipe"] == []


class TestRefused:
    async def test_refusing_the_new_text_erases_everything_but_the_refusal(
        self, bot: BotHarness, telegram: object
    ) -> None:
        amina = await telegram.user(1001, "Amina")
        await consent(amina)
        with UnitOfWork(bot.engine) as uow:
            view = residents.find(uow, bot.services.clock, 1001)
            assert view is not None
            residents.set_place(uow, view.id, commune_name="Dijon", quartier_id="gresilles")
        before = accepted_long_ago(bot)
        await amina.send("bonjour")
        question = await asked_again(amina)
        await amina.press(texts.CONSENT_REFUSE, message=question)
        assert (await amina.wait_for(lambda m: not m.edited)).text == texts.CONSENT_REFUSED
        after = the_resident(bot)
        assert after.public_id != before.public_id and after.consent_refused_at is not None
        assert (after.first_name, after.quartier_id, after.consent_at, after.consent_version) == (None,) * 4
        with UnitOfWork(bot.engine) as uow:
            [erased] = uow.session.exec(select(AuditLog).where(AuditLog.action == "erase")).all()
        assert erased.subject == f"resident:{before.public_id}"
        await amina.send("bonjour")  # the usual refusal path from now on
        reminder = await amina.next_message()
        assert reminder.text == texts.REFUSED_REMINDER and texts.CONSENT_ACCEPT in reminder.buttons
