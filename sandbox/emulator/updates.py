"""Delivery of updates to the bot: ``getUpdates`` long polling (with Telegram's 409 conflicts),
webhooks (``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo``, delivered to loopback URLs), and
``/control/updates`` (the pending queue)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request

from sandbox.emulator.models import BotState
from sandbox.emulator.protocol import MAX_LONG_POLL, ApiError, Upload, p_bool, p_float, p_int, p_list, p_str
from sandbox.emulator.state import ControlRoute, EmulatorState, Handler

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UpdatesMixin(EmulatorState):
    """How queued updates reach the bot, and whether it is connected."""

    def _updates_methods(self) -> dict[str, Handler]:
        return {
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
        }

    def _updates_controls(self) -> list[ControlRoute]:
        return [("/control/updates", self._c_updates, ["GET"])]

    def _is_connected(self, bot: BotState) -> bool:
        return bot.active_polls > 0 or bot.webhook is not None or time.monotonic() - bot.last_poll < 15.0

    async def _m_get_updates(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, Any]]:
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = p_int(p, "offset", 0) or 0
        limit = min(100, max(1, p_int(p, "limit", 100) or 100))
        timeout = min(MAX_LONG_POLL, max(0.0, p_float(p, "timeout", 0.0)))
        allowed = p_list(p, "allowed_updates")
        if "allowed_updates" in p and p["allowed_updates"] not in (None, ""):
            bot.allowed_updates = [str(a) for a in allowed or []] or None
        if offset > 0:
            bot.pending = [u for u in bot.pending if u["update_id"] >= offset]
        elif offset < 0:
            bot.pending = bot.pending[offset:]
        bot.poll_gen += 1
        generation = bot.poll_gen
        bot.active_polls += 1
        self._status_version += 1
        await self._notify()  # an older getUpdates still waiting is terminated (409) like on Telegram
        try:
            await self._wait(
                lambda: bool(bot.pending) or bot.poll_gen != generation or bot.webhook is not None, timeout
            )
        finally:
            bot.active_polls -= 1
            bot.last_poll = time.monotonic()
            self._status_version += 1
        if bot.poll_gen != generation:
            raise ApiError(409, CONFLICT_OTHER_POLLER)
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        return bot.pending[:limit]

    def _drop_webhook(self, bot: BotState) -> None:
        if bot.webhook is not None:
            self._status_version += 1
        bot.webhook = None
        bot.webhook_gen += 1
        bot.webhook_error = None
        if bot.webhook_task is not None:
            bot.webhook_task.cancel()
            bot.webhook_task = None

    async def _m_set_webhook(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        url = (p_str(p, "url") or "").strip()
        if p_bool(p, "drop_pending_updates"):
            bot.pending.clear()
        if "allowed_updates" in p and p["allowed_updates"] not in (None, ""):
            bot.allowed_updates = [str(a) for a in p_list(p, "allowed_updates") or []] or None
        if not url:
            self._drop_webhook(bot)
            return True
        if not re.match(r"^https?://[^\s/]+", url):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._drop_webhook(bot)
        bot.webhook = {
            "url": url,
            "secret_token": p_str(p, "secret_token"),
            "max_connections": p_int(p, "max_connections", 40),
        }
        self._status_version += 1
        bot.poll_gen += 1  # a pending getUpdates now conflicts
        if self.deliver_webhooks and _is_loopback_url(url):
            bot.webhook_task = asyncio.create_task(self._webhook_worker(bot, bot.webhook_gen))
        else:
            bot.webhook_error = (int(time.time()), "The emulator delivers webhooks to loopback addresses only")
        return True

    async def _webhook_worker(self, bot: BotState, generation: int) -> None:
        backoff = 0.25
        async with httpx.AsyncClient(timeout=30.0) as client:
            while not self._closing and bot.webhook is not None and bot.webhook_gen == generation:
                if not bot.pending:
                    await self._wait(lambda: bool(bot.pending) or bot.webhook_gen != generation, None)
                    continue
                update = bot.pending[0]
                webhook = bot.webhook
                headers = {"Content-Type": "application/json"}
                if webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
                try:
                    response = await client.post(webhook["url"], content=json.dumps(update), headers=headers)
                    error = None
                    if not 200 <= response.status_code < 300:
                        error = f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {exc.__class__.__name__}"
                if bot.webhook_gen != generation:
                    return
                if error is None:
                    if bot.pending and bot.pending[0] is update:
                        bot.pending.pop(0)
                    backoff = 0.25
                    await self._notify()
                else:
                    bot.webhook_error = (int(time.time()), error)
                    await self._wait(lambda: bot.webhook_gen != generation, backoff)
                    backoff = min(backoff * 2, 10.0)

    async def _m_delete_webhook(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        if p_bool(p, "drop_pending_updates"):
            bot.pending.clear()
        self._drop_webhook(bot)
        return True

    async def _m_get_webhook_info(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": bot.webhook["url"] if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        if bot.webhook:
            info["max_connections"] = bot.webhook.get("max_connections") or 40
            info["ip_address"] = "127.0.0.1"
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
            if bot.webhook_error:
                info["last_error_date"], info["last_error_message"] = bot.webhook_error
        return info

    async def _c_updates(self, request: Request, body: dict[str, Any]) -> Any:
        token = request.query_params.get("token") or self.last_token
        bot = self.bots.get(token) if token else None
        return {"updates": list(bot.pending) if bot else []}
