"""Keyboards and callback queries: validation of ``reply_markup`` (inline and reply keyboards), a user
pressing an inline button (``/control/press``), ``answerCallbackQuery``, and waiting for the answer."""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import BotState, CallbackQuery
from sandbox.emulator.protocol import ApiError, ControlError, Upload, p_bool, p_int, p_str
from sandbox.emulator.state import ControlRoute, EmulatorState, Handler
from sandbox.emulator.text import normalize_url

MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
_BAD_BUTTON = "Bad Request: can't parse inline keyboard button: "
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup:
        return []
    return [b for row in markup.get("inline_keyboard", []) for b in row]


class KeyboardsMixin(EmulatorState):
    """Inline and reply keyboards, callback queries and their answers."""

    def _keyboards_methods(self) -> dict[str, Handler]:
        return {"answerCallbackQuery": self._m_answer_callback_query}

    def _keyboards_controls(self) -> list[ControlRoute]:
        return [
            ("/control/press", self._c_press, ["POST"]),
            ("/control/callbacks/{query_id}", self._c_callback, ["GET"]),
        ]

    def _reply_markup(self, params: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(inline keyboard for Message.reply_markup, reply-keyboard change) from ``reply_markup``."""
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None, None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
                )
            clean_rows = []
            count = 0
            for row in rows:
                clean = []
                for button in row:
                    if not isinstance(button, dict):
                        raise ApiError(400, _BAD_BUTTON + "InlineKeyboardButton should be an Object")
                    text = button.get("text")
                    if not isinstance(text, str):
                        raise ApiError(400, _BAD_BUTTON + 'Field "text" must be of type String')
                    if not text.strip():
                        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                    if not any(k in button for k in _BUTTON_ACTIONS):
                        raise ApiError(400, _BAD_BUTTON + "Text buttons are unallowed in the inline keyboard")
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = button["url"]
                        if not isinstance(url, str) or normalize_url(url) is None:
                            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    clean.append(dict(button))
                    count += 1
                if clean:
                    clean_rows.append(clean)
            if count > 100:
                raise ApiError(400, "Bad Request: reply markup is too long")
            return ({"inline_keyboard": clean_rows} if clean_rows else None), None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, 'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            norm = [
                [{"text": b} if isinstance(b, str) else dict(b) for b in row if isinstance(b, (str, dict))]
                for row in rows
            ]
            if any(not isinstance(b.get("text"), str) or not b["text"] for row in norm for b in row):
                raise ApiError(400, 'Bad Request: can\'t parse keyboard button: Field "text" must be of type String')
            change = {k: v for k, v in markup.items() if k != "keyboard"}
            change["keyboard"] = [r for r in norm if r]
            return None, change
        if markup.get("remove_keyboard"):
            return None, {"remove_keyboard": True}
        if markup.get("force_reply"):
            return None, None
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    def _edit_markup(self, p: dict[str, Any]) -> dict[str, Any] | None:
        inline, keyboard = self._reply_markup(p)
        if keyboard is not None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        return inline

    async def _m_answer_callback_query(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        query_id = p_str(p, "callback_query_id") or ""
        cb = self.callbacks.get(query_id)
        if cb is None or cb.answer is not None or cb.token != bot.token:
            raise ApiError(400, QUERY_TOO_OLD)
        if self.callback_timeout is not None and time.monotonic() - cb.created > self.callback_timeout:
            raise ApiError(400, QUERY_TOO_OLD)
        text = p_str(p, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        cb.answer = {
            "text": text,
            "show_alert": p_bool(p, "show_alert"),
            "url": p_str(p, "url"),
            "cache_time": p_int(p, "cache_time", 0),
        }
        msg = self._message(cb.user_id, cb.message_id)
        self._emit(
            cb.user_id,
            "callback_answer",
            msg.data if msg else None,
            True,
            callback_query_id=cb.id,
            data=cb.data,
            **cb.answer,
        )
        return True

    async def _c_press(self, request: Request, body: dict[str, Any]) -> Any:
        user = self._known_user(self._int(body, "user_id"))
        if user.blocked:
            raise ControlError(409, "this user has blocked the bot: POST /control/unblock first")
        message_id = self._int(body, "message_id")
        msg = self._message(user.id, message_id)
        if "callback_data" in body:
            data: str | None = None if body["callback_data"] is None else str(body["callback_data"])
        elif "button_text" in body:
            wanted = str(body["button_text"])
            if msg is None or not msg.from_bot:
                raise ControlError(404, f"no bot message {message_id} in chat {user.id}")
            buttons = _buttons(msg.data.get("reply_markup"))
            button = next((b for b in buttons if b.get("text") == wanted), None)
            if button is None:
                titles = [b.get("text") for b in buttons]
                raise ControlError(404, f"no button {wanted!r} on message {message_id}; buttons: {titles}")
            if "callback_data" not in button:
                raise ControlError(400, f"button {wanted!r} has no callback_data: {button}")
            data = button["callback_data"]
        else:
            raise ControlError(400, "give 'callback_data' or 'button_text'")
        bot = self._control_bot(body.get("token") or (msg.token if msg else None))
        self._callback_counter += 1
        query_id = f"{self._callback_counter}{secrets.randbelow(10**12):012d}"
        message = msg.data if msg is not None else {"chat": user.as_chat(), "message_id": message_id, "date": 0}
        query: dict[str, Any] = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": str(-((user.id * 1_000_003 + bot.id) % 10**18)),
        }
        if data is not None:
            query["data"] = data
        self.callbacks[query_id] = CallbackQuery(query_id, bot.token, user.id, message_id, data, time.monotonic())
        update_id = self._queue_update(bot, "callback_query", query)
        return {"callback_query_id": query_id, "update_id": update_id, "data": data}

    async def _c_callback(self, request: Request, body: dict[str, Any]) -> Any:
        query_id = request.path_params["query_id"]
        cb = self.callbacks.get(query_id)
        if cb is None:
            raise ControlError(404, "unknown callback_query_id")
        await self._wait(lambda: cb.answer is not None, self._timeout(request))
        return {
            "callback_query_id": cb.id,
            "user_id": cb.user_id,
            "message_id": cb.message_id,
            "data": cb.data,
            "answered": cb.answer is not None,
            "answer": cb.answer,
        }
