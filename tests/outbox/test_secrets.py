"""Finding 3 of the trust review: the Telegram login link stayed in `outbox_message.payload` (and part of its
token in the idempotency key) after it was sent, and staff invite codes were stored in clear."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import OutboxMessage, OutboxStatus, Staff, StaffInvite, StaffRole
from outreach.clock import FrozenClock
from outreach.outbox import Dispatcher
from outreach.senders import BotApiSender
from outreach.services import console_accounts
from outreach.services import staff as staff_service
from sandbox.client import EmulatorClient
from sandbox.emulator import running_emulator
from tests.conftest import TOKEN

CONSOLE = "https://console.example.fr"


def _coordinator(engine: Engine, clock: FrozenClock, chat_id: int) -> None:
    with UnitOfWork(engine) as uow:
        staff = Staff(telegram_user_id=chat_id, chat_id=chat_id, first_name="Hélène", role=StaffRole.coordinator,
                      territory_id="dijon", created_at=clock.now())
        uow.session.add(staff)
        uow.commit()
        assert staff.id is not None
        console_accounts.grant(uow, clock, staff.id, "helene")


def _everything_stored(engine: Engine) -> str:
    """Every value of the tables that could hold a secret, as one string."""
    with engine.connect() as connection:
        rows = [tuple(r) for table in ("outbox_message", "staff_invite", "console_token", "audit_log")
                for r in connection.execute(text(f"SELECT * FROM {table}")).all()]  # noqa: S608 - constant table names
    return json.dumps(rows, default=str)


async def test_a_sent_login_link_is_not_left_in_the_database(engine: Engine, clock: FrozenClock) -> None:
    _coordinator(engine, clock, 71)
    with UnitOfWork(engine) as uow:
        assert console_accounts.send_login_link(uow, clock, "helene", console_url=CONSOLE)
    async with running_emulator() as emu, EmulatorClient(emu.url) as telegram:
        helene = await telegram.user(71, "Hélène")
        async with BotApiSender(emu.base_url, TOKEN) as sender:
            stats = await Dispatcher(engine, clock, sender, rate=25).run_once(budget=30)
        assert stats.sent == 1
        [token] = [word.rsplit("/", 1)[-1] for word in (await helene.next_message()).text.split()
                   if word.startswith(f"{CONSOLE}/connexion/lien/")]
    stored = _everything_stored(engine)
    assert token not in stored and token[:16] not in stored  # neither the link nor a part of it
    with UnitOfWork(engine) as uow:
        [row] = uow.session.exec(select(OutboxMessage).where(OutboxMessage.kind == "console_link")).all()
        assert row.status == OutboxStatus.sent and row.payload == {"erased": True}
        assert console_accounts.redeem_login_link(uow, clock, token) is not None  # the link still works


async def test_a_login_link_that_expired_unsent_is_erased_too(engine: Engine, clock: FrozenClock) -> None:
    _coordinator(engine, clock, 72)
    with UnitOfWork(engine) as uow:
        assert console_accounts.send_login_link(uow, clock, "helene", console_url=CONSOLE)
    clock.advance(hours=1)  # Telegram was unreachable until the link expired
    async with running_emulator() as emu:
        async with BotApiSender(emu.base_url, TOKEN) as sender:
            stats = await Dispatcher(engine, clock, sender, rate=25).run_once(budget=30)
    assert stats.sent == 0
    with UnitOfWork(engine) as uow:
        [row] = uow.session.exec(select(OutboxMessage).where(OutboxMessage.kind == "console_link")).all()
        assert row.status == OutboxStatus.dropped and row.payload == {"erased": True}
    assert "/connexion/lien/" not in _everything_stored(engine)


def test_an_invite_code_is_stored_only_as_its_hash(engine: Engine, clock: FrozenClock) -> None:
    with UnitOfWork(engine) as uow:
        invite = staff_service.create_invite(uow, clock, role=StaffRole.relay, territory_id="dijon",
                                             first_name="Samia")
    stored = _everything_stored(engine)
    assert invite.code.startswith("st-") and invite.code not in stored and invite.code[3:15] not in stored
    with UnitOfWork(engine) as uow:
        [row] = uow.session.exec(select(StaffInvite)).all()
        assert row.code_hash == staff_service.invite_digest(invite.code)
        assert staff_service.redeem_invite(uow, clock, row.code_hash, telegram_user_id=8, chat_id=8) is None
        member = staff_service.redeem_invite(uow, clock, invite.code, telegram_user_id=9, chat_id=9)
        assert member is not None and member.first_name == "Samia"
        assert staff_service.redeem_invite(uow, clock, invite.code, telegram_user_id=10, chat_id=10) is None
