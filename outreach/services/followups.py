"""Follow-ups after a screening, until the rights found are actually claimed.

`schedule_followups` (called by the chat layer right after a screening is stored) puts in the outbox:
- J+3: one nudge to book with an adulte-relais, dropped at send time if the resident booked meanwhile;
- J+7: for each right still to claim, "Avez-vous fait la demande … ?" with four answers
  (déjà → opened, demandé → asked, pas réussi → failed + offer a person, pas encore → to_claim);
- J+30: a last check for each right still to claim.

An answer moves the right's status and cancels the remaining follow-ups of that right. Nothing is sent
to a resident who opted out (residents.opt_out drops the rows, the dispatcher guards again), and an
erasure deletes the rows with the resident. The guard below re-checks everything at send time.

The messages are written when they are enqueued, in the resident's language (`i18n.speaking`), whoever's turn
it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.engine import UnitOfWork
from db.models import Appointment, AppointmentStatus, Event, Resident, RightStatus, Screening, ScreeningRight
from outreach import booking_texts as texts
from outreach import i18n, outbox
from outreach.clock import Clock
from outreach.screening import present
from outreach.screening.rights import RIGHTS
from outreach.services import screenings

NUDGE_AFTER = dt.timedelta(days=3)
QUESTION_AFTER = dt.timedelta(days=7)
LAST_CHECK_AFTER = dt.timedelta(days=30)
KIND_NUDGE = "followup_nudge"
KIND_QUESTION = "followup_question"

ANSWER_STATUS: dict[str, RightStatus] = {
    "deja": RightStatus.opened,
    "demande": RightStatus.asked,
    "echec": RightStatus.failed,
    "pasencore": RightStatus.to_claim,
}


UNCLAIMED = frozenset(right.id for right in RIGHTS if not right.claimed)


@dataclass(frozen=True)
class FollowupAnswer:
    status: RightStatus  # the right's status after the answer
    offer_relay: bool  # "pas réussi": the chat offers an adulte-relais
    text: str  # what to answer the resident
    label: str
    cancelled: int  # follow-ups of that right that will not be sent


@dataclass(frozen=True)
class FollowupCallback:
    answer: str  # deja | demande | echec | pasencore | rdv | stop
    screening_id: int
    right_id: str | None


def parse_callback(data: str) -> FollowupCallback | None:
    """`f:<answer>:<screening_id>[:<right_id>]` → its parts, or None when it is not one of ours."""
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != "f" or not parts[2].isdigit():
        return None
    answer = parts[1]
    if answer in ("rdv", "stop") and len(parts) == 3:
        return FollowupCallback(answer, int(parts[2]), None)
    if answer in ANSWER_STATUS and len(parts) == 4 and parts[3]:
        return FollowupCallback(answer, int(parts[2]), parts[3])
    return None


def _right_key(screening_id: int, row: ScreeningRight) -> str:
    """The right id on a button, or `#<row id>` when the callback_data would pass 64 bytes."""
    longest = f"f:pasencore:{screening_id}:{row.right_id}"
    return row.right_id if len(longest.encode()) <= outbox.MAX_CALLBACK_BYTES else f"#{row.id}"


def _keys(screening_id: int, row_id: int) -> list[str]:
    return [f"fu:{screening_id}:{row_id}:d7", f"fu:{screening_id}:{row_id}:d30"]


def _daytime(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Follow-ups go out in the day: before 10:00 → 10:00, after 19:00 → 10:00 the next day."""
    local = moment.astimezone(tz)
    if local.time() < dt.time(10, 0):
        local = dt.datetime.combine(local.date(), dt.time(10, 0), tz)
    elif local.time() >= dt.time(19, 0):
        local = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(10, 0), tz)
    return local.astimezone(dt.UTC)


def schedule_followups(uow: UnitOfWork, clock: Clock, screening_id: int, *, tz: ZoneInfo) -> int:
    """Enqueue the follow-ups of a stored screening (idempotent); returns how many rows were added."""
    added = add_followups(uow, clock, screening_id, tz=tz)
    uow.commit()
    return added


def add_followups(uow: UnitOfWork, clock: Clock, screening_id: int, *, tz: ZoneInfo) -> int:
    """`schedule_followups` without the commit (the caller's transaction)."""
    session = uow.session
    screening = session.get(Screening, screening_id)
    if screening is None:
        raise LookupError("no such screening")
    resident = session.get(Resident, screening.resident_id)
    if resident is None or resident.opted_out_at is not None or resident.unreachable_at is not None:
        return 0
    now = clock.now()
    rights = [
        row
        for row in session.exec(
            select(ScreeningRight)
            .where(ScreeningRight.screening_id == screening_id, ScreeningRight.status == RightStatus.to_claim)
            .order_by(col(ScreeningRight.id))
        ).all()
        if row.right_id not in UNCLAIMED  # nothing to ask about a right that comes without a claim
    ]
    common = {"chat_id": resident.chat_id, "resident_id": resident.id, "now": now}
    with i18n.speaking(resident.language):
        return _enqueue(uow, screening, rights, common, tz)


def _enqueue(
    uow: UnitOfWork, screening: Screening, rights: Sequence[ScreeningRight], common: dict[str, object], tz: ZoneInfo
) -> int:
    """The follow-up rows of a screening, written in the language of the turn (the resident's)."""
    screening_id = screening.id
    assert screening_id is not None  # noqa: S101 - narrows the type, not a check
    added = 0
    if rights:
        added += outbox.enqueue(
            uow, key=f"fu:{screening_id}:nudge", kind=KIND_NUDGE,
            due_at=_daytime(screening.created_at + NUDGE_AFTER, tz),
            payload={
                "text": texts.followup_nudge(),
                "buttons": texts.followup_nudge_buttons(screening_id),
                "screening_id": screening_id,
            },
            **common,  # type: ignore[arg-type]
        )
    for row in rights:
        assert row.id is not None  # noqa: S101 - narrows the type, not a check
        right_key = _right_key(screening_id, row)
        question, last = _keys(screening_id, row.id)
        label = present.localized(row.label)
        for key, after, text in (
            (question, QUESTION_AFTER, texts.followup_question(right_id=row.right_id, label=label)),
            (last, LAST_CHECK_AFTER, texts.followup_last_check(right_id=row.right_id, label=label)),
        ):
            added += outbox.enqueue(
                uow, key=key, kind=KIND_QUESTION, due_at=_daytime(screening.created_at + after, tz),
                payload={
                    "text": text,
                    "buttons": texts.followup_buttons(screening_id, right_key),
                    "screening_id": screening_id,
                    "right_row_id": row.id,
                },
                **common,  # type: ignore[arg-type]
            )
    return added


def _find_right(session: Session, resident_id: int, screening_id: int, right_id: str) -> ScreeningRight:
    if right_id.startswith("#") and right_id[1:].isdigit():
        row = session.get(ScreeningRight, int(right_id[1:]))
    else:
        row = session.exec(
            select(ScreeningRight).where(
                ScreeningRight.screening_id == screening_id, ScreeningRight.right_id == right_id
            )
        ).first()
    if row is None or row.resident_id != resident_id or row.screening_id != screening_id:
        raise LookupError("no such right for this resident")  # also a forged button
    return row


def answer_followup(
    uow: UnitOfWork, clock: Clock, *, resident_id: int, screening_id: int, right_id: str, answer: str
) -> FollowupAnswer:
    """Record the resident's answer about one right: its status moves, its remaining follow-ups go."""
    if answer not in ANSWER_STATUS:
        raise ValueError(f"answer is one of {', '.join(ANSWER_STATUS)}")
    session = uow.session
    row = _find_right(session, resident_id, screening_id, right_id)
    assert row.id is not None  # noqa: S101 - narrows the type, not a check
    now = clock.now()
    cancelled = outbox.cancel_pending(uow, _keys(screening_id, row.id), reason="answered")
    session.add(
        Event(
            at=now, kind="followup_answered", resident_id=resident_id,
            data={"screening_id": screening_id, "right": row.right_id, "answer": answer},
        )
    )
    label, catalogue_id = row.label, row.right_id
    # set_status moves the right of the current screening (and commits this transaction with it)
    stored = screenings.set_status(uow, clock, resident_id, catalogue_id, ANSWER_STATUS[answer])
    uow.commit()
    status = stored.status if stored is not None else RightStatus(row.status)
    return FollowupAnswer(
        status=status,
        offer_relay=answer == "echec",
        text=texts.followup_thanks(answer),
        label=label,
        cancelled=cancelled,
    )


def stop_followups(uow: UnitOfWork, clock: Clock, *, resident_id: int, screening_id: int) -> int:
    """"Non merci" on the nudge: none of this screening's follow-ups will be sent."""
    session = uow.session
    screening = session.get(Screening, screening_id)
    if screening is None or screening.resident_id != resident_id:
        raise LookupError("no such screening for this resident")
    row_ids = session.exec(select(ScreeningRight.id).where(ScreeningRight.screening_id == screening_id)).all()
    keys = [f"fu:{screening_id}:nudge"] + [key for row_id in row_ids if row_id for key in _keys(screening_id, row_id)]
    count = outbox.cancel_pending(uow, keys, reason="resident said no")
    session.add(Event(at=clock.now(), kind="followups_stopped", resident_id=resident_id,
                      data={"screening_id": screening_id}))
    uow.commit()
    return count


def guard(session: Session, rows: Sequence[outbox.OutboxRow], now: dt.datetime) -> dict[int, str]:
    """At send time: no nudge once the resident booked since the screening; no question about a right
    that is no longer to claim, or while an appointment is coming (the adulte-relais will ask);
    nothing for a screening that a newer one replaced."""
    mine = [r for r in rows if r.kind in (KIND_NUDGE, KIND_QUESTION) and r.payload.get("screening_id")]
    if not mine:
        return {}
    screening_ids = {int(r.payload["screening_id"]) for r in mine}
    resident_ids = {r.resident_id for r in mine if r.resident_id is not None}
    created = dict(
        session.exec(select(Screening.id, Screening.created_at).where(col(Screening.id).in_(screening_ids))).all()
    )
    latest: dict[int, int] = {}
    for resident_id, screening_id in session.exec(
        select(Screening.resident_id, Screening.id).where(col(Screening.resident_id).in_(resident_ids))
    ).all():
        latest[resident_id] = max(latest.get(resident_id, 0), screening_id or 0)
    appointments = session.exec(
        select(Appointment.resident_id, Appointment.created_at, Appointment.status, Appointment.ends_at).where(
            col(Appointment.resident_id).in_(resident_ids), Appointment.status != AppointmentStatus.cancelled
        )
    ).all()
    row_ids = {int(r.payload["right_row_id"]) for r in mine if r.payload.get("right_row_id")}
    statuses = dict(
        session.exec(select(ScreeningRight.id, ScreeningRight.status).where(col(ScreeningRight.id).in_(row_ids))).all()
    ) if row_ids else {}
    reasons: dict[int, str] = {}
    for row in mine:
        screening_id = int(row.payload["screening_id"])
        if row.resident_id is None or screening_id not in created:
            reasons[row.id] = "screening gone"
            continue
        if latest.get(row.resident_id, screening_id) > screening_id:
            reasons[row.id] = "superseded by a newer screening"
            continue
        theirs = [a for a in appointments if a[0] == row.resident_id]
        if row.kind == KIND_NUDGE:
            if any(a[1] >= created[screening_id] for a in theirs):
                reasons[row.id] = "booked"
            continue
        status = statuses.get(int(row.payload.get("right_row_id") or 0))
        if status != RightStatus.to_claim:
            reasons[row.id] = "answered" if status else "right gone"
        elif any(a[2] == AppointmentStatus.booked and a[3] > now for a in theirs):
            reasons[row.id] = "appointment coming"
    return reasons
