"""Who a campaign reaches: the SQL of the audience filters (always without the residents who did not
consent, opted out, became unreachable, or are staff), its snapshot into deliveries, and what one
resident of it would read (the builder's preview)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, exists, func, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from db.models import (
    Appointment,
    AppointmentStatus,
    Campaign,
    CampaignDelivery,
    DeliveryStatus,
    Quartier,
    Resident,
    RightStatus,
    Screening,
    ScreeningRight,
    Staff,
)
from db.types import UTCDateTime
from outreach.campaigns.spec import BUTTONS, NEUTRAL, Audience, CampaignSpec, fill, values_for

_D = CampaignDelivery.__table__  # type: ignore[attr-defined]


def conditions(audience: Audience, now: dt.datetime) -> list[Any]:
    """The WHERE clauses on Resident for an audience (always with the exclusions)."""
    staff_ids = select(Staff.telegram_user_id).where(col(Staff.telegram_user_id).is_not(None))
    found: list[Any] = [
        col(Resident.territory_id) == audience.territory,
        col(Resident.consent_at).is_not(None),
        col(Resident.opted_out_at).is_(None),
        col(Resident.unreachable_at).is_(None),
        col(Resident.telegram_user_id).not_in(staff_ids),
    ]
    if audience.quartiers:
        found.append(col(Resident.quartier_id).in_(audience.quartiers))
    if audience.inactive_days is not None:
        cutoff = now - dt.timedelta(days=audience.inactive_days)
        found.append(or_(col(Resident.last_seen_at).is_(None), col(Resident.last_seen_at) < cutoff))
    if audience.never_screened:
        found.append(~exists().where(col(Screening.resident_id) == col(Resident.id)))

    def latest(resident_id: Any) -> Any:
        """The id of the latest screening of the resident in `resident_id` (the enclosing row)."""
        other = aliased(Screening)
        return select(func.max(other.id)).where(other.resident_id == resident_id).scalar_subquery()

    if audience.age_min is not None or audience.age_max is not None:
        age = Screening.answers["age"].as_integer()  # type: ignore[index]
        band = [col(Screening.resident_id) == col(Resident.id), col(Screening.id) == latest(Screening.resident_id)]
        if audience.age_min is not None:
            band.append(age >= audience.age_min)
        if audience.age_max is not None:
            band.append(age <= audience.age_max)
        found.append(exists().where(*band))
    if audience.right_not_claimed is not None:
        right = [
            col(ScreeningRight.resident_id) == col(Resident.id),
            col(ScreeningRight.screening_id) == latest(ScreeningRight.resident_id),
            col(ScreeningRight.status).in_([RightStatus.detected.value, RightStatus.to_claim.value]),
        ]
        if audience.right_not_claimed != "any":
            right.append(col(ScreeningRight.right_id) == audience.right_not_claimed)
        found.append(exists().where(*right))
    if audience.booked is not None:
        upcoming = exists().where(
            col(Appointment.resident_id) == col(Resident.id),
            col(Appointment.status) == AppointmentStatus.booked.value,
            col(Appointment.starts_at) > now,
        )
        found.append(upcoming if audience.booked else ~upcoming)
    return found


def audience_query(audience: Audience, now: dt.datetime) -> Select[Any]:
    """The ids of the residents in the audience now (consented, not opted out, reachable, not staff)."""
    return select(col(Resident.id)).where(*conditions(audience, now))


def audience_count(session: Session, audience: Audience, now: dt.datetime) -> int:
    """How many residents the audience holds now (the builder's live count)."""
    query = select(func.count()).select_from(Resident).where(*conditions(audience, now))
    return int(session.execute(query).scalar_one())


def sample_resident(session: Session, audience: Audience, now: dt.datetime) -> Resident | None:
    """One resident of the audience (one with a first name when there is one), for previews and tests."""
    query = (
        select(Resident)
        .where(*conditions(audience, now))
        .order_by(col(Resident.first_name).is_(None), col(Resident.id))
        .limit(1)
    )
    return session.execute(query).scalars().first()


def snapshot(session: Session, campaign: Campaign, now: dt.datetime) -> int:
    """The audience now, into pending deliveries (ON CONFLICT DO NOTHING: nobody twice)."""
    assert campaign.id is not None
    audience = Audience.model_validate(campaign.audience)
    rows = select(
        literal(campaign.id),
        col(Resident.id),
        literal(DeliveryStatus.pending.value),
        literal(now, type_=UTCDateTime()),
    ).where(*conditions(audience, now))
    columns = ["campaign_id", "resident_id", "status", "created_at"]
    dialect = session.get_bind().dialect.name
    index = ["campaign_id", "resident_id"]
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_D).from_select(columns, rows).on_conflict_do_nothing(index_elements=index)
    elif dialect == "sqlite":
        statement = sqlite.insert(_D).from_select(columns, rows).on_conflict_do_nothing(index_elements=index)
    else:  # pragma: no cover - only our two databases are supported
        statement = insert(_D).from_select(columns, rows)
    return int(session.execute(statement).rowcount or 0)


# ---------------------------------------------------------------- what they read


def latest_rights(session: Session, resident_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """(right id, label) of the rights detected and not claimed in each resident's latest screening."""
    ids = sorted(set(resident_ids))
    found: dict[int, list[tuple[str, str]]] = {}
    if not ids:
        return found
    latest = (
        select(func.max(col(Screening.id))).where(col(Screening.resident_id).in_(ids)).group_by(Screening.resident_id)
    )
    rows = session.execute(
        select(ScreeningRight.resident_id, ScreeningRight.right_id, ScreeningRight.label)
        .where(
            col(ScreeningRight.resident_id).in_(ids),
            col(ScreeningRight.screening_id).in_(latest),
            col(ScreeningRight.status).in_([RightStatus.detected.value, RightStatus.to_claim.value]),
        )
        .order_by(col(ScreeningRight.id))
    ).all()
    for resident_id, right_id, label in rows:
        found.setdefault(resident_id, []).append((right_id, label))
    return found


def render_text(session: Session, text: str, resident: Resident | None, *, prefer_right: str | None = None) -> str:
    """The template for one resident: {prenom} their first name (or nothing, cleanly), {quartier} their
    QPV's name, {droit} a right detected and not claimed (`prefer_right` first); else neutral words.
    Without a resident: the neutral example."""
    if resident is None or resident.id is None:
        return fill(text, dict(NEUTRAL))
    quartier = session.get(Quartier, resident.quartier_id) if resident.quartier_id else None
    rights = latest_rights(session, [resident.id]).get(resident.id, []) if "{droit}" in text else []
    return fill(text, values_for(resident.first_name, quartier.name if quartier else None, rights, prefer_right))


def preview(session: Session, spec: CampaignSpec, now: dt.datetime) -> dict[str, Any]:
    """What the builder shows: the text on a sample resident (neutral when nobody matches), the button
    titles, the live audience count."""
    sample = sample_resident(session, spec.audience, now)
    return {
        "text": render_text(session, spec.text, sample, prefer_right=spec.audience.right_not_claimed),
        "buttons": [BUTTONS[key] for key in spec.buttons],
        "audience": audience_count(session, spec.audience, now),
    }
