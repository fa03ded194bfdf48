"""Async client for the emulator's control API: play Telegram users in tests.

Example::

    async with running_emulator() as emu, EmulatorClient(emu.url) as tg:
        amina = await tg.user(1001, "Amina")
        await amina.send("/start")
        reply = await amina.next_message()
        assert "Bonjour" in reply.text
        await amina.press("Oui")
        edited = await amina.next_message()
        assert edited.edited

A :class:`ChatUser` keeps its own cursor in the chat's event log: ``next_message``
returns each bot message or edit once, in order, waiting with the long-poll
endpoint (no sleeps).
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["CallbackAnswer", "ChatMessage", "ChatUser", "EmulatorClient", "EmulatorError"]

_MEDIA_KEYS = ("photo", "document", "sticker", "voice", "video", "audio", "animation", "video_note")


class EmulatorError(Exception):
    """The control API answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class CallbackAnswer(str):
    """The bot's answerCallbackQuery: compares equal to its text; has show_alert/url/cache_time."""

    show_alert: bool
    url: str | None
    cache_time: int
    text: str | None

    def __new__(cls, answer: dict[str, Any]) -> CallbackAnswer:
        obj = super().__new__(cls, answer.get("text") or "")
        obj.text = answer.get("text")
        obj.show_alert = bool(answer.get("show_alert"))
        obj.url = answer.get("url")
        obj.cache_time = int(answer.get("cache_time") or 0)
        return obj


@dataclass
class ChatMessage:
    """One message of a chat as a user sees it (``raw`` is the Telegram Message dict)."""

    message_id: int
    chat_id: int
    text: str  # the text, or the caption of a media message ("" when none)
    buttons: list[str]  # inline button titles, flattened row by row
    keyboard: list[list[dict[str, Any]]]  # inline keyboard rows as sent by the bot
    from_bot: bool
    edited: bool
    event: str  # "message", "edit" (from next_message) or "state" (from messages())
    seq: int
    raw: dict[str, Any] = field(repr=False)
    reply_keyboard: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def from_raw(
        cls,
        message: dict[str, Any],
        *,
        from_bot: bool,
        event: str = "state",
        seq: int = 0,
        reply_keyboard: dict[str, Any] | None = None,
    ) -> ChatMessage:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return cls(
            message_id=message["message_id"],
            chat_id=message["chat"]["id"],
            text=message.get("text") or message.get("caption") or "",
            buttons=[b.get("text", "") for row in rows for b in row],
            keyboard=rows,
            from_bot=from_bot,
            edited="edit_date" in message,
            event=event,
            seq=seq,
            raw=message,
            reply_keyboard=reply_keyboard,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ChatMessage:
        return cls.from_raw(
            event["message"],
            from_bot=event["from_bot"],
            event=event["type"],
            seq=event["seq"],
            reply_keyboard=event.get("reply_keyboard"),
        )

    @property
    def kind(self) -> str:
        for key in (*_MEDIA_KEYS, "location", "contact", "text"):
            if key in self.raw:
                return key
        return "unknown"

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def entities(self) -> list[dict[str, Any]]:
        return self.raw.get("entities") or self.raw.get("caption_entities") or []

    @property
    def document(self) -> dict[str, Any] | None:
        return self.raw.get("document")

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        return self.raw.get("photo")

    @property
    def file_id(self) -> str | None:
        """file_id of the document / largest photo / other media, if any."""
        for key in _MEDIA_KEYS:
            value = self.raw.get(key)
            if isinstance(value, list) and value:
                return value[-1]["file_id"]
            if isinstance(value, dict):
                return value["file_id"]
        return None

    @property
    def raw_buttons(self) -> list[dict[str, Any]]:
        """The inline buttons as dicts (text, callback_data/url...), flattened row by row."""
        return [button for row in self.keyboard for button in row]

    def has_button(self, title: str) -> bool:
        return title in self.buttons

    def button(self, title: str) -> dict[str, Any]:
        for row in self.keyboard:
            for button in row:
                if button.get("text") == title:
                    return button
        raise AssertionError(f"no button {title!r} on message {self.message_id}; buttons: {self.buttons}")

    def callback_data(self, title: str) -> str:
        return self.button(title)["callback_data"]

    def line(self) -> str:
        who = "bot" if self.from_bot else "user"
        body = self.text if self.text else f"<{self.kind}>"
        if self.kind not in ("text", "unknown") and self.text:
            body = f"<{self.kind}> {self.text}"
        extra = f"  [{' | '.join(self.buttons)}]" if self.buttons else ""
        mark = " (edited)" if self.edited else ""
        return f"#{self.message_id} {who}{mark}: {body}{extra}"

    def __str__(self) -> str:
        return self.line()


class ChatUser:
    """A Telegram user talking to the bot in a private chat (chat id == user id)."""

    def __init__(self, client: EmulatorClient, user_id: int, first_name: str, cursor: int) -> None:
        self.client = client
        self.user_id = user_id
        self.first_name = first_name
        self.cursor = cursor
        self.reply_keyboard: dict[str, Any] | None = None
        self._buffer: deque[ChatMessage] = deque()

    def __repr__(self) -> str:
        return f"ChatUser({self.user_id}, {self.first_name!r})"

    # -- acting ------------------------------------------------------------

    async def send(self, text: str, **extra: Any) -> dict[str, Any]:
        """Send a text message; returns {update_id, message_id, seq, message}."""
        return await self.client.request(
            "POST", "/control/send", json={"user_id": self.user_id, "kind": "text", "text": text, **extra}
        )

    async def send_kind(self, kind: str, caption: str | None = None, **extra: Any) -> dict[str, Any]:
        """Send a photo/document/sticker/voice/video/location/contact with placeholder content."""
        body: dict[str, Any] = {"user_id": self.user_id, "kind": kind, **extra}
        if caption is not None:
            body["caption"] = caption
        return await self.client.request("POST", "/control/send", json=body)

    async def send_document(
        self, content: bytes, file_name: str, mime_type: str = "application/octet-stream", caption: str | None = None
    ) -> dict[str, Any]:
        """Send a document with real content."""
        return await self.send_kind(
            "document",
            caption,
            content_base64=base64.b64encode(content).decode("ascii"),
            file_name=file_name,
            mime_type=mime_type,
        )

    async def press(self, button_text: str, message: ChatMessage | int | None = None) -> str:
        """Press an inline button by its title; returns the callback_query_id.

        Without ``message``, the most recent bot message carrying that button is used.
        """
        if message is None:
            messages = await self.messages()
            target = next((m for m in reversed(messages) if m.from_bot and button_text in m.buttons), None)
            if target is None:
                available = {m.message_id: m.buttons for m in messages if m.buttons}
                hint = ""
                if self.reply_keyboard and button_text in _keyboard_titles(self.reply_keyboard):
                    hint = " (it is on the reply keyboard: use send(text) instead)"
                raise AssertionError(
                    f"{self.first_name} ({self.user_id}) sees no inline button {button_text!r}{hint}; "
                    f"buttons by message id: {available}"
                )
            message_id = target.message_id
        else:
            message_id = message if isinstance(message, int) else message.message_id
        try:
            result = await self.client.request(
                "POST",
                "/control/press",
                json={"user_id": self.user_id, "message_id": message_id, "button_text": button_text},
            )
        except EmulatorError as exc:
            raise AssertionError(f"cannot press {button_text!r}: {exc.message}") from None
        return result["callback_query_id"]

    async def press_data(self, message_id: int, data: str) -> str:
        """Press a (possibly forged) button: any callback data on any message id."""
        result = await self.client.request(
            "POST", "/control/press", json={"user_id": self.user_id, "message_id": message_id, "callback_data": data}
        )
        return result["callback_query_id"]

    async def block(self) -> None:
        await self.client.block(self.user_id)

    async def unblock(self) -> None:
        await self.client.unblock(self.user_id)

    # -- observing -----------------------------------------------------------

    async def _fetch(self, wait: float) -> None:
        data = await self.client.events(self.user_id, after=self.cursor, wait=wait)
        for event in data["events"]:
            if event.get("reply_keyboard") is not None:
                change = event["reply_keyboard"]
                self.reply_keyboard = change if "keyboard" in change else None
            if event["type"] in ("message", "edit") and event["from_bot"]:
                self._buffer.append(ChatMessage.from_event(event))
            self.cursor = max(self.cursor, event["seq"])
        self.cursor = max(self.cursor, data["last"])

    async def next_message(self, timeout: float = 15.0) -> ChatMessage:  # noqa: ASYNC109 (public API: a deadline)
        """The next bot message or edit not yet consumed by this user (waits up to ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._buffer:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"no new bot message for {self.first_name} ({self.user_id}) within {timeout:g}s.\n"
                    f"Chat transcript:\n{await self.transcript()}"
                )
            await self._fetch(min(remaining, 20.0))
        return self._buffer.popleft()

    async def wait_for(
        self,
        predicate: Callable[[ChatMessage], bool],
        timeout: float = 15.0,  # noqa: ASYNC109 (public API: a deadline)
    ) -> ChatMessage:
        """Consume bot messages/edits until one satisfies ``predicate``; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        skipped: list[ChatMessage] = []
        while True:
            remaining = deadline - loop.time()
            try:
                message = await self.next_message(max(remaining, 0.0))
            except TimeoutError:
                seen = "\n".join(m.line() for m in skipped) or "(none)"
                raise TimeoutError(
                    f"no bot message matched for {self.first_name} ({self.user_id}) within {timeout:g}s.\n"
                    f"Messages seen meanwhile:\n{seen}\nChat transcript:\n{await self.transcript()}"
                ) from None
            if predicate(message):
                return message
            skipped.append(message)

    async def wait_for_text(self, fragment: str, timeout: float = 15.0) -> ChatMessage:  # noqa: ASYNC109 (public API: a deadline)
        """Shortcut: the next bot message/edit whose text contains ``fragment``."""
        return await self.wait_for(lambda m: fragment in m.text, timeout)

    def drain_buffer(self) -> list[ChatMessage]:
        out = list(self._buffer)
        self._buffer.clear()
        return out

    async def drain(self) -> list[ChatMessage]:
        """Consume every bot message/edit already emitted, without waiting."""
        await self._fetch(0)
        return self.drain_buffer()

    async def messages(self) -> list[ChatMessage]:
        """Current state of the chat (after edits and deletions), oldest first."""
        data = await self.client.messages(self.user_id)
        self.reply_keyboard = data.get("reply_keyboard")
        return [ChatMessage.from_raw(m["message"], from_bot=m["from_bot"]) for m in data["messages"]]

    async def last_bot_message(self) -> ChatMessage | None:
        return next((m for m in reversed(await self.messages()) if m.from_bot), None)

    async def transcript(self) -> str:
        try:
            messages = await self.messages()
        except (EmulatorError, httpx.HTTPError) as exc:
            return f"(transcript unavailable: {exc})"
        return "\n".join(m.line() for m in messages) or "(empty chat)"

    async def callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 15.0,  # noqa: ASYNC109 (public API: a deadline)
    ) -> CallbackAnswer:
        """The bot's answer to that query: equal to its text, with ``.show_alert``, ``.url``, ``.cache_time``."""
        data = await self.client.request(
            "GET",
            f"/control/callbacks/{callback_query_id}",
            params={"timeout": timeout},
            http_timeout=timeout + 10,
        )
        if not data["answered"]:
            raise TimeoutError(f"callback query {callback_query_id} was not answered within {timeout:g}s")
        return CallbackAnswer(data["answer"])


def _keyboard_titles(markup: dict[str, Any]) -> list[str]:
    return [b.get("text", "") for row in markup.get("keyboard", []) for b in row]


class EmulatorClient:
    """HTTP client for ``/control/`` of a running emulator (``async with`` it)."""

    def __init__(self, url: str, *, timeout: float = 30.0, connections: int = 100) -> None:
        """`connections`: kept open at most (httpx's default, 100; fewer costs less CPU per request, as httpx looks
        at every open connection for each request)."""
        self.url = url.rstrip("/")
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=min(connections, 20))
        self.http = httpx.AsyncClient(base_url=self.url, timeout=timeout, limits=limits)

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        http_timeout: float | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"json": json, "params": params}
        if http_timeout is not None:
            kwargs["timeout"] = http_timeout
        response = await self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text
            raise EmulatorError(response.status_code, message)
        return response.json()

    async def user(self, user_id: int, first_name: str = "Amina", **kw: Any) -> ChatUser:
        """Register (or update) a user and return a ChatUser that sees messages from now on.

        ``kw``: last_name, username, language_code (default "fr"), started (default True).
        """
        data = await self.request("POST", "/control/users", json={"user_id": user_id, "first_name": first_name, **kw})
        return ChatUser(self, user_id, first_name, cursor=data["last"])

    async def block(self, user_id: int) -> None:
        await self.request("POST", "/control/block", json={"user_id": user_id})

    async def unblock(self, user_id: int) -> None:
        await self.request("POST", "/control/unblock", json={"user_id": user_id})

    async def fault(
        self,
        method: str,
        error_code: int = 500,
        *,
        chat_id: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> dict[str, Any]:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any) fail with ``error_code``; with ``delay``,
        held that many seconds first (``error_code=0``: then carried out, a slow Telegram)."""
        body: dict[str, Any] = {"method": method, "error_code": error_code, "times": times}
        if delay:
            body["delay"] = delay
        if chat_id is not None:
            body["chat_id"] = chat_id
        if description is not None:
            body["description"] = description
        if retry_after is not None:
            body["retry_after"] = retry_after
        return await self.request("POST", "/control/faults", json=body)

    async def clear_faults(self) -> None:
        await self.request("POST", "/control/faults/clear")

    async def stats(self) -> dict[str, Any]:
        return await self.request("GET", "/control/stats")

    async def inject(self, update: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Queue a raw Telegram Update as it is (any type, any chat; see ``sandbox/emulator/inject.py``):
        returns ``{update_id, seq, update}``, the update as queued (numbered by the emulator)."""
        body: dict[str, Any] = {"update": update}
        if token is not None:
            body["token"] = token
        return await self.request("POST", "/control/inject", json=body)

    async def commands(self, user_id: int | None = None) -> list[dict[str, str]]:
        """The bot's commands (the last setMyCommands list, or those a given user sees)."""
        params = {"user_id": user_id} if user_id is not None else None
        return (await self.request("GET", "/control/commands", params=params))["commands"]

    async def file_bytes(self, file_id: str) -> bytes:
        response = await self.http.get(f"/control/files/{file_id}")
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, response.text)
        return response.content

    async def events(self, chat_id: int, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        """Events of a chat after ``after``; the server waits up to ``wait`` seconds for one."""
        return await self.request(
            "GET",
            f"/control/chats/{chat_id}/events",
            params={"after": after, "timeout": wait},
            http_timeout=wait + 10,
        )

    async def messages(self, chat_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/control/chats/{chat_id}/messages")

    async def status(self) -> dict[str, Any]:
        return await self.request("GET", "/control/status")

    async def wait_connected(self, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109 (a deadline)
        """Wait until a bot polls the emulator (or has a webhook)."""
        return await self._wait_status(lambda s: s["connected"], timeout, "no bot connected to the emulator")

    async def wait_polling(self, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109 (a deadline)
        """Wait until a getUpdates long poll is pending right now (the bot is idle, listening)."""
        return await self._wait_status(lambda s: any(b["polling"] for b in s["bots"]), timeout, "no getUpdates pending")

    async def _wait_status(self, ok: Callable[[dict[str, Any]], bool], within: float, what: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        status = await self.status()
        while not ok(status):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what} within {within:g}s (status: {status})")
            status = await self.request(
                "GET",
                "/control/status",
                params={"after": status["version"], "timeout": min(remaining, 20.0)},
                http_timeout=remaining + 10,
            )
        return status

    async def reset(self) -> None:
        await self.request("POST", "/control/reset")
