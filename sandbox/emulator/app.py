"""The emulator assembled from its areas, and its HTTP front: the Bot API (``/bot<token>/<method>``),
file downloads, the control API (``/control/...``) and the sandbox page (``/``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.emulator.inject import InjectMixin
from sandbox.emulator.messages import MessagesMixin
from sandbox.emulator.observe import ObserveMixin
from sandbox.emulator.people import PeopleMixin
from sandbox.emulator.protocol import TOKEN_RE, ApiError, ControlError, read_params
from sandbox.emulator.settings import SettingsMixin
from sandbox.emulator.state import ControlHandler, Handler

#: The sandbox page and its assets (``sandbox/static``, shipped as package data).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class BotApiEmulator(InjectMixin, MessagesMixin, PeopleMixin, SettingsMixin, ObserveMixin):
    """In-memory Telegram: bots (by token), users, private chats, updates, events.

    ``app`` is the Starlette application serving the Bot API (``/bot<token>/<method>``),
    file downloads (``/file/bot<token>/<path>``), the control API (``/control/...``)
    and the sandbox page (``/``).
    """

    def __init__(
        self,
        enforce_limits: bool = False,
        global_rate: float = 30.0,
        per_chat_interval: float = 1.0,
        *,
        per_chat_burst: int = 3,
        callback_timeout: float | None = None,
        deliver_webhooks: bool = True,
    ) -> None:
        super().__init__(
            enforce_limits,
            global_rate,
            per_chat_interval,
            per_chat_burst=per_chat_burst,
            callback_timeout=callback_timeout,
            deliver_webhooks=deliver_webhooks,
        )
        self._methods = self._method_table()
        self.app = self._build_app()

    def _method_table(self) -> dict[str, tuple[str, Handler]]:
        """Bot API methods by lower-case name (Telegram ignores the case): (canonical name, handler)."""
        table: dict[str, Handler] = {
            **self._settings_methods(),
            **self._updates_methods(),
            **self._messages_methods(),
            **self._keyboards_methods(),
            **self._files_methods(),
            **self._people_methods(),
        }
        return {name.lower(): (name, fn) for name, fn in table.items()}

    async def _bot_api(self, request: Request) -> Response:
        token = request.path_params["token"]
        method = request.path_params["method"]
        if not TOKEN_RE.match(token):
            self.error_counts[401] += 1
            return JSONResponse(ApiError(401, "Unauthorized").payload(), status_code=401)
        bot = self._bot(token)
        bot.last_seen = time.monotonic()
        self.last_token = token
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
        self.method_calls[name] += 1
        try:
            params, files = await read_params(request)
            if entry is None:
                raise ApiError(404, "Not Found")
            fault = self._take_fault(name, params)
            if fault is not None:
                if fault.delay > 0:
                    await asyncio.sleep(fault.delay)  # a slow Telegram (the client may time out meanwhile)
                error = self._fault_error(fault)
                if error is not None:
                    raise error
            result = await entry[1](bot, params, files)
            response = JSONResponse({"ok": True, "result": result})
        except ApiError as exc:
            self.error_counts[exc.code] += 1
            response = JSONResponse(exc.payload(), status_code=exc.code)
        await self._notify()
        return response

    async def _page(self, request: Request) -> Response:
        return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    def _control(self, fn: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body: dict[str, Any] = {}
            mutating = request.method in ("POST", "PUT", "DELETE")
            try:
                if mutating:
                    raw = await request.body()
                    if raw.strip():
                        try:
                            parsed = json.loads(raw)
                        except ValueError:
                            raise ControlError(400, "the body must be a JSON object") from None
                        if not isinstance(parsed, dict):
                            raise ControlError(400, "the body must be a JSON object")
                        body = parsed
                result = await fn(request, body)
                response = result if isinstance(result, Response) else JSONResponse(result)
            except ControlError as exc:
                response = JSONResponse({"ok": False, "error": exc.message}, status_code=exc.status)
            except ApiError as exc:
                response = JSONResponse({"ok": False, "error": exc.description}, status_code=exc.code)
            if mutating:
                await self._notify()
            return response

        return endpoint

    def _build_app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self._closing = False
            yield
            await self.aclose()

        controls = [
            *self._people_controls(),
            *self._keyboards_controls(),
            *self._limits_controls(),
            *self._observe_controls(),
            *self._files_controls(),
            *self._settings_controls(),
            *self._updates_controls(),
            *self._inject_controls(),
        ]
        routes = [
            Route("/", self._page, methods=["GET"]),
            Route("/bot{token}/{method}", self._bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", self._bot_file, methods=["GET"]),
            *(Route(path, self._control(fn), methods=methods) for path, fn, methods in controls),
        ]
        return Starlette(routes=routes, lifespan=lifespan)


def create_app(**kwargs: Any) -> Starlette:
    """A Starlette app backed by a new :class:`BotApiEmulator` (``app.state.emulator``)."""
    emulator = BotApiEmulator(**kwargs)
    emulator.app.state.emulator = emulator
    return emulator.app
