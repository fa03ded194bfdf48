"""The console's FastAPI app: its routers (login.py, pages.py, campaign_pages.py), static files, security
headers and error pages. The pieces the routers share are in shared.py.

Server-rendered (Jinja2, autoescaped); a little JavaScript (static/console.js, no inline script:
the Content-Security-Policy forbids it) for the live audience count and the progress bar.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from outreach import metrics
from outreach.clock import Clock
from outreach.config import Settings
from outreach.console import campaign_pages, login, pages
from outreach.console.shared import HERE, ConsoleState, NeedLogin, render
from outreach.services.console_views import ConsoleError, Forbidden, NotFound

log = logging.getLogger("outreach.console")

ERROR_TITLES = {403: "Accès refusé", 404: "Page introuvable"}


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _error_page(request: Request, status_code: int, message: str | None) -> Response:
    return render(
        request, "error.html", None, status_code=status_code,
        title=ERROR_TITLES.get(status_code, "Erreur"), message=message or "Une erreur est survenue.",
    )


READINESS_TIMEOUT = 5.0  # seconds: a readiness check slower than this answers "not ready"
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")  # a request relayed by a proxy (nginx)


def _from_loopback(request: Request) -> bool:
    """Sent from this machine, directly: a request relayed by a local proxy (its forwarding headers) is not."""
    if request.client is None or any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _bearer_matches(request: Request, token: str | None) -> bool:
    if not token:
        return False
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def _add_probes(app: FastAPI, readiness: Callable[[], Awaitable[bool]] | None, metrics_token: str | None) -> None:
    """/pret (readiness) and /metrics (Prometheus): no session, no CSRF; docs/operations.md. /sante (liveness)
    is in login.py."""

    failing: list[str] = []  # the failure already logged: probes come every few seconds, one warning is enough

    async def ready() -> bool:
        if readiness is None:
            return True
        try:
            result = bool(await asyncio.wait_for(readiness(), timeout=READINESS_TIMEOUT))
        except Exception as exc:  # a failing check means "not ready", never a 500
            if type(exc).__name__ not in failing:
                failing.append(type(exc).__name__)
                log.warning("readiness check failed (%s)", type(exc).__name__)
            return False
        failing.clear()
        return result

    @app.get("/pret")
    async def readiness_probe() -> Response:
        """For the load balancer and the supervisor: 200 when this worker may take updates, else 503."""
        is_ready = await ready()
        metrics.set_ready(is_ready)
        return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)

    @app.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        """Prometheus text, from this machine (not through a proxy) or with `Authorization: Bearer
        <OUTREACH_METRICS_TOKEN>`; otherwise the same 404 as an unknown page."""
        if not (_from_loopback(request) or _bearer_matches(request, metrics_token)):
            raise StarletteHTTPException(404)
        metrics.set_ready(await ready())
        body, content_type = await asyncio.to_thread(metrics.exposition)  # the database queries
        return Response(body, media_type=content_type)


def create_app(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    readiness: Callable[[], Awaitable[bool]] | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """The console app. `readiness`: what /pret answers (None: always ready). `metrics_token`: the bearer token
    that opens /metrics from another machine (None: the OUTREACH_METRICS_TOKEN environment variable, if set)."""
    app = FastAPI(title="Outreach – console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(engine, clock, settings)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(campaign_pages.router)
    _add_probes(app, readiness, metrics_token or os.environ.get("OUTREACH_METRICS_TOKEN") or None)
    secure = settings.effective_console_url.startswith("https://")
    app.state.secure_cookies = secure

    def secured(request: Request, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:  # behind https only: browsers then refuse plain http for a year
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        return secured(request, await call_next(request))

    @app.exception_handler(NeedLogin)
    async def _login(request: Request, exc: NeedLogin) -> Response:
        if request.method != "GET" or request.headers.get("accept", "").startswith("application/json"):
            return HTMLResponse("Session expirée : reconnectez-vous.", status_code=401)
        return RedirectResponse("/connexion?suite=" + quote(exc.next_url), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code in (400, 403, 404, 409) else None
        return _error_page(request, exc.status_code, message)

    @app.exception_handler(ConsoleError)
    async def _refused(request: Request, exc: ConsoleError) -> Response:
        """What the services refuse (a resident or a permanence elsewhere…), as the same error pages."""
        status_code = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
        return _error_page(request, status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        return render(request, "error.html", None, status_code=400, title="Formulaire incomplet",
                      message=f"Vérifiez ces champs puis recommencez : {', '.join(fields)}.")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        """Starlette answers an unexpected error outside the middlewares: the headers are added here too."""
        log.error("console: %s on %s %s", type(exc).__name__, request.method, request.url.path)
        page = render(request, "error.html", None, status_code=500, title="Erreur",
                      message="Un problème est survenu de notre côté ; rien n'a été perdu. Réessayez dans un instant.")
        return secured(request, page)

    return app
