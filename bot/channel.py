"""What every Telegram handler shares, below all of them: the services a handler receives, per-chat
ordering and flood control, the one keyboard renderer, the rendering of channel-neutral replies, and
the resident lookups. Imports no other handler module (bot/ has no import cycle: channel < booking <
staff < conversation < campaigns < router < app)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from db.engine import UnitOfWork
from outreach import i18n, metrics, texts
from outreach.clock import Clock
from outreach.config import Settings
from outreach.coordination import Coordination
from outreach.rasa import RasaClient
from outreach.replies import Button, Document, Reply, split_text
from outreach.services import privacy, residents
from outreach.services.residents import ResidentView

ACKNOWLEDGE_RETRY_DELAYS = (0.2, 1.0)


async def acknowledge(query: object) -> None:
    """Answer a pressed button (Telegram stops its spinner). Sent again after a dropped connection, a 5xx or a
    timeout (a kept-alive connection the server closed at that instant: seen once in 10,000 presses); best effort
    after that: what the button does still happens."""
    try:
        await resilient(query.answer, delays=ACKNOWLEDGE_RETRY_DELAYS)  # type: ignore[attr-defined]
    except BadRequest:
        pass  # already answered, or too old: nothing left to stop
    except TelegramError as error:
        log.warning("a pressed button could not be acknowledged (%s)", type(error).__name__)


class ChatGate:
    """Per-chat ordering (one message at a time) and flood control.

    Two limits: typed messages (text, photos…) in a sliding window (`admit`), and every update of a chat
    (commands, buttons, /start <code> too: `admit_update`). A flood is many updates in a short time *and*
    piling up faster than they are answered: a resident whose messages wait because the service is slow (a
    busy hour, Rasa restarting) writes at a person's pace and loses nothing; a person tapping through buttons
    waits for each answer. A generous window over every update bounds what a slower flood gets through."""

    def __init__(
        self,
        max_messages: int = 12,
        window_seconds: float = 10.0,
        *,
        max_waiting: int = 4,
        burst: int = 8,
        max_updates: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.max_messages = max_messages
        self.window = window_seconds
        self.max_waiting = max_waiting
        self.burst = burst
        self.max_updates = max_updates
        self._locks: dict[int, asyncio.Lock] = {}
        self._recent: dict[int, collections.deque[float]] = {}
        self._warned: dict[int, float] = {}
        self._updates: dict[int, collections.deque[float]] = {}
        self._update_warned: dict[int, float] = {}
        self._seen = 0

    def admit_update(self, chat_id: int, waiting: int) -> str:
        """Any update of a chat, `waiting` updates of that chat still being handled: 'ok', 'warn' (the first
        refused in a window) or 'drop'."""
        now = self.clock()
        self._seen += 1
        if self._seen % 4096 == 0:
            self._forget_quiet(now)
        recent = self._updates.setdefault(chat_id, collections.deque())
        while recent and now - recent[0] > self.window:
            recent.popleft()
        recent.append(now)
        flooding = waiting > self.max_waiting and len(recent) > self.burst
        if not flooding and len(recent) <= self.max_updates:
            return "ok"
        if now - self._update_warned.get(chat_id, -1e9) > self.window:
            self._update_warned[chat_id] = now
            return "warn"
        return "drop"

    def _forget_quiet(self, now: float) -> None:
        """Drop what is kept about chats silent for a whole window: their windows, warnings and free locks (memory
        stays bounded by active chats). A lock held or awaited stays: a new one would let two turns in at once."""
        for store in (self._updates, self._recent):
            for chat_id in [c for c, q in store.items() if not q or now - q[-1] > self.window]:
                del store[chat_id]
        for warned in (self._warned, self._update_warned):
            for chat_id in [c for c, at in warned.items() if now - at > self.window]:
                del warned[chat_id]
        for chat_id in [c for c, lock in self._locks.items() if c not in self._updates and _free(lock)]:
            del self._locks[chat_id]

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def admit(self, chat_id: int) -> str:
        """'ok', 'warn' (first message over the limit) or 'drop'."""
        now = self.clock()
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


def _free(lock: asyncio.Lock) -> bool:
    """Neither held nor awaited (asyncio keeps its waiters in `_waiters`: a lock just released may have one)."""
    return not lock.locked() and not getattr(lock, "_waiters", None)


class FirstWords:
    """What a resident wrote before a question of the channel was answered (the consent, "Continue in English?"),
    held in memory only (nothing is stored before the consent) for a short while, and answered after. Also, before
    the consent, the language they chose or wrote in."""

    def __init__(self, lifetime_seconds: float = 1800.0, capacity: int = 10_000) -> None:
        self.lifetime = lifetime_seconds
        self.capacity = capacity
        self._held: collections.OrderedDict[int, tuple[float, str]] = collections.OrderedDict()
        self._language: collections.OrderedDict[int, tuple[float, str]] = collections.OrderedDict()

    def _put(self, store: collections.OrderedDict[int, tuple[float, str]], chat_id: int, value: str) -> None:
        store.pop(chat_id, None)
        store[chat_id] = (time.monotonic(), value)
        while len(store) > self.capacity:
            store.popitem(last=False)

    def _get(self, store: collections.OrderedDict[int, tuple[float, str]], chat_id: int, *, keep: bool) -> str | None:
        held = store.get(chat_id) if keep else store.pop(chat_id, None)
        if held is None or time.monotonic() - held[0] > self.lifetime:
            return None
        return held[1]

    def hold(self, chat_id: int, text: str) -> None:
        self._put(self._held, chat_id, text)

    def take(self, chat_id: int) -> str | None:
        return self._get(self._held, chat_id, keep=False)

    def set_language(self, chat_id: int, code: str) -> None:
        """The language of a resident before the consent: "<code>" (written in), "<code>:chosen" (a button),
        "fr:seen:<other>" (written in a language the bot does not speak), "en:person:<other>" (then asked for a
        person: the consent in English, a case with <other> once they accept)."""
        self._put(self._language, chat_id, code)

    def language(self, chat_id: int, *, keep: bool = True) -> str | None:
        return self._get(self._language, chat_id, keep=keep)


@dataclass
class Services:
    """Everything handlers need; built once by the composition root."""

    settings: Settings
    engine: Engine
    clock: Clock
    rasa: RasaClient
    rasa_patience: float = 60.0  # how long a turn waits for Rasa (down, restarting) before saying it is down
    gate: ChatGate = field(default_factory=ChatGate)
    first_words: FirstWords = field(default_factory=FirstWords)
    outbox_wake: Callable[[], None] | None = None  # the dispatcher's wake(): priority rows leave at once
    coordination: Coordination | None = None  # several workers: a chat's turn across them (outreach/coordination.py)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def wake_outbox(self) -> None:
        if self.outbox_wake is not None:
            self.outbox_wake()


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


# ---------------------------------------------------------------- sending again

log = logging.getLogger(__name__)
T = TypeVar("T")
SEND_RETRY_DELAYS: Sequence[float] = (1.0, 2.0, 4.0, 8.0)  # after a 5xx, a network error or a timeout
MAX_RETRY_AFTER = 60.0


async def resilient(send: Callable[[], Awaitable[T]], *, delays: Sequence[float] = SEND_RETRY_DELAYS) -> T:
    """A direct answer (a Bot API call) sent again when Telegram failed transiently: after a 429's `retry_after`
    (Telegram did not send it), or after a 5xx, a network error or a timeout, with backoff (`delays`). A timeout
    may hide a message Telegram did deliver: sent again, that one may arrive twice. 400 and 403 are not retried.
    The caller holds the chat's lock: the chat's next messages wait, in order."""
    attempt = 0
    while True:
        try:
            return await send()
        except RetryAfter as error:
            metrics.count_rate_limited(_seconds(error.retry_after))
            if attempt >= len(delays):
                raise
            wait = _seconds(error.retry_after)
            if wait > MAX_RETRY_AFTER:
                raise
        except BadRequest:
            raise
        except NetworkError as error:  # 5xx, connection errors, TimedOut
            if attempt >= len(delays):
                raise
            wait = delays[attempt]
            log.warning("Telegram failed (%s); sending again in %.0f s", type(error).__name__, wait)
        attempt += 1
        await asyncio.sleep(wait)


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# ---------------------------------------------------------------- rendering

Rows = Iterable[Sequence[tuple[str, str]]]


def markup(rows: Rows) -> InlineKeyboardMarkup:
    """The one inline-keyboard renderer: rows of (title, callback_data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows])


def column(buttons: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per row."""
    return markup([button] for button in buttons)


async def send_replies(
    services: Services, bot: object, chat_id: int, resident: ResidentView, replies: Sequence[Reply]
) -> None:
    """Render channel-neutral replies: text split at 4096, buttons behind server-side tokens
    ("b:<token>", their payloads stay on the server), documents. Custom payloads are not rendered.
    The buttons of these replies become the resident's keyboard: a typed answer is read against them first."""
    replies = [localized(reply) for reply in replies]
    reusable = [
        b for reply in replies if reply.text for b in reply.buttons if b.payload.startswith(privacy.CHANNEL_PREFIX)
    ]
    issued: list[list[str]] = []
    if replies:  # every button of the turn issued, and the keyboard written, in one transaction
        with services.uow() as uow:
            issued = residents.present_buttons(
                uow, services.clock, resident.id, [_tokenized(reply) for reply in replies], reusable
            )
    for reply, tokens in zip(replies, issued, strict=True):
        if not reply.text:
            if reply.document is not None:
                await _send_document(bot, chat_id, reply.document)
            continue
        keyboard = column(_callback_data(reply.buttons, tokens)) if reply.buttons else None
        chunks = split_text(reply.text) or ["…"]
        for index, chunk in enumerate(chunks):
            markup_of_chunk = keyboard if index == len(chunks) - 1 else None
            await resilient(lambda c=chunk, m=markup_of_chunk: bot.send_message(chat_id, c, reply_markup=m))  # type: ignore[attr-defined]
        if reply.document is not None:
            await _send_document(bot, chat_id, reply.document)


def _tokenized(reply: Reply) -> tuple[Button, ...]:
    """The buttons of a reply shown behind a server-side token (not the channel's reusable ones; none without text)."""
    if not reply.text:
        return ()
    return tuple(b for b in reply.buttons if not b.payload.startswith(privacy.CHANNEL_PREFIX))


async def _send_document(bot: object, chat_id: int, document: Document) -> None:
    await resilient(lambda: bot.send_document(chat_id, document.content, filename=document.filename))  # type: ignore[attr-defined]


def localized(reply: Reply) -> Reply:
    """Rasa's French responses (msgids of the catalogue) in the language of the turn, by key; texts already
    rendered in it (by our use cases) are not msgids and stay as they are."""
    if i18n.current() == i18n.DEFAULT:
        return reply
    buttons = tuple(Button(i18n.localize(b.title), b.payload) for b in reply.buttons)
    return Reply(i18n.localize(reply.text), buttons, reply.document, reply.custom)


UseCase = Callable[..., "list[Reply] | None"]


async def run(
    services: Services, bot: object, chat_id: int, resident: ResidentView, use_case: UseCase, **arguments: object
) -> bool:
    """Run a resident's use case (unit of work, clock, time zone, resident id, `arguments`) and show its
    replies; False when it says the request no longer applies (it returned None)."""
    with services.uow() as uow:
        replies = use_case(uow, services.clock, tz=services.settings.tz, resident_id=resident.id, **arguments)
    if replies is None:
        return False
    await send_replies(services, bot, chat_id, resident, replies)
    return True


def _callback_data(buttons: Sequence[Button], tokens: Sequence[str]) -> list[tuple[str, str]]:
    """(title, callback_data) per button: its single-use server-side token "b:<token>" (the payload stays on the
    server; `tokens` in the order of the tokenized buttons), except the channel's own reusable buttons
    (privacy.CHANNEL_PREFIX), sent as they are."""
    issued = iter(tokens)
    return [
        (b.title, b.payload if b.payload.startswith(privacy.CHANNEL_PREFIX) else f"b:{next(issued)}") for b in buttons
    ]


async def close_keyboard(query: object, choice: str) -> None:
    """Remove the buttons of a pressed message and show the choice made."""
    message = query.message  # type: ignore[attr-defined]
    try:
        if message is not None and getattr(message, "text", None):
            await query.edit_message_text(f"{message.text}\n\n👉 {choice}")  # type: ignore[attr-defined]
        else:
            await query.edit_message_reply_markup(None)  # type: ignore[attr-defined]
    except BadRequest:
        pass  # already edited, or too old to edit: the answer below still goes out


async def expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unknown, forged, spent or expired button data. From a resident who accepted an older version of the consent
    text, any button is answered by the consent question first (their button was not spent: it works after)."""
    query = update.callback_query
    if update.effective_user is not None and consent_outdated(services_of(context), update.effective_user.id):
        await acknowledge(query)
        await ask_consent(update, context, first_time=False)
        return
    await query.answer(texts.BUTTON_EXPIRED_ALERT)
    with contextlib.suppress(BadRequest):
        if query.message is not None and getattr(query.message, "reply_markup", None):
            await query.edit_message_reply_markup(None)
    await context.bot.send_message(update.effective_chat.id, texts.BUTTON_EXPIRED)


# ---------------------------------------------------------------- residents


async def find_resident(services: Services, user_id: int) -> ResidentView | None:
    """The resident, if known; the rest of the turn speaks their language."""
    with services.uow() as uow:
        found = residents.find(uow, services.clock, user_id)
    if found is not None:
        i18n.set_language(found.language)
    return found


def consent_keyboard() -> InlineKeyboardMarkup:
    """Accept, refuse (in the language of the turn), and the choice of another language."""
    return column([(texts.CONSENT_ACCEPT, "c:yes"), (texts.CONSENT_REFUSE, "c:no"), (texts.LANGUAGE_BUTTON, "l:menu")])


def language_before_consent(services: Services, update: Update) -> str:
    """The language to ask the consent in: the one chosen or written in (held in memory), else Telegram's."""
    held = services.first_words.language(update.effective_chat.id)
    user = update.effective_user
    return i18n.supported((held or "").split(":", 1)[0]) or i18n.supported(user and user.language_code) or "fr"


def consent_outdated(services: Services, user_id: int) -> bool:
    """The resident accepted an older version of the consent text and is to be asked again (no case open)."""
    with services.uow() as uow:
        found = residents.find(uow, services.clock, user_id, touch=False)
    return found is not None and found.consent_outdated and not found.consented


def language_chosen(services: Services, chat_id: int) -> str | None:
    """The language a resident chose with the consent's "🌍 Langue" button (held in memory), if any."""
    code, _, how = (services.first_words.language(chat_id) or "").partition(":")
    return i18n.supported(code) if how.startswith(("chosen", "person")) else None


async def ask_consent(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, first_time: bool = True, language: str | None = None
) -> None:
    """Show the consent question with its buttons, in the resident's language (chosen, written in, or Telegram's).

    A resident who accepted an older version of the consent text (texts.CONSENT_VERSION) reads, in their language,
    that the rules changed, then the whole text: once (and again after /start or a change of language); their other
    messages before they answer get the short reminder. What they wrote is held by the caller and answered after."""
    services = services_of(context)
    chat_id = update.effective_chat.id
    with services.uow() as uow:
        again = residents.ask_consent_again(uow, services.clock, update.effective_user.id)
    if again is not None:
        shown, spoken = again
        i18n.set_language(language or language_chosen(services, chat_id) or spoken)
        if first_time or not shown:
            await context.bot.send_message(chat_id, texts.CONSENT_CHANGED)
            await context.bot.send_message(chat_id, texts.CONSENT, reply_markup=consent_keyboard())
        else:
            await context.bot.send_message(chat_id, texts.CONSENT_NEEDED, reply_markup=consent_keyboard())
        return
    i18n.set_language(language or language_before_consent(services, update))
    text = texts.CONSENT if first_time else texts.CONSENT_NEEDED
    await context.bot.send_message(chat_id, text, reply_markup=consent_keyboard())
