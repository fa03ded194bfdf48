"""Use cases of a resident's request for a person, channel-neutral: open the case, send its card to the
available adultes-relais of the resident's territory and tell the coordinator when nobody is (through
the outbox, priority lane), and tell the resident plainly when someone will answer. Rasa's actions
(talk_to_human, the second misunderstanding, a complex screening) and the Telegram channel ("Parler à
quelqu'un", campaign buttons) call the same functions.

Channel buttons: "!terr:<case id>:<dijon|troyes|autre>" (where the resident lives, when unknown).
Staff buttons on the card: "s:take:<case id>", "s:later:<case id>" (bot/staff.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db.engine import UnitOfWork
from outreach import i18n, office_hours, outbox, texts
from outreach.clock import Clock
from outreach.i18n import N_, _
from outreach.replies import Button, Reply
from outreach.services import handoffs, staff
from outreach.services.handoffs import CaseView

CARD_KIND = "handoff_card"  # after it is sent, the card's message id is recorded (card_sent)
STAFF_ALERT_KIND = "staff_alert"
Exchanges = list[tuple[str, str]]
TERRITORIES = (  # the resident's buttons (translated where shown)
    (N_("Dijon métropole"), "dijon"),
    (N_("Troyes Champagne Métropole"), "troyes"),
    (N_("Ailleurs"), "autre"),
)


@dataclass(frozen=True)
class Opened:
    replies: list[Reply]
    paused: bool  # a person takes over: the dialogue engine must stay out until the case ends


def minutes(seconds: float) -> str:
    """How long a case has waited, as staff read it on a card (French)."""
    whole = int(seconds // 60)
    if whole < 1:
        return i18n.staff("moins d'1 min")
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60:02d}"


def quartier_words(case: CaseView) -> str:
    return f" ({case.quartier})" if case.quartier else ""


def card_text(case: CaseView, exchanges: Exchanges, rights: list[str], waited: float, interpreter: bool = False) -> str:
    """The case card the adultes-relais read (French), with the resident's language when it is not French."""
    droits = (i18n.staff("\nDroits repérés :\n") + "\n".join(rights)) if rights else ""
    lines = [f"{'👤' if who == 'habitant' else '🤖'} {text[:200]}" for who, text in exchanges]
    echanges = (i18n.staff("\nDerniers échanges :\n") + "\n".join(lines)) if lines else ""
    if case.language:
        droits = (
            i18n.staff("\n🌍 Langue : {langue}{besoin}").format(
                langue=i18n.name_fr(case.language), besoin=i18n.staff(" — interprète nécessaire") if interpreter else ""
            )
            + droits
        )
    text = texts.CARD.format(
        prenom=case.first_name,
        quartier=quartier_words(case),
        raison=case.reason,
        attente=minutes(waited),
        droits=droits,
        echanges=echanges,
    )
    return text[:4000]


def open_case(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    source: str,
    exchanges: Exchanges,
    language: str | None = None,
) -> Opened:
    """Hand the resident to a person: the case, the cards, a plain word on when someone answers (one commit).
    `language`: the one the resident writes in, when the bot does not speak it ("es")."""
    case, created = handoffs.start_case(uow, clock, resident_id, source=source, language=language)
    if not created:
        return Opened([Reply(texts.HANDOFF_ALREADY)], paused=False)
    if case.territory_id is None:
        uow.commit()
        buttons = tuple(Button(_(title), f"!terr:{case.id}:{key}") for title, key in TERRITORIES)
        return Opened([Reply(texts.WHICH_TERRITORY, buttons=buttons)], paused=False)
    return Opened(_announce(uow, clock, tz=tz, case=case, source=source, exchanges=exchanges), paused=True)


def territory_chosen(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    case_id: int,
    territory_id: str,
    exchanges: Exchanges,
) -> Opened:
    """The resident said where they live: route the case there, or close it when it is elsewhere."""
    if territory_id not in ("dijon", "troyes"):
        handoffs.close(uow, clock, case_id, by="resident")
        return Opened([Reply(texts.OUTSIDE_TERRITORY)], paused=False)
    case = handoffs.route_case(uow, case_id, resident_id, territory_id)
    if case is None:
        return Opened([Reply(texts.BUTTON_EXPIRED)], paused=False)
    return Opened(_announce(uow, clock, tz=tz, case=case, source=case.source, exchanges=exchanges), paused=True)


def _announce(
    uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, case: CaseView, source: str, exchanges: Exchanges
) -> list[Reply]:
    queued = send_cards(uow, clock, case, exchanges)
    if queued == 0:
        alert_coordinators(uow, clock, case, texts.NOBODY_AVAILABLE)
    uow.commit()
    nobody_speaks = case.language is not None and not speaking(staff.relays_of(uow, case.territory_id), case)
    later = handoffs.answer_time(uow, clock, case, tz=tz, cards_sent=queued)
    if later is None:
        text = {"fallback": texts.HANDOFF_FALLBACK, "screening": texts.HANDOFF_SCREENING}.get(
            source, texts.HANDOFF_OPENED
        )
    else:
        text = texts.HANDOFF_OPENED_CLOSED_HOURS.format(quand=office_hours.say_when(later, clock.now(), tz))
    if nobody_speaks and case.language:  # honest: French, simply, with a translation tool or an interpreter
        language = i18n.LANGUAGES.get(case.language)
        return [
            Reply(text),
            Reply(texts.HANDOFF_NO_SPEAKER.format(langue=language.name if language else case.language)),
        ]
    return [Reply(text)]


def speaking(relays: list[staff.StaffView], case: CaseView) -> list[staff.StaffView]:
    """Those of `relays` who speak the language of the case (none for a case in French)."""
    return [r for r in relays if case.language and case.language in r.languages]


def send_cards(uow: UnitOfWork, clock: Clock, case: CaseView, exchanges: Exchanges, *, resend: bool = False) -> int:
    """The case card to the available adultes-relais of the case's territory, through the outbox's priority
    lane (the caller commits); returns how many cards were queued."""
    now = clock.now()
    rights = handoffs.context_lines(uow, case)
    waited = (now - case.created_at).total_seconds()
    relays = staff.relays_of(uow, case.territory_id)
    speakers = [r for r in speaking(relays, case) if r.chat_id is not None]
    # a case in another language goes first to those who speak it; the re-sent card (nobody took it) to everyone
    if speakers and not resend:
        relays = speakers
    interpreter = case.language is not None and not speakers
    text = (texts.RESEND_PREFIX if resend else "") + card_text(case, exchanges, rights, waited, interpreter)
    buttons = [[texts.CARD_TAKE, f"s:take:{case.id}"], [texts.CARD_LATER, f"s:later:{case.id}"]]
    queued = 0
    for relay in relays:
        if relay.chat_id is None:
            continue
        outbox.enqueue(
            uow,
            key=f"card:{case.id}:{relay.id}:{int(now.timestamp())}",
            chat_id=relay.chat_id,
            kind=CARD_KIND,
            payload={"text": text, "buttons": buttons, "case_id": case.id},
            due_at=now,
            staff_id=relay.id,
            priority=True,
        )
        queued += 1
    return queued


def alert_coordinators(uow: UnitOfWork, clock: Clock, case: CaseView, template: str) -> int:
    """A word to the territory's coordinators about a case (through the outbox; the caller commits)."""
    now = clock.now()
    waited = minutes((now - case.created_at).total_seconds())
    text = template.format(prenom=case.first_name, quartier=quartier_words(case), raison=case.reason, attente=waited)
    coordinators = [c for c in staff.coordinators_of(uow, case.territory_id) if c.chat_id is not None]
    for coordinator in coordinators:
        assert coordinator.chat_id is not None  # noqa: S101 - narrows the type, not a check
        outbox.enqueue(
            uow,
            key=f"alert:{case.id}:{coordinator.id}:{int(now.timestamp())}",
            chat_id=coordinator.chat_id,
            kind=STAFF_ALERT_KIND,
            payload={"text": text},
            due_at=now,
            staff_id=coordinator.id,
            priority=True,
        )
    return len(coordinators)


def card_sent(session: Session, row: outbox.OutboxRow, result: outbox.SendResult, now: dt.datetime) -> None:
    """After-sent hook of CARD_KIND rows (in the transaction that records the send): the card's message,
    edited when the case is taken, and the audit row of the relay who received the resident's context."""
    case_id = (row.payload or {}).get("case_id")
    if result.message_id is None or case_id is None or row.staff_id is None:
        return
    handoffs.card_delivered(session, int(case_id), row.staff_id, row.chat_id, result.message_id, now)


def resend(uow: UnitOfWork, clock: Clock, cases: list[CaseView], exchanges: dict[int, Exchanges]) -> int:
    """Cases nobody took in time (handoffs.due_for_resend, in office hours): the card again, and the
    territory's coordinators told (one commit). Returns the number of cases sent again."""
    for case in cases:
        send_cards(uow, clock, case, exchanges.get(case.id, []), resend=True)
        alert_coordinators(uow, clock, case, texts.COORDINATOR_ALERT)
        handoffs.mark_resent(uow, clock, case.id, coordinator_told=True, commit=False)
    uow.commit()
    return len(cases)
