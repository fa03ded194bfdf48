"""Telegram's webhook, served by the service itself (PTB's own server answers Telegram before the update is
written down: a worker killed then loses it). Here an update is written in the inbox (outreach/inbox.py) before
Telegram hears 200, then handed to the Application; a database that cannot take it answers 503, and Telegram
delivers the update again (to another worker, behind nginx). Telegram's secret token is checked first."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.channel import Services
from outreach import inbox

log = logging.getLogger(__name__)

PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1_000_000  # an update is a few KB; Telegram never sends this much


def webhook_app(application: Application, services: Services, secret: str, written: set[int]) -> Starlette:
    """The ASGI app of the webhook. `written`: the ids of updates written down here, which the update
    processor then handles without writing them again (bot/app.py ChatUpdateProcessor)."""

    async def telegram(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret.encode()):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, application.bot)
        except Exception:  # not an update: Telegram would not send it, nothing to deliver again
            return Response(status_code=400)
        if update is None or not isinstance(data, dict):
            return Response(status_code=400)
        chat = update.effective_chat
        try:
            new = await asyncio.to_thread(
                inbox.hold,
                services.engine,
                update.update_id,
                data,
                services.clock.now(),
                chat.id if chat is not None else None,
            )
        except Exception:
            log.warning("webhook: update %s not written down: Telegram will deliver it again", update.update_id)
            return Response(status_code=503)
        if new:
            written.add(update.update_id)
            await application.update_queue.put(update)
        return Response(status_code=200)

    return Starlette(routes=[Route(PATH, telegram, methods=["POST"])])
