"""The console's pages as a coordinator and an adulte-relais use them: permanences and closures,
the team (invites, console access, availability), the case queue with waiting times, CSV exports,
and the dashboard of one QPV. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, Permanence, Staff, StaffInvite
from outreach.clock import FrozenClock
from outreach.services import handoffs, residents, screenings
from tests.console.conftest import People, csrf_of, logged_in

GRESILLES = "dijon-gresilles-centre-social"


def resident_in(engine: Engine, clock: FrozenClock, chat: int, name: str, quartier: str, commune: str = "Dijon") -> int:
    with UnitOfWork(engine) as uow:
        person = residents.record_consent(uow, clock, telegram_user_id=chat, chat_id=chat, accepted=True,
                                          first_name=name, language="fr")
        residents.set_place(uow, person.id, commune_name=commune, quartier_id=quartier)
        return person.id


def notice(answer: object) -> str:
    location = answer.headers["location"]  # type: ignore[attr-defined]
    return unquote(location.split("ok=")[-1] if "ok=" in location else location.split("erreur=")[-1])


def test_a_coordinator_creates_a_permanence_and_a_closure(client: TestClient, engine: Engine, people: People) -> None:
    csrf = logged_in(client, "helene")
    created = client.post("/permanences", data={
        "csrf_token": csrf, "adulte_relais": str(people.samia), "lieu": GRESILLES, "jour": "5", "debut": "10:00",
        "fin": "12:00", "duree": "20", "places": "2", "sujets": ["emploi", "logement"],
    })
    assert created.status_code == 303 and "créée : samedi 10:00-12:00" in notice(created)
    with UnitOfWork(engine) as uow:
        perm = uow.session.exec(select(Permanence).where(Permanence.weekday == 5)).one()
    assert (perm.staff_id, perm.slot_minutes, perm.capacity) == (people.samia, 20, 2)
    assert perm.topics == ["emploi", "logement"]
    page = client.get("/permanences")
    assert "samedi 10:00-12:00" in page.text
    overlapping = client.post("/permanences", data={
        "csrf_token": csrf, "adulte_relais": str(people.samia), "lieu": GRESILLES, "jour": "5", "debut": "11:00",
        "fin": "13:00",
    })
    assert "erreur=" in overlapping.headers["location"] and "a déjà la permanence" in notice(overlapping)
    edited = client.post(f"/permanences/{perm.id}", data={"csrf_token": csrf, "places": "3", "duree": "30"})
    assert "modifiée" in notice(edited)
    with UnitOfWork(engine) as uow:
        again = uow.session.get(Permanence, perm.id)
        assert again is not None and (again.capacity, again.active) == (3, False)
    closed = client.post("/fermetures", data={"csrf_token": csrf, "permanence": str(perm.id), "du": "2026-12-24",
                                              "au": "2027-01-02", "motif": "vacances"})
    assert "Fermeture enregistrée" in notice(closed)
    assert "vacances" in client.get("/permanences").text


def test_an_adulte_relais_sees_and_edits_only_their_permanences(
    client: TestClient, engine: Engine, people: People
) -> None:
    csrf = logged_in(client, "samia")
    page = client.get("/permanences")
    assert "Samia" in page.text and "Yannick" not in page.text
    with UnitOfWork(engine) as uow:
        yannick = uow.session.exec(select(Staff.id).where(Staff.first_name == "Yannick")).one()
        theirs = uow.session.exec(select(Permanence.id).where(Permanence.staff_id == yannick)).first()
    answer = client.post(f"/permanences/{theirs}", data={"csrf_token": csrf, "places": "5", "duree": "30"})
    assert answer.status_code == 403
    mine = client.post("/permanences", data={"csrf_token": csrf, "adulte_relais": str(yannick), "lieu": GRESILLES,
                                             "jour": "5", "debut": "10:00", "fin": "12:00"})
    with UnitOfWork(engine) as uow:
        made = uow.session.exec(select(Permanence).where(Permanence.weekday == 5)).one()
    assert "créée" in notice(mine) and made.staff_id == people.samia  # a relay creates their own, never someone else's


def test_the_team_page_invites_gives_console_access_and_sets_availability(
    client: TestClient, engine: Engine, people: People
) -> None:
    csrf = logged_in(client, "helene")
    page = client.get("/equipe")
    assert "Samia" in page.text and "Marc" not in page.text  # Troyes is not Hélène's team
    invited = client.post("/equipe/invitation", data={"csrf_token": csrf, "prenom": "Nadia", "role": "relay"})
    # the link is shown in the answer, never in a URL (history, logs, Referer), and the code is not stored
    assert invited.status_code == 200 and "location" not in invited.headers
    assert "Invitation créée pour Nadia" in invited.text and invited.headers["cache-control"] == "no-store"
    [code] = re.findall(r"https://t\.me/\w+\?start=(st-[\w-]+)", invited.text)
    with UnitOfWork(engine) as uow:
        invite = uow.session.exec(select(StaffInvite).where(StaffInvite.first_name == "Nadia")).one()
        assert invite.territory_id == "dijon"
        assert code not in invite.code_hash and len(invite.code_hash) == 64
        yannick = uow.session.exec(select(Staff).where(Staff.first_name == "Yannick")).one()
    access = client.post(f"/equipe/{yannick.id}/console", data={"csrf_token": csrf, "identifiant": "yannick"})
    assert access.status_code == 200 and "/activer/" in access.text and "location" not in access.headers
    available = client.post(f"/equipe/{yannick.id}/disponibilite", data={"csrf_token": csrf, "disponible": "oui"})
    assert "Yannick est maintenant disponible" in notice(available)
    marc = client.post(f"/equipe/{people.marc}/disponibilite", data={"csrf_token": csrf, "disponible": "oui"})
    assert marc.status_code == 404  # another territory's staff
    disabled = client.post(f"/equipe/{yannick.id}/desactiver", data={"csrf_token": csrf})
    assert "désactivé" in notice(disabled)
    with UnitOfWork(engine) as uow:
        assert uow.session.get(Staff, yannick.id).active is False  # type: ignore[union-attr]


def test_the_case_queue_shows_waiting_times(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    amina = resident_in(engine, clock, 701, "Amina", "gresilles")
    with UnitOfWork(engine) as uow:
        handoffs.open_case(uow, clock, amina, source="talk_to_human")
    clock.advance(minutes=75)
    logged_in(client, "helene")
    page = client.get("/cas")
    assert "Amina" in page.text and "1 h 15" in page.text and "en retard" in page.text
    client.cookies.clear()
    logged_in(client, "marc")
    assert "Amina" not in client.get("/cas").text


def test_a_qpv_dashboard_and_csv_exports(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    from outreach.screening import Profile, screen

    for chat, name, quartier in ((801, "Amina", "gresilles"), (802, "Karim", "gresilles"), (803, "Léa", "le_mail")):
        person = resident_in(engine, clock, chat, name, quartier, "Dijon" if quartier == "gresilles" else "Chenôve")
        profile = Profile(age=30, housing="tenant", rent=500, income={"salary": 0}, activity="jobseeker",
                          couple=False, children_ages=[], residence_ok=True, commune_insee="21231")
        with UnitOfWork(engine) as uow:
            screenings.record(uow, clock, person, profile, screen(profile, clock.now().date()), complex_case=False)
    logged_in(client, "helene")
    page = client.get("/?mois=2026-11&quartier=gresilles")
    assert page.status_code == 200 and "Grésilles · 2026-11" in page.text
    assert '<span class="big">2</span> habitants touchés' in page.text
    assert "Revenu de solidarité active (RSA)" in page.text
    whole = client.get("/?mois=2026-11")
    assert '<span class="big">3</span> habitants touchés' in whole.text and "Par quartier" in whole.text
    exported = client.get("/exports/chiffres.csv?mois=2026-11")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert {r["quartier"]: int(r["reached"]) for r in rows}.get("gresilles") == 2
    assert "Amina" not in exported.text  # figures only
    for kind in ("rendez-vous", "cas"):
        assert client.get(f"/exports/{kind}.csv?mois=2026-11").status_code == 200
    assert client.get("/exports/habitants.csv").status_code == 404
    with UnitOfWork(engine) as uow:
        exports = uow.session.exec(select(AuditLog).where(AuditLog.action == "console_export")).all()
    assert len(exports) == 3


def test_the_login_page_is_usable_on_a_phone_width(client: TestClient) -> None:
    page = client.get("/connexion")
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page.text
    assert csrf_of(page.text)
    assert 'autocomplete="current-password"' in page.text


def test_a_bad_or_huge_form_gets_a_clear_french_page(client: TestClient) -> None:
    csrf = logged_in(client, "helene")
    missing = client.post("/permanences", data={"csrf_token": csrf})
    assert missing.status_code == 400 and "Vérifiez ces champs" in missing.text and "lieu" in missing.text
    huge = client.post("/fermetures", data={"csrf_token": csrf, "permanence": "1", "du": "2026-12-01",
                                            "au": "2026-12-02", "motif": "x" * 100_000})
    assert huge.status_code == 400 and "motif" in huge.text
    assert client.get("/habitants/" + "z" * 5000).status_code == 404
    assert client.get("/campagnes/999999").status_code == 404
    for month in ("1999-01", "2026-13", "x" * 300):  # the current month instead of an error page
        assert client.get(f"/?mois={month}").status_code == 200
