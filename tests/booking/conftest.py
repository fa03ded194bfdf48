"""Helpers for the booking and follow-up tests: demo data seeded on SQLite and PostgreSQL, residents,
permanences looked up by place and weekday, Paris times."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import OutboxMessage, Permanence, Resident, Staff
from outreach import texts
from outreach.clock import FrozenClock
from outreach.seed import seed_demo

PARIS = ZoneInfo("Europe/Paris")
STAFF_CHATS = {"Samia": 9001, "Yannick": 9002, "Inès": 9003}
_ids = itertools.count(1)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def seeded(engine: Engine, clock: FrozenClock) -> Iterator[Engine]:
    """The demo places, staff and permanences; the three adultes-relais are on Telegram."""
    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
        for staff in uow.session.exec(select(Staff)).all():
            if staff.first_name in STAFF_CHATS:
                staff.chat_id = STAFF_CHATS[staff.first_name]
                uow.session.add(staff)
        uow.commit()
    yield engine


def add_resident(
    engine: Engine,
    clock: FrozenClock,
    *,
    quartier: str | None = "gresilles",
    territory: str | None = "dijon",
    first_name: str = "Amina",
    chat_id: int | None = None,
) -> int:
    number = next(_ids)
    chat = chat_id if chat_id is not None else 100_000 + number
    with UnitOfWork(engine) as uow:
        resident = Resident(
            public_id=f"r{number:031d}",
            telegram_user_id=chat,
            chat_id=chat,
            first_name=first_name,
            territory_id=territory,
            quartier_id=quartier,
            consent_version=texts.CONSENT_VERSION,
            consent_at=clock.now(),
            created_at=clock.now(),
        )
        uow.session.add(resident)
        uow.commit()
        assert resident.id is not None
        return resident.id


def permanence(engine: Engine, lieu_id: str, weekday: int) -> Permanence:
    with UnitOfWork(engine) as uow:
        return uow.session.exec(
            select(Permanence).where(Permanence.lieu_id == lieu_id, Permanence.weekday == weekday)
        ).one()


def staff_id(engine: Engine, first_name: str) -> int:
    with UnitOfWork(engine) as uow:
        found = uow.session.exec(select(Staff.id).where(Staff.first_name == first_name)).one()
        assert found is not None
        return found


def outbox_rows(engine: Engine, **where: object) -> list[OutboxMessage]:
    with UnitOfWork(engine) as uow:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(uow.session.exec(query).all())


def by_key(engine: Engine) -> dict[str, OutboxMessage]:
    return {row.idempotency_key: row for row in outbox_rows(engine)}


GRESILLES = "dijon-gresilles-centre-social"  # Samia: mardi 14h-17h (30 min × 1), jeudi 9h30-12h
FONTAINE = "dijon-fontaine-d-ouche-gervais"  # Samia: mercredi 9h-12h, vendredi 14h-16h30 (× 2)
MAIL = "chenove-le-mail"  # Yannick: lundi 14h-17h, vendredi 9h-11h (20 min)
