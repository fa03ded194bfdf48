"""SQLModel tables. Tables are created by Alembic migrations only (db/migrations)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, UniqueConstraint, false, text
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
    language: str | None = Field(default=None, max_length=8)  # what the bot speaks to them (outreach/i18n.py)
    language_confirmed_at: dt.datetime | None = _dt()  # they chose it: no more offers to switch
    territory_id: str | None = Field(default=None, foreign_key="territory.id", max_length=32)
    quartier_id: str | None = Field(default=None, foreign_key="quartier.id", max_length=64)
    consent_version: str | None = Field(default=None, max_length=16)  # the version of the consent text accepted
    # a newer consent text was shown to this resident (who accepted an older one): the full text once, then a reminder
    consent_asked_version: str | None = Field(default=None, max_length=16)
    consent_at: dt.datetime | None = _dt()
    consent_refused_at: dt.datetime | None = _dt()
    opted_out_at: dt.datetime | None = _dt()
    unreachable_at: dt.datetime | None = _dt()
    last_seen_at: dt.datetime | None = _dt()
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    # The buttons of the bot's latest turn, in the order shown (JSON: {"tokens": [button_token.token…], "channel":
    # [[title, payload]…]}); None when that turn showed none. A typed answer is first read against them.
    keyboard: str | None = Field(default=None, max_length=600)

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
    languages: list[str] = Field(default_factory=list, sa_type=JsonType)  # spoken besides French (ISO 639-1)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    disabled_at: dt.datetime | None = _dt()


class StaffInvite(SQLModel, table=True):
    """A single-use, expiring code: `/start <code>` makes that Telegram account staff."""

    __tablename__ = "staff_invite"

    code_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 of the code (the code is never stored)
    role: StaffRole = Field(sa_type=String(16))
    territory_id: str | None = Field(default=None, foreign_key="territory.id", max_length=32)
    first_name: str = Field(max_length=64)
    quartier_ids: list[str] = Field(default_factory=list, sa_type=JsonType)
    languages: list[str] = Field(default_factory=list, sa_type=JsonType)
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
    language: str | None = Field(default=None, max_length=8)  # the resident's, supported or not ("es")
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


class InboxUpdate(SQLModel, table=True):
    """An update from Telegram being handled (outreach/inbox.py): kept until it is handled, replayed after a crash,
    and its id remembered a while so that one delivered twice is handled once. The payload (what the person
    wrote) is erased as soon as the update is handled."""

    __tablename__ = "inbox_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    received_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False, index=True)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JsonType)
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime())
    # The chat it belongs to (None: an update of no chat): several workers handle a chat's updates in order.
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))

    __table_args__ = (Index("ix_inbox_update_chat_pending", "chat_id", "update_id"),)


class JobLease(SQLModel, table=True):
    """A scheduled job that must run on one worker at a time (campaign pump, daily housekeeping, waiting cases):
    held by `holder` until `expires_at`, renewed by each run; another worker takes it over once it has expired
    (its holder died). outreach/leases.py."""

    __tablename__ = "job_lease"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    holder: str = Field(sa_column=Column(String(128), nullable=False))
    expires_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class OutboxMessage(SQLModel, table=True):
    """Every proactive message, dispatched by the scheduler; the truth survives restarts."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        Index("ix_outbox_status_priority_due", "status", "priority", "due_at"),  # the priority lane's claim
    )

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
    # The priority lane (outreach/outbox.py): claimed before the others, not held by quiet hours.
    priority: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


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

    __table_args__ = (
        Index("ix_event_kind_at", "kind", "at"),
        # the figures of a month (outreach/stats.py, migration 0006)
        Index("ix_event_territory_kind_at", "territory_id", "kind", "at"),
        Index("ix_event_quartier_kind_at", "quartier_id", "kind", "at"),
    )

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


# ---------------------------------------------------------------- booking (appointments, permanences)

from sqlalchemy import CheckConstraint, Time  # noqa: E402 - kept in this section on purpose


class AppointmentStatus(enum.StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    seen = "seen"  # the resident came
    no_show = "no_show"  # did not come, did not warn
    excused = "excused"  # did not come, but warned (or a good reason)


class AppointmentChannel(enum.StrEnum):
    permanence = "permanence"  # at the place of the permanence
    telephone = "telephone"  # the adulte-relais calls during the permanence


class Lieu(SQLModel, table=True):
    """A place where an adulte-relais holds permanences (centre social, maison de quartier...)."""

    id: str = Field(primary_key=True, max_length=64)  # slug
    name: str = Field(max_length=120)
    address: str = Field(max_length=200)
    commune_insee: str = Field(foreign_key="commune.insee", max_length=5)
    quartier_id: str | None = Field(default=None, foreign_key="quartier.id", index=True, max_length=64)
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=32)
    accessibility: str | None = Field(default=None, max_length=300)
    map_url: str | None = Field(default=None, max_length=300)


class Permanence(SQLModel, table=True):
    """Weekly office hours of an adulte-relais in a place, cut into bookable slots."""

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_permanence_weekday"),
        CheckConstraint("end_time > start_time", name="ck_permanence_hours"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="ck_permanence_slot"),
        CheckConstraint("capacity BETWEEN 1 AND 20", name="ck_permanence_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)  # the adulte-relais
    lieu_id: str = Field(foreign_key="lieu.id", index=True, max_length=64)
    weekday: int  # 0 = Monday ... 6 = Sunday
    start_time: dt.time = Field(sa_type=Time())  # local time (Settings.timezone)
    end_time: dt.time = Field(sa_type=Time())
    slot_minutes: int = 30
    capacity: int = 1  # residents per slot
    topics: list[str] = Field(default_factory=list, sa_type=JsonType)  # empty: every topic
    active: bool = True
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class Closure(SQLModel, table=True):
    """A period without appointments: for one permanence, or for every permanence of a place."""

    __table_args__ = (
        CheckConstraint("permanence_id IS NOT NULL OR lieu_id IS NOT NULL", name="ck_closure_target"),
        CheckConstraint("ends_at > starts_at", name="ck_closure_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    permanence_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("permanence.id", ondelete="CASCADE"), index=True)
    )
    lieu_id: str | None = Field(
        default=None, sa_column=Column(ForeignKey("lieu.id", ondelete="CASCADE"), index=True)
    )
    starts_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    ends_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    reason: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class Appointment(SQLModel, table=True):
    """A resident's appointment in one slot of a permanence."""

    __table_args__ = (
        Index("ix_appointment_slot", "permanence_id", "starts_at"),
        Index("ix_appointment_resident_status", "resident_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), nullable=False))
    permanence_id: int = Field(foreign_key="permanence.id")
    starts_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    ends_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    topic: str | None = Field(default=None, max_length=64)
    channel: AppointmentChannel = Field(default=AppointmentChannel.permanence, sa_type=String(16))
    status: AppointmentStatus = Field(default=AppointmentStatus.booked, sa_type=String(16))
    cancelled_by: str | None = Field(default=None, max_length=16)  # resident | staff
    replaces_id: int | None = Field(default=None, foreign_key="appointment.id")  # set by a reschedule
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    status_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    notes: str | None = Field(default=None, max_length=1000)


class AppointmentSeat(SQLModel, table=True):
    """One row per booked appointment: the unique key makes a double booking impossible.

    A slot of capacity N has seats 0..N-1; two bookings of the same seat violate
    uq_appointment_seat, on SQLite and PostgreSQL alike. The row goes when the appointment
    is cancelled (or deleted with the resident).
    """

    __tablename__ = "appointment_seat"
    __table_args__ = (
        UniqueConstraint("permanence_id", "starts_at", "seat_number", name="uq_appointment_seat"),
        CheckConstraint("seat_number >= 0 AND seat_number < capacity", name="ck_appointment_seat_capacity"),
    )

    appointment_id: int = Field(
        sa_column=Column(ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True)
    )
    permanence_id: int = Field(foreign_key="permanence.id")
    starts_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    seat_number: int
    capacity: int  # the permanence's capacity when the seat was taken


__all__ += [  # the booking section extends the list above
    "Appointment",
    "AppointmentChannel",
    "AppointmentSeat",
    "AppointmentStatus",
    "Closure",
    "Lieu",
    "Permanence",
]


# ---------------------------------------------------------------- campaigns (coordinators' outreach messages)


class CampaignStatus(enum.StrEnum):
    draft = "draft"  # written, not started
    scheduled = "scheduled"  # started, waiting for its time (at a date, or the next weekly run)
    running = "running"  # deliveries are being queued into the outbox
    paused = "paused"
    done = "done"  # every delivery left (a weekly campaign is never done until cancelled)
    cancelled = "cancelled"


class CampaignSchedule(enum.StrEnum):
    now = "now"
    at = "at"  # once, at starts_at
    weekly = "weekly"  # every week from starts_at; new members of the audience get it, nobody twice


class DeliveryStatus(enum.StrEnum):
    """A resident's place in a campaign. What happened after `queued` is on the outbox row (outbox_key)."""

    pending = "pending"  # in the audience, not yet given to the outbox
    queued = "queued"  # an outbox row exists (pending / sending / sent / dropped / failed)
    capped = "capped"  # skipped: already had the maximum of campaigns this week
    excluded = "excluded"  # skipped: opted out, unreachable or erased before their turn
    cancelled = "cancelled"  # the campaign was cancelled before their turn


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    territory_id: str = Field(foreign_key="territory.id", index=True, max_length=32)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JsonType)  # filters (campaigns/audience.py)
    text: str = Field(max_length=1000)  # template: {prenom} {quartier} {droit}
    # optional versions of the text per language of the catalogue ({"ar": "…"}), written by the coordinator
    translations: dict[str, str] = Field(default_factory=dict, sa_type=JsonType)
    buttons: list[str] = Field(default_factory=list, sa_type=JsonType)  # up to 3 of the fixed set
    schedule: CampaignSchedule = Field(default=CampaignSchedule.now, sa_type=String(8))
    starts_at: dt.datetime | None = _dt()
    next_run_at: dt.datetime | None = _dt(index=True)  # when the audience is (re)computed next
    rate: float = 25.0  # messages per second, at most 30
    status: CampaignStatus = Field(default=CampaignStatus.draft, sa_type=String(16))
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    started_at: dt.datetime | None = _dt()
    finished_at: dt.datetime | None = _dt()


class CampaignDelivery(SQLModel, table=True):
    """One resident in one campaign. The unique key makes a second delivery impossible, crash or not."""

    __tablename__ = "campaign_delivery"
    __table_args__ = (
        UniqueConstraint("campaign_id", "resident_id", name="uq_campaign_delivery"),
        Index("ix_campaign_delivery_status", "campaign_id", "status"),
        Index("ix_campaign_delivery_resident", "resident_id", "queued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False))
    resident_id: int = Field(sa_column=Column(ForeignKey("resident.id", ondelete="CASCADE"), nullable=False))
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=String(16))
    outbox_key: str | None = Field(default=None, max_length=128)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    queued_at: dt.datetime | None = _dt()
    clicked_at: dt.datetime | None = _dt()  # first button press
    clicked_button: str | None = Field(default=None, max_length=16)


# ---------------------------------------------------------------- web console (accounts, one-time links, sessions)


class ConsoleAccount(SQLModel, table=True):
    """Console access of a staff member: a login and an argon2 password hash (None until activated)."""

    __tablename__ = "console_account"

    staff_id: int = Field(sa_column=Column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True))
    login: str = Field(max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    failed_logins: int = 0
    locked_until: dt.datetime | None = _dt()
    last_login_at: dt.datetime | None = _dt()
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


class ConsoleToken(SQLModel, table=True):
    """A single-use link: set a password (activate) or log in from Telegram (login). Only its hash is kept."""

    __tablename__ = "console_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(sa_column=Column(ForeignKey("staff.id", ondelete="CASCADE"), index=True, nullable=False))
    purpose: str = Field(max_length=16)  # activate | login
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    used_at: dt.datetime | None = _dt()


class ConsoleSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds a random id, the table its hash and the CSRF token."""

    __tablename__ = "console_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(sa_column=Column(ForeignKey("staff.id", ondelete="CASCADE"), index=True, nullable=False))
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime(), nullable=False)


__all__ += [
    "Campaign",
    "CampaignDelivery",
    "CampaignSchedule",
    "CampaignStatus",
    "ConsoleAccount",
    "ConsoleSession",
    "ConsoleToken",
    "DeliveryStatus",
]
