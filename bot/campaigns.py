"""The buttons of campaign messages ("k:<delivery id>:<button>", sent by the outbox): checked against the
resident who presses, recorded (first click, Event campaign_click), then acted on through the same
paths as the resident's own menu: "Mes droits", booking, a person, stop. The rules are in
outreach/campaigns.py."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ContextTypes

from outreach import campaigns
from outreach.services.residents import ResidentView

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

NOT_YOURS = "Désolé, ce bouton n'est pas valable pour vous."
TEST_ONLY = "C'est un message de test : ce bouton ne fait rien pour l'équipe."


async def campaign_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of a campaign message: only the resident it was sent to can use it."""
    from bot.app import _close_keyboard, _resident, services_of

    services = services_of(context)
    query = update.callback_query
    parsed = campaigns.parse_callback(query.data or "")
    if parsed is None:
        await query.answer(NOT_YOURS)
        return
    delivery_id, button = parsed
    if delivery_id == 0:  # the staff member's test message
        await query.answer(TEST_ONLY)
        return
    resident = await _resident(services, update.effective_user.id)
    recorded = False
    if resident is not None and resident.consented:
        with services.uow() as uow:
            recorded = campaigns.record_click(
                uow, services.clock, delivery_id=delivery_id, button=button, resident_id=resident.id
            )
    if not recorded or resident is None:
        log.info("campaign button refused (delivery %s)", delivery_id)
        await query.answer(NOT_YOURS)
        return
    await query.answer()
    await _close_keyboard(query, campaigns.BUTTONS[button])
    chat_id = update.effective_chat.id
    async with services.gate.lock(chat_id):
        await act(services, context.bot, chat_id, resident, button)


async def act(services: Services, bot: object, chat_id: int, resident: ResidentView, button: str) -> None:
    """What a campaign button does: the resident's own menu entries, nothing duplicated."""
    from bot.app import MENU_COMMANDS, RASA_COMMANDS, converse

    if button == "screening":  # as "Mes droits" (/droits): the screening starts in Rasa
        await converse(services, bot, chat_id, resident, MENU_COMMANDS["droits"])
    elif button == "book":
        await RASA_COMMANDS["book_appointment"](services, bot, chat_id, resident, {"command": "book_appointment"})
    elif button == "talk":  # as the "Parler à quelqu'un" button of every menu
        await RASA_COMMANDS["handoff"](services, bot, chat_id, resident, {"source": "button"})
    elif button == "stop":  # as /stop: opt-out, French confirmation; pending rows dropped
        await RASA_COMMANDS["stop_messages"](services, bot, chat_id, resident, None)
