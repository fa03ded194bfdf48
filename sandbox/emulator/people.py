"""The Telegram users the control API plays: registering them (and the page's preset people), their
messages of every kind, blocking / unblocking the bot; ``getChat`` / ``getChatMember`` about them."""

from __future__ import annotations

import base64
import time
from typing import Any

from starlette.requests import Request

from sandbox.emulator.files import FilesMixin
from sandbox.emulator.media import PHOTO_JPEG, PLACEHOLDERS, THUMB_JPEG, image_size
from sandbox.emulator.models import BotState, User
from sandbox.emulator.protocol import ApiError, ControlError, Upload, p_int
from sandbox.emulator.state import ControlRoute, Handler
from sandbox.emulator.text import command_entities

#: The people offered by the sandbox page (residents, then staff), as (user_id, first_name, role).
PRESET_USERS: tuple[tuple[int, str, str], ...] = (
    (1001, "Amina", "habitante"),
    (1002, "Karim", "habitant"),
    (1003, "Fatou", "habitante"),
    (2001, "Samia", "adulte-relais Dijon"),
    (2002, "Julien", "adulte-relais Dijon"),
    (2003, "Nadia", "adulte-relais Troyes"),
    (2004, "Claire", "coordinatrice Dijon"),
)
USER_MESSAGE_KINDS = ("text", "photo", "document", "sticker", "voice", "video", "location", "contact")


class PeopleMixin(FilesMixin):
    """Users and their private chats with the bot."""

    def _people_methods(self) -> dict[str, Handler]:
        return {"getChat": self._m_get_chat, "getChatMember": self._m_get_chat_member}

    def _people_controls(self) -> list[ControlRoute]:
        return [
            ("/control/users", self._c_users, ["GET", "POST"]),
            ("/control/send", self._c_send, ["POST"]),
            ("/control/block", self._c_block, ["POST"]),
            ("/control/unblock", self._c_unblock, ["POST"]),
        ]

    def register_presets(self) -> None:
        """Register the page's preset people, as if each had already started the bot."""
        for user_id, first_name, _role in PRESET_USERS:
            if user_id not in self.users:
                self.register_user(user_id, first_name)

    async def _m_get_chat(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._chat_user(p)
        data = user.as_chat()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        )
        return data

    async def _m_get_chat_member(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._chat_user(p)
        user_id = p_int(p, "user_id", error="Bad Request: user_id is empty")
        if user_id == bot.id:
            if user.blocked:
                return {"status": "kicked", "user": bot.as_user(), "until_date": 0}
            return {"status": "member", "user": bot.as_user()}
        if user_id != user.id:
            raise ApiError(400, "Bad Request: user not found")
        return {"status": "member", "user": user.as_user()}

    async def _c_users(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "GET":
            return {"users": [dict(u.as_user(), blocked=u.blocked, started=u.started) for u in self.users.values()]}
        user_id = self._int(body, "user_id")
        if user_id <= 0:
            raise ControlError(400, "'user_id' must be a positive integer")
        first_name = str(body.get("first_name") or "").strip()
        existing = self.users.get(user_id)
        if not first_name:
            first_name = existing.first_name if existing else f"Utilisateur {user_id}"
        user = self.register_user(
            user_id,
            first_name,
            last_name=body.get("last_name") or None,
            username=body.get("username") or None,
            language_code=body.get("language_code", "fr") or None,
            started=bool(body.get("started", True)),
        )
        return {"ok": True, "user": user.as_user(), "chat": user.as_chat(), "last": self.seq}

    def _user_content(self, user: User, body: dict[str, Any], kind: str) -> dict[str, Any]:
        content: dict[str, Any] = {}
        caption = body.get("caption")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ControlError(400, "'text' must be a non-empty string")
            content["text"] = text
            entities = command_entities(text)
            if entities:
                content["entities"] = entities
            return content
        if kind == "photo":
            thumb = self._new_file("photo", THUMB_JPEG, mime_type="image/jpeg", width=90, height=68)
            full = self._new_file("photo", PHOTO_JPEG, mime_type="image/jpeg", width=320, height=240)
            thumb.group = full.group = [thumb.file_id, full.file_id]
            content["photo"] = self._media_value(full)
        elif kind in ("document", "voice", "video", "sticker"):
            data, mime, name = PLACEHOLDERS[kind]
            if kind == "document" and body.get("content_base64"):
                try:
                    data = base64.b64decode(str(body["content_base64"]), validate=True)
                except ValueError:
                    raise ControlError(400, "'content_base64' is not valid base64") from None
                mime = str(body.get("mime_type") or "application/octet-stream")
            if kind == "document":
                name = str(body.get("file_name") or name)
            info = image_size(data) if kind == "sticker" else None
            f = self._new_file(
                kind,
                data,
                file_name=name,
                mime_type=mime,
                width=info[1] if info else (320 if kind == "video" else None),
                height=info[2] if info else (240 if kind == "video" else None),
                duration=1 if kind in ("voice", "video") else None,
            )
            content[kind] = f.as_object()
        elif kind == "location":
            content["location"] = {
                "latitude": float(body.get("latitude", 47.3220)),
                "longitude": float(body.get("longitude", 5.0415)),
            }
        elif kind == "contact":
            content["contact"] = {
                "phone_number": str(body.get("phone_number") or "+33612345678"),
                "first_name": str(body.get("contact_first_name") or user.first_name),
                "user_id": user.id,
            }
        else:
            raise ControlError(400, f"unknown kind {kind!r}; expected one of {', '.join(USER_MESSAGE_KINDS)}")
        if caption and kind in ("photo", "document", "voice", "video"):
            content["caption"] = str(caption)
        return content

    async def _c_send(self, request: Request, body: dict[str, Any]) -> Any:
        user_id = self._int(body, "user_id")
        user = self.users.get(user_id)
        if user is None:
            user = self.register_user(user_id, str(body.get("first_name") or f"Utilisateur {user_id}"))
        if user.blocked:
            raise ControlError(409, "this user has blocked the bot: POST /control/unblock first")
        kind = str(body.get("kind") or "text")
        bot = self._control_bot(body.get("token"))
        content = self._user_content(user, body, kind)
        user.started = True
        data = self._new_message(user.id, user.as_user(), user.as_chat())
        reply_id = body.get("reply_to_message_id")
        if reply_id is not None:
            target = self._message(user.id, self._int(body, "reply_to_message_id"))
            if target is not None:
                data["reply_to_message"] = {k: v for k, v in target.data.items() if k != "reply_to_message"}
        data.update(content)
        self._store(data, from_bot=False, token=bot.token)
        update_id = self._queue_update(bot, "message", data)
        return {"update_id": update_id, "message_id": data["message_id"], "seq": self.seq, "message": data}

    async def _set_blocked(self, body: dict[str, Any], blocked: bool) -> Any:
        user = self._known_user(self._int(body, "user_id"))
        if user.blocked != blocked:
            user.blocked = blocked
            token = body.get("token") or self.last_token
            if token:
                bot = self._control_bot(token)
                member = {"user": bot.as_user(), "status": "member"}
                kicked = {"user": bot.as_user(), "status": "kicked", "until_date": 0}
                self._queue_update(
                    bot,
                    "my_chat_member",
                    {
                        "chat": user.as_chat(),
                        "from": user.as_user(),
                        "date": int(time.time()),
                        "old_chat_member": member if blocked else kicked,
                        "new_chat_member": kicked if blocked else member,
                    },
                )
        return {"ok": True, "user_id": user.id, "blocked": user.blocked}

    async def _c_block(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._set_blocked(body, True)

    async def _c_unblock(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._set_blocked(body, False)
