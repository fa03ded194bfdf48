"""The one callback router: every `callback_data` the bot ever reads is parsed here, and only here.

    c:yes | c:no                          consent (bot/conversation.py)
    l:menu | l:<code> | l:keep | l:person  the resident's language (bot/language.py)
    d:export | d:erase | d:erase! | d:keep   the resident's data (/donnees, reusable buttons)
    b:<token>                             a button whose payload stays on the server (issued by
                                          channel.send_replies, redeemed once): a Rasa payload ("/intent"),
                                          or a channel verb "!verb:arg:…" (below)
    r:<action>:<appointment id>           reminder buttons (sent by the outbox)
    f:<answer>:<screening id>[:<right>]   follow-up buttons (outreach.services.followups.parse_callback)
    k:<delivery id>:<button>              campaign buttons (outreach.campaigns.parse_callback)
    s:<verb>[:<number>[:<rest>…]]         staff buttons

Channel verbs (payloads of "b:" tokens, never sent to Rasa): topic, slot, more, cancel, cancel!, keep,
change, ics, book (booking), terr, sat (a case), why, how (a screening's results).
Anything else is forged or stale: "Ce bouton n'est plus valable"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import campaigns, conversation, language, staff
from bot.channel import (
    Services,
    acknowledge,
    close_keyboard,
    expired_button,
    find_resident,
    run,
    send_replies,
    services_of,
)
from db.engine import UnitOfWork
from db.models import AppointmentChannel
from outreach import booking_texts as btexts
from outreach import campaigns as campaign_rules
from outreach import i18n, language_id, options, texts
from outreach.dates import parse_wish
from outreach.replies import Button, Reply
from outreach.screening import questions
from outreach.services import booking_dialogue as dialogue
from outreach.services import followups, privacy, residents, results_questions
from outreach.services.residents import ResidentView

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,24}")


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _topic(text: str) -> str | None:
    return text if text in btexts.TOPICS else None


async def route(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The only CallbackQueryHandler."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        # a button of an inline message (no chat) or pressed in a group: nobody's conversation, nothing recorded
        await acknowledge(update.callback_query)
        return
    data = update.callback_query.data or ""
    kind, _, rest = data.partition(":")
    if kind == "c" and rest in ("yes", "no"):
        consented = await conversation.consent_answer(update, context)
        if consented is not None:
            await _after_consent(services_of(context), context.bot, update.effective_chat.id, *consented)
    elif kind == "l":
        held = await language.pressed(update, context, rest)
        if held is not None:
            services = services_of(context)
            async with services.gate.lock(update.effective_chat.id):
                await answer(services, context.bot, update.effective_chat.id, *held, detect=False)
    elif kind == "d" and rest in privacy.CHOICES:
        await conversation.data_pressed(update, context, rest)
    elif kind == "b" and TOKEN.fullmatch(rest):
        await _token_button(update, context, rest)
    elif kind in ("r", "f"):
        await _outbox_button(update, context, data)
    elif kind == "k":
        parsed = campaign_rules.parse_callback(data)
        if parsed is None:
            await update.callback_query.answer(i18n._(campaigns.NOT_YOURS))
            return
        await campaigns.pressed(update, context, *parsed)
    elif kind == "s":
        parts = rest.split(":")
        await staff.pressed(update, context, parts[0], _number(parts[1]) if len(parts) > 1 else None, parts[2:])
    else:
        await expired_button(update, context)


async def _after_consent(services: Services, bot: object, chat_id: int, resident: ResidentView) -> None:
    """Just consented: the language chosen before (kept, confirmed), then what they asked before the consent, if
    anything ("bonjour" gets the greeting all the same); a person, if they asked for one in a language the bot
    does not speak."""
    async with services.gate.lock(chat_id):
        code, chosen, person_language = language.chosen_before_consent(services, chat_id)
        if code is not None:
            with services.uow() as uow:
                residents.set_language(uow, services.clock, resident.id, code, confirmed=chosen)
        resident = _with_language(resident, code, chosen)
        first_words = services.first_words.take(chat_id)
        if person_language:
            await staff.open_case(
                services, bot, chat_id, resident, "language", said=first_words or "", language=person_language
            )
            return
        if first_words:
            await answer(services, bot, chat_id, resident, first_words)
        else:
            await conversation.converse(services, bot, chat_id, resident, "/greet")


def _with_language(resident: ResidentView, code: str | None, chosen: bool) -> ResidentView:
    if code is None:
        return resident
    i18n.set_language(code)
    return dataclasses.replace(resident, language=code, language_confirmed=chosen or resident.language_confirmed)


async def answer(
    services: Services, bot: object, chat_id: int, resident: ResidentView, text: str, *, detect: bool = True
) -> None:
    """A consented resident's words, outside a case: a person when they ask for one; a typed button or a question
    about results; the language they write in when it is not the one spoken ("Continue in English?", or French and
    English and a person for a language the bot does not speak); then Rasa."""
    if options.asks_for_a_person(text):  # always reaches a person, whatever else the message says
        await staff.open_case(services, bot, chat_id, resident, "talk_to_human", said=text)
        return
    text = options.plain_text(text)  # a resident's words are never an intent payload
    if await typed(services, bot, chat_id, resident, text):
        return  # a button typed, or a question about the results just shown
    if detect:
        guess = language_id.identify(text)
        if other := language.unsupported_language(guess, text):
            await language.unsupported(bot, chat_id, other, services)
            return
        if language.should_offer(chat_id, resident, guess, text) and guess.code:
            await language.offer(services, bot, chat_id, resident, guess.code, text)
            return
    step = _waiting_step(services, resident) if options.is_question(text) else None
    replies = await conversation.converse(services, bot, chat_id, resident, text or "?")
    if step is not None and replies is not None and dialogue.only_answers(replies):
        await send_replies(services, bot, chat_id, resident, [step])  # the question answered, the booking goes on


def _waiting_step(services: Services, resident: ResidentView) -> Reply | None:
    with services.uow() as uow:
        shown = residents.keyboard(uow, services.clock, resident.id)
    return dialogue.waiting_step([button for token, button in shown if token])  # the channel's own buttons: not


async def _token_button(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str) -> None:
    """A server-side button: redeem its token, then its payload goes to the channel or to Rasa."""
    services = services_of(context)
    query = update.callback_query
    chat_id = update.effective_chat.id
    async with services.gate.lock(chat_id):
        resident = await find_resident(services, update.effective_user.id)
        button = None
        if resident is not None and resident.consented:
            with services.uow() as uow:
                button = residents.redeem_button(uow, services.clock, resident.id, token)
        if button is None or resident is None:
            await expired_button(update, context)
            return
        await acknowledge(query)
        await close_keyboard(query, button.title)
        await press(services, context.bot, chat_id, resident, button)


async def press(
    services: Services, bot: object, chat_id: int, resident: ResidentView, button: Button, typed: str = ""
) -> None:
    """A button's payload, pressed or typed: to the channel ("!verb"), to a person, or to Rasa. A typed answer to a
    form's question goes to the form in the resident's own words (/inform{"<slot>": "<typed>"}), so that what it
    says beyond the choice ("je cherche du travail depuis 1 an") is kept."""
    if button.payload.startswith("!"):
        await channel_verb(services, bot, chat_id, resident, button.payload[1:])
    elif button.payload.startswith(privacy.CHANNEL_PREFIX) and button.payload[2:] in privacy.CHOICES:
        await conversation.data_choice(services, bot, chat_id, resident, button.payload[2:])
    elif button.payload == conversation.TALK_TO_HUMAN:  # "Parler à quelqu'un", on every menu
        await staff.open_case(services, bot, chat_id, resident, "button")
    elif typed and (answer := options.informed(button.payload)):
        await conversation.converse(services, bot, chat_id, resident, options.inform(answer[0], typed[:300]))
    else:
        await conversation.converse(services, bot, chat_id, resident, button.payload)


def _slot_meant(
    uow: UnitOfWork, services: Services, resident: ResidentView, pairs: list[tuple[str | None, Button]], text: str
) -> Button | None:
    """At the proposed slots, a day or a time typed ("mercredi 9h"): the first slot shown in that window, spent as
    if pressed."""
    slots = [(token, b) for token, b in pairs if token and b.payload.startswith("!slot:") and b.payload.endswith(":p")]
    if not slots:
        return None
    wish = parse_wish(text, services.clock.now(), services.settings.tz)
    if wish is None:
        return None
    for token, button in slots:
        epoch = button.payload.split(":")[2]
        if epoch.isdigit() and wish.contains(dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)):
            return residents.redeem_button(uow, services.clock, resident.id, token)
    return None


async def typed(
    services: Services, bot: object, chat_id: int, resident: ResidentView, text: str, *, prefix: str = ""
) -> bool:
    """A typed message read against the buttons of the bot's latest turn, before Rasa: a choice among them
    ("caf" at "C'est à quel sujet ?", "Troyes" at "Où habitez-vous ?"), or a question about the results just shown
    ("pourquoi ?"). True when answered here. With `prefix`, only the buttons whose payload starts with it."""
    with services.uow() as uow:
        keyboard = residents.keyboard(uow, services.clock, resident.id)
        pairs = [(token, b) for token, b in keyboard if b.payload.startswith(prefix)]
        shown = [b for _, b in pairs]
        if not shown:
            return False
        button = residents.typed_choice(uow, services.clock, resident.id, text, pairs)
        if button is None and not prefix:
            button = _slot_meant(uow, services, resident, pairs, text)
    if button is not None:
        await press(services, bot, chat_id, resident, button, typed=text)
        return True
    if prefix:
        return False
    asked = {answer[0] for b in shown if (answer := options.informed(b.payload))}
    if len(asked) == 1 and questions.is_answer(slot := asked.pop(), text):  # "les grésilles" at "quelle commune ?"
        await conversation.converse(services, bot, chat_id, resident, options.inform(slot, text[:300]))
        return True
    return await run(services, bot, chat_id, resident, results_questions.answer, text=text, keyboard=shown)


async def channel_verb(services: Services, bot: object, chat_id: int, resident: ResidentView, payload: str) -> None:
    """ "verb:arg:…" of a button the channel answers itself."""
    verb, _, tail = payload.partition(":")
    args = tail.split(":") if tail else []
    n = [_number(a) for a in args]
    if verb == "topic" and args:
        await run(services, bot, chat_id, resident, dialogue.propose, topic=_topic(args[0]), wish=":".join(args[1:]))
    elif verb == "slot" and len(args) == 5 and n[0] is not None and n[1] is not None and n[3] is not None:
        await run(
            services,
            bot,
            chat_id,
            resident,
            dialogue.choose,
            permanence_id=n[0],
            starts_at=dt.datetime.fromtimestamp(n[1], tz=dt.UTC),
            topic=_topic(args[2]),
            reschedule_of=n[3],
            channel=AppointmentChannel.telephone if args[4] == "t" else AppointmentChannel.permanence,
        )
    elif verb == "more" and len(args) == 3 and n[0] is not None and n[2] is not None:
        await run(
            services,
            bot,
            chat_id,
            resident,
            dialogue.propose,
            topic=_topic(args[1]),
            offset=min(n[0], 30),
            reschedule_of=n[2],
        )
    elif verb == "book":
        await run(services, bot, chat_id, resident, dialogue.start, wish=":".join(args), another=True)
    elif verb == "cancel" and n and n[0] is not None:
        await run(services, bot, chat_id, resident, dialogue.ask_cancel, appointment_id=n[0])
    elif verb == "cancel!" and n and n[0] is not None:
        await run(services, bot, chat_id, resident, dialogue.cancel, appointment_id=n[0])
    elif verb == "keep":
        await send_replies(services, bot, chat_id, resident, dialogue.keep())
    elif verb == "change" and n and n[0] is not None:
        await run(services, bot, chat_id, resident, dialogue.reschedule, appointment_id=n[0])
    elif verb == "ics" and n and n[0] is not None:
        await run(services, bot, chat_id, resident, dialogue.calendar, appointment_id=n[0])
    elif verb == "terr" and len(args) == 2 and n[0] is not None:
        await staff.territory_chosen(services, bot, chat_id, resident, n[0], args[1])
    elif verb == "sat" and len(args) == 2 and n[0] is not None and n[1] is not None:
        await staff.satisfaction(services, bot, chat_id, resident, n[0], n[1])
    elif verb in ("why", "how") and len(args) >= 2 and n[0] is not None:
        await conversation.explain(services, bot, chat_id, resident, verb, n[0], ":".join(args[1:]))
    else:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]


async def _outbox_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: str) -> None:
    """Reminder ("r:<action>:<appointment id>") and follow-up ("f:…") buttons: checked against the resident."""
    services = services_of(context)
    query = update.callback_query
    resident = await find_resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await expired_button(update, context)
        return
    chat_id = update.effective_chat.id
    handled = False
    async with services.gate.lock(chat_id):
        if data.startswith("f:"):
            callback = followups.parse_callback(data)
            if callback is not None:
                handled = await run(services, context.bot, chat_id, resident, dialogue.followup, callback=callback)
        else:
            parts = data.split(":")
            if len(parts) == 3 and parts[2].isdigit():
                handled = await run(
                    services,
                    context.bot,
                    chat_id,
                    resident,
                    dialogue.reminder,
                    action=parts[1],
                    appointment_id=int(parts[2]),
                )
    if not handled:
        await expired_button(update, context)
        return
    await acknowledge(query)
    await close_keyboard(query, "✔️")
