"""SQLModel tables. Tables are created by Alembic migrations only (db/migrations)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from db.types import JsonType, UTCDateTime


def _dt(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


class StaffRole(enum.StrEnum):
    relay = "relay"
    coordinator = "coordinator"
    admin = "admin"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dropped = "dropped"


class Territory(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=120)


class Commune(SQLModel, table=True):
    insee: str = Field(primary_key=True, max_length=5)
    name: str = Field(max_length=120)
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=32)


class Quartier(SQLModel, table=True):
    """A QPV (quartier prioritaire de la politique de la ville)."""

    id: str = Field(primary_key=True, max_length=64)
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=32)
    name: str = Field(max_length=120)
    commune_insee: str = Field(foreign_key="commune.insee", max_length=5)
    code_qpv: str | None = Field(default=None, max_length=16)
    aliases: list[str] = Field(default_factory=list, sa_type=JsonType)


class Resident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Opaque id used as the Rasa sender and in logs; never the Telegram id.
    public_id: str = Field(max_length=32, unique=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_name: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    territory_id: str | None = Field(default=None, foreign_key="territory.id", max_length=32)
    quartier_id: str | None = Field(default=None, foreign_key="quartier.id", max_length=64)
    consent_version: str | None = Field(default=None, max_length=16)
    consent_at: dt.datetime | None = _dt()
    consent_refused_at: dt.datetime | None = _dt()
    opted_out_at: dt.datetime | None = _dt()
    unreachable_at: dt.datetime | None = _dt()
    last_seen_at: dt.datetime | None = _dt()
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)

    @property
    def has_consented(self) -> bool:
        return self.consent_at is not None


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    first_name: str = Field(max_length=64)
    role: StaffRole = Field(sa_type=String(16))
    territory_id: str | None = Field(default=None, foreign_key="territory.id", max_length=32)
    active: bool = True
    available: bool = False
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    disabled_at: dt.datetime | None = _dt()


class ButtonToken(SQLModel, table=True):
    """Server side of an inline button: callback_data carries only the token."""

    __tablename__ = "button_token"

    token: str = Field(primary_key=True, max_length=24)
    resident_id: int = Field(
        sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    batch: str = Field(max_length=16, index=True)  # the buttons of one message; pressing one spends them all
    title: str = Field(max_length=64)
    payload: str = Field(max_length=512)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class OutboxMessage(SQLModel, table=True):
    """Every proactive message, dispatched by the scheduler; the truth survives restarts."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    resident_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    )
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JsonType)
    due_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    expires_at: dt.datetime | None = _dt()
    status: OutboxStatus = Field(default=OutboxStatus.pending, sa_type=String(16))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=255)
    claimed_at: dt.datetime | None = _dt()
    sent_at: dt.datetime | None = _dt()
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False, index=True)
    actor: str = Field(max_length=64)  # "staff:12", "resident:<public_id>", "system", "cli"
    action: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JsonType)


class Event(SQLModel, table=True):
    """Facts for statistics (reached, screened, ...); never message contents."""

    __table_args__ = (Index("ix_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    kind: str = Field(max_length=48)
    resident_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("resident.id", ondelete="SET NULL"), index=True)
    )
    territory_id: str | None = Field(default=None, max_length=32)
    quartier_id: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JsonType)


__all__ = [
    "AuditLog",
    "ButtonToken",
    "Commune",
    "Event",
    "OutboxMessage",
    "OutboxStatus",
    "Quartier",
    "Resident",
    "Staff",
    "StaffRole",
    "Territory",
]
