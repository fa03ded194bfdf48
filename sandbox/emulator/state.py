"""The shared state of the emulator and the primitives every Bot API area builds on.

:class:`EmulatorState` holds the bots, users, chats, files, callback queries, faults and the event
log; it waits without polling (one ``asyncio.Condition``), records events, queues updates, stores
messages, and resolves the chats and messages a call or a control request names. The areas
(``messages``, ``keyboards``, ``updates``...) are mixins over it; ``app`` composes them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import BotState, CallbackQuery, Chat, Fault, StoredFile, StoredMessage, User
from sandbox.emulator.protocol import MAX_LONG_POLL, TOKEN_RE, ApiError, ControlError, Upload

#: A Bot API method: (bot, parameters, uploaded files) -> the ``result`` of the answer.
Handler = Callable[[BotState, dict[str, Any], dict[str, Upload]], Awaitable[Any]]
#: A control API endpoint: (request, JSON body of a POST) -> a JSON-able result or a Response.
ControlHandler = Callable[[Request, dict[str, Any]], Awaitable[Any]]
#: (path, endpoint, HTTP methods) of a control route; the app wraps the endpoint (errors, notify).
ControlRoute = tuple[str, ControlHandler, list[str]]

#: Update types Telegram delivers when ``allowed_updates`` is not set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class EmulatorState:
    """In-memory Telegram: bots (by token), users, private chats, updates, events."""

    def __init__(
        self,
        enforce_limits: bool = False,
        global_rate: float = 30.0,
        per_chat_interval: float = 1.0,
        *,
        per_chat_burst: int = 3,
        callback_timeout: float | None = None,
        deliver_webhooks: bool = True,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.per_chat_burst = max(1, per_chat_burst)
        self.callback_timeout = callback_timeout
        self.deliver_webhooks = deliver_webhooks
        self._cond = asyncio.Condition()
        self._closing = False
        # Counters that survive /control/reset so that clients never see ids go backwards.
        self.seq = 0
        self._update_id = 0
        self._file_counter = 0
        self._callback_counter = 0
        self._status_version = 0
        self._reset_state()

    # -- state -------------------------------------------------------------

    def _reset_state(self) -> None:
        for bot in getattr(self, "bots", {}).values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
        self.bots: dict[str, BotState] = {}
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.faults: list[Fault] = []
        self.events: list[dict[str, Any]] = []
        self.last_token: str | None = None
        self._buckets: dict[tuple[str, int], tuple[float, float]] = {}
        self.method_calls: Counter[str] = Counter()
        self.error_counts: Counter[int] = Counter()
        self.sends_per_chat: Counter[int] = Counter()
        self.total_sends = 0
        self.max_send_rate = 0
        self.updates_queued = 0
        self._status_version += 1

    def reset(self) -> None:
        """Forget everything (ids and ``seq`` keep increasing)."""
        self._reset_state()

    async def aclose(self) -> None:
        """Release every waiter and stop webhook delivery (call before stopping the server)."""
        self._closing = True
        for bot in self.bots.values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
        await self._notify()

    def _bot(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is None:
            bot = self.bots[token] = BotState(token=token, id=int(token.split(":", 1)[0]))
            self._status_version += 1
        return bot

    def _chat(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id)
        return chat

    def register_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        started: bool = True,
    ) -> User:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = User(user_id, first_name)
        user.first_name = first_name
        user.last_name = last_name
        user.username = username
        user.language_code = language_code
        user.started = started
        self._chat(user_id)
        return user

    # -- waiting -------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _wait(self, predicate: Callable[[], bool], seconds: float | None) -> bool:
        """Wait (without polling) until ``predicate()`` holds, ``seconds`` pass or we close."""
        async with self._cond:
            if predicate() or self._closing:
                return predicate()
            if seconds is not None and seconds <= 0:
                return False
            try:
                async with asyncio.timeout(seconds):
                    await self._cond.wait_for(lambda: self._closing or predicate())
            except TimeoutError:
                pass
            return predicate()

    # -- events & updates ------------------------------------------------

    def _emit(
        self, chat_id: int, typ: str, message: dict[str, Any] | None, from_bot: bool, **extra: Any
    ) -> dict[str, Any]:
        self.seq += 1
        event: dict[str, Any] = {
            "seq": self.seq,
            "type": typ,
            "chat_id": chat_id,
            "from_bot": from_bot,
            "time": time.time(),
            "message": message,
        }
        event.update(extra)
        self.events.append(event)
        self._chat(chat_id).events.append(event)
        return event

    def _queue_update(self, bot: BotState, kind: str, payload: dict[str, Any]) -> int | None:
        allowed = bot.allowed_updates
        if allowed:
            if kind not in allowed:
                return None
        elif kind in DEFAULT_EXCLUDED_UPDATES:
            return None
        self._update_id += 1
        bot.pending.append({"update_id": self._update_id, kind: payload})
        self.updates_queued += 1
        return self._update_id

    def _new_message(self, chat_id: int, sender: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        state = self._chat(chat_id)
        message_id = state.next_message_id
        state.next_message_id += 1
        return {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}

    def _store(
        self,
        data: dict[str, Any],
        *,
        from_bot: bool,
        token: str | None,
        keyboard_change: dict[str, Any] | None = None,
    ) -> StoredMessage:
        chat_id = data["chat"]["id"]
        chat = self._chat(chat_id)
        msg = StoredMessage(chat_id, data["message_id"], data, from_bot, token)
        chat.messages[msg.message_id] = msg
        extra: dict[str, Any] = {}
        if keyboard_change is not None:
            chat.reply_keyboard = keyboard_change if "keyboard" in keyboard_change else None
            extra["reply_keyboard"] = keyboard_change
        self._emit(chat_id, "message", data, from_bot, **extra)
        return msg

    def _replace(self, msg: StoredMessage, data: dict[str, Any]) -> None:
        msg.data = data
        self._emit(msg.chat_id, "edit", data, msg.from_bot)

    # -- lookups ---------------------------------------------------------

    def _chat_user(self, params: dict[str, Any], key: str = "chat_id") -> User:
        value = params.get(key)
        if value is None or value == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(str(value).strip())
        except ValueError:
            raise ApiError(400, "Bad Request: chat not found") from None
        user = self.users.get(chat_id)
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        return user

    def _writable(self, params: dict[str, Any], key: str = "chat_id") -> User:
        user = self._chat_user(params, key)
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    def _message(self, chat_id: int, message_id: int | None) -> StoredMessage | None:
        chat = self.chats.get(chat_id)
        if chat is None or message_id is None:
            return None
        msg = chat.messages.get(message_id)
        return None if msg is None or msg.deleted else msg

    # -- control requests ------------------------------------------------

    def _control_bot(self, token: Any) -> BotState:
        if token:
            token = str(token)
            if not TOKEN_RE.match(token):
                raise ControlError(400, "invalid bot token")
            return self._bot(token)
        if self.last_token is None:
            raise ControlError(409, "no bot has connected to the emulator yet (no Bot API call received)")
        return self.bots[self.last_token]

    @staticmethod
    def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
        value = body.get(name, default)
        if value is None:
            raise ControlError(400, f"'{name}' is required")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ControlError(400, f"'{name}' must be an integer") from None

    def _known_user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ControlError(404, f"unknown user {user_id} (POST /control/users first)")
        return user

    def _timeout(self, request: Request) -> float:
        try:
            return min(MAX_LONG_POLL, max(0.0, float(request.query_params.get("timeout", 0))))
        except ValueError:
            raise ControlError(400, "'timeout' must be a number") from None

    def _after(self, request: Request, default: int = 0) -> int:
        try:
            return int(request.query_params.get("after", default))
        except ValueError:
            raise ControlError(400, "'after' must be an integer") from None

    def _path_int(self, request: Request, name: str) -> int:
        try:
            return int(request.path_params[name])
        except ValueError:
            raise ControlError(400, f"'{name}' must be an integer") from None
