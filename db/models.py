"""SQLModel tables. Tables are created by Alembic migrations only (db/migrations)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, UniqueConstraint, text
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


class RightStatus(enum.StrEnum):
    """The life of a right found by a screening, until it is claimed."""

    detected = "detected"  # found by the screening
    to_claim = "to_claim"  # the resident was told what to do, and has not done it yet
    asked = "asked"  # the resident says the claim is made
    opened = "opened"  # the right is paid
    refused = "refused"  # the claim was refused
    failed = "failed"  # the resident tried and did not manage (a person should help)
    already_received = "already_received"  # was already paid before the screening


class HandoffStatus(enum.StrEnum):
    waiting = "waiting"  # no adulte-relais has taken it yet
    claimed = "claimed"  # an adulte-relais talks with the resident through the bot
    closed = "closed"


class HandoffOutcome(enum.StrEnum):
    """How a case ended (statistics)."""

    oriente = "oriente"  # orienté vers un service
    rendez_vous = "rendez_vous"  # rendez-vous pris
    droit_ouvert = "droit_ouvert"  # droit ouvert
    dossier_en_cours = "dossier_en_cours"  # dossier en cours
    sans_suite = "sans_suite"  # sans suite


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
    quartier_ids: list[str] = Field(default_factory=list, sa_type=JsonType)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    disabled_at: dt.datetime | None = _dt()


class StaffInvite(SQLModel, table=True):
    """A single-use, expiring code: `/start <code>` makes that Telegram account staff."""

    __tablename__ = "staff_invite"

    code: str = Field(primary_key=True, max_length=32)
    role: StaffRole = Field(sa_type=String(16))
    territory_id: str | None = Field(default=None, foreign_key="territory.id", max_length=32)
    first_name: str = Field(max_length=64)
    quartier_ids: list[str] = Field(default_factory=list, sa_type=JsonType)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    used_at: dt.datetime | None = _dt()
    staff_id: int | None = Field(default=None, foreign_key="staff.id")


class Handoff(SQLModel, table=True):
    """A resident handed to a person: waiting for an adulte-relais, then claimed, then closed."""

    __table_args__ = (
        # at most one open case per resident
        Index(
            "uq_handoff_open_per_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_handoff_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), nullable=False))
    territory_id: str | None = Field(default=None, max_length=32)
    quartier_id: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=24)  # talk_to_human | fallback | screening | button
    reason: str = Field(max_length=200)
    status: HandoffStatus = Field(default=HandoffStatus.waiting, sa_type=String(16))
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    claimed_at: dt.datetime | None = _dt()
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    last_activity_at: dt.datetime | None = _dt()  # the staff member writes to their latest active case
    resent_at: dt.datetime | None = _dt()
    coordinator_told_at: dt.datetime | None = _dt()
    closed_at: dt.datetime | None = _dt()
    closed_by: str | None = Field(default=None, max_length=16)  # resident | staff
    outcome: HandoffOutcome | None = Field(default=None, sa_type=String(24))
    notes: str | None = Field(default=None, max_length=1000)
    satisfaction: int | None = None


class HandoffCard(SQLModel, table=True):
    """A case card sent to one staff member (edited to "Pris par …" when someone else takes it)."""

    __tablename__ = "handoff_card"

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: int = Field(
        sa_column=Column(ForeignKey("handoff.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    staff_id: int = Field(foreign_key="staff.id")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int
    sent_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class HandoffMessage(SQLModel, table=True):
    """What a resident sent while the case waited: delivered to whoever takes it, then deleted."""

    __tablename__ = "handoff_message"

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: int = Field(
        sa_column=Column(ForeignKey("handoff.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    kind: str = Field(max_length=16)  # text | photo | document
    text: str | None = Field(default=None, max_length=4096)
    file_id: str | None = Field(default=None, max_length=256)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


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


class Screening(SQLModel, table=True):
    """One screening: the answers given and what was found (the latest one per resident is current)."""

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(
        sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    territory_id: str | None = Field(default=None, max_length=32)
    quartier_id: str | None = Field(default=None, max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JsonType)  # the Profile, as JSON
    missing: list[str] = Field(default_factory=list, sa_type=JsonType)
    complex_case: bool = False  # the rules say a person should look at it


class ScreeningRight(SQLModel, table=True):
    """A right or programme found by a screening, with its claim status (follow-ups, statistics)."""

    __tablename__ = "screening_right"
    __table_args__ = (UniqueConstraint("screening_id", "right_id", name="uq_screening_right"),)

    id: int | None = Field(default=None, primary_key=True)
    screening_id: int = Field(
        sa_column=Column(ForeignKey("screening.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    resident_id: int = Field(
        sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    right_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # national | local
    label: str = Field(max_length=120)
    monthly_amount: float | None = None
    uncertain: bool = False
    why: str = Field(default="", max_length=600)
    next_step: str = Field(default="", max_length=600)
    status: RightStatus = Field(default=RightStatus.detected, sa_type=String(16))
    status_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    detected_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


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
    "Handoff",
    "HandoffCard",
    "HandoffMessage",
    "HandoffOutcome",
    "HandoffStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Quartier",
    "Resident",
    "RightStatus",
    "Screening",
    "ScreeningRight",
    "Staff",
    "StaffInvite",
    "StaffRole",
    "Territory",
]
