"""A campaign message to a resident who accepted an older version of the consent text: its buttons ask the new
consent first, except "Ne plus recevoir de messages", which needs none (objection). Real PTB Application ⇄ Bot
API emulator; the campaign leaves through the outbox."""

from __future__ import annotations

from db.engine import UnitOfWork
from db.models import Resident
from outreach import texts
from tests.campaigns.conftest import resident
from tests.campaigns.test_buttons import STOP, Chat, campaign_message, chat  # noqa: F401 - `chat`: the fixture

OLDER = "2000-01"


async def test_buttons_ask_the_new_consent_first_but_stop_needs_none(chat: Chat) -> None:  # noqa: F811
    amina_id = resident(chat.engine, chat.clock, first_name="Amina", chat_id=3301, consent_version=OLDER)
    amina = await chat.telegram.user(3301, "Amina")
    await chat.campaign(text="Bonjour {prenom}, un atelier CAF jeudi.", buttons=["book", "stop"])
    message = await campaign_message(amina)
    await amina.press("Prendre rendez-vous", message=message)
    assert (await amina.wait_for(lambda m: not m.edited)).text == texts.CONSENT_CHANGED
    question = await amina.wait_for(lambda m: not m.edited)
    assert question.text == texts.CONSENT and texts.CONSENT_ACCEPT in question.buttons
    await amina.press(STOP, message=message)
    assert (await amina.wait_for(lambda m: not m.edited)).text == texts.STOPPED
    with UnitOfWork(chat.engine) as uow:
        row = uow.session.get(Resident, amina_id)
        assert row is not None and row.opted_out_at is not None and row.consent_version == OLDER
