"""The probes of a worker's console: /metrics (Prometheus, from this machine or with the bearer token, else 404),
/pret (readiness, 200 or 503 as the readiness callable says), /sante (liveness, unchanged). No session, no
cookie, the console's security headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach import metrics
from outreach.clock import FrozenClock
from outreach.console.web import SECURITY_HEADERS, create_app
from tests.console.conftest import console_settings

LOOPBACK = ("127.0.0.1", 40000)
LOOPBACK_V6 = ("::1", 40000)
ELSEWHERE = ("203.0.113.9", 40000)
TOKEN = "a-long-metrics-token-for-the-tests-0123456789"
OUR_METRICS = (
    "outreach_turn_seconds_bucket",
    "outreach_updates_total",
    "outreach_rasa_errors_total",
    "outreach_telegram_429_total",
    "outreach_ready",
    "outreach_outbox_messages",
    "outreach_outbox_due",
    "outreach_outbox_lag_seconds",
    "outreach_cases_waiting",
    "outreach_db_pool_size",
)


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OUTREACH_METRICS_TOKEN", raising=False)
    yield
    metrics.unregister_database()


@pytest.fixture
def make_app(engine: Engine, clock: FrozenClock, database_url: str) -> object:
    def make(**kw: object) -> FastAPI:
        metrics.register_database(engine, clock)  # as the service does
        return create_app(engine, clock, console_settings(database_url), **kw)  # type: ignore[arg-type]

    return make


def client(app: FastAPI, address: tuple[str, int] = LOOPBACK) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False, client=address)


def assert_secured(response: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    assert "set-cookie" not in response.headers  # type: ignore[attr-defined]


# ---------------------------------------------------------------- /metrics


@pytest.mark.parametrize("address", [LOOPBACK, LOOPBACK_V6])
def test_metrics_from_this_machine(make_app: object, address: tuple[str, int]) -> None:
    with client(make_app(), address) as http:  # type: ignore[operator]
        answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    for name in OUR_METRICS:
        assert name in answer.text, name
    assert "outreach_ready 1.0" in answer.text  # no readiness callable: ready
    assert_secured(answer)


def test_metrics_from_elsewhere_is_an_unknown_page(make_app: object) -> None:
    with client(make_app(), ELSEWHERE) as http:  # type: ignore[operator]
        plain = http.get("/metrics")
        wrong = http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        unknown = http.get("/nulle-part")
    for answer in (plain, wrong):
        assert answer.status_code == 404
        assert "outreach_" not in answer.text
        assert answer.text == unknown.text
        assert_secured(answer)


def test_metrics_with_the_token(make_app: object) -> None:
    with client(make_app(metrics_token=TOKEN), ELSEWHERE) as http:  # type: ignore[operator]
        right = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        lower = http.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
        wrong = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        basic = http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        in_query = http.get(f"/metrics?token={TOKEN}")
    assert right.status_code == lower.status_code == 200
    assert "outreach_updates_total" in right.text
    assert wrong.status_code == basic.status_code == in_query.status_code == 404


def test_the_token_may_come_from_the_environment(make_app: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_METRICS_TOKEN", TOKEN)
    with client(make_app(), ELSEWHERE) as http:  # type: ignore[operator]
        assert http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert http.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "header", [{"X-Forwarded-For": "198.51.100.7"}, {"X-Real-IP": "198.51.100.7"}, {"Forwarded": "for=198.51.100.7"}]
)
def test_a_request_relayed_by_a_local_proxy_is_not_from_this_machine(
    make_app: object, header: dict[str, str]
) -> None:
    with client(make_app(metrics_token=TOKEN), LOOPBACK) as http:  # type: ignore[operator]
        assert http.get("/metrics", headers=header).status_code == 404
        with_token = http.get("/metrics", headers={**header, "Authorization": f"Bearer {TOKEN}"})
        assert with_token.status_code == 200


# ---------------------------------------------------------------- /pret


def test_ready_without_a_readiness_check(make_app: object) -> None:
    with client(make_app(), ELSEWHERE) as http:  # type: ignore[operator]
        answer = http.get("/pret")
    assert answer.status_code == 200 and answer.json() == {"ready": True}
    assert_secured(answer)


def test_readiness_follows_the_check(make_app: object) -> None:
    state = {"ready": False}

    async def readiness() -> bool:
        return state["ready"]

    with client(make_app(readiness=readiness), ELSEWHERE) as http:  # type: ignore[operator]
        not_yet = http.get("/pret")
        assert metrics.REGISTRY.get_sample_value("outreach_ready") == 0
        state["ready"] = True
        ready = http.get("/pret")
        assert metrics.REGISTRY.get_sample_value("outreach_ready") == 1
        state["ready"] = False
        again = http.get("/pret")
    assert (not_yet.status_code, not_yet.json()) == (503, {"ready": False})
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    assert (again.status_code, again.json()) == (503, {"ready": False})
    assert_secured(not_yet)


def test_a_failing_readiness_check_is_not_ready(make_app: object) -> None:
    async def readiness() -> bool:
        raise ConnectionError("redis down")

    with client(make_app(readiness=readiness)) as http:  # type: ignore[operator]
        answer = http.get("/pret")
        page = http.get("/metrics").text
    assert (answer.status_code, answer.json()) == (503, {"ready": False})
    assert "outreach_ready 0.0" in page  # a scrape reads the readiness too


# ---------------------------------------------------------------- /sante


def test_liveness_is_unchanged(make_app: object) -> None:
    async def readiness() -> bool:
        return False

    with client(make_app(readiness=readiness), ELSEWHERE) as http:  # type: ignore[operator]
        answer = http.get("/sante")
    assert answer.status_code == 200 and answer.text == "ok"
    assert answer.headers["content-type"].startswith("text/plain")
    assert_secured(answer)
