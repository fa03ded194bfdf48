"""Senders for the outbox: the Bot API over plain HTTP (no PTB, so a dispatcher process runs alone),
and a recording fake for tests. Payload shapes: outreach/outbox.py."""

from __future__ import annotations

import base64
import json
import mimetypes
from typing import Any

import httpx

from outreach.logs import redact
from outreach.metrics import count_rate_limited
from outreach.outbox import MAX_CAPTION, OutboxRow, SendResult


def inline_keyboard(buttons: list[list[str]] | None) -> dict[str, Any] | None:
    """[[title, callback_data], ...] → Telegram's inline keyboard: short titles share a row (3 at most)."""
    if not buttons:
        return None
    rows: list[list[dict[str, str]]] = []
    row: list[dict[str, str]] = []
    width = 0
    for title, data in buttons:
        if row and (len(row) == 3 or width + len(title) > 30):
            rows.append(row)
            row, width = [], 0
        row.append({"text": title, "callback_data": data})
        width += len(title)
    rows.append(row)
    return {"inline_keyboard": rows}


class BotApiSender:
    """The Bot API over httpx (`{base_url}{token}/<method>`): sendMessage, sendPhoto / sendDocument (a file
    Telegram already has, by file_id, or bytes uploaded), editMessageText / editMessageReplyMarkup; maps
    Telegram's answers to SendResult."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 32,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = f"{base_url}{token}/"
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __aenter__(self) -> BotApiSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def send(self, row: OutboxRow) -> SendResult:
        payload = row.payload
        markup = inline_keyboard(payload.get("buttons"))
        document, photo, edit = payload.get("document"), payload.get("photo"), payload.get("edit")
        voice, audio = payload.get("voice"), payload.get("audio")
        try:
            if edit:
                return await self._edit(row.chat_id, int(edit["message_id"]), payload.get("text"), markup)
            if photo:
                response = await self._post(
                    "sendPhoto", row.chat_id, payload.get("text"), markup, photo=photo["file_id"]
                )
            elif voice:
                response = await self._post(
                    "sendVoice", row.chat_id, payload.get("text"), markup, voice=voice["file_id"]
                )
            elif audio:
                response = await self._post(
                    "sendAudio", row.chat_id, payload.get("text"), markup, audio=audio["file_id"]
                )
            elif document and document.get("file_id"):
                response = await self._post(
                    "sendDocument", row.chat_id, payload.get("text"), markup, document=document["file_id"]
                )
            elif document:
                response = await self._send_document(row.chat_id, payload["text"], markup, document)
            else:
                body: dict[str, Any] = {"chat_id": row.chat_id, "text": payload["text"]}
                if markup:
                    body["reply_markup"] = markup
                response = await self._client.post(self._url + "sendMessage", json=body)
        except httpx.HTTPError as exc:
            return SendResult.failure(redact(f"{type(exc).__name__}: {exc}")[:255])
        return _result(response)

    async def _post(
        self, method: str, chat_id: int, caption: str | None, markup: dict[str, Any] | None, **media: str
    ) -> httpx.Response:
        body: dict[str, Any] = {"chat_id": chat_id, **media}
        if caption:
            body["caption"] = caption[:MAX_CAPTION]
        if markup:
            body["reply_markup"] = markup
        return await self._client.post(self._url + method, json=body)

    async def _edit(self, chat_id: int, message_id: int, text: str | None, markup: dict[str, Any] | None) -> SendResult:
        """editMessageText (or editMessageReplyMarkup without a text); "not modified" means it already
        shows that: done."""
        body: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
        if text is not None:
            body["text"] = text
        if markup:
            body["reply_markup"] = markup
        method = "editMessageText" if text is not None else "editMessageReplyMarkup"
        result = _result(await self._client.post(self._url + method, json=body))
        if not result.ok and result.permanent and "not modified" in (result.error or ""):
            return SendResult.sent(message_id)
        if result.ok and result.message_id is None:
            return SendResult.sent(message_id)
        return result

    async def _send_document(
        self, chat_id: int, text: str, markup: dict[str, Any] | None, document: dict[str, Any]
    ) -> httpx.Response:
        filename = str(document["filename"])
        content = base64.b64decode(document["content_b64"])
        mime = document.get("mime_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        data: dict[str, str] = {"chat_id": str(chat_id)}
        if text:
            data["caption"] = text[:MAX_CAPTION]
        if markup:
            data["reply_markup"] = json.dumps(markup, ensure_ascii=False)
        return await self._client.post(
            self._url + "sendDocument", data=data, files={"document": (filename, content, mime)}
        )


def _result(response: httpx.Response) -> SendResult:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and body.get("ok"):
        result = body.get("result")
        return SendResult.sent(result.get("message_id") if isinstance(result, dict) else None)
    code = int(body.get("error_code") or response.status_code)
    description = str(body.get("description") or response.reason_phrase)[:200]
    error = f"{code}: {description}"
    if code == 429:
        retry_after = float((body.get("parameters") or {}).get("retry_after", 1))
        count_rate_limited(retry_after)  # outreach_telegram_429_total (docs/operations.md)
        return SendResult.rate_limited(retry_after, error)
    if code == 403:
        return SendResult.forbidden(error)
    if code in (400, 401, 404, 413):
        return SendResult.failure(error, permanent=True)
    return SendResult.failure(error)  # 5xx, 409...: try again later


class RecordingSender:
    """A fake Sender that records what would be sent (tests); `results` can script answers per chat."""

    def __init__(self) -> None:
        self.sent: list[OutboxRow] = []
        self.results: dict[int, list[SendResult]] = {}

    async def send(self, row: OutboxRow) -> SendResult:
        scripted = self.results.get(row.chat_id)
        if scripted:
            result = scripted.pop(0)
            if result.ok:
                self.sent.append(row)
            return result
        self.sent.append(row)
        return SendResult.sent(len(self.sent))

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [row.payload.get("text", "") for row in self.sent if chat_id is None or row.chat_id == chat_id]
