"""What bots send and change in chats: ``sendMessage``, media, albums, locations, contacts, chat
actions, ``editMessage*``, ``deleteMessage(s)``, ``copyMessage(s)`` / ``forwardMessage(s)``."""

from __future__ import annotations

import math
import time
from typing import Any

from sandbox.emulator.files import FilesMixin
from sandbox.emulator.keyboards import KeyboardsMixin
from sandbox.emulator.limits import LimitsMixin
from sandbox.emulator.models import BotState, StoredMessage, User
from sandbox.emulator.protocol import ApiError, Upload, p_bool, p_float, p_int, p_list, p_str
from sandbox.emulator.state import Handler
from sandbox.emulator.text import format_text, utf16_len

MAX_TEXT_LENGTH = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION_LENGTH = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


class MessagesMixin(FilesMixin, KeyboardsMixin, LimitsMixin):
    """The Bot API methods that put messages in chats (counted by the rate limits) or change them."""

    def _messages_methods(self) -> dict[str, Handler]:
        def media(kind: str) -> Handler:
            async def handler(bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> Any:
                return await self._m_send_media(kind, bot, p, files)

            return handler

        return {
            "sendChatAction": self._m_send_chat_action,
            "sendMessage": self._m_send_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
            "sendPhoto": media("photo"),
            "sendDocument": media("document"),
            "sendAudio": media("audio"),
            "sendVideo": media("video"),
            "sendVoice": media("voice"),
            "sendAnimation": media("animation"),
            "sendSticker": media("sticker"),
            "sendVideoNote": media("video_note"),
            "sendMediaGroup": self._m_send_media_group,
            "sendLocation": self._m_send_location,
            "sendContact": self._m_send_contact,
            "copyMessage": self._m_copy_message,
            "copyMessages": self._m_copy_messages,
            "forwardMessage": self._m_forward_message,
            "forwardMessages": self._m_forward_messages,
            "setMessageReaction": self._m_chat_true,
            "pinChatMessage": self._m_chat_true,
            "unpinChatMessage": self._m_chat_true,
            "unpinAllChatMessages": self._m_chat_true,
        }

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        rp = params.get("reply_parameters")
        allow = p_bool(params, "allow_sending_without_reply")
        if isinstance(rp, dict):
            target = p_int(rp, "message_id")
            allow = allow or p_bool(rp, "allow_sending_without_reply")
        else:
            target = p_int(params, "reply_to_message_id")
        if target is None:
            return None
        msg = self._message(chat_id, target)
        if msg is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in msg.data.items() if k != "reply_to_message"}

    def _caption(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        caption = p_str(params, "caption")
        if caption is None or caption == "":
            return None, []
        plain, ents = format_text(caption, p_str(params, "parse_mode"), params.get("caption_entities"), what="caption")
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return plain, ents

    async def _m_chat_true(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        self._chat_user(p)
        return True

    async def _m_send_chat_action(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._writable(p)
        action = p_str(p, "action") or ""
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._emit(user.id, "chat_action", None, True, action=action)
        return True

    def _bot_message(self, bot: BotState, user: User, params: dict[str, Any]) -> dict[str, Any]:
        data = self._new_message(user.id, bot.as_user(), user.as_chat())
        reply = self._reply_to(user.id, params)
        if reply is not None:
            data["reply_to_message"] = reply
        if p_bool(params, "protect_content"):
            data["has_protected_content"] = True
        return data

    async def _m_send_message(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        text = p_str(p, "text")
        if text is None or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = format_text(text, p_str(p, "parse_mode"), p.get("entities"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)  # validate before counting the send
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data["text"] = plain
        if entities:
            data["entities"] = entities
        preview = p.get("link_preview_options")
        if isinstance(preview, dict):
            data["link_preview_options"] = preview
        elif p_bool(p, "disable_web_page_preview"):
            data["link_preview_options"] = {"is_disabled": True}
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_media(
        self, kind: str, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> dict[str, Any]:
        user = self._writable(p)
        caption, caption_entities = self._caption(p) if kind not in ("sticker", "video_note") else (None, [])
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)
        f = self._input_file(p, files, kind, kind)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data[kind] = self._media_value(f)
        if caption:
            data["caption"] = caption
            if caption_entities:
                data["caption_entities"] = caption_entities
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_media_group(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> list[dict[str, Any]]:
        user = self._writable(p)
        media = p_list(p, "media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album: must be 2-10")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: can't parse InputMedia: unsupported media type")
            kind = item["type"]
            caption, caption_entities = self._caption(item)
            prepared.append((kind, self._input_file(item, files, "media", kind), caption, caption_entities))
        self._check_rate(bot, user.id)
        group_id = str(10**17 + self.seq)
        results = []
        for kind, f, caption, caption_entities in prepared:
            data = self._bot_message(bot, user, p)
            data["media_group_id"] = group_id
            data[kind] = self._media_value(f)
            if caption:
                data["caption"] = caption
                if caption_entities:
                    data["caption_entities"] = caption_entities
            self._store(data, from_bot=True, token=bot.token)
            self._record_send(bot, user.id)
            results.append(data)
        return results

    async def _m_send_location(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        latitude = p_float(p, "latitude", math.nan)
        longitude = p_float(p, "longitude", math.nan)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ApiError(400, "Bad Request: wrong latitude or longitude specified")
        inline, keyboard = self._reply_markup(p)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data["location"] = {"latitude": latitude, "longitude": longitude}
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_contact(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        phone = p_str(p, "phone_number")
        first_name = p_str(p, "first_name")
        if not phone or not first_name:
            raise ApiError(400, "Bad Request: phone_number and first_name are required")
        inline, keyboard = self._reply_markup(p)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        contact = {"phone_number": phone, "first_name": first_name}
        if p_str(p, "last_name"):
            contact["last_name"] = p_str(p, "last_name") or ""
        data["contact"] = contact
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    def _editable(self, p: dict[str, Any]) -> StoredMessage:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        user = self._chat_user(p)
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message_id = p_int(p, "message_id", error="Bad Request: message identifier is not specified")
        msg = self._message(user.id, message_id)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not msg.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    async def _m_edit_message_text(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        msg = self._editable(p)
        text = p_str(p, "text")
        if text is None or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if "text" not in msg.data:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        plain, entities = format_text(text, p_str(p, "parse_mode"), p.get("entities"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        inline = self._edit_markup(p)
        old = msg.data
        if old.get("text") == plain and old.get("entities", []) == entities and old.get("reply_markup") == inline:
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup", "edit_date")}
        data["text"] = plain
        if entities:
            data["entities"] = entities
        if isinstance(p.get("link_preview_options"), dict):
            data["link_preview_options"] = p["link_preview_options"]
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    async def _m_edit_message_caption(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> dict[str, Any]:
        msg = self._editable(p)
        if not any(k in msg.data for k in ("photo", "document", "video", "audio", "voice", "animation")):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, caption_entities = self._caption(p)
        inline = self._edit_markup(p)
        old = msg.data
        if (
            old.get("caption") == caption
            and old.get("caption_entities", []) == caption_entities
            and old.get("reply_markup") == inline
        ):
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("caption", "caption_entities", "reply_markup", "edit_date")}
        if caption:
            data["caption"] = caption
            if caption_entities:
                data["caption_entities"] = caption_entities
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    async def _m_edit_message_reply_markup(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> dict[str, Any]:
        msg = self._editable(p)
        inline = self._edit_markup(p)
        if msg.data.get("reply_markup") == inline:
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in msg.data.items() if k not in ("reply_markup", "edit_date")}
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    def _delete(self, msg: StoredMessage) -> None:
        msg.deleted = True
        self._emit(msg.chat_id, "delete", msg.data, msg.from_bot)

    async def _m_delete_message(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._chat_user(p)
        msg = self._message(user.id, p_int(p, "message_id", error="Bad Request: message identifier is not specified"))
        if msg is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._delete(msg)
        return True

    async def _m_delete_messages(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._chat_user(p)
        ids = p_list(p, "message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        for message_id in ids:
            msg = self._message(user.id, p_int({"id": message_id}, "id"))
            if msg is not None:
                self._delete(msg)
        return True

    _CONTENT_KEYS = (
        "text",
        "entities",
        "link_preview_options",
        "photo",
        "document",
        "sticker",
        "voice",
        "video",
        "audio",
        "animation",
        "video_note",
        "location",
        "contact",
        "caption",
        "caption_entities",
    )

    def _source(self, p: dict[str, Any], message_id: Any, what: str) -> StoredMessage:
        source_user = self._chat_user(p, "from_chat_id")
        msg = self._message(source_user.id, p_int({"id": message_id}, "id"))
        if msg is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return msg

    def _copy(self, bot: BotState, user: User, src: StoredMessage, p: dict[str, Any], forward: bool) -> dict[str, Any]:
        data = self._bot_message(bot, user, p)
        for key in self._CONTENT_KEYS:
            if key in src.data:
                data[key] = src.data[key]
        if forward:
            data["forward_origin"] = {"type": "user", "sender_user": src.data["from"], "date": src.data["date"]}
        elif p.get("caption") is not None and "text" not in data:
            data.pop("caption", None)
            data.pop("caption_entities", None)
            caption, caption_entities = self._caption(p)
            if caption:
                data["caption"] = caption
                if caption_entities:
                    data["caption_entities"] = caption_entities
        return data

    async def _m_copy_message(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, int]:
        user = self._writable(p)
        src = self._source(p, p.get("message_id"), "copy")
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)
        self._check_rate(bot, user.id)
        data = self._copy(bot, user, src, p, forward=False)
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return {"message_id": data["message_id"]}

    async def _m_forward_message(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        src = self._source(p, p.get("message_id"), "forward")
        self._check_rate(bot, user.id)
        data = self._copy(bot, user, src, p, forward=True)
        self._store(data, from_bot=True, token=bot.token)
        self._record_send(bot, user.id)
        return data

    async def _copy_many(self, bot: BotState, p: dict[str, Any], forward: bool) -> list[dict[str, int]]:
        user = self._writable(p)
        ids = p_list(p, "message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        sources = [self._source(p, i, "forward" if forward else "copy") for i in ids]
        self._check_rate(bot, user.id)
        out = []
        for src in sources:
            data = self._copy(bot, user, src, {"chat_id": user.id}, forward=forward)
            self._store(data, from_bot=True, token=bot.token)
            self._record_send(bot, user.id)
            out.append({"message_id": data["message_id"]})
        return out

    async def _m_copy_messages(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> list[dict[str, int]]:
        return await self._copy_many(bot, p, forward=False)

    async def _m_forward_messages(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> list[dict[str, int]]:
        return await self._copy_many(bot, p, forward=True)
