"""Finding 1 of the security review (issue 15): parallel wrong passwords all count, and the lock follows the count
in the database — 4 waves of 10 simultaneous guesses lock the account, and the right password is then refused."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import AuditLog, ConsoleAccount, Staff, StaffRole
from outreach.clock import FrozenClock
from outreach.services import console_accounts

PASSWORD = "un mot de passe assez long 42"


def _account(engine: Engine, clock: FrozenClock) -> int:
    with UnitOfWork(engine) as uow:
        staff = Staff(first_name="Hélène", role=StaffRole.coordinator, territory_id="dijon", created_at=clock.now())
        uow.session.add(staff)
        uow.commit()
        assert staff.id is not None
        console_accounts.grant(uow, clock, staff.id, "helene")
        console_accounts.set_password(uow, staff.id, PASSWORD)
        uow.commit()
        return staff.id


def _try(engine: Engine, clock: FrozenClock, password: str) -> console_accounts.LoginResult:
    with UnitOfWork(engine) as uow:
        return console_accounts.check_login(uow, clock, "helene", password)


def test_parallel_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(engine: Engine) -> None:
    clock = FrozenClock(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    staff_id = _account(engine, clock)
    with ThreadPoolExecutor(max_workers=10) as pool:
        for _wave in range(4):
            results = list(pool.map(lambda n: _try(engine, clock, f"mauvais {n}"), range(10)))
            assert all(r.staff_id is None for r in results)
    right = _try(engine, clock, PASSWORD)
    assert right.staff_id is None and right.locked_until is not None
    with UnitOfWork(engine) as uow:
        account = uow.session.get(ConsoleAccount, staff_id)
        assert account is not None and account.locked_until is not None
        lockouts = uow.session.exec(select(AuditLog).where(AuditLog.action == "console_lockout")).all()
        assert len(lockouts) >= 1
    clock.advance(minutes=16)
    assert _try(engine, clock, PASSWORD).staff_id == staff_id  # the lock ends


def test_a_right_password_resets_the_count(engine: Engine) -> None:
    clock = FrozenClock(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    staff_id = _account(engine, clock)
    for n in range(console_accounts.LOCK_AFTER - 1):
        assert _try(engine, clock, f"mauvais {n}").staff_id is None
    assert _try(engine, clock, PASSWORD).staff_id == staff_id
    assert _try(engine, clock, "mauvais encore").locked_until is None  # counting starts again
