"""Client of the Rasa server (REST channel and HTTP API)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from outreach import metrics, rasa_store
from outreach.logs import update_id_var
from outreach.replies import Button, Reply

log = logging.getLogger(__name__)


READY_POLL = 0.25  # seconds between two looks at a Rasa that is not ready
IN_FLIGHT = 4  # calls at once to one Rasa replica (see RasaClient.__init__)
CONNECT_TIMEOUT = 5.0  # seconds: a replica that does not accept a connection by then is tried no more this call
# True while an update is handled again (replayed after a crash, swept or drained from another worker: bot/app.py)
HANDLED_AGAIN: ContextVar[bool] = ContextVar("outreach_handled_again", default=False)


@contextlib.contextmanager
def handled_again() -> Iterator[None]:
    reset = HANDLED_AGAIN.set(True)
    try:
        yield
    finally:
        HANDLED_AGAIN.reset(reset)


class RasaUnavailable(Exception):
    """Rasa did not answer (down, restarting, or returned an error)."""


# Transport errors (aiohttp: about a fifth of httpx's CPU per call, bot/transport.py). A replica that cannot be
# reached (refused, reset, killed during the call, no connection within the connect timeout) is worth trying the
# next one; a slow answer is not (that replica may still carry the turn out).
HTTP_ERRORS = (aiohttp.ClientError, TimeoutError)


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return True
    return isinstance(error, aiohttp.ClientConnectionError) and not isinstance(error, aiohttp.ServerTimeoutError)


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


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
    lives (outreach/rasa_store.py), whose rows `forget` deletes.

    Several Rasa replicas (`base_url` a list, OUTREACH_RASA_URLS): they share the tracker store and a lock
    store, so any of them can carry on any conversation; a conversation goes to one of them (chosen by its
    sender: its turns find a warm replica), and to the next one when that one cannot be reached or was killed
    during the turn (a turn is saved at its end: nothing of it was kept)."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        token: str | None = None,
        timeout: float = 15.0,
        database_url: str | URL | None = None,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("RasaClient needs at least one URL")
        self.base_urls = [url.rstrip("/") for url in urls]
        self.base_url = self.base_urls[0]
        self._ready = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self.database_url = database_url
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._params = {"token": token} if token else {}
        self._sessions: dict[str, aiohttp.ClientSession] = {}  # by URL, opened on first use (inside the loop)
        # Rasa handles one message at a time: calls beyond a few wait here, in order, on kept-alive connections.
        self._in_flight = {url: asyncio.Semaphore(IN_FLIGHT) for url in self.base_urls}

    def _session(self, url: str) -> aiohttp.ClientSession:
        session = self._sessions.get(url)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
            session = self._sessions[url] = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return session

    def _replicas(self, sender: str) -> list[str]:
        """The replicas' URLs in the order this conversation tries them."""
        if len(self.base_urls) == 1:
            return self.base_urls
        first = zlib.crc32(sender.encode()) % len(self.base_urls)
        return self.base_urls[first:] + self.base_urls[:first]

    async def _call(self, url: str, method: str, path: str, **kwargs: Any) -> Response:
        """One HTTP call to one replica; `timeout=` seconds for the whole call (the client's by default)."""
        total = float(kwargs.pop("timeout", self._timeout))
        limit = aiohttp.ClientTimeout(total=total, sock_connect=min(total, CONNECT_TIMEOUT))
        session = self._session(url)
        # the replica's URL as configured, path prefix included, then the API path (no URL joining rules)
        async with session.request(method, url + path, params=self._params, timeout=limit, **kwargs) as answer:
            return Response(answer.status, await answer.read())

    async def _request(self, sender: str, method: str, path: str, **kwargs: Any) -> Response:
        """One call on this conversation's replica, on the next one when it cannot be reached, was killed during
        the call, or answered 503 (its action server unreachable: the turn was not saved). A slow answer is not
        tried elsewhere (that replica may still carry the turn out)."""
        replicas = self._replicas(sender)
        for index, url in enumerate(replicas):
            last = index == len(replicas) - 1
            try:
                async with self._in_flight[url]:
                    response = await self._call(url, method, path, **kwargs)
            except HTTP_ERRORS as error:
                if last or not _unreachable(error):
                    raise
                log.warning("a Rasa replica could not be reached: trying the next one")
                continue
            if response.status_code == 503 and not last:
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[Reply]:
        """One turn. The Telegram update it answers (`update_id_var`) goes in the message's metadata, which Rasa
        keeps in the conversation: an update handled again (`handled_again`: after a crash, by another worker) whose
        turn Rasa already took gets that turn's replies, and Rasa does not take the answer twice (a form would skip
        a question)."""
        update_id = update_id_var.get()
        if update_id is not None:
            metadata = {**(metadata or {}), "update_id": update_id}
            if HANDLED_AGAIN.get():
                taken = await self._turn_taken(sender, update_id)
                if taken is not None:
                    return taken
        try:
            response = await self._request(
                sender,
                "POST",
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata or {}},
            )
        except HTTP_ERRORS as exc:
            kind = "unreachable" if _unreachable(exc) else "timeout" if isinstance(exc, TimeoutError) else "other"
            metrics.count_rasa_error(kind)
            raise RasaUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            metrics.count_rasa_error("http_error")
            raise RasaUnavailable(f"HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as exc:
            metrics.count_rasa_error("other")
            raise RasaUnavailable("invalid JSON") from exc
        replies = [reply_from_rasa(m) for m in messages if isinstance(m, dict)]
        return [r for r in replies if r.text or r.custom]

    async def _turn_taken(self, sender: str, update_id: int) -> list[Reply] | None:
        """The replies Rasa gave to the turn of this update, or None when Rasa never took it."""
        events = await self._events(sender)
        if events is None:
            return None  # unknown: the turn is sent (a duplicate is better than a lost message)
        replies: list[Reply] | None = None
        for event in events:
            if event.get("event") == "user":
                if replies is not None:
                    break  # the next turn
                if (event.get("metadata") or {}).get("update_id") == update_id:
                    replies = []
            elif event.get("event") == "bot" and replies is not None:
                data = event.get("data") or {}
                reply = reply_from_rasa(
                    {"text": event.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")}
                )
                if reply.text or reply.custom:
                    replies.append(reply)
        if replies is not None:
            log.warning("an update handled again: Rasa had taken its turn, its replies are sent again")
        return replies

    async def forget(self, sender: str) -> int:
        """Erase the conversation Rasa holds for this sender: its tracker emptied through Rasa's API (which
        waits for a message of that conversation in progress; an in-memory store forgets it there), then its
        rows deleted from the SQL tracker store, which Rasa's API leaves in place (done even when Rasa is
        down). Returns the number of rows deleted."""
        try:
            await self._request(sender, "PUT", f"/conversations/{sender}/tracker/events", json=[])
        except HTTP_ERRORS:
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
            await self._request(sender, "POST", f"/conversations/{sender}/tracker/events", json=[event], timeout=5.0)
        except HTTP_ERRORS:
            log.warning("could not send a %s event to Rasa (Rasa unreachable)", event.get("event"))

    async def last_exchanges(self, sender: str, limit: int = 10) -> list[tuple[str, str]]:
        """The latest exchanges of the conversation as (who, text), who = "habitant" or "bot".

        Read from Rasa's tracker when a case card is made: the conversation is not copied into our DB."""
        return exchanges(await self._events(sender) or [], limit)

    async def _events(self, sender: str) -> list[dict[str, Any]] | None:
        """The events of the conversation Rasa holds (none yet: []), or None when Rasa cannot be read."""
        try:
            response = await self._request(sender, "GET", f"/conversations/{sender}/tracker", timeout=5.0)
            return response.json().get("events") or [] if response.status_code == 200 else []
        except (*HTTP_ERRORS, ValueError):
            return None

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
        """At least one replica answers with its model loaded."""
        for url in self.base_urls:
            try:
                response = await self._call(url, "GET", "/status", timeout=2.0)
            except HTTP_ERRORS:
                continue
            if response.status_code == 200:
                return True
        return False

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
