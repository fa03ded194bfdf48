"""The resident's conversation: one turn with Rasa (whose actions carry out the use cases of
outreach/services and say what to show), the consent button, and the buttons the channel answers
itself: a screening's "!why" / "!how", "!data:…" of /donnees. Telegram in and out only."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.channel import (
    Services,
    acknowledge,
    close_keyboard,
    expired_button,
    find_resident,
    language_before_consent,
    language_chosen,
    run,
    send_replies,
    services_of,
)
from outreach import i18n, texts
from outreach.rasa import RasaUnavailable
from outreach.replies import Reply
from outreach.screening import present
from outreach.services import privacy, residents, screenings
from outreach.services.residents import ResidentView

log = logging.getLogger(__name__)

TALK_TO_HUMAN = "/talk_to_human"
SILENT_WAIT = 1.5  # seconds a turn waits for a restarting Rasa before telling the resident
MENU_COMMANDS = {

    "droits": "/check_rights",
    "rendezvous": "/book_appointment",
    "parler": "/talk_to_human",
    "aide": "/help",
}


async def converse(
    services: Services, bot: object, chat_id: int, resident: ResidentView, text: str
) -> list[Reply] | None:
    """One turn with Rasa; the replies shown (None: Rasa did not answer). If Rasa is down or still loading: wait
    for it a moment in silence, then say so and answer as soon as it is ready (the chat's next messages wait behind
    this one, so they keep their order)."""
    metadata = {"channel": "telegram", "language": resident.language}
    try:
        replies = await services.rasa.send(resident.public_id, text, metadata)
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable (%s); resident %s waits", exc, resident.public_id[:8])
        replies = await _when_rasa_is_back(services, bot, chat_id, resident.public_id, text, metadata)
        if replies is None:
            log.error("Rasa still unavailable after %.0f s", services.rasa_patience)
            await bot.send_message(chat_id, texts.STILL_DOWN)  # type: ignore[attr-defined]
            return None
    if not replies:
        replies = [Reply(texts.NOT_UNDERSTOOD)]
    await send_replies(services, bot, chat_id, resident, replies)
    return replies




async def _when_rasa_is_back(
    services: Services, bot: object, chat_id: int, sender: str, text: str, metadata: dict[str, str]
) -> list[Reply] | None:
    """The turn's replies once Rasa answers, None after `services.rasa_patience`. "Un instant…" is said only if
    Rasa is not back within SILENT_WAIT (a restart that quick goes unnoticed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + services.rasa_patience
    told, failures = False, 0
    while (remaining := deadline - loop.time()) > 0:
        if await services.rasa.wait_ready(min(remaining, SILENT_WAIT) if not told else remaining):
            try:
                return await services.rasa.send(sender, text, metadata)
            except RasaUnavailable:  # ready, yet the turn failed (an action server restarting…): a short pause
                failures += 1
                await asyncio.sleep(min(0.5 * 2**failures, 5.0, max(deadline - loop.time(), 0)))
        if not told:
            told = True
            await bot.send_message(chat_id, texts.ONE_MOMENT)  # type: ignore[attr-defined]
    return None


async def consent_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[ResidentView] | None:
    """The resident pressed Accepter or Refuser; the resident who just accepted (the router answers what they
    asked before), or None. Also the answer of a resident asked again (a new version of the consent text): accepted,
    they go on in their language; refused, everything about them is erased (residents.record_consent)."""
    services = services_of(context)
    query = update.callback_query
    await acknowledge(query)
    accepted = query.data == "c:yes"
    user, chat = update.effective_user, update.effective_chat
    async with services.gate.lock(chat.id):
        with services.uow() as uow:
            before = residents.find(uow, services.clock, user.id, touch=False)
            if before is not None:
                i18n.set_language(language_chosen(services, chat.id) or before.language)
            else:
                i18n.set_language(language_before_consent(services, update))
            if accepted and before is not None and before.consented:
                await close_keyboard(query, texts.CONSENT_ACCEPT)
                await context.bot.send_message(chat.id, texts.CONSENT_ALREADY)
                return None
            had_consented = before is not None and (before.consented or before.consent_outdated)
            if had_consented and language_chosen(services, chat.id) is None:
                services.first_words.language(chat.id, keep=False)  # their language stays, not a guess from words
            resident = residents.record_consent(
                uow,
                services.clock,
                telegram_user_id=user.id,
                chat_id=chat.id,
                accepted=accepted,
                first_name=user.first_name,
                language=i18n.current(),
            )
        await close_keyboard(query, texts.CONSENT_ACCEPT if accepted else texts.CONSENT_REFUSE)
        if not accepted:
            if had_consented and before is not None:  # their data was erased: the conversation Rasa holds too
                await services.rasa.forget(before.public_id)
            services.first_words.take(chat.id)
            services.first_words.language(chat.id, keep=False)
            await context.bot.send_message(chat.id, texts.CONSENT_REFUSED)
            return None
    return (resident,)


async def show_my_data(
    services: Services, bot: object, chat_id: int, resident: ResidentView, _data: dict | None = None
) -> None:
    """What is stored, with export and erase buttons."""
    await run(services, bot, chat_id, resident, privacy.summary)


async def stop_proactive(
    services: Services, bot: object, chat_id: int, resident: ResidentView, _data: dict | None = None
) -> None:
    """No more reminders or campaigns for this resident."""
    await run(services, bot, chat_id, resident, privacy.stop)


async def explain(
    services: Services, bot: object, chat_id: int, resident: ResidentView, verb: str, screening_id: int, right_id: str
) -> None:
    """ "!why:<screening>:<right>" and "!how:…" after a screening's results."""
    with services.uow() as uow:
        right = screenings.right_of(uow, resident.id, screening_id, right_id)
    if right is None:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]
        return
    reply = present.why(right) if verb == "why" else present.how(right)
    await send_replies(services, bot, chat_id, resident, [reply])


# Channel commands that Rasa asks for with a custom payload {"command": ...}: operations on the
# resident's record, which the channel owns (privacy controls, place of residence, screening results).
async def data_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, choice: str) -> None:
    """Buttons of /donnees ("d:<choice>"): export, erase (with confirmation), keep."""
    services = services_of(context)
    query = update.callback_query
    chat_id = update.effective_chat.id
    resident = await find_resident(services, update.effective_user.id)
    if resident is None or not (resident.consented or resident.consent_outdated):  # rights need no new consent
        await expired_button(update, context)
        return
    await acknowledge(query)
    titles = {"erase": texts.DATA_ERASE, "erase!": texts.DATA_ERASE_YES, "keep": texts.DATA_ERASE_NO}
    if choice in titles:
        await close_keyboard(query, titles[choice])
    if choice == "erase!":  # not while a message of this chat is being answered
        async with services.gate.lock(chat_id):
            await data_choice(services, context.bot, chat_id, resident, choice)
    else:
        await data_choice(services, context.bot, chat_id, resident, choice)


async def data_choice(services: Services, bot: object, chat_id: int, resident: ResidentView, choice: str) -> None:
    """A choice of /donnees, pressed or typed ("tout effacer", then "oui"): export, erase (confirmed), keep."""
    if choice == "export":
        with services.uow() as uow:
            content = residents.export_json(uow, services.clock, resident.id)
        await bot.send_document(  # type: ignore[attr-defined]
            chat_id, content, filename="mes-donnees.json", caption=texts.DATA_EXPORT_CAPTION
        )
    elif choice == "erase":
        await send_replies(services, bot, chat_id, resident, privacy.confirm_erase())
    elif choice == "erase!":  # the caller holds the chat's lock
        with services.uow() as uow:
            public_id = residents.erase(uow, services.clock, resident.id)
        if public_id:
            await services.rasa.forget(public_id)
        await bot.send_message(chat_id, texts.DATA_ERASED)  # type: ignore[attr-defined]
    else:
        await bot.send_message(chat_id, texts.DATA_KEPT)  # type: ignore[attr-defined]
