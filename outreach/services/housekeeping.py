"""Daily retention work: what the consent message promises is enforced here."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlmodel import col, delete, select

from db.engine import UnitOfWork
from db.models import ButtonToken, Resident
from outreach.clock import Clock
from outreach.services import residents

log = logging.getLogger(__name__)

INACTIVE_RETENTION = dt.timedelta(days=730)  # "effacées après 2 ans sans contact"
REFUSAL_RETENTION = dt.timedelta(days=90)


def run_daily(new_uow: Callable[[], UnitOfWork], clock: Clock) -> dict[str, int]:
    now = clock.now()
    with new_uow() as uow:
        spent = uow.session.exec(
            delete(ButtonToken).where(col(ButtonToken.created_at) < now - residents.BUTTON_LIFETIME)
        ).rowcount
        uow.commit()
    with new_uow() as uow:
        stale = uow.session.exec(
            select(Resident.id).where(
                (col(Resident.last_seen_at) < now - INACTIVE_RETENTION)
                | (col(Resident.consent_at).is_(None) & (col(Resident.created_at) < now - REFUSAL_RETENTION))
            )
        ).all()
    for resident_id in stale:
        with new_uow() as uow:
            residents.erase(uow, clock, resident_id)
    log.info("housekeeping: %s spent buttons, %s inactive residents erased", spent, len(stale))
    return {"buttons": spent or 0, "residents": len(stale)}
