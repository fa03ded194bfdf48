"""What a campaign did: the count of its deliveries by outcome (the progress bar, `campaign status`),
the buttons residents pressed, and the residents who did a screening, booked or opted out within 7 days
after their message."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from db.engine import UnitOfWork
from db.models import (
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    DeliveryStatus,
    Event,
    OutboxMessage,
    OutboxStatus,
    Resident,
)
from outreach.campaigns.sending import CANCELLED_REASON, PAUSED_REASON, get, row_status
from outreach.campaigns.spec import BUTTONS
from outreach.clock import Clock

OUTCOMES = ("pending", "queued", "sent", "blocked", "failed", "dropped", "capped", "excluded", "cancelled")
RESULTS_WINDOW = dt.timedelta(days=7)  # screenings, bookings, opt-outs counted this long after a message

_T = OutboxMessage.__table__  # type: ignore[attr-defined]
_D = CampaignDelivery.__table__  # type: ignore[attr-defined]


def _outcome(delivery: str, status: str | None, error: str | None) -> str:
    """Where one delivery stands: its own status, then its outbox row's."""
    if delivery != DeliveryStatus.queued.value:
        return delivery
    if status in (OutboxStatus.pending.value, OutboxStatus.sending.value):
        return "queued"
    if status in (OutboxStatus.sent.value, OutboxStatus.failed.value):
        return status
    if status == OutboxStatus.dropped.value:
        error = error or ""
        if error.startswith("blocked"):
            return "blocked"
        if error == CANCELLED_REASON:
            return "cancelled"
        if error == PAUSED_REASON:
            return "pending"  # it goes back to pending when the campaign resumes
    return "dropped"  # dropped by a guard (opted out meanwhile, expired…), or the row is gone


def progress(session: Session, campaign_id: int) -> dict[str, Any]:
    """{"status", "total", "done", "percent", and a count per outcome (OUTCOMES)}."""
    campaign = get(session, campaign_id)
    reason = _T.c.last_error
    rows = session.execute(
        select(_D.c.status, _T.c.status, reason, func.count())
        .select_from(_D.outerjoin(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(_D.c.campaign_id == campaign_id)
        .group_by(_D.c.status, _T.c.status, reason)
    ).all()
    counts: Counter[str] = Counter({name: 0 for name in OUTCOMES})
    for delivery, status, error, count in rows:
        counts[_outcome(delivery, status, error)] += count
    total = sum(counts.values())
    done = total - counts["pending"] - counts["queued"]
    percent = 100 if campaign.status == CampaignStatus.done else (done * 100 // total if total else 0)
    return {"status": str(campaign.status), "total": total, "done": done, "percent": percent, **counts}


def results(session: Session, campaign_id: int, now: dt.datetime) -> dict[str, Any]:
    """What the campaign did: sent, blocked, failed, button clicks, and the residents who did a screening,
    booked an appointment or opted out within 7 days after their message."""
    get(session, campaign_id)
    counts = progress(session, campaign_id)
    delivered = session.execute(
        select(_D.c.resident_id, _T.c.sent_at)
        .select_from(_D.join(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(_D.c.campaign_id == campaign_id, row_status() == OutboxStatus.sent.value, _T.c.sent_at.is_not(None))
    ).all()
    sent_at = {resident_id: moment for resident_id, moment in delivered}
    clicks: Counter[str] = Counter({key: 0 for key in BUTTONS})
    stopped: set[int] = set()
    for resident_id, button in session.execute(
        select(_D.c.resident_id, _D.c.clicked_button).where(
            _D.c.campaign_id == campaign_id, _D.c.clicked_at.is_not(None)
        )
    ).all():
        if button in clicks:
            clicks[button] += 1
        if button == "stop":
            stopped.add(resident_id)
    followed = {kind: _within(session, kind, sent_at, now) for kind in (
        "screening_completed", "appointment_booked", "resident_opted_out"
    )}
    return {
        "sent": counts["sent"],
        "blocked": counts["blocked"],
        "failed": counts["failed"],
        "clicks": {**clicks, "total": sum(clicks.values())},
        "screenings_7d": len(followed["screening_completed"]),
        "bookings_7d": len(followed["appointment_booked"]),
        "opt_outs": len(stopped | followed["resident_opted_out"]),
    }


def _within(session: Session, kind: str, sent_at: dict[int, dt.datetime], now: dt.datetime) -> set[int]:
    """Residents with an event of `kind` in the 7 days after their message was sent."""
    if not sent_at:
        return set()
    first, last = min(sent_at.values()), max(sent_at.values()) + RESULTS_WINDOW
    found: set[int] = set()
    events = session.execute(
        select(Event.resident_id, Event.at).where(
            col(Event.kind) == kind, col(Event.at) >= first, col(Event.at) < min(last, now + dt.timedelta(seconds=1))
        )
    ).all()
    for resident_id, at in events:
        moment = sent_at.get(resident_id) if resident_id is not None else None
        if moment is not None and moment <= at < moment + RESULTS_WINDOW:
            found.add(resident_id)
    return found


def _was_sent(session: Session, delivery: CampaignDelivery) -> bool:
    """The campaign message of this delivery reached Telegram (a forged button cannot click an unsent one)."""
    if delivery.status != DeliveryStatus.queued or delivery.outbox_key is None:
        return False
    sent = session.execute(
        select(col(OutboxMessage.status)).where(col(OutboxMessage.idempotency_key) == delivery.outbox_key)
    ).scalar()
    return sent == OutboxStatus.sent


def record_click(uow: UnitOfWork, clock: Clock, *, delivery_id: int, button: str, resident_id: int) -> bool:
    """A resident pressed a button of their campaign message: the first press is kept on the delivery,
    every press is an Event `campaign_click`. False (nothing recorded) when the delivery is not theirs,
    or the button is not one of that campaign's."""
    session = uow.session
    delivery = session.get(CampaignDelivery, delivery_id)
    if delivery is None or delivery.resident_id != resident_id or not _was_sent(session, delivery):
        return False
    campaign = session.get(Campaign, delivery.campaign_id)
    if campaign is None or button not in campaign.buttons:
        return False
    now = clock.now()
    first = session.execute(
        update(_D)
        .where(_D.c.id == delivery_id, _D.c.clicked_at.is_(None))
        .values(clicked_at=now, clicked_button=button)
    ).rowcount
    resident = session.get(Resident, resident_id)
    session.add(
        Event(
            at=now,
            kind="campaign_click",
            resident_id=resident_id,
            territory_id=campaign.territory_id,
            quartier_id=resident.quartier_id if resident else None,
            data={"campaign": campaign.id, "button": button, "first": bool(first)},
        )
    )
    uow.commit()
    return True
