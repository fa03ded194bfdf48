"""Rasa's REST channel behind the same token as its HTTP API: only the outreach service may post a
resident's message (`Authorization: Bearer <OUTREACH_RASA_TOKEN>`). Without a token configured, every
request is refused (fail closed)."""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def authorised(request: Request) -> bool:
    expected = os.environ.get("OUTREACH_RASA_TOKEN", "")
    given = request.headers.get("authorization", "")
    return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


class TokenRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            if request.method == "GET" and request.path.rstrip("/").endswith("/rest"):
                return None  # the channel's health answer says nothing about anyone
            if not authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            return None

        return webhook
