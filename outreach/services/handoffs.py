"""Cases handed to a person: open, claim (one winner), relay bookkeeping, transfer, close, satisfaction,
re-send of cards nobody took. Staff only ever see residents of their territory; every staff access to
a resident's data writes an audit row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from db.engine import UnitOfWork
from db.models import (
    AuditLog,
    Event,
    Handoff,
    HandoffCard,
    HandoffMessage,
    HandoffOutcome,
    HandoffStatus,
    Quartier,
    Resident,
    Staff,
)
from outreach import i18n, office_hours
from outreach.clock import Clock
from outreach.screening import rights
from outreach.services import booking, screenings
from outreach.services.residents import place_events
from outreach.services.staff import StaffView

RESEND_AFTER = dt.timedelta(minutes=15)
MAX_QUEUED = 20  # messages kept for the adulte-relais while a case waits

# What the adultes-relais read on a case (French, staff only).
REASONS = {
    "talk_to_human": i18n.staff("Demande à parler à quelqu'un"),
    "button": i18n.staff("A appuyé sur « Parler à quelqu'un »"),
    "fallback": i18n.staff("Le bot n'a pas compris deux messages de suite"),
    "screening": i18n.staff("Point sur les droits : situation à regarder avec une personne"),
}
OUTCOME_LABELS = {
    HandoffOutcome.oriente: i18n.staff("Orienté vers un service"),
    HandoffOutcome.rendez_vous: i18n.staff("Rendez-vous pris"),
    HandoffOutcome.droit_ouvert: i18n.staff("Droit ouvert"),
    HandoffOutcome.dossier_en_cours: i18n.staff("Dossier en cours"),
    HandoffOutcome.sans_suite: i18n.staff("Sans suite"),
}


class Forbidden(PermissionError):
    """A staff member acting on a case outside their territory or not theirs."""


@dataclass(frozen=True)
class CaseView:
    id: int
    resident_id: int
    resident_public_id: str
    resident_chat_id: int
    first_name: str
    quartier: str | None  # its name, for people to read
    quartier_id: str | None
    territory_id: str | None
    reason: str
    source: str
    status: HandoffStatus
    created_at: dt.datetime
    staff_id: int | None
    staff_first_name: str | None
    resident_language: str | None = None  # what the bot speaks to the resident (None: French)
    language: str | None = None  # the language the resident writes in when not French, supported or not ("es")


def _case(uow: UnitOfWork, handoff: Handoff) -> CaseView:
    resident = uow.session.get(Resident, handoff.resident_id)
    assert resident is not None and handoff.id is not None  # noqa: S101 - narrows the type, not a check
    quartier = uow.session.get(Quartier, handoff.quartier_id) if handoff.quartier_id else None
    staff = uow.session.get(Staff, handoff.staff_id) if handoff.staff_id else None
    return CaseView(
        id=handoff.id,
        resident_id=resident.id or 0,
        resident_public_id=resident.public_id,
        resident_chat_id=resident.chat_id,
        first_name=resident.first_name or i18n.staff("Un habitant"),
        quartier=quartier.name if quartier else None,
        quartier_id=handoff.quartier_id,
        territory_id=handoff.territory_id,
        language=handoff.language,
        reason=handoff.reason,
        source=handoff.source,
        status=HandoffStatus(handoff.status),
        created_at=handoff.created_at,
        staff_id=handoff.staff_id,
        staff_first_name=staff.first_name if staff else None,
        resident_language=resident.language,
    )


def _audit(uow: UnitOfWork, clock: Clock, staff: StaffView, action: str, handoff: Handoff) -> None:
    resident = uow.session.get(Resident, handoff.resident_id)
    uow.session.add(
        AuditLog(
            at=clock.now(),
            actor=f"staff:{staff.id}",
            action=action,
            subject=f"resident:{resident.public_id}" if resident else None,
            detail={"handoff": handoff.id},
        )
    )


def _event(uow: UnitOfWork, clock: Clock, kind: str, handoff: Handoff, **data: object) -> None:
    uow.session.add(
        Event(
            at=clock.now(),
            kind=kind,
            resident_id=handoff.resident_id,
            territory_id=handoff.territory_id,
            quartier_id=handoff.quartier_id,
            data={"handoff": handoff.id, "source": handoff.source, **data},
        )
    )


def _allowed(staff: StaffView, handoff: Handoff) -> bool:
    return staff.territory_id is not None and staff.territory_id == handoff.territory_id


# ---------------------------------------------------------------- resident side


def open_case(uow: UnitOfWork, clock: Clock, resident_id: int, *, source: str) -> tuple[CaseView, bool]:
    """The resident's open case, or a new one (True when created). The resident's territory routes it."""
    case, created = start_case(uow, clock, resident_id, source=source)
    if created:
        uow.commit()
    return case, created


def start_case(
    uow: UnitOfWork, clock: Clock, resident_id: int, *, source: str, language: str | None = None
) -> tuple[CaseView, bool]:
    """`open_case` without the commit (the caller's transaction)."""
    existing = _open_handoff(uow, resident_id)
    if existing is not None:
        return _case(uow, existing), False
    resident = uow.session.get(Resident, resident_id)
    if resident is None:
        raise LookupError("no such resident")
    now = clock.now()
    handoff = Handoff(
        resident_id=resident_id,
        territory_id=resident.territory_id,
        quartier_id=resident.quartier_id,
        source=source if source in REASONS else "talk_to_human",
        reason=REASONS.get(source, REASONS["talk_to_human"]),
        language=_not_french(language or resident.language),
        created_at=now,
        last_activity_at=now,
    )
    uow.session.add(handoff)
    uow.session.flush()
    _event(uow, clock, "handoff_opened", handoff)
    return _case(uow, handoff), True


def _not_french(language: str | None) -> str | None:
    """The language a case keeps: the resident's when it is not French (a relay who speaks it is looked for)."""
    return language[:8] if language and language != "fr" else None


def _open_handoff(uow: UnitOfWork, resident_id: int) -> Handoff | None:
    return uow.session.exec(
        select(Handoff).where(Handoff.resident_id == resident_id, Handoff.status != HandoffStatus.closed)
    ).first()


def open_for_resident(uow: UnitOfWork, resident_id: int) -> CaseView | None:
    # asked for every message of a resident: an indexed look first (a statement built once), the case only if open
    if uow.run(_ANY_OPEN, {"resident_id": resident_id}).first() is None:
        return None
    handoff = _open_handoff(uow, resident_id)
    return _case(uow, handoff) if handoff else None


_HANDOFFS = Handoff.__table__  # type: ignore[attr-defined]
_ANY_OPEN = (
    sa_select(_HANDOFFS.c.id)
    .where(_HANDOFFS.c.resident_id == bindparam("resident_id"), _HANDOFFS.c.status != HandoffStatus.closed.value)
    .limit(1)
)


def set_territory(uow: UnitOfWork, case_id: int, resident_id: int, territory_id: str) -> CaseView | None:
    """The resident said where they live (the case could not be routed without it)."""
    case = route_case(uow, case_id, resident_id, territory_id)
    if case is not None:
        uow.commit()
    return case


def route_case(uow: UnitOfWork, case_id: int, resident_id: int, territory_id: str) -> CaseView | None:
    """`set_territory` without the commit (the caller's transaction)."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or handoff.resident_id != resident_id or handoff.status != HandoffStatus.waiting:
        return None
    resident = uow.session.get(Resident, resident_id)
    handoff.territory_id = territory_id
    if resident is not None and resident.territory_id is None:
        resident.territory_id = territory_id
        uow.session.add(resident)
    uow.session.add(handoff)
    uow.session.flush()
    place_events(uow, resident_id, territory_id, None)  # the consent and the case opening count there too
    return _case(uow, handoff)


def queue_message(
    uow: UnitOfWork, clock: Clock, case_id: int, *, kind: str, text: str | None, file_id: str | None
) -> int:
    """Keep what the resident sends while nobody has taken the case; returns how many are waiting."""
    waiting = uow.session.exec(select(HandoffMessage).where(HandoffMessage.handoff_id == case_id)).all()
    if len(waiting) < MAX_QUEUED:
        uow.session.add(
            HandoffMessage(
                handoff_id=case_id, kind=kind, text=(text or "")[:4096] or None, file_id=file_id, created_at=clock.now()
            )
        )
        uow.commit()
    return len(waiting) + 1


def take_queued(uow: UnitOfWork, case_id: int) -> list[HandoffMessage]:
    """The messages kept while the case waited, oldest first; they are deleted (delivered) when the
    caller commits."""
    rows = list(
        uow.session.exec(
            select(HandoffMessage).where(HandoffMessage.handoff_id == case_id).order_by(col(HandoffMessage.id))
        ).all()
    )
    uow.session.exec(delete(HandoffMessage).where(col(HandoffMessage.handoff_id) == case_id))
    return rows


def set_satisfaction(uow: UnitOfWork, clock: Clock, resident_id: int, case_id: int, score: int) -> bool:
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or handoff.resident_id != resident_id or handoff.status != HandoffStatus.closed:
        return False
    if not 1 <= score <= 5:
        return False
    handoff.satisfaction = score
    uow.session.add(handoff)
    _event(uow, clock, "handoff_satisfaction", handoff, score=score)
    uow.commit()
    return True


# ---------------------------------------------------------------- staff side


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    case: CaseView | None
    taken_by: str | None = None  # first name of whoever has it, when lost


def claim(uow: UnitOfWork, clock: Clock, case_id: int, staff: StaffView, *, commit: bool = True) -> ClaimResult:
    """Exactly one staff member wins: one guarded UPDATE (status waiting → claimed). `commit=False`: the
    winner's transaction stays open for what goes with the claim (the caller commits)."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or not _allowed(staff, handoff):
        raise Forbidden("case outside the staff member's territory")
    now = clock.now()
    won = uow.session.execute(
        update(Handoff)
        .where(col(Handoff.id) == case_id, col(Handoff.status) == HandoffStatus.waiting)
        .values(status=HandoffStatus.claimed, staff_id=staff.id, claimed_at=now, last_activity_at=now)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        uow.rollback()
        uow.session.expire_all()
        handoff = uow.session.get(Handoff, case_id)
        assert handoff is not None  # noqa: S101 - narrows the type, not a check
        case = _case(uow, handoff)
        return ClaimResult(False, case, case.staff_first_name)
    uow.session.expire_all()
    handoff = uow.session.get(Handoff, case_id)
    assert handoff is not None  # noqa: S101 - narrows the type, not a check
    _audit(uow, clock, staff, "handoff_claim", handoff)
    _event(uow, clock, "handoff_claimed", handoff, waited_s=round((now - handoff.created_at).total_seconds()))
    if commit:
        uow.commit()
    return ClaimResult(True, _case(uow, handoff))


def view_case(
    uow: UnitOfWork, clock: Clock, case_id: int, staff: StaffView, *, action: str = "handoff_view", commit: bool = True
) -> CaseView:
    """A case as a staff member may see it (audited); Forbidden outside their territory. `commit=False`:
    the audit row joins the caller's transaction."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or not _allowed(staff, handoff):
        raise Forbidden("case outside the staff member's territory")
    _audit(uow, clock, staff, action, handoff)
    if commit:
        uow.commit()
    return _case(uow, handoff)


def context_lines(uow: UnitOfWork, case: CaseView) -> list[str]:
    """What the card shows about the resident besides the conversation: screening results (the latest)."""
    lines: list[str] = []
    latest = screenings.latest(uow, case.resident_id)
    if latest is not None:
        for right in latest[1][:8]:
            declared = rights.BY_ID.get(right.right_id)
            amount = ""
            if right.monthly_amount and declared is not None and declared.per == "year":
                amount = i18n.staff(f" ~{round(right.monthly_amount * 12)} €/an")
            elif right.monthly_amount:
                amount = i18n.staff(f" ~{round(right.monthly_amount)} €/mois")
            lines.append(f"• {right.label}{amount} ({right.status})")
    return lines


def focus(uow: UnitOfWork, clock: Clock, case_id: int, staff: StaffView) -> CaseView:
    """The staff member's messages now go to this case."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or handoff.staff_id != staff.id or handoff.status != HandoffStatus.claimed:
        raise Forbidden("not one of the staff member's open cases")
    handoff.last_activity_at = clock.now()
    uow.session.add(handoff)
    uow.commit()
    return _case(uow, handoff)


def current_for_staff(uow: UnitOfWork, staff_id: int) -> CaseView | None:
    """The staff member's open case with the latest activity (where their messages go)."""
    handoff = uow.session.exec(
        select(Handoff)
        .where(Handoff.staff_id == staff_id, Handoff.status == HandoffStatus.claimed)
        .order_by(col(Handoff.last_activity_at).desc())
    ).first()
    return _case(uow, handoff) if handoff else None


def touch(uow: UnitOfWork, clock: Clock, case_id: int) -> None:
    handoff = uow.session.get(Handoff, case_id)
    if handoff is not None:
        handoff.last_activity_at = clock.now()
        uow.session.add(handoff)
        uow.commit()


def mine(uow: UnitOfWork, staff_id: int) -> list[CaseView]:
    rows = uow.session.exec(
        select(Handoff)
        .where(Handoff.staff_id == staff_id, Handoff.status == HandoffStatus.claimed)
        .order_by(col(Handoff.claimed_at))
    ).all()
    return [_case(uow, h) for h in rows]


def waiting_in(uow: UnitOfWork, territory_id: str | None) -> list[CaseView]:
    rows = uow.session.exec(
        select(Handoff)
        .where(Handoff.territory_id == territory_id, Handoff.status == HandoffStatus.waiting)
        .order_by(col(Handoff.created_at))
    ).all()
    return [_case(uow, h) for h in rows]


def transfer(
    uow: UnitOfWork, clock: Clock, case_id: int, staff: StaffView, to_staff_id: int, *, commit: bool = True
) -> CaseView:
    """The case goes to a colleague of the same territory; Forbidden otherwise. `commit=False`: in the
    caller's transaction."""
    handoff = uow.session.get(Handoff, case_id)
    target = uow.session.get(Staff, to_staff_id)
    if (
        handoff is None
        or handoff.staff_id != staff.id
        or handoff.status != HandoffStatus.claimed
        or target is None
        or not target.active
        or target.territory_id != handoff.territory_id
        or target.id == staff.id
    ):
        raise Forbidden("cannot transfer this case to that person")
    handoff.staff_id = target.id
    handoff.last_activity_at = clock.now()
    uow.session.add(handoff)
    uow.session.add(
        AuditLog(
            at=clock.now(),
            actor=f"staff:{staff.id}",
            action="handoff_transfer",
            subject=f"staff:{target.id}",
            detail={"handoff": case_id},
        )
    )
    _event(uow, clock, "handoff_transferred", handoff)
    if commit:
        uow.commit()
    return _case(uow, handoff)


def close(
    uow: UnitOfWork,
    clock: Clock,
    case_id: int,
    *,
    by: str,
    staff: StaffView | None = None,
    outcome: HandoffOutcome | None = None,
    commit: bool = True,
) -> CaseView | None:
    """Close a case (by the resident or by its staff member). None if it was already closed.
    `commit=False`: in the caller's transaction."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None:
        return None
    if staff is not None and handoff.staff_id != staff.id:
        raise Forbidden("not this staff member's case")
    if handoff.status == HandoffStatus.closed:
        return None
    now = clock.now()
    handoff.status, handoff.closed_at, handoff.closed_by = HandoffStatus.closed, now, by
    handoff.outcome = outcome
    uow.session.add(handoff)
    uow.session.exec(delete(HandoffMessage).where(col(HandoffMessage.handoff_id) == case_id))
    _event(uow, clock, "handoff_closed", handoff, outcome=str(outcome) if outcome else None, by=by)
    if commit:
        uow.commit()
    return _case(uow, handoff)


def set_outcome(uow: UnitOfWork, clock: Clock, case_id: int, staff: StaffView, outcome: HandoffOutcome) -> bool:
    """The outcome of a case the resident ended (the staff member still says how it went)."""
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None or handoff.staff_id != staff.id or handoff.status != HandoffStatus.closed:
        return False
    handoff.outcome = outcome
    uow.session.add(handoff)
    _event(uow, clock, "handoff_outcome", handoff, outcome=str(outcome))
    uow.commit()
    return True


def add_note(uow: UnitOfWork, clock: Clock, staff: StaffView, note: str) -> bool:
    """A note on the staff member's most recently closed case."""
    handoff = uow.session.exec(
        select(Handoff)
        .where(Handoff.staff_id == staff.id, Handoff.status == HandoffStatus.closed)
        .order_by(col(Handoff.closed_at).desc())
    ).first()
    if handoff is None:
        return False
    handoff.notes = note.strip()[:1000]
    uow.session.add(handoff)
    _audit(uow, clock, staff, "handoff_note", handoff)
    uow.commit()
    return True


# ---------------------------------------------------------------- cards


def card_delivered(
    session: Session, case_id: int, staff_id: int, chat_id: int, message_id: int, now: dt.datetime
) -> None:
    """A case's card reached a relay (the outbox's after-sent hook, in its transaction): its message is
    kept for later edits, and the relay's access to the resident's context is audited."""
    session.add(HandoffCard(handoff_id=case_id, staff_id=staff_id, chat_id=chat_id, message_id=message_id, sent_at=now))
    handoff = session.get(Handoff, case_id)
    resident = session.get(Resident, handoff.resident_id) if handoff is not None else None
    session.add(
        AuditLog(
            at=now,
            actor=f"staff:{staff_id}",
            action="handoff_card",
            subject=f"resident:{resident.public_id}" if resident else None,
            detail={"handoff": case_id},
        )
    )


def cards_of(uow: UnitOfWork, case_id: int) -> list[HandoffCard]:
    return list(uow.session.exec(select(HandoffCard).where(HandoffCard.handoff_id == case_id)).all())


def due_for_resend(uow: UnitOfWork, clock: Clock) -> list[CaseView]:
    """Waiting cases nobody took within RESEND_AFTER, not re-sent yet."""
    rows = uow.session.exec(
        select(Handoff).where(
            Handoff.status == HandoffStatus.waiting,
            col(Handoff.created_at) <= clock.now() - RESEND_AFTER,
            col(Handoff.resent_at).is_(None),
        )
    ).all()
    return [_case(uow, h) for h in rows]


def mark_resent(uow: UnitOfWork, clock: Clock, case_id: int, *, coordinator_told: bool, commit: bool = True) -> None:
    handoff = uow.session.get(Handoff, case_id)
    if handoff is None:
        return
    now = clock.now()
    handoff.resent_at = now
    if coordinator_told:
        handoff.coordinator_told_at = now
    uow.session.add(handoff)
    if commit:
        uow.commit()


# ---------------------------------------------------------------- when someone answers

BUSY_DELAY = dt.timedelta(hours=3)  # office hours, but nobody available: not before this


def answer_time(uow: UnitOfWork, clock: Clock, case: CaseView, *, tz: ZoneInfo, cards_sent: int) -> dt.datetime | None:
    """None when a person answers now (office hours, and the card reached someone); otherwise when a
    person will answer: the next permanence of the resident's own quartier if known, else the next
    office opening (not before BUSY_DELAY when the office is open but nobody was available)."""
    now = clock.now()
    open_now = office_hours.is_open(now, tz)
    if open_now and cards_sent:
        return None
    soonest = now + BUSY_DELAY if open_now else now
    return _next_permanence(uow, clock, case, tz=tz) or office_hours.next_opening(soonest, tz)


def _next_permanence(uow: UnitOfWork, clock: Clock, case: CaseView, *, tz: ZoneInfo) -> dt.datetime | None:
    """When the adulte-relais of the resident's own quartier is next at their permanence, if known."""
    slots = booking.next_free_slots(
        uow,
        clock,
        territory_id=case.territory_id,
        quartier_id=case.quartier_id,
        limit=3,
        notice=dt.timedelta(0),
        tz=tz,
    )
    own = [slot.starts_at for slot in slots if slot.proximity == 0]
    return min(own) if own else None
