"""What every router of the console shares: its state, typed dependencies (database, current staff member,
manager role, CSRF), the templates and the helpers that render a page or redirect after a form.

The routers (login.py, pages.py, campaign_pages.py) import this module; web.py builds the app from them.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import ConsoleSession, Staff, StaffRole
from outreach.clock import Clock
from outreach.config import Settings
from outreach.services import console_accounts
from outreach.services.console_views import StaffScope

HERE = Path(__file__).parent
SESSION_COOKIE = "outreach_session"
PRE_CSRF_COOKIE = "outreach_csrf"  # before login: double-submit cookie
ROLE_LABELS = {"relay": "adulte-relais", "coordinator": "coordinateur·rice", "admin": "administrateur·rice"}
CSRF_REFUSED = "Formulaire expiré ou envoyé d'ailleurs : rechargez la page et recommencez."
MANAGERS_ONLY = "Réservé aux coordinateurs."


@dataclass
class ConsoleState:
    engine: Engine
    clock: Clock
    settings: Settings

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz


class NeedLogin(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


# ---------------------------------------------------------------- templates


def local_time(value: dt.datetime | None, tz: ZoneInfo, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A moment in the console's time zone (OUTREACH_TIMEZONE), "—" for none."""
    if value is None:
        return "—"
    return value.astimezone(tz).strftime(fmt)


@jinja2.pass_context
def _local(context: jinja2.runtime.Context, value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """The `local` filter: the time zone of the app that renders (every page is rendered with its request)."""
    return local_time(value, context["request"].app.state.console.tz, fmt)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["local"] = _local
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS


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
    def scope(self) -> StaffScope:
        """What they may see, as the services check it."""
        return StaffScope(self.id, StaffRole(self.staff.role), self.staff.territory_id)

    @property
    def role(self) -> StaffRole:
        return StaffRole(self.staff.role)

    @property
    def is_admin(self) -> bool:
        return self.scope.is_admin

    @property
    def manages(self) -> bool:
        """Coordinators and admins manage; adultes-relais see their own things and read figures."""
        return self.scope.manages

    @property
    def actor(self) -> str:
        return self.scope.actor


def current_viewer(request: Request, console: StateDep, uow: UowDep) -> Viewer:
    found = console_accounts.session_of(uow, console.clock, request.cookies.get(SESSION_COOKIE))
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
        raise HTTPException(403, CSRF_REFUSED)
    return viewer


CsrfDep = Annotated[Viewer, Depends(csrf_checked)]


def managers_only(viewer: Viewer) -> None:
    """For the forms only coordinators and admins may send."""
    if not viewer.manages:
        raise HTTPException(403, MANAGERS_ONLY)


# ---------------------------------------------------------------- answers


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
