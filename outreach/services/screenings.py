"""Screenings of a resident: store the answers and results, read the latest, move a right's status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import col, select

from db.engine import UnitOfWork
from db.models import Event, Resident, RightStatus, Screening, ScreeningRight
from outreach.clock import Clock
from outreach.screening.model import Profile, ScreeningResult, StoredRight

# Allowed moves of a right's status (anything may also be set again to what it already is).
TRANSITIONS: dict[RightStatus, set[RightStatus]] = {
    RightStatus.detected: {
        RightStatus.to_claim,
        RightStatus.asked,
        RightStatus.opened,
        RightStatus.failed,
        RightStatus.already_received,
    },
    RightStatus.to_claim: {RightStatus.asked, RightStatus.opened, RightStatus.failed, RightStatus.already_received},
    RightStatus.asked: {RightStatus.opened, RightStatus.refused, RightStatus.failed},
    RightStatus.failed: {RightStatus.asked, RightStatus.opened, RightStatus.to_claim},
    RightStatus.refused: {RightStatus.asked},
    RightStatus.opened: set(),
    RightStatus.already_received: set(),
}


# A right found again by a screening within this time after a previous detection is not counted again.
REPEAT_WINDOW = dt.timedelta(days=30)


def _stored(row: ScreeningRight) -> StoredRight:
    return StoredRight(
        screening_id=row.screening_id,
        right_id=row.right_id,
        kind=row.kind,
        label=row.label,
        monthly_amount=row.monthly_amount,
        uncertain=row.uncertain,
        why=row.why,
        next_step=row.next_step,
        status=RightStatus(row.status),
    )


def record(
    uow: UnitOfWork, clock: Clock, resident_id: int, profile: Profile, result: ScreeningResult, *, complex_case: bool
) -> int:
    """Store one completed screening and its rights (status to_claim: the resident was told what to do)."""
    screening_id = add(uow, clock, resident_id, profile, result, complex_case=complex_case)
    uow.commit()
    return screening_id


def add(
    uow: UnitOfWork, clock: Clock, resident_id: int, profile: Profile, result: ScreeningResult, *, complex_case: bool
) -> int:
    """`record` without the commit: a use case writing more in the same transaction commits."""
    now = clock.now()
    resident = uow.session.get(Resident, resident_id)
    if resident is None:
        raise LookupError("no such resident")
    screening = Screening(
        resident_id=resident_id,
        created_at=now,
        territory_id=resident.territory_id,
        quartier_id=resident.quartier_id,
        answers=profile.model_dump(mode="json", exclude_none=True),
        missing=list(result.missing),
        complex_case=complex_case,
    )
    # statistics: a right found again soon after a previous screening is not a new detection
    recent = set(
        uow.session.exec(
            select(ScreeningRight.right_id).where(
                ScreeningRight.resident_id == resident_id,
                col(ScreeningRight.detected_at) >= now - REPEAT_WINDOW,
                ScreeningRight.status != RightStatus.already_received,
            )
        ).all()
    )
    uow.session.add(screening)
    uow.session.flush()
    assert screening.id is not None  # noqa: S101 - narrows the type, not a check
    for right in result.rights:
        uow.session.add(
            ScreeningRight(
                screening_id=screening.id,
                resident_id=resident_id,
                right_id=right.id[:64],
                kind=right.kind,
                label=right.label[:120],
                monthly_amount=right.monthly_amount,
                uncertain=right.uncertain,
                why=right.why[:600],
                next_step=right.next_step[:600],
                status=RightStatus.to_claim,
                status_at=now,
                detected_at=now,
            )
        )
    for already in profile.receives:
        uow.session.add(
            ScreeningRight(
                screening_id=screening.id,
                resident_id=resident_id,
                right_id=already,
                kind="national",
                label=already,
                status=RightStatus.already_received,
                status_at=now,
                detected_at=now,
            )
        )
    uow.session.add(
        Event(
            at=now,
            kind="screening_completed",
            resident_id=resident_id,
            territory_id=resident.territory_id,
            quartier_id=resident.quartier_id,
            data={
                "rights": [r.id for r in result.rights],
                # what statistics count, even after an erasure (outreach/stats.py): the rights found, their
                # amounts, and whether the resident's screenings of the last REPEAT_WINDOW found it already
                "detected": [
                    {
                        "id": r.id[:64],
                        "label": r.label[:120],
                        "monthly_amount": r.monthly_amount,
                        "repeat": r.id[:64] in recent,
                    }
                    for r in result.rights
                ],
                "complex": complex_case,
            },
        )
    )
    uow.session.flush()
    assert screening.id is not None  # noqa: S101 - narrows the type, not a check
    return screening.id


def latest(uow: UnitOfWork, resident_id: int) -> tuple[int, list[StoredRight]] | None:
    """The resident's current screening (the latest) and its rights, in the order they were shown."""
    screening = uow.session.exec(
        select(Screening).where(Screening.resident_id == resident_id).order_by(col(Screening.id).desc())
    ).first()
    if screening is None or screening.id is None:
        return None
    rows = uow.session.exec(
        select(ScreeningRight).where(ScreeningRight.screening_id == screening.id).order_by(col(ScreeningRight.id))
    ).all()
    return screening.id, [_stored(row) for row in rows]


def right_of(uow: UnitOfWork, resident_id: int, screening_id: int, right_id: str) -> StoredRight | None:
    row = uow.session.exec(
        select(ScreeningRight).where(
            ScreeningRight.resident_id == resident_id,
            ScreeningRight.screening_id == screening_id,
            ScreeningRight.right_id == right_id,
        )
    ).first()
    return _stored(row) if row else None


def set_status(
    uow: UnitOfWork, clock: Clock, resident_id: int, right_id: str, status: RightStatus
) -> StoredRight | None:
    """Move a right of the resident's latest screening to `status` if that move makes sense."""
    current = latest(uow, resident_id)
    if current is None:
        return None
    row = uow.session.exec(
        select(ScreeningRight).where(ScreeningRight.screening_id == current[0], ScreeningRight.right_id == right_id)
    ).first()
    if row is None:
        return None
    before = RightStatus(row.status)
    if status != before and status not in TRANSITIONS[before]:
        return _stored(row)
    if status != before:
        now = clock.now()
        claim = status in CLAIMED and not _claimed_before(uow, resident_id, right_id, row.detected_at)
        row.status, row.status_at = status, now
        uow.session.add(row)
        resident = uow.session.get(Resident, resident_id)
        uow.session.add(
            Event(
                at=now,
                kind="right_status",
                resident_id=resident_id,
                territory_id=resident.territory_id if resident else None,
                quartier_id=resident.quartier_id if resident else None,
                data={
                    "right": right_id,
                    "status": str(status),
                    "from": str(before),
                    "label": row.label,
                    "screening_id": row.screening_id,
                    "detected_at": row.detected_at.isoformat(),
                    "days_since_detection": round((now - row.detected_at).total_seconds() / 86400, 3),
                    # the first time this detection reaches asked (or opened without asked): the claim
                    "claim": claim,
                },
            )
        )
        uow.commit()
    return _stored(row)


CLAIMED = {RightStatus.asked, RightStatus.opened}


def _claimed_before(uow: UnitOfWork, resident_id: int, right_id: str, detected_at: dt.datetime) -> bool:
    """Whether this detection of the right already reached asked or opened (a claim counts once)."""
    statuses = uow.session.exec(
        select(Event.data).where(
            Event.resident_id == resident_id, Event.kind == "right_status", col(Event.at) >= detected_at
        )
    ).all()
    return any(d.get("right") == right_id and d.get("status") in CLAIMED for d in statuses)


def export(uow: UnitOfWork, resident_id: int) -> list[dict[str, Any]]:
    """Every screening of the resident, for the data export (right of access)."""
    screenings = uow.session.exec(
        select(Screening).where(Screening.resident_id == resident_id).order_by(col(Screening.id))
    ).all()
    out = []
    for screening in screenings:
        rows = uow.session.exec(select(ScreeningRight).where(ScreeningRight.screening_id == screening.id)).all()
        out.append(
            {
                "fait_le": screening.created_at.isoformat(),
                "reponses": screening.answers,
                "droits": [
                    {"droit": r.label, "montant_mensuel_estime": r.monthly_amount, "statut": str(r.status)}
                    for r in rows
                ],
            }
        )
    return out


def booking_topic(uow: UnitOfWork, resident_id: int) -> str | None:
    """The topic of an appointment asked for after a screening with rights still to claim: "droits"."""
    found = latest(uow, resident_id)
    if found and any(r.status in (RightStatus.to_claim, RightStatus.failed) for r in found[1]):
        return "droits"
    return None
