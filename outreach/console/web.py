"""The console's plumbing: the FastAPI app, its typed dependencies (database, current staff member,
role), CSRF, security headers, templates, and the login / logout / single-use link routes.

Server-rendered (Jinja2, autoescaped); a little JavaScript (static/console.js, no inline script:
the Content-Security-Policy forbids it) for the live audience count and the progress bar.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import UnitOfWork
from db.models import ConsoleSession, Staff, StaffRole
from outreach import outbox
from outreach.clock import Clock
from outreach.config import Settings
from outreach.console import accounts

log = logging.getLogger("outreach.console")

HERE = Path(__file__).parent
SESSION_COOKIE = "outreach_session"
PRE_CSRF_COOKIE = "outreach_csrf"  # before login: double-submit cookie
ROLE_LABELS = {"relay": "adulte-relais", "coordinator": "coordinateur·rice", "admin": "administrateur·rice"}


@dataclass
class ConsoleState:
    engine: Engine
    clock: Clock
    settings: Settings

    @property
    def tz(self) -> Any:
        return self.settings.tz


templates = Jinja2Templates(directory=str(HERE / "templates"))


def _local(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(_TZ[0]).strftime(fmt)


_TZ: list[Any] = []
templates.env.filters["local"] = _local
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS


class NeedLogin(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


# ---------------------------------------------------------------- dependencies


def state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


StateDep = Annotated[ConsoleState, Depends(state)]


def get_uow(console: StateDep) -> Iterator[UnitOfWork]:
    with UnitOfWork(console.engine) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


@dataclass
class Viewer:
    """The logged-in staff member, with their session's CSRF token."""

    staff: Staff
    session: ConsoleSession

    @property
    def id(self) -> int:
        assert self.staff.id is not None
        return self.staff.id

    @property
    def role(self) -> StaffRole:
        return StaffRole(self.staff.role)

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.admin

    @property
    def manages(self) -> bool:
        """Coordinators and admins manage; adultes-relais see their own things and read figures."""
        return self.role in (StaffRole.coordinator, StaffRole.admin)

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"

    def territory(self, requested: str | None, known: list[str]) -> str:
        """The territory a page shows: an admin chooses, everybody else sees their own."""
        if self.is_admin:
            return requested if requested in known else (known[0] if known else "")
        return self.staff.territory_id or ""

    def can_see(self, territory_id: str | None) -> bool:
        return self.is_admin or (territory_id is not None and territory_id == self.staff.territory_id)


def current_viewer(request: Request, console: StateDep, uow: UowDep) -> Viewer:
    found = accounts.session_of(uow, console.clock, request.cookies.get(SESSION_COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NeedLogin(target)
    return Viewer(*found)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def manager(viewer: ViewerDep) -> Viewer:
    if not viewer.manages:
        raise HTTPException(403, "Cette page est réservée aux coordinateurs.")
    return viewer


ManagerDep = Annotated[Viewer, Depends(manager)]


async def csrf_checked(request: Request, viewer: ViewerDep) -> Viewer:
    """Every state-changing request carries the session's CSRF token (form field or header)."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, viewer.session.csrf_token):
        raise HTTPException(403, "Formulaire expiré ou envoyé d'ailleurs : rechargez la page et recommencez.")
    return viewer


CsrfDep = Annotated[Viewer, Depends(csrf_checked)]


def render(
    request: Request, name: str, viewer: Viewer | None = None, status_code: int = 200, **context: Any
) -> Response:
    context.update(request=request, viewer=viewer, csrf=viewer.session.csrf_token if viewer else None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def back(url: str, message: str | None = None, *, error: bool = False) -> RedirectResponse:
    """Redirect after a POST, with a short message shown by the next page."""
    if message:
        url += ("&" if "?" in url else "?") + ("erreur=" if error else "ok=") + quote(message)
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- the app


def create_app(engine: Engine, clock: Clock, settings: Settings) -> FastAPI:
    from outreach.console import campaign_pages, pages

    app = FastAPI(title="Outreach – console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(engine, clock, settings)
    _TZ[:] = [settings.tz]
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    app.include_router(pages.router)
    app.include_router(campaign_pages.router)
    secure = settings.effective_console_url.startswith("https://")
    app.state.secure_cookies = secure

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path != "/static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NeedLogin)
    async def _login(request: Request, exc: NeedLogin) -> Response:
        if request.method != "GET" or request.headers.get("accept", "").startswith("application/json"):
            return HTMLResponse("Session expirée : reconnectez-vous.", status_code=401)
        return RedirectResponse("/connexion?suite=" + quote(exc.next_url), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code in (400, 403, 404, 409) else None
        titles = {403: "Accès refusé", 404: "Page introuvable"}
        return render(
            request, "error.html", None, status_code=exc.status_code,
            title=titles.get(exc.status_code, "Erreur"), message=message or "Une erreur est survenue.",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        return render(request, "error.html", None, status_code=400, title="Formulaire incomplet",
                      message=f"Vérifiez ces champs puis recommencez : {', '.join(fields)}.")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("console: %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return render(request, "error.html", None, status_code=500, title="Erreur",
                      message="Un problème est survenu de notre côté ; rien n'a été perdu. Réessayez dans un instant.")

    return app


router = APIRouter()


def _pre_csrf(request: Request) -> str:
    return request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)


def _login_page(request: Request, *, status_code: int = 200, **context: Any) -> Response:
    token = _pre_csrf(request)
    response = render(request, "login.html", None, status_code=status_code, pre_csrf=token, **context)
    response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, max_age=3600)
    return response


def _check_pre_csrf(request: Request, sent: str) -> None:
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise HTTPException(403, "Formulaire expiré ou envoyé d'ailleurs : rechargez la page et recommencez.")


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


def _logged_in(request: Request, uow: UnitOfWork, clock: Clock, staff_id: int, next_url: str | None) -> Response:
    raw, _csrf = accounts.open_session(uow, clock, staff_id)
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                        max_age=int(accounts.SESSION_MAX.total_seconds()), path="/")
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


@router.get("/sante")
def health() -> Response:
    """For the supervisor of `outreach run`: the console answers."""
    return Response("ok", media_type="text/plain")


@router.get("/connexion", response_class=HTMLResponse)
def login_page(request: Request, suite: str | None = None) -> Response:
    return _login_page(request, suite=_safe_next(suite))


@router.post("/connexion")
def login(
    request: Request,
    console: StateDep,
    uow: UowDep,
    identifiant: Annotated[str, Form(max_length=200)] = "",
    mot_de_passe: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    suite: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    _check_pre_csrf(request, csrf_token)
    result = accounts.check_login(uow, console.clock, identifiant, mot_de_passe)
    if result.staff_id is not None:
        return _logged_in(request, uow, console.clock, result.staff_id, suite)
    if result.locked_until is not None:
        until = _local(result.locked_until, "%H:%M")
        error = f"Trop d'essais : ce compte est bloqué jusqu'à {until}. Vous pouvez recevoir un lien sur Telegram."
    else:
        error = "Identifiant ou mot de passe incorrect."
    return _login_page(request, status_code=401, error=error, identifiant=identifiant[:64], suite=_safe_next(suite))


@router.post("/connexion/telegram")
def login_by_telegram(
    request: Request,
    console: StateDep,
    uow: UowDep,
    identifiant: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _check_pre_csrf(request, csrf_token)
    made = accounts.login_link_for(uow, console.clock, identifiant)
    if made is not None:
        staff, token = made
        assert staff.chat_id is not None
        now = console.clock.now()
        link = f"{console.settings.effective_console_url}/connexion/lien/{token}"
        outbox.enqueue(
            uow, key=f"console-link:{token[:16]}", chat_id=staff.chat_id, kind="console_link", staff_id=staff.id,
            payload={"text": accounts.LOGIN_LINK_TEXT.format(lien=link)},
            due_at=now, expires_at=now + accounts.LOGIN_LINK_LIFETIME, now=now,
        )
        uow.commit()
    return _login_page(
        request, info="Si ce compte existe et est relié à Telegram, un lien de connexion vient d'y être envoyé."
    )


@router.get("/connexion/lien/{token}", response_class=HTMLResponse)
def login_link_page(request: Request, token: str) -> Response:
    # A GET only shows a button: Telegram's link preview must not spend the link.
    return _login_page(request, link_token=token[:128])


@router.post("/connexion/lien/{token}")
def login_by_link(
    request: Request, console: StateDep, uow: UowDep, token: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _check_pre_csrf(request, csrf_token)
    staff_id = accounts.redeem_login_link(uow, console.clock, token)
    if staff_id is None:
        return _login_page(request, status_code=400, error="Ce lien ne marche plus (déjà utilisé ou trop ancien).")
    return _logged_in(request, uow, console.clock, staff_id, "/")


@router.get("/activer/{token}", response_class=HTMLResponse)
def activation_page(request: Request, console: StateDep, uow: UowDep, token: str) -> Response:
    account = accounts.activation_account(uow, console.clock, token)
    token_cookie = _pre_csrf(request)
    response = render(request, "activate.html", None, status_code=200 if account else 400, account=account,
                      token=token[:128], pre_csrf=token_cookie, min_length=accounts.MIN_PASSWORD)
    response.set_cookie(PRE_CSRF_COOKIE, token_cookie, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, max_age=3600)
    return response


@router.post("/activer/{token}")
def activate(
    request: Request, console: StateDep, uow: UowDep, token: str,
    mot_de_passe: Annotated[str, Form(max_length=1000)] = "",
    confirmation: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _check_pre_csrf(request, csrf_token)
    account = accounts.activation_account(uow, console.clock, token)
    error = None
    if account is None:
        error = "Ce lien ne marche plus (déjà utilisé ou trop ancien). Demandez-en un autre à votre coordinateur."
    elif mot_de_passe != confirmation:
        error = "Les deux mots de passe ne sont pas les mêmes."
    else:
        try:
            staff_id = accounts.activate(uow, console.clock, token, mot_de_passe)
        except accounts.AccountError as exc:
            error = str(exc).capitalize() + "."
        else:
            if staff_id is not None:
                return _logged_in(request, uow, console.clock, staff_id, "/")
            error = "Ce lien ne marche plus (déjà utilisé ou trop ancien)."
    response = render(request, "activate.html", None, status_code=400, account=account, token=token[:128],
                      pre_csrf=_pre_csrf(request), error=error, min_length=accounts.MIN_PASSWORD)
    return response


@router.post("/deconnexion")
def logout(request: Request, viewer: CsrfDep, uow: UowDep) -> Response:
    accounts.close_session(uow, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
