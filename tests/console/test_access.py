"""Who gets in and what they see: argon2 passwords, lockout, single-use links (activation, Telegram),
CSRF on every form, sessions, roles and territories. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import AuditLog, ConsoleAccount, OutboxMessage, Resident, Staff
from outreach.clock import FrozenClock
from outreach.console.shared import SESSION_COOKIE
from outreach.services import console_accounts as accounts
from tests.console.conftest import PASSWORD, People, csrf_of, logged_in, login


def add_resident(engine: Engine, clock: FrozenClock, *, territory: str, quartier: str, first_name: str) -> str:
    with UnitOfWork(engine) as uow:
        number = len(uow.session.exec(select(Resident.id)).all()) + 1
        resident = Resident(
            public_id=f"c{number:031d}", telegram_user_id=500_000 + number, chat_id=500_000 + number,
            first_name=first_name, territory_id=territory, quartier_id=quartier, consent_version="2026-11",
            consent_at=clock.now(), last_seen_at=clock.now(), created_at=clock.now(),
        )
        uow.session.add(resident)
        uow.commit()
        return resident.public_id


def test_a_coordinator_logs_in_with_a_password_and_sees_the_dashboard(client: TestClient) -> None:
    answer = login(client, "helene")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    page = client.get("/")
    assert page.status_code == 200 and "Tableau de bord" in page.text and "Hélène" in page.text


def test_passwords_are_stored_as_argon2_hashes(client: TestClient, engine: Engine, people: People) -> None:
    with UnitOfWork(engine) as uow:
        account = uow.session.get(ConsoleAccount, people.helene)
        assert account is not None and account.password_hash is not None
        assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash


def test_a_wrong_password_is_refused_without_saying_whether_the_login_exists(client: TestClient) -> None:
    wrong = login(client, "helene", "pas le bon mot de passe")
    unknown = login(client, "personne", "pas le bon mot de passe")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert "Identifiant ou mot de passe incorrect" in answer.text


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(client: TestClient, clock: FrozenClock) -> None:
    for _ in range(accounts.LOCK_AFTER - 1):
        assert "incorrect" in login(client, "helene", "mauvais mot de passe").text
    locked = login(client, "helene", "mauvais mot de passe")
    assert locked.status_code == 401 and "un compte est bloqué 15 minutes" in locked.text
    assert login(client, "helene").status_code == 401  # even the right password, while locked
    clock.advance(minutes=16)
    assert login(client, "helene").status_code == 303


def test_a_login_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/connexion")
    answer = client.post("/connexion", data={"identifiant": "helene", "mot_de_passe": PASSWORD, "csrf_token": "x"})
    assert answer.status_code == 403 and "Formulaire expiré" in answer.text


def test_every_form_after_login_needs_the_session_csrf_token(client: TestClient) -> None:
    csrf = logged_in(client, "helene")
    form = {"lieu": "dijon-gresilles-centre-social", "jour": "5", "debut": "10:00", "fin": "12:00",
            "adulte_relais": "1"}
    assert client.post("/permanences", data=form).status_code == 403
    assert client.post("/permanences", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/deconnexion", data={}).status_code == 403
    assert client.post("/deconnexion", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/").status_code == 303  # logged out: back to the login page


def test_pages_need_a_session_and_come_back_after_login(client: TestClient) -> None:
    answer = client.get("/habitants?q=a")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/connexion?suite=/habitants")
    page = client.get(answer.headers["location"])
    done = client.post("/connexion", data={"identifiant": "helene", "mot_de_passe": PASSWORD,
                                           "csrf_token": csrf_of(page.text), "suite": "/habitants?q=a"})
    assert done.headers["location"] == "/habitants?q=a"
    assert client.post("/connexion", data={}).status_code == 403
    evil = client.get("/connexion?suite=//evil.example/")
    assert 'value="/"' in evil.text  # never redirects to another site


def test_a_troyes_coordinator_cannot_see_dijon_residents(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    amina = add_resident(engine, clock, territory="dijon", quartier="gresilles", first_name="Amina")
    add_resident(engine, clock, territory="troyes", quartier="chartreux", first_name="Jules")
    logged_in(client, "marc")
    listing = client.get("/habitants")
    assert "Jules" in listing.text and "Amina" not in listing.text
    assert client.get(f"/habitants/{amina}").status_code == 404
    assert "Amina" not in client.get("/habitants?territoire=dijon").text  # the parameter is for admins only
    client.cookies.clear()
    logged_in(client, "alex")  # the admin chooses
    assert "Amina" in client.get("/habitants?territoire=dijon").text


def test_every_look_at_residents_is_audited(client: TestClient, engine: Engine, clock: FrozenClock,
                                            people: People) -> None:
    amina = add_resident(engine, clock, territory="dijon", quartier="gresilles", first_name="Amina")
    logged_in(client, "helene")
    assert "Amina" in client.get("/habitants?q=ami").text
    assert "Amina" in client.get(f"/habitants/{amina}").text
    with UnitOfWork(engine) as uow:
        actions = uow.session.exec(
            select(AuditLog.action, AuditLog.subject).where(AuditLog.actor == f"staff:{people.helene}")
            .order_by(col(AuditLog.id))
        ).all()
    assert ("console_view_residents", "territory:dijon") in actions
    assert ("console_view_resident", f"resident:{amina}") in actions


def test_an_adulte_relais_reads_figures_but_not_residents_or_campaigns(client: TestClient) -> None:
    logged_in(client, "samia")
    assert client.get("/").status_code == 200
    assert client.get("/cas").status_code == 200
    assert client.get("/permanences").status_code == 200
    for path in ("/habitants", "/campagnes", "/equipe", "/exports"):
        page = client.get(path)
        assert page.status_code == 403 and "réservée aux coordinateurs" in page.text, path


def test_an_activation_link_sets_the_password_once(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    samia_id = None
    with UnitOfWork(engine) as uow:
        samia_id = uow.session.exec(select(ConsoleAccount.staff_id).where(ConsoleAccount.login == "samia")).one()
        token = accounts.grant(uow, clock, samia_id, "samia")
    page = client.get(f"/activer/{token}")
    assert page.status_code == 200 and "samia" in page.text
    short = client.post(f"/activer/{token}", data={"mot_de_passe": "court", "confirmation": "court",
                                                    "csrf_token": csrf_of(page.text)})
    assert short.status_code == 400 and "au moins 12" in short.text
    new_password = "un tout nouveau mot de passe"
    done = client.post(f"/activer/{token}", data={"mot_de_passe": new_password, "confirmation": new_password,
                                                   "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert client.get(f"/activer/{token}").status_code == 400  # used
    client.cookies.clear()
    assert login(client, "samia", new_password).status_code == 303


def test_a_login_link_is_sent_on_telegram_and_works_once(
    client: TestClient, engine: Engine, clock: FrozenClock, people: People
) -> None:
    with UnitOfWork(engine) as uow:
        helene = uow.session.get(Staff, people.helene)
        assert helene is not None
        helene.chat_id = 7001
        uow.session.add(helene)
        uow.commit()
    page = client.get("/connexion")
    sent = client.post("/connexion/telegram", data={"identifiant": "helene", "csrf_token": csrf_of(page.text)})
    assert "un lien de connexion vient" in sent.text
    unknown = client.post("/connexion/telegram", data={"identifiant": "nobody", "csrf_token": csrf_of(page.text)})
    assert "un lien de connexion vient" in unknown.text  # same answer
    with UnitOfWork(engine) as uow:
        rows = uow.session.exec(select(OutboxMessage).where(OutboxMessage.kind == "console_link")).all()
    assert len(rows) == 1 and rows[0].chat_id == 7001
    link = rows[0].payload["text"].split("\n")[-1]
    path = link.removeprefix("http://testserver")
    preview = client.get(path)  # what Telegram's link preview would do: shows a button, spends nothing
    assert preview.status_code == 200 and "Se connecter" in preview.text
    assert client.post(path, data={"csrf_token": csrf_of(preview.text)}).status_code == 303
    assert client.get("/").status_code == 200
    client.cookies.clear()
    again = client.get(path)
    assert client.post(path, data={"csrf_token": csrf_of(again.text)}).status_code == 400


def test_a_disabled_staff_member_is_logged_out_at_once(client: TestClient, engine: Engine, clock: FrozenClock,
                                                       people: People) -> None:
    from outreach.services import staff as staff_service

    logged_in(client, "samia")
    assert client.get("/").status_code == 200
    with UnitOfWork(engine) as uow:
        staff_service.disable(uow, clock, people.samia)
    assert client.get("/").status_code == 303


def test_pages_forbid_framing_and_inline_scripts(client: TestClient) -> None:
    page = client.get("/connexion")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text


async def test_a_login_link_leaves_at_night_when_resident_messages_wait(
    client: TestClient, engine: Engine, people: People, emulator: object
) -> None:
    from outreach import bootstrap, outbox
    from outreach.outbox import QuietHours
    from outreach.senders import BotApiSender
    from sandbox.client import EmulatorClient
    from tests.conftest import TOKEN

    night = FrozenClock(dt.datetime(2026, 11, 24, 21, 30, tzinfo=dt.UTC))  # 22:30 in Paris
    with UnitOfWork(engine) as uow:
        helene = uow.session.get(Staff, people.helene)
        assert helene is not None
        helene.chat_id = 7002
        uow.session.add(helene)
        uow.commit()
    client.app.state.console.clock = night  # type: ignore[attr-defined]
    page = client.get("/connexion")
    client.post("/connexion/telegram", data={"identifiant": "helene", "csrf_token": csrf_of(page.text)})
    with UnitOfWork(engine) as uow:
        outbox.enqueue(uow, key="night-resident", chat_id=7003, kind="reminder", payload={"text": "rappel"},
                       due_at=night.now(), now=night.now())
        uow.commit()
    async with EmulatorClient(emulator.url) as telegram:  # type: ignore[attr-defined]
        await telegram.user(7002, "Hélène")
        await telegram.user(7003, "Amina")
        async with BotApiSender(emulator.base_url, TOKEN) as sender:  # type: ignore[attr-defined]
            stats = await bootstrap.make_dispatcher(engine, night, sender, quiet=QuietHours()).run_once(budget=5)
        assert stats.sent == 1
        texts = [e["message"]["text"] for e in (await telegram.events(7002))["events"]]
        assert len(texts) == 1 and "/connexion/lien/" in texts[0]
        assert (await telegram.events(7003))["events"] == []  # the resident's reminder waits for 9:00


def test_a_locked_account_answers_like_an_unknown_login_in_words_and_in_time(
    client: TestClient, clock: FrozenClock
) -> None:
    """Finding 7: the lock message told real logins from unknown ones, and so did the time (no hashing)."""
    for _ in range(accounts.LOCK_AFTER):
        login(client, "helene", "mauvais mot de passe")

    def timed(name: str) -> tuple[str, float]:
        started = time.perf_counter()
        answer = login(client, name, "encore faux")
        return _alert(answer.text), time.perf_counter() - started

    locked = [timed("helene") for _ in range(5)]
    unknown = [timed("personne") for _ in range(5)]
    assert {text for text, _ in locked} == {text for text, _ in unknown}  # the same words
    slowest_refusal = statistics.median(t for _, t in unknown)
    assert statistics.median(t for _, t in locked) > 0.5 * slowest_refusal  # both hash a password (was ~50x less)


def _alert(page: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)<', page, re.S)
    assert found is not None
    return found.group(1).strip()
