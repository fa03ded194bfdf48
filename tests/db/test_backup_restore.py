"""scripts/backup.sh and scripts/restore-check.sh on a real PostgreSQL (docs/deploy.md, "Backups"): the dump of a
migrated database with residents, appointments, outbox rows and Rasa's tracker restores into a scratch database with
the same alembic version and row counts, even while the service writes; a corrupt, truncated, missing or misdescribed
dump fails the check with a clear message; the password of DATABASE_URL never shows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from db.engine import UnitOfWork, make_engine
from db.migrate import upgrade
from db.models import Appointment, Event, OutboxMessage, Permanence, Resident
from db.reference import load_reference
from outreach import PROJECT_ROOT, outbox, rasa_store
from outreach.clock import FrozenClock
from outreach.seed import seed_demo
from outreach.services import booking
from tests.conftest import POSTGRES_URL, postgres_database

pytestmark = pytest.mark.postgres

BACKUP = PROJECT_ROOT / "scripts" / "backup.sh"
RESTORE_CHECK = PROJECT_ROOT / "scripts" / "restore-check.sh"
PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "S3cr3t:p@ss/w%rd-" + uuid.uuid4().hex[:8]  # characters a URL must encode


@dataclass
class Source:
    admin_url: str  # the test server's superuser, on the source database
    url: str  # what the scripts get: a role with a password (trust auth here: libpq still receives it)
    role: str


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(script), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    for shown in (done.stdout, done.stderr):
        assert PASSWORD not in shown and make_url(env["DATABASE_URL"]).password not in shown
        assert "S3cr3t" not in shown
    return done


def _env(source: Source, backups: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "OUTREACH_RESTORE", "OUTREACH_BACKUP"))}
    env.update(DATABASE_URL=source.url, OUTREACH_BACKUP_DIR=str(backups), **extra)
    return env


def _fill(url: str) -> None:
    """Demo permanences, three residents, two appointments (with their reminders and the relay's notices in the
    outbox), a campaign message, and a few of Rasa's tracker events in the schema `rasa`."""
    clock = FrozenClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))
    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            load_reference(uow)
            seed_demo(uow, clock)
            uow.commit()
        ids = []
        with UnitOfWork(engine) as uow:
            for n, name in enumerate(("Amina", "Karim", "Fatou"), start=1):
                resident = Resident(
                    public_id=f"backup{n:026d}",
                    telegram_user_id=700_000 + n,
                    chat_id=700_000 + n,
                    first_name=name,
                    territory_id="dijon",
                    quartier_id="gresilles",
                    consent_version="2026-11",
                    consent_at=clock.now(),
                    created_at=clock.now(),
                )
                uow.session.add(resident)
                uow.session.flush()
                ids.append(resident.id)
            uow.commit()
        with UnitOfWork(engine) as uow:
            tuesday = uow.session.execute(
                select(Permanence.id).where(
                    Permanence.lieu_id == "dijon-gresilles-centre-social", Permanence.weekday == 1
                )
            ).scalar_one()
        for resident_id, minute in ((ids[0], 0), (ids[1], 30)):
            with UnitOfWork(engine) as uow:
                booking.book(
                    uow,
                    clock,
                    resident_id=resident_id,
                    permanence_id=tuesday,
                    starts_at=dt.datetime(2026, 12, 1, 14, minute, tzinfo=PARIS),
                    tz=PARIS,
                )
        with UnitOfWork(engine) as uow:
            outbox.enqueue(
                uow,
                key="campaign:1:resident:3",
                chat_id=700_003,
                kind="campaign",
                payload={"text": "Bonjour Fatou, on fait le point sur vos droits ?"},
                due_at=clock.now(),
                resident_id=ids[2],
            )
            uow.commit()
    finally:
        engine.dispose()
    rasa_store.prepare(url)  # the schema Rasa's SQL tracker store lives in; its table as Rasa creates it
    store = create_engine(url)
    try:
        with store.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE rasa.events (id serial PRIMARY KEY, sender_id varchar(255) NOT NULL, "
                    "type_name varchar(255) NOT NULL, timestamp double precision, intent_name varchar(255), "
                    "action_name varchar(255), data text)"
                )
            )
            for kind in ("action", "user", "bot", "slot"):
                connection.execute(
                    text("INSERT INTO rasa.events (sender_id, type_name, data) VALUES (:s, :t, '{}')"),
                    {"s": "backup" + "1".zfill(26), "t": kind},
                )
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    """A migrated database with rows, and a role with a password that may read it and create databases."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not available (make test starts one; CI requires it)")
    role = f"backup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        quoted = PASSWORD.replace("'", "''")  # DDL takes no bound parameters
        connection.execute(text(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{quoted}'"))
        connection.execute(text(f"GRANT pg_read_all_data TO {role}"))
    try:
        with postgres_database() as url:
            upgrade(url)
            _fill(url)
            role_url = make_url(url).set(username=role, password=PASSWORD).render_as_string(hide_password=False)
            yield Source(admin_url=url, url=role_url, role=role)
    finally:
        with admin.connect() as connection:
            left = connection.execute(
                text("SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = :r)"),
                {"r": role},
            ).scalars()
            for name in list(left):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _scratch_databases(source: Source) -> list[str]:
    admin = create_engine(source.admin_url)
    try:
        with admin.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE 'outreach_restore_check_%' AND datdba = "
                         "(SELECT oid FROM pg_roles WHERE rolname = :r)"),
                    {"r": source.role},
                ).scalars()
            )
    finally:
        admin.dispose()


def _backup(source: Source, backups: Path, **extra: str) -> Path:
    done = _run(BACKUP, _env(source, backups, **extra))
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip())
    assert dump.parent == backups and dump.suffix == ".dump" and dump.is_file(), done.stdout
    return dump


def _check(source: Source, backups: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    done = _run(RESTORE_CHECK, _env(source, backups), *args)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return done, json.loads(lines[0])


def test_a_dump_restores_with_the_source_version_and_counts_even_while_the_service_writes(
    source: Source, tmp_path: Path
) -> None:
    engine = make_engine(source.admin_url)
    stop = threading.Event()
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)

    def write() -> None:  # the service goes on: events committed one by one during the backup
        while not stop.is_set():
            with UnitOfWork(engine) as uow:
                uow.session.add(Event(at=at, kind="backup_test_write", data={}))
                uow.commit()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        dump = _backup(source, tmp_path)
    finally:
        stop.set()
        writer.join(timeout=10)
    try:
        with UnitOfWork(engine) as uow:
            version = uow.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            outbox_rows = uow.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
            appointments = uow.session.execute(select(func.count()).select_from(Appointment)).scalar_one()
            written = uow.session.execute(
                select(func.count()).select_from(Event).where(Event.kind == "backup_test_write")
            ).scalar_one()
    finally:
        engine.dispose()
    assert written > 0  # the writer did write meanwhile

    meta = json.loads(dump.with_suffix(".json").read_text())
    assert meta["alembic_version"] == version
    counts = meta["counts"]
    assert counts["public.resident"] == 3
    assert counts["public.appointment"] == appointments == 2
    assert counts["public.outbox_message"] == outbox_rows >= 5  # 2 × (48 h, 2 h reminders) + 1 campaign message
    assert counts["rasa.events"] == 4
    assert oct(dump.stat().st_mode & 0o777) == "0o600" and oct(tmp_path.stat().st_mode & 0o777) == "0o700"

    done, result = _check(source, tmp_path)
    assert done.returncode == 0, done.stderr
    assert result == {"ok": True, "dump": dump.name, "checks": len(counts) + 1, "failures": 0}
    assert "PASSED" in done.stderr and "public.resident: 3 rows: ok" in done.stderr
    assert _scratch_databases(source) == []  # the scratch database is dropped


def test_the_newest_k_dumps_are_kept(source: Source, tmp_path: Path) -> None:
    made = [_backup(source, tmp_path, OUTREACH_BACKUP_KEEP="2") for _ in range(3)]
    assert sorted(p.name for p in tmp_path.glob("outreach-*")) == sorted(
        name for dump in made[1:] for name in (dump.name, dump.with_suffix(".json").name)
    )
    done, result = _check(source, tmp_path)  # the newest by default
    assert done.returncode == 0 and result["dump"] == made[-1].name, done.stderr


def test_a_corrupt_or_truncated_dump_fails_the_check(source: Source, tmp_path: Path) -> None:
    dump = _backup(source, tmp_path)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    done, result = _check(source, tmp_path)
    assert done.returncode == 1 and result["ok"] is False
    assert "FAILED" in done.stderr and "corrupt or truncated" in done.stderr

    dump.write_bytes(bytes(data[: len(data) // 3]))
    done, _ = _check(source, tmp_path)
    assert done.returncode == 1 and "corrupt or truncated" in done.stderr
    assert _scratch_databases(source) == []


def test_a_damaged_dump_whose_checksum_was_rewritten_still_fails_at_the_restore(source: Source, tmp_path: Path) -> None:
    dump = _backup(source, tmp_path)
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2])  # the checksum is not the only guard
    meta_path = dump.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    done, result = _check(source, tmp_path)
    assert done.returncode == 1 and result["ok"] is False
    assert "FAILED: pg_restore" in done.stderr, done.stderr
    assert _scratch_databases(source) == []


def test_counts_that_differ_from_the_source_fail_the_check(source: Source, tmp_path: Path) -> None:
    dump = _backup(source, tmp_path)
    meta_path = dump.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["counts"]["public.resident"] += 1
    meta["alembic_version"] = "0000"
    meta_path.write_text(json.dumps(meta))
    done, result = _check(source, tmp_path)
    assert done.returncode == 1 and result == {"ok": False, "dump": dump.name, "checks": len(meta["counts"]) + 1,
                                               "failures": 2}
    assert "FAILED: public.resident: 3 rows restored, 4 in the source at dump time" in done.stderr
    assert "FAILED: alembic version: restored" in done.stderr and "source 0000" in done.stderr
    assert _scratch_databases(source) == []


def test_a_missing_dump_or_description_fails_the_check(source: Source, tmp_path: Path) -> None:
    done, result = _check(source, tmp_path / "nowhere")
    assert done.returncode == 1 and result["ok"] is False and "no backup directory" in done.stderr

    dump = _backup(source, tmp_path)
    dump.with_suffix(".json").unlink()
    done, _ = _check(source, tmp_path)
    assert done.returncode == 1 and ".json is missing" in done.stderr

    dump.unlink()
    done, _ = _check(source, tmp_path)
    assert done.returncode == 1 and f"no dump in {tmp_path}" in done.stderr

    done, _ = _check(source, tmp_path, str(tmp_path / "outreach-20260101T000000Z.dump"))
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_a_backup_that_cannot_connect_fails_without_printing_the_password(source: Source, tmp_path: Path) -> None:
    wrong = make_url(source.url).set(database=f"missing_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    env = _env(source, tmp_path / "backups")
    env["DATABASE_URL"] = wrong
    done = _run(BACKUP, env)
    assert done.returncode != 0 and done.stdout == ""
    assert "FAILED: cannot connect to PostgreSQL" in done.stderr and "does not exist" in done.stderr
    assert not list(tmp_path.rglob("outreach-*"))
