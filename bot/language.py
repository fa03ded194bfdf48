"""The resident's language: noticed on what they write (outreach/language_id.py), confirmed with one button,
changed at any time (/langue, the menu, the consent's "🌍 Langue" button); a language the bot does not speak gets
a short answer in French and in English that offers a person.

Callback data (bot/router.py): "l:menu" (the choice), "l:<code>" (speak <code>), "l:keep" (stay in the language
of the turn), "l:person" (a person, for a message in a language the bot does not speak)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import staff
from bot.channel import (
    Services,
    acknowledge,
    ask_consent,
    close_keyboard,
    column,
    expired_button,
    find_resident,
    services_of,
)
from outreach import i18n, language_id, texts
from outreach.services import residents
from outreach.services.residents import ResidentView

MIN_WORDS_TO_SWITCH = 3  # a confirmed language is offered to change only on a clear sentence, not on "hello"


class Declined:
    """Per chat, the languages a resident said no to (in memory: asked again after a restart, at worst)."""

    def __init__(self) -> None:
        self._declined: dict[int, set[str]] = {}

    def add(self, chat_id: int, code: str) -> None:
        self._declined.setdefault(chat_id, set()).add(code)

    def __contains__(self, key: tuple[int, str]) -> bool:
        return key[1] in self._declined.get(key[0], set())


DECLINED = Declined()


def choices() -> list[tuple[str, str]]:
    return [(language.name, f"l:{code}") for code, language in i18n.LANGUAGES.items()]


async def show_choices(bot: object, chat_id: int) -> None:
    await bot.send_message(chat_id, texts.LANGUAGE_CHOOSE, reply_markup=column(choices()))  # type: ignore[attr-defined]


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/langue: the list of languages (before the consent too: the consent must be read in one's language)."""
    services = services_of(context)
    if services.gate.admit(update.effective_chat.id) == "drop":
        return
    resident = await find_resident(services, update.effective_user.id)
    if resident is None:
        i18n.set_language(update.effective_user.language_code)
    await show_choices(context.bot, update.effective_chat.id)


async def pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, choice: str
) -> tuple[ResidentView, str] | None:
    """A language button; what the resident wrote when the language was offered, to be answered now (by the
    router, in the language chosen), if anything."""
    services = services_of(context)
    query = update.callback_query
    chat_id = update.effective_chat.id
    if choice not in ("menu", "keep", "person") and choice not in i18n.LANGUAGES:
        await expired_button(update, context)
        return None
    async with services.gate.lock(chat_id):
        resident = await find_resident(services, update.effective_user.id)
        await acknowledge(query)
        if choice == "menu":
            await show_choices(context.bot, chat_id)
            return None
        if resident is None or not resident.consented:
            await _before_consent(services, update, context, choice)
            return None
        if choice == "person":
            await close_keyboard(query, texts.UNSUPPORTED_BUTTON)
            held = (services.first_words.language(chat_id, keep=False) or "").split(":")[-1]
            await staff.open_case(services, context.bot, chat_id, resident, "language", language=held or None)
            return None
        code = resident.language if choice == "keep" else choice
        if choice == "keep":
            for offered in i18n.LANGUAGES:
                if offered != code:
                    DECLINED.add(chat_id, offered)
        with services.uow() as uow:
            residents.set_language(uow, services.clock, resident.id, code)
        i18n.set_language(code)
        await close_keyboard(query, i18n.LANGUAGES[code].name)
        await context.bot.send_message(chat_id, texts.LANGUAGE_KEPT if choice == "keep" else texts.LANGUAGE_SET)
        held_words = services.first_words.take(chat_id)
        fresh = await find_resident(services, update.effective_user.id)
        return (fresh, held_words) if held_words and fresh is not None else None


async def _before_consent(services: Services, update: Update, context: ContextTypes.DEFAULT_TYPE, choice: str) -> None:
    chat_id = update.effective_chat.id
    if choice == "person":  # asked for a person in a language we do not speak: the consent first, in English
        held = services.first_words.language(chat_id) or ""
        services.first_words.set_language(chat_id, f"en:person:{held.split(':')[-1]}")
        await close_keyboard(update.callback_query, texts.UNSUPPORTED_BUTTON)
        await ask_consent(update, context, language="en")
        return
    code = choice if choice in i18n.LANGUAGES else language_of_consent(services, chat_id)
    services.first_words.set_language(chat_id, f"{code}:chosen")
    await close_keyboard(update.callback_query, i18n.LANGUAGES[code].name)
    await ask_consent(update, context, language=code)


def language_of_consent(services: Services, chat_id: int) -> str:
    held = services.first_words.language(chat_id) or ""
    return i18n.supported(held.split(":", 1)[0]) or i18n.DEFAULT


def chosen_before_consent(services: Services, chat_id: int) -> tuple[str | None, bool, str | None]:
    """(language, chosen by a button, language of a person asked for) held for a resident who just consented."""
    held = services.first_words.language(chat_id, keep=False) or ""
    parts = held.split(":")
    person = parts[2] if len(parts) == 3 and parts[1] == "person" else None
    return i18n.supported(parts[0]), len(parts) > 1 and parts[1] in ("chosen", "person"), person


def notice_before_consent(services: Services, chat_id: int, text: str) -> language_id.Guess:
    """A new resident's first words: the language to ask the consent in (held in memory), unless they chose one."""
    guess = language_id.identify(text)
    held = services.first_words.language(chat_id) or ""
    if guess.sure and guess.supported and ":" not in held:
        services.first_words.set_language(chat_id, str(guess.code))
    return guess


async def unsupported(bot: object, chat_id: int, code: str, services: Services) -> None:
    """A message in a language the bot does not speak: French, then English, and a person."""
    services.first_words.set_language(chat_id, f"fr:seen:{code}")
    text = "\n\n".join(
        (
            f"🇫🇷 {texts.french('UNSUPPORTED_LANGUAGE')}",
            f"🇬🇧 {i18n.translate(texts.french('UNSUPPORTED_LANGUAGE'), 'en')}",
        )
    )
    await bot.send_message(  # type: ignore[attr-defined]
        chat_id, text, reply_markup=column([(texts.UNSUPPORTED_BUTTON, "l:person")])
    )


async def offer(services: Services, bot: object, chat_id: int, resident: ResidentView, code: str, text: str) -> None:
    """"Continue in English?" in the language offered, the message held to be answered after the choice."""
    services.first_words.hold(chat_id, text)
    current = i18n.LANGUAGES[resident.language]
    with i18n.speaking(code):
        question = texts.LANGUAGE_OFFER
    await bot.send_message(  # type: ignore[attr-defined]
        chat_id,
        question,
        reply_markup=column([(f"✅ {i18n.LANGUAGES[code].name}", f"l:{code}"), (current.name, "l:keep")]),
    )


UNSUPPORTED_CONFIDENCE = 0.85  # below, gibberish ("blorg fnak zut") reads as German or Polish


def unsupported_language(guess: language_id.Guess, text: str) -> str | None:
    """The language of a message the bot does not speak, when it is clear (two words at least), else None."""
    if guess.sure and not guess.supported and guess.confidence >= UNSUPPORTED_CONFIDENCE and len(text.split()) >= 2:
        return guess.code
    return None


def should_offer(chat_id: int, resident: ResidentView, guess: language_id.Guess, text: str) -> bool:
    """A supported language other than the resident's, clear enough, not declined already."""
    if not guess.sure or not guess.supported or guess.code == resident.language or (chat_id, guess.code) in DECLINED:
        return False
    if resident.language_confirmed:
        return len(text.split()) >= MIN_WORDS_TO_SWITCH and guess.confidence >= 0.8
    return True
