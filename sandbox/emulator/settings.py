"""The bot's own settings: ``getMe``, commands (``setMyCommands``... and the scope order a user's
"Menu" resolves), the menu button, name and descriptions; ``logOut`` / ``close``; ``/control/commands``."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import BOT_FIRST_NAME, BotState
from sandbox.emulator.protocol import ApiError, Upload, p_int, p_str
from sandbox.emulator.state import ControlRoute, EmulatorState, Handler


def _scope_key(scope: Any) -> str:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    scope = dict(scope)
    for key in ("chat_id", "user_id"):
        value = scope.get(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            scope[key] = int(value)
    return json.dumps(scope, sort_keys=True)


class SettingsMixin(EmulatorState):
    """What the bot says about itself: profile, commands, menu button."""

    def _settings_methods(self) -> dict[str, Handler]:
        return {
            "getMe": self._m_get_me,
            "logOut": self._m_true,
            "close": self._m_true,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
        }

    def _settings_controls(self) -> list[ControlRoute]:
        return [("/control/commands", self._c_commands, ["GET"])]

    async def _m_true(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        return True

    async def _m_get_me(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        me = bot.as_user()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    async def _m_set_my_commands(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand: BotCommand should be an Object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = (_scope_key(p.get("scope")), p_str(p, "language_code") or "")
        bot.commands[key] = clean
        bot.last_commands = clean
        bot.last_commands_key = key
        return True

    async def _m_get_my_commands(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> list[dict[str, str]]:
        return bot.commands.get((_scope_key(p.get("scope")), p_str(p, "language_code") or ""), [])

    async def _m_delete_my_commands(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        key = (_scope_key(p.get("scope")), p_str(p, "language_code") or "")
        bot.commands.pop(key, None)
        if bot.last_commands_key == key:
            bot.last_commands = []
        return True

    def resolve_commands(self, bot: BotState, user_id: int | None, language_code: str | None) -> list[dict[str, str]]:
        """The command list a private-chat user sees in the "Menu" (Telegram's scope order)."""
        if user_id is None:
            return list(bot.last_commands or [])
        lang = language_code or ""
        scopes = [
            {"type": "chat", "chat_id": user_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        ]
        for scope in scopes:
            for code in [lang, ""] if lang else [""]:
                found = bot.commands.get((_scope_key(scope), code))
                if found:
                    return list(found)
        return []

    async def _m_set_chat_menu_button(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        chat_id = p_int(p, "chat_id")
        if chat_id is not None:
            self._chat_user(p)
        button = p.get("menu_button")
        bot.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    async def _m_get_chat_menu_button(
        self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]
    ) -> dict[str, Any]:
        chat_id = p_int(p, "chat_id")
        return bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(None) or {"type": "commands"}

    def _profile_setter(self, what: str) -> Handler:
        async def handler(bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
            bot.profile[(what, p_str(p, "language_code") or "")] = p_str(p, what) or ""
            return True

        return handler

    def _profile_getter(self, what: str) -> Handler:
        async def handler(bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, str]:
            lang = p_str(p, "language_code") or ""
            value = bot.profile.get((what, lang), bot.profile.get((what, ""), ""))
            if what == "name" and not value:
                value = BOT_FIRST_NAME
            return {what: value}

        return handler

    async def _c_commands(self, request: Request, body: dict[str, Any]) -> Any:
        token = request.query_params.get("token") or self.last_token
        bot = self.bots.get(token) if token else None
        if bot is None:
            return {"commands": [], "bot_connected": False}
        user_id = request.query_params.get("user_id")
        uid = int(user_id) if user_id and user_id.lstrip("-").isdigit() else None
        lang = request.query_params.get("language_code")
        if uid is not None and lang is None and uid in self.users:
            lang = self.users[uid].language_code
        return {"commands": self.resolve_commands(bot, uid, lang), "bot_connected": True}
