"""Console fixtures: the demo territory with console accounts, a client on the real FastAPI app, and a
login helper that goes through the login page like a person (pre-login CSRF cookie and field)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Staff, StaffRole
from outreach.clock import FrozenClock
from outreach.config import Settings
from outreach.console.web import create_app
from outreach.seed import seed_demo
from outreach.services import console_accounts as accounts

PASSWORD = "un mot de passe assez long"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class People:
    helene: int  # coordinator, Dijon
    marc: int  # coordinator, Troyes
    samia: int  # adulte-relais, Dijon
    admin: int


def staff_named(engine: Engine, first_name: str) -> int:
    with UnitOfWork(engine) as uow:
        found = uow.session.exec(select(Staff.id).where(Staff.first_name == first_name)).one()
        assert found is not None
        return found


def give_access(engine: Engine, clock: FrozenClock, staff_id: int, login: str, password: str = PASSWORD) -> None:
    with UnitOfWork(engine) as uow:
        token = accounts.grant(uow, clock, staff_id, login)
        assert accounts.activate(uow, clock, token, password) == staff_id


@pytest.fixture
def people(engine: Engine, clock: FrozenClock) -> People:
    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
        admin = Staff(first_name="Alex", role=StaffRole.admin, territory_id=None, created_at=clock.now())
        uow.session.add(admin)
        uow.commit()
        assert admin.id is not None
        admin_id = admin.id
    found = People(staff_named(engine, "Hélène"), staff_named(engine, "Marc"), staff_named(engine, "Samia"), admin_id)
    for staff_id, login in ((found.helene, "helene"), (found.marc, "marc"), (found.samia, "samia"),
                            (found.admin, "alex")):
        give_access(engine, clock, staff_id, login)
    return found


def console_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, telegram_bot_token="1000000001:test-token",
                    console_url="http://testserver", quiet_hours="none", quiet_days="none")


@pytest.fixture
def client(engine: Engine, clock: FrozenClock, people: People, database_url: str) -> Iterator[TestClient]:
    app = create_app(engine, clock, console_settings(database_url))
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, identifiant: str, password: str = PASSWORD) -> object:
    page = client.get("/connexion")
    return client.post(
        "/connexion", data={"identifiant": identifiant, "mot_de_passe": password, "csrf_token": csrf_of(page.text)}
    )


def logged_in(client: TestClient, identifiant: str) -> str:
    """Log in and return the session's CSRF token (read from a page, as a browser would)."""
    answer = login(client, identifiant)
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    return csrf_of(client.get("/permanences").text)
