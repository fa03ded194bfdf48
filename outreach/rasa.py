"""Client of the Rasa server (REST channel and HTTP API)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from outreach.replies import Button, Reply

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer (down, restarting, or returned an error)."""


def reply_from_rasa(message: dict[str, Any]) -> Reply:
    buttons = tuple(
        Button(title=str(b.get("title", ""))[:64], payload=str(b.get("payload", "")))
        for b in message.get("buttons") or []
        if b.get("title") and b.get("payload")
    )
    custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
    text = str(message.get("text") or "")
    if not text and buttons:
        text = "Choisissez :"
    return Reply(text=text, buttons=buttons, custom=custom or {})


def exchanges(events: list[dict[str, Any]], limit: int = 10) -> list[tuple[str, str]]:
    """The latest exchanges of a tracker's events as (who, text), who = "habitant" or "bot" (payloads
    of buttons left out). What a case card shows: the conversation is not copied into our DB."""
    lines: list[tuple[str, str]] = []
    for event in events:
        text = event.get("text")
        if not text or str(text).startswith("/"):
            continue
        if event.get("event") == "user":
            lines.append(("habitant", str(text)))
        elif event.get("event") == "bot":
            lines.append(("bot", str(text)))
    return lines[-limit:]


class RasaClient:
    """Talks to Rasa's REST channel with an opaque sender id (never a Telegram id). `token`: Rasa's API
    token (OUTREACH_RASA_TOKEN), sent as a bearer header to the channel and as the `token` parameter
    Rasa's HTTP API reads."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"} if token else None,
            params={"token": token} if token else None,
        )

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[Reply]:
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata or {}}
            )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as exc:
            raise RasaUnavailable("invalid JSON") from exc
        replies = [reply_from_rasa(m) for m in messages if isinstance(m, dict)]
        return [r for r in replies if r.text or r.custom]

    async def forget(self, sender: str) -> None:
        """Erase the conversation Rasa holds for this sender (best effort)."""
        try:
            await self._http.put(f"/conversations/{sender}/tracker/events", json=[])
        except httpx.HTTPError:
            log.warning("could not reset a Rasa tracker (Rasa unreachable)")

    async def pause(self, sender: str) -> None:
        """Pause the conversation (a person answers now): Rasa's own pause event (best effort)."""
        await self._append_event(sender, {"event": "pause"})

    async def resume(self, sender: str) -> None:
        """Resume the conversation after a person closed the case (best effort)."""
        await self._append_event(sender, {"event": "resume"})

    async def _append_event(self, sender: str, event: dict[str, Any]) -> None:
        try:
            await self._http.post(f"/conversations/{sender}/tracker/events", json=[event], timeout=5.0)
        except httpx.HTTPError:
            log.warning("could not send a %s event to Rasa (Rasa unreachable)", event.get("event"))

    async def last_exchanges(self, sender: str, limit: int = 10) -> list[tuple[str, str]]:
        """The latest exchanges of the conversation as (who, text), who = "habitant" or "bot".

        Read from Rasa's tracker when a case card is made: the conversation is not copied into our DB."""
        try:
            response = await self._http.get(f"/conversations/{sender}/tracker", timeout=5.0)
            events = response.json().get("events") or [] if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            return []
        return exchanges(events, limit)

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/status", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._http.aclose()
