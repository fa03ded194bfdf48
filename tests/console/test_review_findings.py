"""Finding 7 of the trust review (console): what another territory's forms leaked, 500 pages without the
security headers (a closure to 9999-12-31 raised OverflowError), and HSTS behind https."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Permanence, Staff
from outreach.clock import FrozenClock
from outreach.console.web import create_app
from tests.console.conftest import People, console_settings, logged_in
from tests.console.test_pages import GRESILLES, notice


def _first_name(engine: Engine, staff_id: int) -> str:
    with UnitOfWork(engine) as uow:
        staff = uow.session.get(Staff, staff_id)
        assert staff is not None
        return staff.first_name


def test_a_permanence_form_says_nothing_of_another_territorys_staff(
    client: TestClient, engine: Engine, people: People
) -> None:
    csrf = logged_in(client, "helene")  # Dijon
    form = {"csrf_token": csrf, "lieu": GRESILLES, "jour": "5", "debut": "10:00", "fin": "12:00"}
    elsewhere = client.post("/permanences", data={**form, "adulte_relais": str(people.marc)})  # Marc: Troyes
    unknown = client.post("/permanences", data={**form, "adulte_relais": "99999"})
    answers = [elsewhere, unknown]
    texts = [a.text + a.headers.get("location", "") for a in answers]
    assert texts[0] == texts[1]  # an id elsewhere and an unknown id: the same answer
    for text in texts:
        assert _first_name(engine, people.marc) not in text and "troyes" not in text.lower()
    with UnitOfWork(engine) as uow:
        assert uow.session.exec(select(Permanence).where(Permanence.staff_id == people.marc)).all() == []


def test_a_closure_far_in_the_future_is_refused_clearly(client: TestClient, engine: Engine, people: People) -> None:
    csrf = logged_in(client, "helene")
    created = client.post("/permanences", data={
        "csrf_token": csrf, "adulte_relais": str(people.samia), "lieu": GRESILLES, "jour": "5", "debut": "10:00",
        "fin": "12:00",
    })
    assert created.status_code == 303
    with UnitOfWork(engine) as uow:
        perm = uow.session.exec(select(Permanence).where(Permanence.staff_id == people.samia)).first()
        assert perm is not None
    closure = client.post("/fermetures", data={"csrf_token": csrf, "permanence": str(perm.id), "du": "2026-12-01",
                                              "au": "9999-12-31"})
    assert closure.status_code == 303 and "au plus 366 jours" in notice(closure)  # was a 500 (OverflowError)


@pytest.fixture
def crashing_client(engine: Engine, clock: FrozenClock, people: People, database_url: str) -> Iterator[TestClient]:
    settings = console_settings(database_url).model_copy(update={"console_url": "https://console.example.fr"})
    app = create_app(engine, clock, settings)

    @app.get("/boom")
    def boom() -> None:
        raise OverflowError("date value out of range")

    with TestClient(app, base_url="https://testserver", follow_redirects=False,
                    raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_unexpected_error_page_carries_the_security_headers(crashing_client: TestClient) -> None:
    crashed = crashing_client.get("/boom")
    assert crashed.status_code == 500 and "Réessayez dans un instant" in crashed.text
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert header in crashed.headers, header
    assert crashed.headers["cache-control"] == "no-store"
    assert crashed.headers["strict-transport-security"].startswith("max-age=")


def test_hsts_only_behind_https(client: TestClient, crashing_client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/connexion").headers  # http://: no HSTS
    assert "strict-transport-security" in crashing_client.get("/connexion").headers
