"""Who a campaign reaches: each filter of the builder, the residents always left out, and the live
count equal to what is actually sent (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import AppointmentStatus, Resident, RightStatus, Screening, ScreeningRight
from outreach import campaigns
from outreach.campaigns import Audience
from outreach.clock import FrozenClock
from tests.campaigns.conftest import (
    appointment,
    count,
    create,
    drive,
    progress,
    resident,
    screening,
    staff_member,
)


def members(engine: Engine, clock: FrozenClock, **filters: object) -> set[int]:
    audience = Audience(territory="dijon", **filters)  # type: ignore[arg-type]
    with UnitOfWork(engine) as uow:
        ids = set(uow.session.execute(campaigns.audience_query(audience, clock.now())).scalars())
    assert count(engine, audience, clock) == len(ids)
    return ids


class TestFilters:
    def test_territory_and_quartiers(self, engine: Engine, clock: FrozenClock) -> None:
        gresilles = resident(engine, clock, quartier="gresilles")
        fontaine = resident(engine, clock, quartier="fontaine_d_ouche")
        nowhere = resident(engine, clock, quartier=None)
        resident(engine, clock, territory="troyes", quartier="chartreux")
        assert members(engine, clock) == {gresilles, fontaine, nowhere}
        assert members(engine, clock, quartiers=["gresilles"]) == {gresilles}
        assert members(engine, clock, quartiers=["gresilles", "fontaine_d_ouche"]) == {gresilles, fontaine}

    def test_age_band_from_the_latest_screening_leaves_out_unknown_ages(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        young, older, unknown, never = (resident(engine, clock) for _ in range(4))
        screening(engine, clock, young, age=40)
        screening(engine, clock, young, age=22)  # the latest one counts
        screening(engine, clock, older, age=22)
        screening(engine, clock, older, age=45)
        screening(engine, clock, unknown)
        assert members(engine, clock, age_min=16, age_max=25) == {young}
        assert members(engine, clock, age_min=30) == {older}
        assert members(engine, clock, age_max=100) == {young, older}
        assert never not in members(engine, clock, age_min=0)

    def test_a_right_detected_and_not_claimed_in_the_latest_screening(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        to_claim, detected, asked, opened, other, old = (resident(engine, clock) for _ in range(6))
        screening(engine, clock, to_claim, rights={"rsa": RightStatus.to_claim})
        screening(engine, clock, detected, rights={"rsa": RightStatus.detected})
        screening(engine, clock, asked, rights={"rsa": RightStatus.asked})
        screening(engine, clock, opened, rights={"rsa": RightStatus.opened})
        screening(engine, clock, other, rights={"css": RightStatus.to_claim})
        screening(engine, clock, old, rights={"rsa": RightStatus.to_claim})
        screening(engine, clock, old, rights={"rsa": RightStatus.asked})  # claimed since
        assert members(engine, clock, right_not_claimed="rsa") == {to_claim, detected}
        assert members(engine, clock, right_not_claimed="any") == {to_claim, detected, other}

    def test_never_screened(self, engine: Engine, clock: FrozenClock) -> None:
        screened, never = resident(engine, clock), resident(engine, clock)
        screening(engine, clock, screened)
        assert members(engine, clock, never_screened=True) == {never}

    def test_inactive_for_n_days(self, engine: Engine, clock: FrozenClock) -> None:
        now = clock.now()
        idle = resident(engine, clock, last_seen_at=now - dt.timedelta(days=40))
        resident(engine, clock, last_seen_at=now - dt.timedelta(days=5))
        assert members(engine, clock, inactive_days=30) == {idle}

    def test_booked_or_not(self, seeded: Engine, clock: FrozenClock) -> None:
        engine = seeded
        coming, past, cancelled, none = (resident(engine, clock) for _ in range(4))
        appointment(engine, clock, coming, starts_at=clock.now() + dt.timedelta(days=2))
        appointment(engine, clock, past, starts_at=clock.now() - dt.timedelta(days=2))
        appointment(engine, clock, cancelled, starts_at=clock.now() + dt.timedelta(days=2),
                    status=AppointmentStatus.cancelled)
        assert members(engine, clock, booked=True) == {coming}
        assert members(engine, clock, booked=False) == {past, cancelled, none}

    def test_filters_combine(self, engine: Engine, clock: FrozenClock) -> None:
        match = resident(engine, clock, quartier="gresilles")
        screening(engine, clock, match, age=20, rights={"css": RightStatus.to_claim})
        wrong_place = resident(engine, clock, quartier="le_mail")
        screening(engine, clock, wrong_place, age=20, rights={"css": RightStatus.to_claim})
        assert members(engine, clock, quartiers=["gresilles"], age_max=25, right_not_claimed="css") == {match}


class TestAlwaysLeftOut:
    def test_no_consent_opted_out_unreachable_and_staff_are_never_in_an_audience(
        self, engine: Engine, clock: FrozenClock
    ) -> None:
        now = clock.now()
        fine = resident(engine, clock)
        resident(engine, clock, consent_at=None, consent_refused_at=now)
        resident(engine, clock, opted_out_at=now)
        resident(engine, clock, unreachable_at=now)
        staff_chat = 880_001
        resident(engine, clock, chat_id=staff_chat)
        staff_member(engine, clock, telegram_user_id=staff_chat)
        staff_member(engine, clock, telegram_user_id=None, first_name="Sans Telegram")
        assert members(engine, clock) == {fine}

    def test_an_erased_resident_leaves_with_their_delivery(self, engine: Engine, clock: FrozenClock) -> None:
        from outreach.services import residents

        kept, erased = resident(engine, clock), resident(engine, clock)
        campaign_id = create(engine, clock)
        with UnitOfWork(engine) as uow:
            residents.erase(uow, clock, erased)
        assert progress(engine, campaign_id)["total"] == 1
        assert members(engine, clock) == {kept}


async def test_the_live_count_is_what_is_sent(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    for n in range(6):
        resident(engine, clock, first_name=f"R{n}")
    resident(engine, clock, opted_out_at=now)
    resident(engine, clock, territory="troyes", quartier="chartreux")
    expected = count(engine, Audience(territory="dijon"), clock)
    campaign_id = create(engine, clock)
    sender = await drive(engine, clock)
    assert expected == 6 == len(sender.sent)
    assert progress(engine, campaign_id)["sent"] == 6


@pytest.fixture
def crowd(engine: Engine, clock: FrozenClock) -> Engine:
    """100,000 consented residents of Dijon, a third of them screened (age, one right to claim)."""
    now = clock.now()
    people = [
        {
            "public_id": f"p{n:031d}", "telegram_user_id": 10_000_000 + n, "chat_id": 10_000_000 + n,
            "first_name": "Amina", "territory_id": "dijon",
            "quartier_id": ("gresilles", "fontaine_d_ouche", "le_mail", None)[n % 4],
            "consent_version": "2026-11", "consent_at": now, "last_seen_at": now - dt.timedelta(days=n % 90),
            "created_at": now,
        }
        for n in range(100_000)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Resident.__table__), people)  # type: ignore[attr-defined]
    with UnitOfWork(engine) as uow:
        ids = [row for row in uow.session.execute(Resident.__table__.select().with_only_columns(  # type: ignore[attr-defined]
            Resident.__table__.c.id)).scalars()]  # type: ignore[attr-defined]
    screened = ids[::3]
    with engine.begin() as connection:
        connection.execute(insert(Screening.__table__), [  # type: ignore[attr-defined]
            {"resident_id": rid, "created_at": now, "answers": {"age": 16 + rid % 50}, "missing": [],
             "complex_case": False} for rid in screened
        ])
    with UnitOfWork(engine) as uow:
        pairs = uow.session.execute(Screening.__table__.select().with_only_columns(  # type: ignore[attr-defined]
            Screening.__table__.c.id, Screening.__table__.c.resident_id)).all()  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(insert(ScreeningRight.__table__), [  # type: ignore[attr-defined]
            {"screening_id": sid, "resident_id": rid, "right_id": ("rsa", "css", "prime_activite")[sid % 3],
             "kind": "national", "label": "x", "uncertain": False, "why": "", "next_step": "",
             "status": "to_claim", "status_at": now, "detected_at": now} for sid, rid in pairs
        ])
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return engine


FILTERS: list[dict[str, object]] = [
    {},
    {"quartiers": ["gresilles", "le_mail"]},
    {"inactive_days": 30},
    {"never_screened": True},
    {"age_min": 16, "age_max": 25},
    {"right_not_claimed": "rsa"},
    {"booked": False},
    {"right_not_claimed": "any", "quartiers": ["gresilles"], "age_max": 30, "inactive_days": 10},
]


def test_the_live_count_stays_fast_with_100k_residents(crowd: Engine, clock: FrozenClock) -> None:
    """The 100 ms target is the benchmark's (BENCHMARKS.md, Campaigns); here a guard at 250 ms that catches a lost
    index (10x slower) without failing on a busy CI machine (103 ms seen once)."""
    slow, measured = {}, {}
    for filters in FILTERS:
        audience = Audience(territory="dijon", **filters)  # type: ignore[arg-type]
        count(crowd, audience, clock)  # warm the caches, as the builder's first count does
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            found = count(crowd, audience, clock)
            timings.append(time.perf_counter() - began)
        assert found > 0, filters
        measured[",".join(filters) or "territory"] = round(min(timings) * 1000, 1)
        if min(timings) >= 0.25:
            slow[str(filters)] = round(min(timings) * 1000)
    print(f"\nlive count with 100k residents ({crowd.dialect.name}), ms: {measured}")
    assert not slow, f"counts over 250 ms (ms): {slow}"
