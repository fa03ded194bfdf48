"""The records of the in-memory Telegram: users, chats, stored messages and files, bots, callback
queries and injected faults."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

BOT_USERNAME = "outreach_sandbox_bot"
BOT_FIRST_NAME = "Outreach (bac à sable)"


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fr"
    started: bool = True
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    data: dict[str, Any]
    from_bot: bool
    token: str | None = None
    deleted: bool = False


@dataclass
class Chat:
    id: int
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    source_url: str | None = None
    group: list[str] | None = None  # photo sizes sharing one picture

    def as_object(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.kind in ("photo", "sticker", "video", "animation"):
            data["width"] = self.width or 0
            data["height"] = self.height or 0
        if self.kind in ("voice", "audio", "video", "animation", "video_note"):
            data["duration"] = self.duration or 0
        if self.kind == "video_note":
            data["length"] = self.width or 240
        if self.kind == "sticker":
            data.update(type="regular", is_animated=False, is_video=False, emoji="👍")
        if self.kind in ("document", "audio", "video", "animation") and self.file_name:
            data["file_name"] = self.file_name
        if self.kind not in ("photo", "sticker", "video_note") and self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class BotState:
    token: str
    id: int
    pending: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook: dict[str, Any] | None = None
    webhook_gen: int = 0
    webhook_task: asyncio.Task[None] | None = None
    webhook_error: tuple[int, str] | None = None
    poll_gen: int = 0
    active_polls: int = 0
    last_poll: float = 0.0
    last_seen: float = 0.0
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    last_commands: list[dict[str, str]] | None = None
    last_commands_key: tuple[str, str] | None = None
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    profile: dict[tuple[str, str], str] = field(default_factory=dict)
    send_times: deque[float] = field(default_factory=deque)
    max_rate: int = 0

    def as_user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


@dataclass
class CallbackQuery:
    id: str
    token: str
    user_id: int
    message_id: int
    data: str | None
    created: float
    answer: dict[str, Any] | None = None


@dataclass
class Fault:
    method: str
    chat_id: str | None
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    delay: float = 0.0  # seconds the call is held first (a slow or timing-out Telegram); then the error, if any

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chat_id": self.chat_id,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after,
            "remaining": self.remaining,
            "delay": self.delay,
        }
