"""Client of the Rasa server (REST channel and HTTP API)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from outreach import rasa_store
from outreach.replies import Button, Reply

log = logging.getLogger(__name__)


READY_POLL = 0.25  # seconds between two looks at a Rasa that is not ready


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
    Rasa's HTTP API reads. `database_url`: the project's database, next to which Rasa's SQL tracker store
    lives (outreach/rasa_store.py), whose rows `forget` deletes."""

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout: float = 15.0, database_url: str | URL | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._ready = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self.database_url = database_url
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

    async def forget(self, sender: str) -> int:
        """Erase the conversation Rasa holds for this sender: its tracker emptied through Rasa's API (which
        waits for a message of that conversation in progress; an in-memory store forgets it there), then its
        rows deleted from the SQL tracker store, which Rasa's API leaves in place (done even when Rasa is
        down). Returns the number of rows deleted."""
        try:
            await self._http.put(f"/conversations/{sender}/tracker/events", json=[])
        except httpx.HTTPError:
            log.warning("could not reset a Rasa tracker (Rasa unreachable)")
        if self.database_url is None:
            return 0
        try:
            return await asyncio.to_thread(rasa_store.forget, self.database_url, sender)
        except SQLAlchemyError as exc:
            log.error("could not delete a conversation from Rasa's tracker store (%s)", type(exc).__name__)
            return 0

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

    async def wait_ready(self, within: float) -> bool:
        """Wait until Rasa answers with its model loaded (at most `within` seconds): one watcher polls it every
        READY_POLL seconds for every waiting conversation, which all go on as soon as it is ready (not after a
        retry delay of their own)."""
        if self._watch is None or self._watch.done():
            self._ready = asyncio.Event()
            self._watch = asyncio.create_task(self._watch_until_ready(self._ready))
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=max(within, 0.0))
        except TimeoutError:
            return False
        return True

    async def _watch_until_ready(self, ready: asyncio.Event, give_up_after: float = 900.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + give_up_after
        while not await self.healthy():
            if loop.time() > deadline:
                return
            await asyncio.sleep(READY_POLL)  # Rasa publishes no readiness event: its status is polled
        ready.set()

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/status", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self._http.aclose()
