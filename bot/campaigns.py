"""The buttons of campaign messages ("k:<delivery id>:<button>", sent by the outbox; the router reads
them): checked against the resident who presses, recorded (first click, Event campaign_click), then
acted on through the same paths as the resident's own menu: "Mes droits", booking, a person, stop.
The rules are in outreach/campaigns."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot import conversation, staff
from bot.channel import Services, acknowledge, ask_consent, close_keyboard, find_resident, run, services_of
from outreach import campaigns, i18n
from outreach.i18n import N_, _
from outreach.services import booking_dialogue
from outreach.services.residents import ResidentView

log = logging.getLogger(__name__)

NOT_YOURS = N_("Désolé, ce bouton n'est pas valable pour vous.")
TEST_ONLY = i18n.staff("C'est un message de test : ce bouton ne fait rien pour l'équipe.")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, delivery_id: int, button: str) -> None:
    """A button of a campaign message: only the resident it was sent to can use it."""
    services = services_of(context)
    query = update.callback_query
    if delivery_id == 0:  # the staff member's test message
        await query.answer(TEST_ONLY)
        return
    resident = await find_resident(services, update.effective_user.id)
    recorded = False
    if resident is not None and resident.consent_outdated and not resident.consented and button != "stop":
        await acknowledge(query)  # a new version of the consent text: asked first ("stop" needs no new consent)
        await ask_consent(update, context, first_time=False)
        return
    if resident is not None and (resident.consented or resident.consent_outdated):
        with services.uow() as uow:
            recorded = campaigns.record_click(
                uow, services.clock, delivery_id=delivery_id, button=button, resident_id=resident.id
            )
    if not recorded or resident is None:
        log.info("campaign button refused (delivery %s)", delivery_id)
        await query.answer(_(NOT_YOURS))
        return
    await acknowledge(query)
    await close_keyboard(query, _(campaigns.BUTTONS[button]))
    chat_id = update.effective_chat.id
    async with services.gate.lock(chat_id):
        await act(services, context.bot, chat_id, resident, button)


async def act(services: Services, bot: object, chat_id: int, resident: ResidentView, button: str) -> None:
    """What a campaign button does: the resident's own menu entries, nothing duplicated."""
    if button == "screening":  # as "Mes droits" (/droits): the screening starts in Rasa
        await conversation.converse(services, bot, chat_id, resident, conversation.MENU_COMMANDS["droits"])
    elif button == "book":
        await run(services, bot, chat_id, resident, booking_dialogue.start)
    elif button == "talk":  # as the "Parler à quelqu'un" button of every menu
        await staff.open_case(services, bot, chat_id, resident, "button")
    elif button == "stop":  # as /stop: opt-out, French confirmation; pending rows dropped
        await conversation.stop_proactive(services, bot, chat_id, resident)
