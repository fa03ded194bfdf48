"""What a case sends to people other than the one who acted, through the outbox's priority lane (one way
out; the caller commits, then wakes the dispatcher): the messages relayed between a resident and their
adulte-relais, the notices of a claim, a transfer or an end, the edits of the other relays' cards, the
satisfaction question.

Relayed text longer than one Telegram message is split, never lost (each part keyed, in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.engine import UnitOfWork
from db.models import HandoffOutcome, HandoffStatus
from outreach import i18n, outbox, texts
from outreach.clock import Clock
from outreach.replies import Button, split_text
from outreach.services import handoffs, residents, staff
from outreach.services.handoffs import CaseView
from outreach.services.staff import StaffView

RELAY_KIND = "handoff_relay"
NOTICE_KIND = "handoff_notice"
EDIT_KIND = "handoff_card_edit"
CAPTION_MAX = 1024
OUTCOME_VERB = {False: "out", True: "outcome"}


def _enqueue(
    uow: UnitOfWork,
    clock: Clock,
    key: str,
    chat_id: int,
    payload: dict[str, Any],
    *,
    kind: str = NOTICE_KIND,
    staff_id: int | None = None,
    resident_id: int | None = None,
) -> None:
    outbox.enqueue(
        uow,
        key=key,
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        due_at=clock.now(),
        staff_id=staff_id,
        resident_id=resident_id,
        priority=True,
    )


MEDIA_KINDS = ("photo", "document", "voice", "audio")


def _media_payload(kind: str, file_id: str | None, caption: str) -> dict[str, Any] | None:
    if kind in MEDIA_KINDS and file_id:
        return {kind: {"file_id": file_id}, "text": caption[:CAPTION_MAX]}
    return None


def _relay(
    uow: UnitOfWork,
    clock: Clock,
    key: str,
    chat_id: int,
    *,
    kind: str,
    text: str,
    file_id: str | None,
    caption: str,
    staff_id: int | None = None,
    resident_id: int | None = None,
) -> int:
    """One relayed message: a photo or a document with its caption, or text split in parts; returns the parts."""
    media = _media_payload(kind, file_id, caption)
    if media is not None:
        _enqueue(uow, clock, f"{key}:0", chat_id, media, kind=RELAY_KIND, staff_id=staff_id, resident_id=resident_id)
        return 1
    parts = split_text(text) or ["…"]
    for index, part in enumerate(parts):
        _enqueue(
            uow,
            clock,
            f"{key}:{index}",
            chat_id,
            {"text": part, "join": True},  # a burst to one chat may leave as one message
            kind=RELAY_KIND,
            staff_id=staff_id,
            resident_id=resident_id,
        )
    return len(parts)


@dataclass(frozen=True)
class Relayed:
    """One message to relay: its kind ("text", "photo", "document"), text or caption, Telegram file id,
    and a key unique to it in the sender's chat (its message id: a redelivered update is not sent twice)."""

    kind: str
    text: str | None
    file_id: str | None
    key: str


def to_staff(uow: UnitOfWork, clock: Clock, case: CaseView, member: StaffView, message: Relayed) -> bool:
    """A resident's message to their adulte-relais; False when the relay has no Telegram chat."""
    if member.chat_id is None:
        return False
    kind, text, file_id = message.kind, message.text, message.file_id
    legende = f" : {text}" if text else ""
    template = {
        "photo": texts.RESIDENT_SENT_PHOTO,
        "voice": texts.RESIDENT_SENT_VOICE,
        "audio": texts.RESIDENT_SENT_VOICE,
    }.get(kind, texts.RESIDENT_SENT_DOCUMENT)
    _relay(
        uow,
        clock,
        f"relay:r:{case.id}:{message.key}",
        member.chat_id,
        kind=kind,
        text=texts.RESIDENT_SAYS.format(prenom=case.first_name, texte=text or ""),
        file_id=file_id,
        caption=template.format(prenom=case.first_name, legende=legende),
        staff_id=member.id,
    )
    return True


def to_resident(uow: UnitOfWork, clock: Clock, case: CaseView, member: StaffView, message: Relayed) -> None:
    """An adulte-relais's message to the resident of the case, signed with their first name."""
    kind, text, file_id = message.kind, message.text, message.file_id
    with i18n.speaking(case.resident_language):  # the staff member's turn: the resident's language
        signed = texts.HANDOFF_FROM_STAFF.format(prenom=member.first_name, texte=text) if text else member.first_name
    _relay(
        uow,
        clock,
        f"relay:s:{case.id}:{message.key}",
        case.resident_chat_id,
        kind=kind,
        text=signed,
        file_id=file_id,
        caption=signed,
        resident_id=case.resident_id,
    )


def edit_cards(uow: UnitOfWork, clock: Clock, case_id: int, text: str, *, except_staff: int | None = None) -> int:
    """The case's cards in the other relays' chats say what happened ("Pris par …", "plus en attente")."""
    edited = 0
    for card in handoffs.cards_of(uow, case_id):
        if card.staff_id == except_staff:
            continue
        _enqueue(
            uow,
            clock,
            f"card-edit:{case_id}:{card.staff_id}:{card.message_id}:{int(clock.now().timestamp())}",
            card.chat_id,
            {"edit": {"message_id": card.message_id}, "text": text},
            kind=EDIT_KIND,
            staff_id=card.staff_id,
        )
        edited += 1
    return edited


def take(uow: UnitOfWork, clock: Clock, case_id: int, member: StaffView) -> handoffs.ClaimResult:
    """A relay pressed "Je prends": one winner; the winner's claim and its notices in one transaction."""
    result = handoffs.claim(uow, clock, case_id, member, commit=False)
    if result.won and result.case is not None:
        claimed(uow, clock, result.case, member)
        uow.commit()
    return result


def claimed(uow: UnitOfWork, clock: Clock, case: CaseView, member: StaffView) -> int:
    """A relay took the case: the other cards say so, the resident is told who answers, and what the
    resident sent while waiting reaches the relay, in order. Returns how many waiting messages."""
    edit_cards(uow, clock, case.id, texts.CARD_TAKEN_BY.format(prenom=member.first_name), except_staff=member.id)
    with i18n.speaking(case.resident_language):  # the staff member's turn: the resident's language
        told = texts.HANDOFF_CLAIMED.format(prenom=member.first_name)
    _enqueue(uow, clock, f"claimed:{case.id}", case.resident_chat_id, {"text": told}, resident_id=case.resident_id)
    waiting = handoffs.take_queued(uow, case.id)
    for item in waiting:
        to_staff(uow, clock, case, member, Relayed(item.kind, item.text, item.file_id, f"q{item.id}"))
    return len(waiting)


def ask_satisfaction(uow: UnitOfWork, clock: Clock, case: CaseView, text: str) -> None:
    """The end of a case: one question to the resident, 1 to 5 stars (buttons behind server-side tokens)."""
    buttons = tuple(Button("⭐" * n, f"!sat:{case.id}:{n}") for n in range(1, 6))
    tokens = residents.add_buttons(uow, clock, case.resident_id, buttons)
    rows = [[b.title, f"b:{t}"] for b, t in zip(buttons, tokens, strict=True)]
    _enqueue(
        uow,
        clock,
        f"satisfaction:{case.id}",
        case.resident_chat_id,
        {"text": text, "buttons": rows},
        resident_id=case.resident_id,
    )


def closed_by_staff(
    uow: UnitOfWork, clock: Clock, case_id: int, member: StaffView, outcome: HandoffOutcome
) -> CaseView | None:
    """The relay closed the case with an outcome; the resident is asked for a rating (one transaction).
    None when the case was already closed."""
    case = handoffs.close(uow, clock, case_id, by="staff", staff=member, outcome=outcome, commit=False)
    if case is None:
        return None
    with i18n.speaking(case.resident_language):  # the staff member's turn: the resident's language
        question = texts.HANDOFF_CLOSED.format(prenom=member.first_name)
    ask_satisfaction(uow, clock, case, question)
    uow.commit()
    return case


def outcome_buttons(case_id: int, *, after: bool = False) -> list[list[str]]:
    verb = OUTCOME_VERB[after]
    return [[label, f"s:{verb}:{case_id}:{outcome.value}"] for outcome, label in handoffs.OUTCOME_LABELS.items()]


def ended_by_resident(uow: UnitOfWork, clock: Clock, case: CaseView) -> str:
    """The resident wrote "fin": close the case; returns what the resident is told. A waiting case's cards
    say it is gone; a claimed case's relay is asked for the outcome and the resident for a rating."""
    was_waiting = case.status == HandoffStatus.waiting
    closed = handoffs.close(uow, clock, case.id, by="resident", commit=False)
    if closed is None:
        return ""
    if was_waiting:
        edit_cards(uow, clock, case.id, texts.CARD_GONE)
        return texts.HANDOFF_CANCELLED_WAITING
    with i18n.speaking(case.resident_language):
        question = texts.HANDOFF_ENDED_BY_RESIDENT
    ask_satisfaction(uow, clock, case, question)
    member = staff.get(uow, case.staff_id) if case.staff_id else None
    if member is not None and member.chat_id is not None:
        _enqueue(
            uow,
            clock,
            f"ended:{case.id}:{member.id}",
            member.chat_id,
            {
                "text": texts.CASE_ENDED_BY_RESIDENT.format(prenom=case.first_name),
                "buttons": outcome_buttons(case.id, after=True),
            },
            staff_id=member.id,
        )
    return ""


def transfer(
    uow: UnitOfWork, clock: Clock, case_id: int, member: StaffView, colleague_id: int
) -> tuple[CaseView, StaffView]:
    """The relay hands the case to a colleague, who is told, and so is the resident (one transaction);
    handoffs.Forbidden when that colleague cannot take it."""
    case = handoffs.transfer(uow, clock, case_id, member, colleague_id, commit=False)
    colleague = staff.get(uow, colleague_id)
    if colleague is None:
        raise handoffs.Forbidden("no such colleague")
    transferred(uow, clock, case, member, colleague)
    uow.commit()
    return case, colleague


def transferred(uow: UnitOfWork, clock: Clock, case: CaseView, member: StaffView, colleague: StaffView) -> None:
    """The colleague gets the case, the resident is told who continues."""
    if colleague.chat_id is not None:
        _enqueue(
            uow,
            clock,
            f"transfer:{case.id}:{colleague.id}:{int(clock.now().timestamp())}",
            colleague.chat_id,
            {"text": texts.CASE_RECEIVED.format(collegue=member.first_name, prenom=case.first_name)},
            staff_id=colleague.id,
        )
    with i18n.speaking(case.resident_language):  # the staff member's turn: the resident's language
        told = texts.HANDOFF_TRANSFERRED.format(prenom=colleague.first_name)
    _enqueue(
        uow,
        clock,
        f"transfer:{case.id}:resident:{int(clock.now().timestamp())}",
        case.resident_chat_id,
        {"text": told},
        resident_id=case.resident_id,
    )
