"""Raw updates: ``POST /control/inject`` queues any Update dict for the bot as it is (fuzzing, odd or future
update types, groups and channels the control API's users cannot play).

Body: ``{"update": {...}, "token"?: "<bot token>"}``. The update is queued unchanged except that

* the emulator numbers it (``update_id``, like Telegram: any ``update_id`` given is replaced), and it is
  delivered whatever ``allowed_updates`` says (a test may send a type the bot never asked for);
* a message (``message``, ``edited_message``, ``channel_post``, ``edited_channel_post``, ``business_message``…)
  that has no ``message_id`` gets the chat's next one, and no ``date`` gets now;
* a ``callback_query`` that has no ``id`` gets a fresh one.

Like Telegram, the emulator then knows what the update shows, so the bot can answer it: the user of a private
chat becomes a user who started the bot; a group, supergroup or channel becomes a chat the bot may send to (its
messages there are events of that chat: ``/control/chats/<id>/events``, ids are negative); any other ``from``
becomes a user who has not started the bot (a message to them is refused with 403, as on Telegram); a message is
stored in its chat (an edit replaces the user's earlier version) so that a reply quoting it works; a callback
query can be answered (``answerCallbackQuery``, ``/control/callbacks/<id>``). What cannot be read (a field of an
unexpected type) is skipped: the update is queued all the same.

Answer: ``{"update_id", "seq", "update"}`` (the update as queued)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import CallbackQuery, User
from sandbox.emulator.protocol import ControlError
from sandbox.emulator.state import ControlRoute, EmulatorState

#: Update fields that hold a Message.
MESSAGE_FIELDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    }
)
_EDITS = frozenset({"edited_message", "edited_channel_post", "edited_business_message"})


@dataclass
class InjectedChat(User):
    """A group, supergroup or channel seen in an injected update: the bot may send to it."""

    chat: dict[str, Any] = field(default_factory=dict)

    def as_chat(self) -> dict[str, Any]:
        return dict(self.chat)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class InjectMixin(EmulatorState):
    """``/control/inject``, and the non-private chats it makes known to the Bot API methods."""

    def _reset_state(self) -> None:
        super()._reset_state()
        self.injected_chats: dict[int, InjectedChat] = {}

    def _inject_controls(self) -> list[ControlRoute]:
        return [("/control/inject", self._c_inject, ["POST"])]

    def _chat_user(self, params: dict[str, Any], key: str = "chat_id") -> User:
        """Bot API calls may also name a group, supergroup or channel an injected update showed."""
        try:
            chat_id = int(str(params.get(key)).strip())
        except ValueError:
            chat_id = None
        if chat_id is not None and chat_id not in self.users and chat_id in self.injected_chats:
            return self.injected_chats[chat_id]
        return super()._chat_user(params, key)

    async def _c_inject(self, request: Request, body: dict[str, Any]) -> Any:
        update = body.get("update")
        if not isinstance(update, dict):
            raise ControlError(400, "'update' must be a JSON object (a Telegram Update)")
        bot = self._control_bot(body.get("token"))
        queued = {key: value for key, value in update.items() if key != "update_id"}
        for key, value in queued.items():
            if key in MESSAGE_FIELDS and isinstance(value, dict):
                queued[key] = self._learn_message(key, dict(value), bot.token)
            elif key == "callback_query" and isinstance(value, dict):
                queued[key] = self._learn_callback(dict(value), bot.token)
            elif isinstance(value, dict):
                self._learn_people(value)
        self._update_id += 1
        queued = {"update_id": self._update_id, **queued}
        bot.pending.append(queued)
        self.updates_queued += 1
        return {"update_id": self._update_id, "seq": self.seq, "update": queued}

    # -- what an update shows ---------------------------------------------

    def _learn_chat(self, chat: Any, sender: Any = None) -> int | None:
        """The chat's id, once known to the Bot API methods (None when it cannot be read)."""
        if not isinstance(chat, dict) or _int(chat.get("id")) is None:
            return None
        chat_id: int = chat["id"]
        if chat.get("type") == "private":
            if chat_id not in self.users:
                who = sender if isinstance(sender, dict) and sender.get("id") == chat_id else chat
                language = who.get("language_code") if isinstance(who.get("language_code"), str) else None
                name = str(who.get("first_name") or f"Utilisateur {chat_id}")
                self.register_user(chat_id, name, language_code=language)
            self.users[chat_id].started = True
        elif chat_id not in self.users and chat_id not in self.injected_chats:
            title = chat.get("title") or chat.get("username") or f"Chat {chat_id}"
            self.injected_chats[chat_id] = InjectedChat(chat_id, str(title), language_code=None, chat=dict(chat))
        return chat_id

    def _learn_user(self, user: Any) -> None:
        if isinstance(user, dict) and (user_id := _int(user.get("id"))) is not None and user_id > 0:
            if user_id not in self.users and not user.get("is_bot"):
                language = user.get("language_code") if isinstance(user.get("language_code"), str) else None
                name = str(user.get("first_name") or f"Utilisateur {user_id}")
                self.register_user(user_id, name, language_code=language, started=False)

    def _learn_people(self, value: dict[str, Any]) -> None:
        """my_chat_member, chat_member, inline_query, poll_answer…: the chat and the users they show."""
        self._learn_user(value.get("from"))
        self._learn_user(value.get("user"))
        self._learn_chat(value.get("chat"), value.get("from"))

    def _learn_message(self, kind: str, message: dict[str, Any], token: str) -> dict[str, Any]:
        sender = message.get("from")
        chat_id = self._learn_chat(message.get("chat"), sender)
        self._learn_user(sender)
        if chat_id is None:
            return message
        chat = self._chat(chat_id)
        if "message_id" not in message:
            message = {"message_id": chat.next_message_id, **message}
        message.setdefault("date", int(time.time()))
        message_id = _int(message["message_id"])
        if message_id is None or message_id <= 0:
            return message
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        existing = chat.messages.get(message_id)
        if existing is None:
            self._store(message, from_bot=False, token=token)
        elif kind in _EDITS and not existing.from_bot:
            self._replace(existing, message)
        return message

    def _learn_callback(self, query: dict[str, Any], token: str) -> dict[str, Any]:
        if not isinstance(query.get("id"), str):
            self._callback_counter += 1
            query = {"id": f"{self._callback_counter}{secrets.randbelow(10**12):012d}", **query}
        sender = query.get("from")
        self._learn_user(sender)
        message = query.get("message")
        chat_id = self._learn_chat(message.get("chat"), sender) if isinstance(message, dict) else None
        if chat_id is None:
            chat_id = _int(sender.get("id")) if isinstance(sender, dict) else None
        if chat_id is not None and query["id"] not in self.callbacks:
            message_id = _int(message.get("message_id")) if isinstance(message, dict) else None
            data = query.get("data")
            self.callbacks[query["id"]] = CallbackQuery(
                query["id"], token, chat_id, message_id or 0, data if isinstance(data, str) else None, time.monotonic()
            )
        return query
