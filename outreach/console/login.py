"""Getting in and out of the console: login by password or by a single-use Telegram link, activation of an
account (choosing the password), logout, and the health check. Before login the forms carry a
double-submit CSRF token (cookie + field)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.engine import UnitOfWork
from outreach.clock import Clock
from outreach.console.shared import (
    CSRF_REFUSED,
    PRE_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfDep,
    StateDep,
    UowDep,
    render,
)
from outreach.services import console_accounts as accounts

LOGIN_REFUSED = (
    f"Identifiant ou mot de passe incorrect. Après {accounts.LOCK_AFTER} erreurs, un compte est bloqué "
    f"{int(accounts.LOCK_FOR.total_seconds() // 60)} minutes : vous pouvez aussi recevoir un lien sur Telegram."
)


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
        raise HTTPException(403, CSRF_REFUSED)


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
    # one answer for a wrong password, an unknown login and a locked account: nobody learns which logins exist
    error = LOGIN_REFUSED
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
    accounts.send_login_link(uow, console.clock, identifiant, console_url=console.settings.effective_console_url)
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
