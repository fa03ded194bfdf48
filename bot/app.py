"""The PTB Application: wiring, resident handlers, rendering of replies."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import booking, campaigns, staff, texts
from db.engine import UnitOfWork
from outreach import screening
from outreach.clock import Clock
from outreach.config import Settings
from outreach.rasa import RasaClient, RasaUnavailable
from outreach.replies import Reply, split_text
from outreach.screening import present, questions
from outreach.screening.model import Profile
from outreach.services import followups, handoffs, residents, screenings
from outreach.services import staff as staff_service
from outreach.services.residents import ResidentView

log = logging.getLogger(__name__)

NLU_MAX_CHARS = 1000  # longer messages: the end is kept (the request usually comes last)
TALK_TO_HUMAN = "/talk_to_human"
MENU_COMMANDS = {
    "droits": "/check_rights",
    "rendezvous": "/book_appointment",
    "parler": "/talk_to_human",
    "aide": "/help",
}


class ChatGate:
    """Per-chat ordering (one message at a time) and flood control (sliding window)."""

    def __init__(self, max_messages: int = 12, window_seconds: float = 10.0) -> None:
        self.max_messages = max_messages
        self.window = window_seconds
        self._locks: dict[int, asyncio.Lock] = {}
        self._recent: dict[int, collections.deque[float]] = {}
        self._warned: dict[int, float] = {}

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def admit(self, chat_id: int) -> str:
        """'ok', 'warn' (first message over the limit) or 'drop'."""
        now = time.monotonic()
        recent = self._recent.setdefault(chat_id, collections.deque())
        while recent and now - recent[0] > self.window:
            recent.popleft()
        recent.append(now)
        if len(recent) <= self.max_messages:
            return "ok"
        if now - self._warned.get(chat_id, -1e9) > self.window:
            self._warned[chat_id] = now
            return "warn"
        return "drop"


@dataclass
class Services:
    """Everything handlers need; built once by the composition root."""

    settings: Settings
    engine: Engine
    clock: Clock
    rasa: RasaClient
    rasa_retry_delays: Sequence[float] = (1, 2, 3, 5, 8, 13, 21)
    gate: ChatGate = field(default_factory=ChatGate)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


# ---------------------------------------------------------------- rendering


def keyboard(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=data)] for title, data in rows])


CONSENT_KEYBOARD = keyboard([(texts.CONSENT_ACCEPT, "c:yes"), (texts.CONSENT_REFUSE, "c:no")])


async def send_replies(
    services: Services, bot: object, chat_id: int, resident: ResidentView, replies: list[Reply]
) -> None:
    """Render channel-neutral replies: text split at 4096, Rasa buttons behind server-side tokens."""
    for reply in replies:
        command = RASA_COMMANDS.get(str(reply.custom.get("command", "")))
        if command is not None:
            await command(services, bot, chat_id, resident, reply.custom)
            continue
        if not reply.text:
            continue
        markup = None
        if reply.buttons:
            with services.uow() as uow:
                tokens = residents.issue_buttons(uow, services.clock, resident.id, reply.buttons)
            markup = keyboard([(b.title, f"b:{t}") for b, t in zip(reply.buttons, tokens, strict=True)])
        chunks = split_text(reply.text) or ["…"]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await bot.send_message(chat_id, chunk, reply_markup=markup if last else None)  # type: ignore[attr-defined]
        if reply.document is not None:
            await bot.send_document(  # type: ignore[attr-defined]
                chat_id, reply.document.content, filename=reply.document.filename
            )


async def converse(services: Services, bot: object, chat_id: int, resident: ResidentView, text: str) -> None:
    """One turn with Rasa. If Rasa is down: say so at once, keep retrying, answer when it is back."""
    metadata = {"channel": "telegram"}
    try:
        replies = await services.rasa.send(resident.public_id, text, metadata)
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable (%s); resident %s told to wait", exc, resident.public_id[:8])
        await bot.send_message(chat_id, texts.ONE_MOMENT)  # type: ignore[attr-defined]
        replies = None
        for delay in services.rasa_retry_delays:
            await asyncio.sleep(delay)
            try:
                replies = await services.rasa.send(resident.public_id, text, metadata)
                break
            except RasaUnavailable:
                continue
        if replies is None:
            log.error("Rasa still unavailable after retries")
            await bot.send_message(chat_id, texts.STILL_DOWN)  # type: ignore[attr-defined]
            return
    if not replies:
        replies = [Reply(texts.NOT_UNDERSTOOD)]
    await send_replies(services, bot, chat_id, resident, replies)


# ---------------------------------------------------------------- handlers


async def _resident(services: Services, user_id: int) -> ResidentView | None:
    with services.uow() as uow:
        return residents.find(uow, services.clock, user_id)


def resident_view(services: Services, resident_id: int) -> ResidentView | None:
    with services.uow() as uow:
        return residents.get(uow, resident_id)


async def _in_case(services: Services, bot: object, update: Update, resident: ResidentView) -> bool:
    """While a case is open, the resident talks with a person: the message is relayed, Rasa stays out."""
    with services.uow() as uow:
        case = handoffs.open_for_resident(uow, resident.id)
    if case is None:
        return False
    message = update.effective_message
    if message is None:
        return True
    if message.text and message.text.startswith("/") and not message.text.startswith("/fin"):
        await bot.send_message(message.chat_id, texts.HANDOFF_ALREADY)  # type: ignore[attr-defined]
        return True
    if message.text and message.text.startswith("/fin"):
        await staff.end_by_resident(services, bot, message.chat_id, resident, case)
        return True
    await staff.resident_in_case(services, bot, message, resident, case)
    return True


async def ask_consent(update: Update, context: ContextTypes.DEFAULT_TYPE, *, first_time: bool = True) -> None:
    """Show the consent question with its two buttons."""
    text = texts.CONSENT if first_time else texts.CONSENT_NEEDED
    await update.effective_message.reply_text(text, reply_markup=CONSENT_KEYBOARD)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: consent first, then the assistant's welcome."""
    services = services_of(context)
    user, chat = update.effective_user, update.effective_chat
    if context.args and context.args[0].startswith(staff_service.CODE_PREFIX):
        await staff.onboard(update, context, context.args[0])
        return
    async with services.gate.lock(chat.id):
        resident = await _resident(services, user.id)
        if resident is None or not resident.consented:
            await ask_consent(update, context)
            return
        if await _in_case(services, context.bot, update, resident):
            return
        await converse(services, context.bot, chat.id, resident, "/greet")


async def consent_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The resident pressed Accepter or Refuser."""
    services = services_of(context)
    query = update.callback_query
    await query.answer()
    accepted = query.data == "c:yes"
    user, chat = update.effective_user, update.effective_chat
    async with services.gate.lock(chat.id):
        with services.uow() as uow:
            before = residents.find(uow, services.clock, user.id, touch=False)
            if accepted and before is not None and before.consented:
                await _close_keyboard(query, texts.CONSENT_ACCEPT)
                await context.bot.send_message(chat.id, texts.CONSENT_ALREADY)
                return
            resident = residents.record_consent(
                uow,
                services.clock,
                telegram_user_id=user.id,
                chat_id=chat.id,
                accepted=accepted,
                first_name=user.first_name,
                language=user.language_code,
            )
        await _close_keyboard(query, texts.CONSENT_ACCEPT if accepted else texts.CONSENT_REFUSE)
        if not accepted:
            await context.bot.send_message(chat.id, texts.CONSENT_REFUSED)
            return
        await converse(services, context.bot, chat.id, resident, "/greet")


async def _close_keyboard(query: object, choice: str) -> None:
    """Remove the buttons of a pressed message and show the choice made."""
    message = query.message  # type: ignore[attr-defined]
    try:
        if message is not None and getattr(message, "text", None):
            await query.edit_message_text(f"{message.text}\n\n👉 {choice}")  # type: ignore[attr-defined]
        else:
            await query.edit_message_reply_markup(None)  # type: ignore[attr-defined]
    except BadRequest:
        pass  # already edited, or too old to edit: the answer below still goes out


async def button_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Rasa button: redeem its token and send its payload to Rasa."""
    services = services_of(context)
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    token = (query.data or "")[2:]
    async with services.gate.lock(chat.id):
        resident = await _resident(services, user.id)
        button = None
        if resident is not None and resident.consented:
            with services.uow() as uow:
                button = residents.redeem_button(uow, services.clock, resident.id, token)
        if button is None:
            await expired_button(update, context)
            return
        await query.answer()
        await _close_keyboard(query, button.title)
        if button.payload.startswith("!"):
            await channel_button(services, context.bot, chat.id, resident, button.payload)
            return
        if button.payload == TALK_TO_HUMAN:  # "Parler à quelqu'un", on every menu
            await staff.open_case(services, context.bot, chat.id, resident, "button")
            return
        await converse(services, context.bot, chat.id, resident, button.payload)


async def expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unknown, forged, spent or expired button data."""
    query = update.callback_query
    await query.answer(texts.BUTTON_EXPIRED_ALERT)
    with contextlib.suppress(BadRequest):
        if query.message is not None and getattr(query.message, "reply_markup", None):
            await query.edit_message_reply_markup(None)
    await context.bot.send_message(update.effective_chat.id, texts.BUTTON_EXPIRED)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text from a resident: consent gate, flood gate, then Rasa."""
    services = services_of(context)
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    admitted = services.gate.admit(chat.id)
    if admitted != "ok":
        if admitted == "warn":
            await message.reply_text(texts.FLOOD)
        return
    text = message.text or ""
    if text.startswith("/"):  # an unknown command: read it as words
        text = text[1:].split("@", 1)[0].replace("_", " ")
    async with services.gate.lock(chat.id):
        resident = await _resident(services, user.id)
        if resident is None or not resident.consented:
            if resident is not None and resident.refused:
                await message.reply_text(texts.REFUSED_REMINDER, reply_markup=CONSENT_KEYBOARD)
            else:
                await ask_consent(update, context, first_time=resident is None)
            return
        if await _in_case(services, context.bot, update, resident):
            return
        if len(text) > NLU_MAX_CHARS:
            cut = text[-NLU_MAX_CHARS:]
            text = cut[cut.find(" ") + 1 :] if " " in cut else cut
            await message.reply_text(texts.LONG_MESSAGE)
        await converse(services, context.bot, chat.id, resident, text.strip() or "?")


def menu_command(payload: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], object]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A menu entry: the same as saying it."""
        services = services_of(context)
        chat = update.effective_chat
        async with services.gate.lock(chat.id):
            resident = await _resident(services, update.effective_user.id)
            if resident is None or not resident.consented:
                await ask_consent(update, context, first_time=resident is None)
                return
            if await _in_case(services, context.bot, update, resident):
                return
            if payload == TALK_TO_HUMAN:
                await staff.open_case(services, context.bot, chat.id, resident, "button")
                return
            await converse(services, context.bot, chat.id, resident, payload)

    return handle


async def show_my_data(
    services: Services, bot: object, chat_id: int, resident: ResidentView, _data: dict | None = None
) -> None:
    """What is stored, with export and erase buttons."""
    with services.uow() as uow:
        data = residents.export(uow, services.clock, resident.id)
    agreed = data["accord"]["donne_le"]
    pending = sum(1 for m in data["messages_programmes"] if m["statut"] == "pending")
    summary = texts.DATA_SUMMARY.format(
        prenom=data["prenom"] or texts.NOT_SET,
        quartier=data["quartier"] or texts.NOT_SET,
        accord=_french_date(agreed) if agreed else texts.NOT_SET,
        rappels="arrêtés" if data["ne_plus_recevoir_de_messages_depuis"] else f"{pending} prévu(s)",
    )
    await bot.send_message(  # type: ignore[attr-defined]
        chat_id, summary, reply_markup=keyboard([(texts.DATA_EXPORT, "d:export"), (texts.DATA_ERASE, "d:erase")])
    )


async def stop_proactive(
    services: Services, bot: object, chat_id: int, resident: ResidentView, _data: dict | None = None
) -> None:
    """No more reminders or campaigns for this resident."""
    with services.uow() as uow:
        residents.opt_out(uow, services.clock, resident.id)
    await bot.send_message(chat_id, texts.STOPPED)  # type: ignore[attr-defined]


async def remember_place(
    services: Services, bot: object, chat_id: int, resident: ResidentView, data: dict | None = None
) -> None:
    """The commune and quartier the resident gave in the form (silent: Rasa says what follows)."""
    data = data or {}
    with services.uow() as uow:
        residents.set_place(
            uow, resident.id, commune_name=str(data.get("commune") or ""), quartier_id=data.get("quartier")
        )


_SCREENING_LOCK = asyncio.Lock()  # one OpenFisca computation at a time (CPU-bound, in a worker thread)


async def warm_screening(today: dt.date) -> None:
    """OpenFisca's first simulation, at start-up (in a worker thread, under the same lock as screenings)."""
    from outreach.screening import national

    async with _SCREENING_LOCK:
        await asyncio.to_thread(national.warm_up, today)


async def run_screening(
    services: Services, bot: object, chat_id: int, resident: ResidentView, data: dict | None = None
) -> None:
    """The screening form is complete: compute, store and show the results."""
    answers = dict((data or {}).get("answers") or {})
    try:
        profile = Profile.model_validate(questions.profile_data(answers))
    except (ValidationError, ValueError, TypeError):
        log.warning("screening answers could not be read (resident %s)", resident.public_id[:8])
        await bot.send_message(chat_id, texts.TECHNICAL_ERROR)  # type: ignore[attr-defined]
        return
    today = services.clock.now().astimezone(services.settings.tz).date()
    async with _SCREENING_LOCK:
        result = await asyncio.to_thread(screening.screen, profile, today)
    complex_case = screening.is_complex(profile, result)
    with services.uow() as uow:
        if answers.get("commune") and answers.get("commune") not in ("autre", "inconnu"):
            residents.set_place(
                uow, resident.id, commune_name=str(answers["commune"]), quartier_id=answers.get("quartier")
            )
        screening_id = screenings.record(uow, services.clock, resident.id, profile, result, complex_case=complex_case)
        followups.schedule_followups(uow, services.clock, screening_id, tz=services.settings.tz)
        stored = screenings.latest(uow, resident.id)
    shown = stored[1] if stored else []
    if complex_case:  # the rules say a person should look at it: the case opens by itself
        replies = present.results(screening_id, shown, result, complex_case=True)
        await send_replies(services, bot, chat_id, resident, replies[:-1])
        await staff.open_case(services, bot, chat_id, resident, "screening")
        return
    await send_replies(
        services, bot, chat_id, resident, present.results(screening_id, shown, result, complex_case=complex_case)
    )


async def channel_button(services: Services, bot: object, chat_id: int, resident: ResidentView, payload: str) -> None:
    """A button the channel answers itself ("!why:…", "!how:…" after a screening)."""
    verb, _, rest = payload[1:].partition(":")
    if await booking.channel_button(services, bot, chat_id, resident, verb, rest.split(":") if rest else []):
        return
    first, _, second = rest.partition(":")
    if verb == "terr" and first.isdigit():
        await staff.territory_chosen(services, bot, chat_id, resident, int(first), second)
        return
    if verb == "sat" and first.isdigit() and second.isdigit():
        await staff.satisfaction(services, bot, chat_id, resident, int(first), int(second))
        return
    screening_id, right_id = first, second
    right = None
    if verb in ("why", "how") and screening_id.isdigit():
        with services.uow() as uow:
            right = screenings.right_of(uow, resident.id, int(screening_id), right_id)
    if right is None:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]
        return
    reply = present.why(right) if verb == "why" else present.how(right)
    await send_replies(services, bot, chat_id, resident, [reply])


# Channel commands that Rasa asks for with a custom payload {"command": ...}: operations on the
# resident's record, which the channel owns (privacy controls, place of residence, screening results).
async def hand_off(
    services: Services, bot: object, chat_id: int, resident: ResidentView, data: dict | None = None
) -> None:
    """Rasa asks for a person (talk_to_human, the second misunderstanding in a row)."""
    await staff.open_case(services, bot, chat_id, resident, str((data or {}).get("source") or "talk_to_human"))


async def booking_command(
    services: Services, bot: object, chat_id: int, resident: ResidentView, data: dict | None = None
) -> None:
    """Rasa recognised an appointment request; the channel books, lists, cancels or moves it."""
    data = data or {}
    command, wish = str(data.get("command")), str(data.get("wish") or "")
    if command == "book_appointment":
        await booking.start_booking(services, bot, chat_id, resident, wish)
    elif command == "reschedule_appointment":
        await booking.reschedule(services, bot, chat_id, resident, wish)
    elif command == "cancel_appointment":
        await booking.ask_cancel(services, bot, chat_id, resident)
    else:
        await booking.my_appointments(services, bot, chat_id, resident)


RASA_COMMANDS = {
    "book_appointment": booking_command,
    "reschedule_appointment": booking_command,
    "cancel_appointment": booking_command,
    "my_appointments": booking_command,
    "my_data": show_my_data,
    "stop_messages": stop_proactive,
    "set_place": remember_place,
    "screening": run_screening,
    "handoff": hand_off,
}


def resident_command(action: Callable[..., Awaitable[None]]) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], object]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A privacy command (/donnees, /stop) for a resident who consented."""
        services = services_of(context)
        resident = await _resident(services, update.effective_user.id)
        if resident is None or not resident.consented:
            await ask_consent(update, context, first_time=resident is None)
            return
        await action(services, context.bot, update.effective_chat.id, resident)

    return handle


def _french_date(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


async def data_action(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons of /donnees: export, erase (with confirmation), keep."""
    services = services_of(context)
    query = update.callback_query
    chat = update.effective_chat
    resident = await _resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await expired_button(update, context)
        return
    await query.answer()
    action = query.data
    if action == "d:export":
        with services.uow() as uow:
            content = residents.export_json(uow, services.clock, resident.id)
        await context.bot.send_document(
            chat.id, content, filename="mes-donnees.json", caption=texts.DATA_EXPORT_CAPTION
        )
    elif action == "d:erase":
        await _close_keyboard(query, texts.DATA_ERASE)
        await context.bot.send_message(
            chat.id,
            texts.DATA_ERASE_CONFIRM,
            reply_markup=keyboard([(texts.DATA_ERASE_YES, "d:erase!"), (texts.DATA_ERASE_NO, "d:keep")]),
        )
    elif action == "d:erase!":
        await _close_keyboard(query, texts.DATA_ERASE_YES)
        async with services.gate.lock(chat.id):
            with services.uow() as uow:
                public_id = residents.erase(uow, services.clock, resident.id)
            if public_id:
                await services.rasa.forget(public_id)
        await context.bot.send_message(chat.id, texts.DATA_ERASED)
    else:
        await _close_keyboard(query, texts.DATA_ERASE_NO)
        await context.bot.send_message(chat.id, texts.DATA_KEPT)


async def resume_messages(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reprendre: proactive messages again."""
    services = services_of(context)
    resident = await _resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await ask_consent(update, context)
        return
    with services.uow() as uow:
        residents.opt_in(uow, resident.id)
    await update.effective_message.reply_text(texts.RESUMED)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice notes, documents, locations…: a kind answer."""
    services = services_of(context)
    if services.gate.admit(update.effective_chat.id) != "ok":
        return
    resident = await _resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await ask_consent(update, context, first_time=resident is None)
        return
    async with services.gate.lock(update.effective_chat.id):
        if await _in_case(services, context.bot, update, resident):
            return  # photos and documents (a CAF letter…) reach the adulte-relais
    await update.effective_message.reply_text(texts.NON_TEXT)


async def group_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot only works in private chats."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.GROUP_CHAT)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (redacted, no update content) and tell the person something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, texts.TECHNICAL_ERROR)


# ---------------------------------------------------------------- wiring


async def set_menu(application: Application) -> None:
    """The persistent menu of bot commands."""
    await application.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.COMMANDS])


def build_application(services: Services) -> Application:
    """The PTB Application with every handler registered (before initialize())."""
    settings = services.settings
    token = settings.telegram_bot_token
    if token is None:
        raise ValueError("build_application needs a token (the sandbox provides one)")
    application = (
        ApplicationBuilder()
        .token(token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(True)
        .build()
    )
    application.bot_data["services"] = services
    private = filters.ChatType.PRIVATE
    lookup = staff.StaffLookup(services)
    is_staff, disabled_staff = staff.StaffFilter(lookup, "active"), staff.StaffFilter(lookup, "disabled")
    application.add_handler(CommandHandler("start", group_chat, filters=~private))
    application.add_handler(MessageHandler(~private, lambda u, c: None))  # ignore group chatter
    # staff never see the resident flow; a disabled account has no access at all
    application.add_handler(CommandHandler("start", staff.staff_start, filters=private & is_staff))
    application.add_handler(
        MessageHandler(private & disabled_staff & ~filters.Regex(r"^/start st-"), staff.disabled_staff)
    )
    application.add_handler(CallbackQueryHandler(staff.staff_button, pattern=r"^s:"))
    application.add_handler(MessageHandler(private & is_staff, staff.staff_message))
    application.add_handler(CommandHandler("start", start, filters=private))
    for name, payload in MENU_COMMANDS.items():
        application.add_handler(CommandHandler(name, menu_command(payload), filters=private))
    application.add_handler(CommandHandler("donnees", resident_command(show_my_data), filters=private))
    application.add_handler(CommandHandler("stop", resident_command(stop_proactive), filters=private))
    application.add_handler(CommandHandler("reprendre", resume_messages, filters=private))
    application.add_handler(CallbackQueryHandler(consent_answer, pattern=r"^c:(yes|no)$"))
    application.add_handler(CallbackQueryHandler(data_action, pattern=r"^d:(export|erase|erase!|keep)$"))
    application.add_handler(CallbackQueryHandler(button_press, pattern=r"^b:[A-Za-z0-9_-]{1,24}$"))
    application.add_handler(CallbackQueryHandler(booking.outbox_button, pattern=r"^(r|f):"))  # outbox buttons
    application.add_handler(CallbackQueryHandler(campaigns.campaign_button, pattern=r"^k:"))  # campaign buttons
    application.add_handler(CallbackQueryHandler(expired_button))  # anything else: forged or stale
    application.add_handler(MessageHandler(private & filters.TEXT, text_message))
    application.add_handler(MessageHandler(private & ~filters.TEXT, non_text))
    application.add_error_handler(on_error)
    return application


def webhook_secret(settings: Settings) -> str:
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    return hashlib.sha256(f"outreach-webhook:{token}".encode()).hexdigest()[:32]


@contextlib.asynccontextmanager
async def running(services: Services) -> AsyncIterator[Application]:
    """Start the Application (polling, or webhook when OUTREACH_WEBHOOK_URL is set); stop it on exit."""
    application = build_application(services)
    settings = services.settings
    async with application:  # post_init only runs with run_polling(); our loop is our own
        await set_menu(application)
        await application.start()
        if settings.webhook_url:
            await application.updater.start_webhook(
                listen=settings.host,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await application.bot.delete_webhook()
            await application.updater.start_polling(
                poll_interval=0.0,
                timeout=10,
                allowed_updates=Update.ALL_TYPES,
                error_callback=lambda exc: log.warning("polling error: %s", type(exc).__name__),
            )
        try:
            yield application
        finally:
            with contextlib.suppress(Exception):
                await application.updater.stop()
            await application.stop()


__all__ = ["ChatType", "Forbidden", "Services", "build_application", "running"]
