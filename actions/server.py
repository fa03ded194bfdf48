"""The action endpoint Rasa calls (`action_endpoint` in endpoints.yml): Rasa's action-server HTTP
protocol (POST /webhook, GET /health, GET /actions) served by a small Starlette app over rasa-sdk's
ActionExecutor, so the actions run with the process's runtime (actions/runtime.py)."""

from __future__ import annotations

import hmac
import json
import logging
import zlib
from typing import Any

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions import runtime
from outreach import i18n
from outreach.services import residents

log = logging.getLogger("outreach.actions")


def executor() -> ActionExecutor:
    found = ActionExecutor()
    found.register_package("actions")
    return found


def _language(action_call: dict[str, Any]) -> str:
    """The resident's language: sent by the channel with each message (metadata), else looked up."""
    tracker = action_call.get("tracker") or {}
    metadata = ((tracker.get("latest_message") or {}).get("metadata")) or {}
    said = i18n.supported(str(metadata.get("language") or ""))
    if said:
        return said
    sender = str(action_call.get("sender_id") or tracker.get("sender_id") or "")
    if not sender:
        return i18n.DEFAULT
    try:
        with runtime.current().uow() as uow:
            return residents.language_of(uow, sender)
    except Exception:  # no runtime (a test's executor) or no database: French, the reference
        return i18n.DEFAULT


def create_app(action_executor: ActionExecutor | None = None, *, token: str) -> Starlette:
    """`token`: what Rasa sends as `Authorization: Bearer …` (endpoints.yml); every route but /health
    refuses a request without it."""
    actions = action_executor or executor()
    expected = f"Bearer {token}".encode()

    def authorised(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def listing(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        return JSONResponse([item.model_dump() for item in actions.list_actions()])

    async def webhook(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        body = await request.body()
        try:
            if request.headers.get("content-encoding") == "deflate":
                body = zlib.decompress(body)
            action_call: Any = json.loads(body)
        except (ValueError, zlib.error):
            return JSONResponse({"error": "Invalid body request"}, status_code=400)
        if not isinstance(action_call, dict):
            return JSONResponse({"error": "Invalid body request"}, status_code=400)
        try:
            with i18n.speaking(_language(action_call)):
                result = await actions.run(action_call)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
        except ActionNotFoundException as exc:
            log.error("unknown action %s", exc.action_name)
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
        except Exception:  # an action failed: Rasa gets a 500, the log no message content
            log.exception("action %s failed", action_call.get("next_action"))
            return JSONResponse({"error": "action failed"}, status_code=500)
        return JSONResponse(result.model_dump() if result else None)

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/actions", listing, methods=["GET"]),
            Route("/webhook", webhook, methods=["POST"]),
        ]
    )
