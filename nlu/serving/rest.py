"""Rasa's REST channel behind the same token as its HTTP API: only the outreach service may post a
resident's message (`Authorization: Bearer <OUTREACH_RASA_TOKEN>`). Without a token configured, every
request is refused (fail closed). A turn that could not reach the action server is not saved and answered
503, so that the service sends the message again (nlu/serving/turns.py)."""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from serving.turns import IN_REST_TURN, ActionServerUnavailable

UNAVAILABLE: ContextVar[bool] = ContextVar("outreach_action_server_unavailable", default=False)


def authorised(request: Request) -> bool:
    expected = os.environ.get("OUTREACH_RASA_TOKEN", "")
    given = request.headers.get("authorization", "")
    return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


class TokenRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def turn(message: UserMessage) -> None:
            entered = IN_REST_TURN.set(True)
            try:
                await on_new_message(message)
            except ActionServerUnavailable:
                UNAVAILABLE.set(True)  # the same task as the middlewares below
            finally:
                IN_REST_TURN.reset(entered)

        webhook = super().blueprint(turn)

        @webhook.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            UNAVAILABLE.set(False)
            if request.method == "GET" and request.path.rstrip("/").endswith("/rest"):
                return None  # the channel's health answer says nothing about anyone
            if not authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            return None

        @webhook.middleware("response")
        async def retry_later(request: Request, answer: HTTPResponse) -> HTTPResponse | None:
            if UNAVAILABLE.get():
                UNAVAILABLE.set(False)
                return response.json({"error": "action server unavailable"}, status=503)
            return None

        return webhook
