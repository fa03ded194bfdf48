"""Helpers for the campaign tests: residents with a screening, an appointment or a status; campaigns
created and started through the service; the pump and the dispatcher driven by hand on a FrozenClock."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from db.engine import UnitOfWork
from db.models import (
    Appointment,
    AppointmentStatus,
    CampaignDelivery,
    OutboxMessage,
    Permanence,
    Resident,
    RightStatus,
    Screening,
    ScreeningRight,
    Staff,
    StaffRole,
)
from outreach import campaigns
from outreach.bootstrap import make_dispatcher
from outreach.campaigns import Audience, CampaignSpec, PumpOptions
from outreach.clock import Clock, FrozenClock
from outreach.outbox import Dispatcher, QuietHours
from outreach.senders import RecordingSender
from tests.booking.conftest import add_resident, seeded  # noqa: F401 - the fixture, shared

_chats = itertools.count(700_000)


def resident(
    engine: Engine,
    clock: Clock,
    *,
    first_name: str = "Amina",
    territory: str | None = "dijon",
    quartier: str | None = "gresilles",
    chat_id: int | None = None,
    **fields: Any,
) -> int:
    """A consented resident; `fields` set other Resident columns (opted_out_at, last_seen_at…)."""
    chat = chat_id if chat_id is not None else next(_chats)
    resident_id = add_resident(
        engine, clock, quartier=quartier, territory=territory, first_name=first_name, chat_id=chat  # type: ignore[arg-type]
    )
    if fields:
        with UnitOfWork(engine) as uow:
            row = uow.session.get(Resident, resident_id)
            assert row is not None
            for name, value in fields.items():
                setattr(row, name, value)
            uow.session.add(row)
            uow.commit()
    return resident_id


def screening(
    engine: Engine,
    clock: Clock,
    resident_id: int,
    *,
    age: int | None = None,
    rights: dict[str, RightStatus] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """A stored screening with its answers (age) and rights (id → status)."""
    now = at or clock.now()
    with UnitOfWork(engine) as uow:
        row = Screening(resident_id=resident_id, created_at=now, answers={} if age is None else {"age": age})
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        for right_id, status in (rights or {}).items():
            uow.session.add(
                ScreeningRight(
                    screening_id=row.id, resident_id=resident_id, right_id=right_id, kind="national",
                    label={"rsa": "RSA", "css": "Complémentaire santé solidaire"}.get(right_id, right_id),
                    status=status, status_at=now, detected_at=now,
                )
            )
        uow.commit()
        return row.id


def appointment(engine: Engine, clock: Clock, resident_id: int, *, starts_at: dt.datetime,
                status: AppointmentStatus = AppointmentStatus.booked) -> None:
    """An appointment in the first demo permanence (needs the `seeded` fixture)."""
    with UnitOfWork(engine) as uow:
        permanence = uow.session.execute(select(Permanence).order_by(col(Permanence.id))).scalars().first()
        assert permanence is not None
        uow.session.add(
            Appointment(
                resident_id=resident_id, permanence_id=permanence.id, starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(minutes=30), status=status, created_at=clock.now(),
                status_at=clock.now(),
            )
        )
        uow.commit()


def staff_member(engine: Engine, clock: Clock, *, telegram_user_id: int | None, first_name: str = "Nadia",
                 role: StaffRole = StaffRole.coordinator) -> Staff:
    with UnitOfWork(engine) as uow:
        member = Staff(
            telegram_user_id=telegram_user_id, chat_id=telegram_user_id, first_name=first_name, role=role,
            territory_id="dijon", created_at=clock.now(),
        )
        uow.session.add(member)
        uow.commit()
        return member


def spec(**overrides: Any) -> CampaignSpec:
    data: dict[str, Any] = {
        "name": "Prime d'activité aux Grésilles",
        "territory": "dijon",
        "audience": {"territory": "dijon"},
        "text": "Bonjour {prenom}, faites le point sur vos droits avec nous.",
        "buttons": ["screening", "book", "stop"],
    }
    data.update(overrides)
    return CampaignSpec.model_validate(data)


def create(engine: Engine, clock: Clock, *, start: bool = True, **overrides: Any) -> int:
    """A campaign created (and started) through the service; returns its id."""
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(uow, clock, spec(**overrides), created_by=None)
    assert campaign.id is not None
    if start:
        with UnitOfWork(engine) as uow:
            campaigns.start(uow, clock, campaign.id)
    return campaign.id


def count(engine: Engine, audience: Audience, clock: Clock) -> int:
    with UnitOfWork(engine) as uow:
        return campaigns.audience_count(uow.session, audience, clock.now())


def progress(engine: Engine, campaign_id: int) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        return campaigns.progress(uow.session, campaign_id)


def results(engine: Engine, campaign_id: int, clock: Clock) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        return campaigns.results(uow.session, campaign_id, clock.now())


def deliveries(engine: Engine, campaign_id: int) -> dict[int, CampaignDelivery]:
    """resident id → delivery."""
    with UnitOfWork(engine) as uow:
        rows = uow.session.execute(select(CampaignDelivery).where(col(CampaignDelivery.campaign_id) == campaign_id))
        return {row.resident_id: row for row in rows.scalars()}


def campaign_rows(engine: Engine, status: str | None = None) -> list[OutboxMessage]:
    with UnitOfWork(engine) as uow:
        query = select(OutboxMessage).where(col(OutboxMessage.kind) == campaigns.KIND).order_by(col(OutboxMessage.id))
        if status is not None:
            query = query.where(col(OutboxMessage.status) == status)
        return list(uow.session.execute(query).scalars())


def outbox_count(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return int(uow.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


OPTIONS = PumpOptions(rate=30, weekly_cap=2, quiet=QuietHours())


async def drive(
    engine: Engine, clock: FrozenClock, sender: Any = None, *, options: PumpOptions = OPTIONS,
    rounds: int = 20, step: float | None = None, worker: Dispatcher | None = None, **dispatcher: Any,
) -> Any:
    """What the service's two jobs do, on a frozen clock: pump, let the window's time pass, dispatch;
    until the pump has nothing more to queue and the outbox nothing due. Returns the sender
    (a RecordingSender unless one is given). Give a `worker` to keep one dispatcher (its per-chat
    memory) from one call to the next, as the service does."""
    if worker is not None:
        sender = worker.sender
    sender = sender or RecordingSender()
    dispatcher.setdefault("rate", 30)
    dispatcher.setdefault("per_chat_interval", 0.0)
    worker = worker or make_dispatcher(engine, clock, sender, quiet=options.quiet, **dispatcher)
    for _ in range(rounds):
        queued = campaigns.pump(engine, clock, options)
        clock.advance(seconds=step if step is not None else options.window)
        stats = await worker.run_once(budget=30)
        if not queued and not stats.claimed:
            break
    campaigns.pump(engine, clock, options)  # marks finished campaigns done
    return sender
