"""The PTB Application: the resident's messages and commands, and the wiring of every handler.
Callback queries all go to bot/router.py; the conversation is in bot/conversation.py."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    SimpleUpdateProcessor,
    TypeHandler,
    filters,
)

from bot import conversation, language, router, staff
from bot.channel import (
    Services,
    acknowledge,
    ask_consent,
    consent_keyboard,
    find_resident,
    language_before_consent,
    send_replies,
    services_of,
)
from bot.conversation import MENU_COMMANDS, TALK_TO_HUMAN, show_my_data, stop_proactive
from bot.transport import AiohttpRequest
from bot.webhook import webhook_app
from outreach import i18n, inbox, language_id, metrics, options, rasa, texts
from outreach.config import Settings
from outreach.inloop_server import InLoopServer
from outreach.logs import bound_update
from outreach.replies import Button, Reply
from outreach.services import handoffs, residents
from outreach.services import staff as staff_service
from outreach.services.residents import ResidentView

log = logging.getLogger(__name__)

NLU_MAX_CHARS = 1000  # longer messages: the end is kept (the request usually comes last)


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
    if message.text and await router.typed(services, bot, message.chat_id, resident, message.text, prefix="!terr:"):
        return True  # "Troyes" typed at "Où habitez-vous ?" (a case not routed yet)
    await staff.resident_in_case(services, bot, message, resident, case)
    return True


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: consent first, then the assistant's welcome."""
    services = services_of(context)
    user, chat = update.effective_user, update.effective_chat
    if context.args and context.args[0].startswith(staff_service.CODE_PREFIX):
        await staff.onboard(update, context, context.args[0])
        return
    async with services.gate.lock(chat.id):
        resident = await find_resident(services, user.id)
        if resident is None or not resident.consented:
            await ask_consent(update, context)
            return
        if await _in_case(services, context.bot, update, resident):
            return
        await conversation.converse(services, context.bot, chat.id, resident, "/greet")


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text from a resident: consent gate, flood gate, then Rasa."""
    services = services_of(context)
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    admitted = services.gate.admit(chat.id)
    if admitted != "ok":
        if admitted == "warn":
            await message.reply_text(texts.FLOOD)
        return
    text = options.plain_text(i18n.ascii_digits(message.text or ""))  # never an intent payload
    async with services.gate.lock(chat.id):
        resident = await find_resident(services, user.id)
        if resident is None or not resident.consented:
            if resident is not None and resident.refused:
                i18n.set_language(language_before_consent(services, update))
                await message.reply_text(texts.REFUSED_REMINDER, reply_markup=consent_keyboard())
                return
            if text.strip():  # answered once the consent is given (kept in memory only until then)
                services.first_words.hold(chat.id, text.strip()[-NLU_MAX_CHARS:])
                guess = language.notice_before_consent(services, chat.id, text)
                if other := language.unsupported_language(guess, text):
                    await language.unsupported(context.bot, chat.id, other, services)
                    return
            await ask_consent(update, context, first_time=resident is None)
            return
        if await _in_case(services, context.bot, update, resident):
            return
        if len(text) > NLU_MAX_CHARS:
            cut = text[-NLU_MAX_CHARS:]
            text = cut[cut.find(" ") + 1 :] if " " in cut else cut
            await message.reply_text(texts.LONG_MESSAGE)
        await router.answer(services, context.bot, chat.id, resident, text or "?")


def menu_command(payload: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], object]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A menu entry: the same as saying it."""
        services = services_of(context)
        chat = update.effective_chat
        async with services.gate.lock(chat.id):
            resident = await find_resident(services, update.effective_user.id)
            if resident is None or not resident.consented:
                await ask_consent(update, context, first_time=resident is None)
                return
            if await _in_case(services, context.bot, update, resident):
                return
            if payload == conversation.TALK_TO_HUMAN:
                await staff.open_case(services, context.bot, chat.id, resident, "button")
                return
            await conversation.converse(services, context.bot, chat.id, resident, payload)

    return handle


def resident_command(action: Callable[..., Awaitable[None]]) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], object]:
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A privacy command (/donnees, /stop) for a resident who consented (to any version of the consent text:
        exercising one's rights needs no new consent)."""
        services = services_of(context)
        resident = await find_resident(services, update.effective_user.id)
        if resident is None or not (resident.consented or resident.consent_outdated):
            await ask_consent(update, context, first_time=resident is None)
            return
        await action(services, context.bot, update.effective_chat.id, resident)

    return handle


async def resume_messages(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reprendre: proactive messages again."""
    services = services_of(context)
    resident = await find_resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await ask_consent(update, context)
        return
    with services.uow() as uow:
        residents.opt_in(uow, resident.id)
    await update.effective_message.reply_text(texts.RESUMED)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice notes, documents, locations…: a kind answer (a voice note: a person can listen to it),
    in the resident's language; inside a case, what was sent reaches the adulte-relais as it is."""
    services = services_of(context)
    if services.gate.admit(update.effective_chat.id) != "ok":
        return
    resident = await find_resident(services, update.effective_user.id)
    if resident is None or not resident.consented:
        await ask_consent(update, context, first_time=resident is None)
        return
    async with services.gate.lock(update.effective_chat.id):
        if await _in_case(services, context.bot, update, resident):
            return  # photos, documents (a CAF letter…) and voice notes reach the adulte-relais
        message = update.effective_message
        if message is not None and (message.voice or message.audio or message.video_note):
            reply = Reply(texts.VOICE_NOTE, (Button(texts.VOICE_BUTTON, conversation.TALK_TO_HUMAN),))
            await send_replies(services, context.bot, update.effective_chat.id, resident, [reply])
            return
    await update.effective_message.reply_text(texts.NON_TEXT)


class ChatUpdateProcessor(SimpleUpdateProcessor):
    """PTB's concurrent update processor that also writes each update down before handling it and marks it done
    after (outreach/inbox.py: replayed after a crash, handled once when delivered twice), and counts, per chat,
    the updates being handled (waiting for the chat's turn included): what the flood gate reads.

    Several workers (`services.coordination`): a chat's updates may reach any of them. The worker that gets one
    writes it down, then waits for the chat's turn (a Redis lock, outreach/coordination.py); holding it, it
    handles every update of that chat written down and not handled yet, its own included, oldest first: what
    another worker wrote down earlier, or left unfinished when it was killed. `sweep` does the same for chats
    whose updates were left behind and got no newer one."""

    LEFT_BEHIND = dt.timedelta(seconds=20)  # a chat's turn expires 15 s after its holder died

    def __init__(self, services: Services, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.services = services
        self.handling: collections.Counter[int] = collections.Counter()
        self.replaying: set[int] = set()
        self.written: set[int] = set()  # written down by the webhook before Telegram got its 200 (bot/webhook.py)
        self.outcomes: dict[int, str] = {}  # updates not handled as usual: flood_dropped, error (metrics)
        self.application: Application | None = None  # set by build_application (to handle others' updates)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        started = time.perf_counter()
        with bound_update(update.update_id):
            outcome = await self._process(update, coroutine)
        if outcome != "duplicate":
            metrics.observe_turn(time.perf_counter() - started, _kind_of(update))
        metrics.count_update(self.outcomes.pop(update.update_id, outcome))

    async def _process(self, update: Update, coroutine: Awaitable[Any]) -> str:
        engine, now = self.services.engine, self.services.clock.now()
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else None
        replay = update.update_id in self.replaying
        written = update.update_id in self.written
        self.written.discard(update.update_id)
        try:
            new = (
                replay
                or written
                or await asyncio.to_thread(inbox.hold, engine, update.update_id, update.to_dict(), now, chat_id)
            )
        except Exception:  # the database is down: the update is handled all the same (its answer says so)
            log.warning("inbox: update %s not written down (database unreachable?)", update.update_id)
            new = True
        if not new:
            coroutine.close()  # type: ignore[attr-defined]  # delivered twice: handled once
            return "duplicate"
        if chat_id is not None:
            self.handling[chat_id] += 1
        try:
            coordination = self.services.coordination
            if replay:  # taken before a crash: Rasa may have taken its turn
                with rasa.handled_again():
                    await self._handle(update.update_id, coroutine)
            elif coordination is None or chat_id is None:
                await self._handle(update.update_id, coroutine)
            else:
                async with coordination.chat_turn(chat_id):
                    await self._in_turn(chat_id, update.update_id, coroutine)
        finally:
            if chat_id is not None:
                self.handling[chat_id] -= 1
                if self.handling[chat_id] <= 0:
                    del self.handling[chat_id]
            self.replaying.discard(update.update_id)
        return "handled"

    async def _handle(self, update_id: int, coroutine: Awaitable[Any]) -> None:
        await coroutine
        try:
            await asyncio.to_thread(inbox.done, self.services.engine, update_id, self.services.clock.now())
        except Exception:
            log.warning("inbox: update %s handled, not marked done (database unreachable?)", update_id)

    async def _in_turn(self, chat_id: int, update_id: int, coroutine: Awaitable[Any] | None) -> None:
        """Holding the chat's turn: its updates not handled yet, up to `update_id`, oldest first (`coroutine`
        handles `update_id` itself; None: a sweep)."""
        pending = await asyncio.to_thread(inbox.pending_in_chat, self.services.engine, chat_id, update_id)
        mine = False
        for other_id, payload in pending:
            if other_id == update_id and coroutine is not None:
                mine = True
                await self._handle(update_id, coroutine)
                continue
            assert self.application is not None  # noqa: S101
            other = Update.de_json(payload, self.application.bot)
            with bound_update(other_id), rasa.handled_again():  # another worker's, or one a killed worker left
                await self._handle(other_id, self.application.process_update(other))
        if coroutine is not None and not mine:
            coroutine.close()  # type: ignore[attr-defined]  # another worker handled it while this one waited

    async def sweep(self) -> int:
        """Several workers: handle the updates of chats left behind (a worker killed while handling them, or
        while they waited for their turn). Every worker may sweep: each chat is handled in its turn."""
        coordination = self.services.coordination
        if coordination is None or self.application is None:
            return 0
        before = self.services.clock.now() - self.LEFT_BEHIND
        left = await asyncio.to_thread(inbox.chats_left_behind, self.services.engine, before)

        async def one(chat_id: int, newest: int) -> bool:
            async with coordination.chat_turn(chat_id, wait=False) as held:
                if held:  # else a live worker has this chat's turn: it, or a later sweep, handles them
                    await self._in_turn(chat_id, newest, None)
                return held

        swept = sum(await asyncio.gather(*(one(chat_id, newest) for chat_id, newest in left)))
        if swept:
            log.warning("%s chats had updates left behind by a worker: handled now", swept)
        return swept

    async def replay(self, application: Application) -> int:
        """Handle the updates the service had taken and not finished when it stopped, in order (one process;
        several workers leave them to `sweep`: another worker may be handling them right now)."""
        if self.services.coordination is not None:
            return 0
        left = await asyncio.to_thread(inbox.unfinished, self.services.engine)
        for payload in left:
            update = Update.de_json(payload, application.bot)
            self.replaying.add(update.update_id)
            await self.process_update(update, application.process_update(update))
        return len(left)


def _kind_of(update: Update) -> str:
    """What the turn-latency histogram calls this update."""
    if update.callback_query is not None:
        return "button"
    message = update.message
    if message is not None and message.text is not None:
        return "command" if message.text.startswith("/") else "text"
    return "other"


async def flood_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before every handler (group -1): an update of a chat that floods the bot is not handled; the first one
    refused gets the flood answer, a refused button press an empty answer (no spinner left)."""
    chat = update.effective_chat
    processor = context.application.update_processor
    if chat is None or not isinstance(processor, ChatUpdateProcessor):
        return
    verdict = services_of(context).gate.admit_update(chat.id, waiting=processor.handling[chat.id] - 1)
    if verdict == "ok":
        return
    processor.outcomes[update.update_id] = "flood_dropped"
    if update.callback_query is not None:
        await acknowledge(update.callback_query)
    if verdict == "warn" and update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat.id, texts.FLOOD)
    raise ApplicationHandlerStop


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Updates nobody answers (PTB awaits what a callback returns: a coroutine that does nothing)."""


async def group_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot only works in private chats."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.GROUP_CHAT)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (redacted, no update content) and tell the person something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    processor = context.application.update_processor
    if isinstance(update, Update) and isinstance(processor, ChatUpdateProcessor):
        processor.outcomes[update.update_id] = "error"
    if isinstance(update, Update) and update.effective_chat is not None:
        if update.callback_query is not None:
            await acknowledge(update.callback_query)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, texts.TECHNICAL_ERROR)


# ---------------------------------------------------------------- wiring


async def set_menu(application: Application) -> None:
    """The persistent menu of bot commands, in French and in each language of the catalogue (Telegram shows the
    one of the resident's app language)."""
    await application.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.COMMANDS])
    for code in i18n.TRANSLATED:
        with i18n.speaking(code):
            commands = [BotCommand(name, i18n._(desc)) for name, desc in texts.COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


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
        .concurrent_updates(ChatUpdateProcessor(services))
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connections=1))
        .build()
    )
    application.bot_data["services"] = services
    if isinstance(application.update_processor, ChatUpdateProcessor):
        application.update_processor.application = application
    private = filters.ChatType.PRIVATE
    lookup = staff.StaffLookup(services)
    is_staff, disabled_staff = staff.StaffFilter(lookup, "active"), staff.StaffFilter(lookup, "disabled")
    application.add_handler(TypeHandler(Update, flood_gate), group=-1)  # every update, any chat
    application.add_handler(CommandHandler("start", group_chat, filters=~private))
    application.add_handler(MessageHandler(~private, ignore))  # group chatter
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, ignore))  # an edit is not a new message
    # staff never see the resident flow; a disabled account has no access at all
    application.add_handler(CommandHandler("start", staff.staff_start, filters=private & is_staff))
    application.add_handler(
        MessageHandler(private & disabled_staff & ~filters.Regex(r"^/start st-"), staff.disabled_staff)
    )
    application.add_handler(MessageHandler(private & is_staff, staff.staff_message))
    application.add_handler(CommandHandler("start", start, filters=private))
    for name, payload in MENU_COMMANDS.items():
        application.add_handler(CommandHandler(name, menu_command(payload), filters=private))
    application.add_handler(CommandHandler("donnees", resident_command(show_my_data), filters=private))
    application.add_handler(CommandHandler("stop", resident_command(stop_proactive), filters=private))
    application.add_handler(CommandHandler("reprendre", resume_messages, filters=private))
    application.add_handler(CommandHandler("langue", language.command, filters=private))
    application.add_handler(CallbackQueryHandler(router.route))  # every button, staff's and residents'
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
        await asyncio.to_thread(language_id.warm)  # ~3 s once, not on the first residents' messages
        await set_menu(application)
        await application.start()
        processor = application.update_processor
        if isinstance(processor, ChatUpdateProcessor) and (replayed := await processor.replay(application)):
            log.warning("%s updates taken before a stop and not finished were handled again", replayed)
        webhook: InLoopServer | None = None
        if settings.webhook_url:
            written = processor.written if isinstance(processor, ChatUpdateProcessor) else set()
            app = webhook_app(application, services, webhook_secret(settings), written)
            webhook = InLoopServer(app, settings.host, settings.webhook_port)
            await webhook.start()
            await application.bot.set_webhook(
                settings.webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=Update.ALL_TYPES,
                max_connections=40,
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
            if webhook is not None:
                await webhook.stop()
            with contextlib.suppress(Exception):
                await application.updater.stop()
            await application.stop()


__all__ = [
    "MENU_COMMANDS",
    "TALK_TO_HUMAN",
    "ChatType",
    "Forbidden",
    "ResidentView",
    "Services",
    "build_application",
    "running",
]
