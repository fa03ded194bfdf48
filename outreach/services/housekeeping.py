"""Daily retention work: what the consent message promises is enforced here."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select

from db.engine import UnitOfWork
from db.models import ButtonToken, Resident
from outreach import inbox, rasa_store
from outreach.clock import Clock
from outreach.services import residents

log = logging.getLogger(__name__)

INACTIVE_RETENTION = dt.timedelta(days=730)  # "effacées après 2 ans sans contact"
REFUSAL_RETENTION = dt.timedelta(days=90)
EARLIER_SESSIONS_RETENTION = dt.timedelta(days=30)  # Rasa's copy of a conversation's earlier sessions (docs/privacy.md)


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
    conversations = forget_conversations(new_uow)
    earlier = forget_earlier_sessions(new_uow, now - EARLIER_SESSIONS_RETENTION)
    with new_uow() as uow:
        forgotten_updates = inbox.purge(uow.session.get_bind(), now)  # type: ignore[arg-type]
    log.info(
        "housekeeping: %s spent buttons, %s inactive residents erased, %s conversations and %s events of earlier "
        "sessions deleted from Rasa's store", spent, len(stale), conversations, earlier,
    )
    return {
        "buttons": spent or 0, "residents": len(stale), "conversations": conversations, "updates": forgotten_updates,
        "earlier_session_events": earlier,
    }


def forget_conversations(new_uow: Callable[[], UnitOfWork]) -> int:
    """Rasa's tracker store keeps no conversation of a resident we no longer have (erased today, or an
    erasure that could not reach the store at the time): outreach/rasa_store.py."""
    with new_uow() as uow:
        database_url = uow.session.get_bind().url

    def known() -> set[str]:
        with new_uow() as uow:
            return set(uow.session.exec(select(Resident.public_id)).all())

    try:
        return rasa_store.forget_others(database_url, known)
    except SQLAlchemyError as exc:
        log.warning("housekeeping: Rasa's tracker store unreachable (%s)", type(exc).__name__)
        return 0


def forget_earlier_sessions(new_uow: Callable[[], UnitOfWork], before: dt.datetime) -> int:
    """Rasa's tracker store keeps the latest session of each conversation, and the earlier ones until `before`
    (their events are never read again: outreach/rasa_store.py)."""
    with new_uow() as uow:
        database_url = uow.session.get_bind().url
    try:
        return rasa_store.forget_earlier_sessions(database_url, before)
    except SQLAlchemyError as exc:
        log.warning("housekeeping: Rasa's tracker store unreachable (%s)", type(exc).__name__)
        return 0
