"""Residents: consent, buttons, opt-out, export and erasure (RGPD)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import col, delete, or_, select, update

from db.engine import UnitOfWork
from db.models import (
    Appointment,
    AuditLog,
    ButtonToken,
    CampaignDelivery,
    Commune,
    Event,
    Handoff,
    HandoffStatus,
    OutboxMessage,
    OutboxStatus,
    Quartier,
    Resident,
    Screening,
    ScreeningRight,
    Staff,
)
from outreach import i18n, options, rasa_store, texts
from outreach.clock import Clock
from outreach.i18n import N_
from outreach.replies import Button
from outreach.services import screenings

CONSENT_VERSION = texts.CONSENT_VERSION  # the version of the consent text residents accept now
BUTTON_LIFETIME = dt.timedelta(days=7)
# An opt-out within this time after a campaign message is counted as that campaign's (outreach/stats.py).
CAMPAIGN_OPT_OUT_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class ResidentView:
    """What the chat layer needs to know about a resident."""

    id: int
    public_id: str
    first_name: str | None
    consented: bool  # accepted the consent text of now (CONSENT_VERSION)
    refused: bool
    opted_out: bool
    language: str = "fr"  # what the bot speaks to them (outreach/i18n.py)
    language_confirmed: bool = False
    # accepted an older version of the consent text: asked again at their next message, and until they answer
    # the chat counts them as not consented (their data stays, their rights too: /donnees, "d:" buttons)
    consent_outdated: bool = False


def _outdated(resident: Resident) -> bool:
    return resident.consent_at is not None and resident.consent_version != CONSENT_VERSION


def _view(resident: Resident) -> ResidentView:
    assert resident.id is not None
    return ResidentView(
        id=resident.id,
        public_id=resident.public_id,
        first_name=resident.first_name,
        consented=resident.consent_at is not None and not _outdated(resident),
        refused=resident.consent_at is None and resident.consent_refused_at is not None,
        opted_out=resident.opted_out_at is not None,
        language=i18n.supported(resident.language) or i18n.DEFAULT,
        language_confirmed=resident.language_confirmed_at is not None,
        consent_outdated=_outdated(resident),
    )


def _in_case(uow: UnitOfWork, resident_id: int) -> bool:
    found = uow.session.exec(
        select(Handoff.id).where(Handoff.resident_id == resident_id, Handoff.status != HandoffStatus.closed)
    ).first()
    return found is not None


def _get(uow: UnitOfWork, telegram_user_id: int) -> Resident | None:
    return uow.session.exec(select(Resident).where(Resident.telegram_user_id == telegram_user_id)).first()


def find(uow: UnitOfWork, clock: Clock, telegram_user_id: int, *, touch: bool = True) -> ResidentView | None:
    """The resident behind a Telegram account, if known; marks them as seen.

    A resident who accepted an older version of the consent text is not `consented` (the chat asks again), except
    while a case is open: the conversation with the adulte-relais is not cut, they are asked once it is closed."""
    resident = _get(uow, telegram_user_id)
    if resident is None:
        return None
    if touch and resident.consent_at is not None:
        now = clock.now()
        if resident.last_seen_at is None or now - resident.last_seen_at > dt.timedelta(minutes=1):
            resident.last_seen_at = now
            uow.session.add(resident)
            uow.commit()
    view = _view(resident)
    if view.consent_outdated and _in_case(uow, view.id):
        return dataclasses.replace(view, consented=True)
    return view


def ask_consent_again(uow: UnitOfWork, clock: Clock, telegram_user_id: int) -> tuple[bool, str] | None:
    """The consent question is about to be shown: for a resident who accepted an older version of the consent
    text (and has no open case), (whether this version was already shown to them, their language), and this
    version is recorded as shown. None for anyone else: unknown, refused, up to date."""
    resident = _get(uow, telegram_user_id)
    if resident is None or resident.id is None or not _outdated(resident) or _in_case(uow, resident.id):
        return None
    shown = resident.consent_asked_version == CONSENT_VERSION
    if not shown:
        resident.consent_asked_version = CONSENT_VERSION
        uow.session.add(resident)
        uow.commit()
    return shown, i18n.supported(resident.language) or i18n.DEFAULT


def get(uow: UnitOfWork, resident_id: int) -> ResidentView | None:
    resident = uow.session.get(Resident, resident_id)
    return _view(resident) if resident else None


def by_public_id(uow: UnitOfWork, public_id: str) -> ResidentView | None:
    """The resident behind the opaque id the dialogue engine knows (Rasa's sender id)."""
    resident = uow.session.exec(select(Resident).where(Resident.public_id == public_id)).first()
    return _view(resident) if resident else None


def record_consent(
    uow: UnitOfWork,
    clock: Clock,
    *,
    telegram_user_id: int,
    chat_id: int,
    accepted: bool,
    first_name: str | None,
    language: str | None,
) -> ResidentView:
    """Store the answer to the consent question (of version CONSENT_VERSION). A refusal keeps nothing but the
    refusal itself: a resident who had accepted before (an older version, or the same one) withdraws their consent,
    and everything stored about them is erased as by /donnees (`erase`), their refusal kept under a new id."""
    now = clock.now()
    resident = _get(uow, telegram_user_id)
    if resident is not None and not accepted and resident.consent_at is not None:
        _erase(uow, clock, resident, reason="consent_refused")
        uow.session.flush()  # the old row goes before the new one takes its Telegram id
        resident = None
    if resident is None:
        resident = Resident(
            public_id=uuid.uuid4().hex, telegram_user_id=telegram_user_id, chat_id=chat_id, created_at=now
        )
    if accepted:
        first_consent = resident.consent_at is None
        resident.chat_id = chat_id
        resident.first_name = options.plain_text(first_name or "")[:64] or None  # no right-to-left override
        resident.language = i18n.supported(language) or i18n.DEFAULT
        resident.consent_version = CONSENT_VERSION
        resident.consent_asked_version = None
        resident.consent_at = now
        resident.consent_refused_at = None
        resident.last_seen_at = now
        uow.session.add(resident)
        uow.session.flush()
        if first_consent:
            # the place is usually not known yet: set_place fills it in on this event later
            uow.session.add(
                Event(
                    at=now,
                    kind="resident_reached",
                    resident_id=resident.id,
                    territory_id=resident.territory_id,
                    quartier_id=resident.quartier_id,
                )
            )
    else:
        resident.first_name = None
        resident.language = None
        resident.consent_at = None
        resident.consent_version = None
        resident.consent_asked_version = None
        resident.consent_refused_at = now
        uow.session.add(resident)
    uow.commit()
    return _view(resident)


def issue_buttons(uow: UnitOfWork, clock: Clock, resident_id: int, buttons: tuple[Button, ...]) -> list[str]:
    """Store the payloads server-side; return one short opaque token per button (same order)."""
    tokens = add_buttons(uow, clock, resident_id, buttons)
    uow.commit()
    return tokens


def add_buttons(uow: UnitOfWork, clock: Clock, resident_id: int, buttons: tuple[Button, ...]) -> list[str]:
    """`issue_buttons` without the commit (the caller's transaction)."""
    now = clock.now()
    batch = secrets.token_urlsafe(9)
    tokens = []
    for button in buttons:
        token = secrets.token_urlsafe(12)
        uow.session.add(
            ButtonToken(
                token=token,
                resident_id=resident_id,
                batch=batch,
                title=button.title[:64],
                payload=button.payload[:512],
                created_at=now,
            )
        )
        tokens.append(token)
    return tokens


def redeem_button(uow: UnitOfWork, clock: Clock, resident_id: int, token: str) -> Button | None:
    """The button behind a token, once: the other buttons of the same message are spent too.

    Unknown, foreign, already used or expired tokens give None.
    """
    row = uow.session.get(ButtonToken, token[:24])
    if row is None or row.resident_id != resident_id:
        return None
    button = Button(title=row.title, payload=row.payload)
    expired = clock.now() - row.created_at > BUTTON_LIFETIME
    uow.session.exec(delete(ButtonToken).where(col(ButtonToken.batch) == row.batch))
    uow.commit()
    return None if expired else button


KEYBOARD_CHARS = 600  # resident.keyboard's size


def present_buttons(
    uow: UnitOfWork,
    clock: Clock,
    resident_id: int,
    messages: Sequence[tuple[Button, ...]],
    channel: Sequence[Button] = (),
) -> list[list[str]]:
    """A turn's messages are about to show these buttons (one tuple per message, empty for none) and the channel's
    reusable buttons `channel`: one token per button (a message's buttons are spent together, `redeem_button`), and
    they become the resident's keyboard (`keyboard`); one transaction for the whole turn."""
    tokens = [add_buttons(uow, clock, resident_id, buttons) if buttons else [] for buttons in messages]
    _set_keyboard(uow, resident_id, [token for issued in tokens for token in issued], channel)
    uow.commit()
    return tokens


def _set_keyboard(uow: UnitOfWork, resident_id: int, tokens: Sequence[str], channel: Sequence[Button]) -> bool:
    """The bot's latest turn showed the buttons behind `tokens` (in that order) and the channel's reusable buttons
    `channel` (none: no buttons): a typed answer is read against them first (`keyboard`). Without the commit;
    whether the stored keyboard changed."""
    kept, reusable = list(tokens), [[b.title[:64], b.payload[:32]] for b in channel]
    value = json.dumps({"tokens": kept, "channel": reusable}, ensure_ascii=False)
    while len(value) > KEYBOARD_CHARS and kept:  # many messages at once: the latest buttons
        kept = kept[1:]
        value = json.dumps({"tokens": kept, "channel": reusable}, ensure_ascii=False)
    stored = value if kept or reusable else None
    if stored is None:
        return bool(uow.run(_CLEAR_KEYBOARD, {"resident_id": resident_id}).rowcount)
    return bool(uow.run(_SET_KEYBOARD, {"resident_id": resident_id, "keyboard": stored}).rowcount)


# The statements of every turn, built once (uow.run): the resident's keyboard written only when it changes, read
# without loading the resident, its tokens still valid.
_RESIDENTS, _TOKENS = Resident.__table__, ButtonToken.__table__  # type: ignore[attr-defined]
_SET_KEYBOARD = (
    sa_update(_RESIDENTS)
    .where(
        _RESIDENTS.c.id == bindparam("resident_id"),
        or_(_RESIDENTS.c.keyboard.is_(None), _RESIDENTS.c.keyboard != bindparam("keyboard")),
    )
    .values(keyboard=bindparam("keyboard"))
)
_CLEAR_KEYBOARD = (
    sa_update(_RESIDENTS)
    .where(_RESIDENTS.c.id == bindparam("resident_id"), _RESIDENTS.c.keyboard.is_not(None))
    .values(keyboard=None)
)
_KEYBOARD = sa_select(_RESIDENTS.c.keyboard).where(_RESIDENTS.c.id == bindparam("resident_id"))
_SHOWN_TOKENS = sa_select(_TOKENS.c.token, _TOKENS.c.title, _TOKENS.c.payload).where(
    _TOKENS.c.resident_id == bindparam("resident_id"),
    _TOKENS.c.token.in_(bindparam("tokens", expanding=True)),
    _TOKENS.c.created_at > bindparam("since"),
)


def keyboard(uow: UnitOfWork, clock: Clock, resident_id: int) -> list[tuple[str | None, Button]]:
    """The buttons of the bot's latest turn still unspent, as (token, button) in the order shown; the channel's
    reusable buttons have no token. A spent button takes its message's other buttons with it (redeem_button)."""
    stored = uow.run(_KEYBOARD, {"resident_id": resident_id}).scalar()
    if not stored:  # no resident, or no buttons shown
        return []
    try:
        shown = json.loads(stored)
        tokens = [str(t) for t in shown.get("tokens", [])]
        channel = [Button(str(title), str(payload)) for title, payload in shown.get("channel", [])]
    except (ValueError, TypeError, AttributeError):
        return []
    since = clock.now() - BUTTON_LIFETIME
    parameters = {"resident_id": resident_id, "tokens": tokens, "since": since}
    rows = uow.run(_SHOWN_TOKENS, parameters).all() if tokens else []
    rows = sorted(rows, key=lambda row: tokens.index(row.token))
    found: list[tuple[str | None, Button]] = [(row.token, Button(row.title, row.payload)) for row in rows]
    return found + [(None, button) for button in channel]


def typed_choice(
    uow: UnitOfWork, clock: Clock, resident_id: int, text: str, shown: Sequence[tuple[str | None, Button]]
) -> Button | None:
    """The button among `shown` (the latest turn's, from `keyboard`) that a typed answer means ("caf" at "C'est à
    quel sujet ?"), spent as if it had been pressed; None when the text chooses none of them (outreach/options.py)."""
    chosen = options.choose(text, [(button.title, button.payload) for _, button in shown])
    if chosen is None:
        return None
    token, button = shown[chosen]
    intent_payload = button.payload.startswith("/") and not button.payload.startswith("/inform")
    if intent_payload and not options.says_only(text, button.title, button.payload):
        return None  # "je voudrais un rdv demain aprem": the words, with the wish, go to the dialogue engine
    return button if token is None else redeem_button(uow, clock, resident_id, token)


def opt_out(uow: UnitOfWork, clock: Clock, resident_id: int) -> None:
    """No more proactive messages: pending outbox rows are dropped."""
    resident = uow.session.get(Resident, resident_id)
    if resident is None:
        return
    now = clock.now()
    first_time = resident.opted_out_at is None
    resident.opted_out_at = resident.opted_out_at or now
    uow.session.add(resident)
    pending = uow.session.exec(
        select(OutboxMessage).where(
            OutboxMessage.resident_id == resident_id, OutboxMessage.status == OutboxStatus.pending
        )
    ).all()
    for message in pending:
        message.status = OutboxStatus.dropped
        message.last_error = "opted out"
        uow.session.add(message)
    if first_time:
        campaign_id = _recent_campaign(uow, resident_id, now)
        uow.session.add(
            Event(
                at=now,
                kind="resident_opted_out",
                resident_id=resident_id,
                territory_id=resident.territory_id,
                quartier_id=resident.quartier_id,
                data={"campaign_id": campaign_id} if campaign_id is not None else {},
            )
        )
    uow.commit()


def _recent_campaign(uow: UnitOfWork, resident_id: int, now: dt.datetime) -> int | None:
    """The campaign whose message the resident got last within CAMPAIGN_OPT_OUT_WINDOW, if any."""
    return uow.session.exec(
        select(CampaignDelivery.campaign_id)
        .join(OutboxMessage, col(OutboxMessage.idempotency_key) == col(CampaignDelivery.outbox_key))
        .where(
            CampaignDelivery.resident_id == resident_id,
            OutboxMessage.status == OutboxStatus.sent,
            col(OutboxMessage.sent_at) >= now - CAMPAIGN_OPT_OUT_WINDOW,
            col(OutboxMessage.sent_at) <= now,
        )
        .order_by(col(OutboxMessage.sent_at).desc())
    ).first()


def place_of(uow: UnitOfWork, resident_id: int) -> tuple[str, str | None] | None:
    """(territory, quartier) where the resident said they live, or None."""
    resident = uow.session.get(Resident, resident_id)
    if resident is None or resident.territory_id is None:
        return None
    return resident.territory_id, resident.quartier_id


def set_place(uow: UnitOfWork, resident_id: int, *, commune_name: str, quartier_id: str | None) -> bool:
    """Where the resident lives (territory from the commune; the quartier only if it is in that commune)."""
    changed = place(uow, resident_id, commune_name=commune_name, quartier_id=quartier_id)
    if changed:
        uow.commit()
    return changed


def place(uow: UnitOfWork, resident_id: int, *, commune_name: str, quartier_id: str | None) -> bool:
    """`set_place` without the commit (the caller's transaction)."""
    resident = uow.session.get(Resident, resident_id)
    commune = uow.session.exec(select(Commune).where(Commune.name == commune_name)).first()
    if resident is None or commune is None:
        return False
    quartier = uow.session.get(Quartier, quartier_id) if quartier_id else None
    resident.territory_id = commune.territory_id
    resident.quartier_id = quartier.id if quartier and quartier.territory_id == commune.territory_id else None
    uow.session.add(resident)
    place_events(uow, resident_id, resident.territory_id, resident.quartier_id)
    return True


def place_events(uow: UnitOfWork, resident_id: int, territory_id: str | None, quartier_id: str | None) -> None:
    """Statistics: the resident's earlier events written before the place was known get it now
    (call it wherever a resident's place is set; the caller commits).

    Events without a territory (consent comes before the place) take the territory and quartier;
    events of the same territory without a quartier (an appointment's place) take the quartier.
    Events already placed elsewhere keep their place (the resident moved)."""
    if territory_id is None:
        return
    events = Event.__table__  # type: ignore[attr-defined]
    uow.session.execute(
        update(events)
        .where(events.c.resident_id == resident_id, events.c.territory_id.is_(None))
        .values(territory_id=territory_id, quartier_id=quartier_id)
    )
    if quartier_id is not None:
        uow.session.execute(
            update(events)
            .where(
                events.c.resident_id == resident_id,
                events.c.territory_id == territory_id,
                events.c.quartier_id.is_(None),
            )
            .values(quartier_id=quartier_id)
        )


def opt_in(uow: UnitOfWork, resident_id: int) -> None:
    resident = uow.session.get(Resident, resident_id)
    if resident is not None and resident.opted_out_at is not None:
        resident.opted_out_at = None
        uow.session.add(resident)
        uow.commit()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# What a staff member did with a resident's file (audit_log rows "staff:<id>" → "resident:<public id>"), as the
# export says it to the resident; any other audited access is ACCESS_OTHER.
ACCESSES = {
    "handoff_card": N_("a reçu votre demande"),
    "handoff_claim": N_("a pris votre demande"),
    "handoff_view": N_("a lu votre demande"),
    "handoff_note": N_("a écrit une note sur votre demande"),
    "console_view_resident": N_("a ouvert votre fiche"),
}
ACCESS_OTHER = N_("a consulté votre dossier")
STAFF_ROLES = {
    "relay": N_("adulte-relais"),
    "coordinator": N_("responsable de l'équipe"),
    "admin": N_("administration du service"),
}


def staff_accesses(uow: UnitOfWork, public_id: str) -> list[dict[str, Any]]:
    """Who in the team accessed the resident's file, and when (from the audit log, oldest first): the date, the
    staff member's first name and role, what they did; never their Telegram id nor their staff id."""
    rows = uow.session.exec(
        select(AuditLog)
        .where(AuditLog.subject == f"resident:{public_id}", col(AuditLog.actor).startswith("staff:"))
        .order_by(col(AuditLog.at), col(AuditLog.id))
    ).all()
    ids = {int(number) for row in rows if (number := row.actor.removeprefix("staff:")).isdigit()}
    members = {m.id: m for m in uow.session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()} if ids else {}
    accesses = []
    for row in rows:
        number = row.actor.removeprefix("staff:")
        member = members.get(int(number)) if number.isdigit() else None
        role = STAFF_ROLES.get(str(member.role)) if member is not None else None
        accesses.append(
            {
                "le": _iso(row.at),
                "prenom": member.first_name if member is not None else None,
                "role": i18n._(role) if role else None,
                "quoi": i18n._(ACCESSES.get(row.action, ACCESS_OTHER)),
            }
        )
    return accesses


def export(uow: UnitOfWork, clock: Clock, resident_id: int, *, actor: str | None = None) -> dict[str, Any]:
    """Everything stored about a resident, in a readable structure (right of access). Audited: by the resident, or
    by `actor` (a request handled by staff: "cli")."""
    resident = uow.session.get(Resident, resident_id)
    if resident is None:
        return {}
    quartier = uow.session.get(Quartier, resident.quartier_id) if resident.quartier_id else None
    outbox = uow.session.exec(select(OutboxMessage).where(OutboxMessage.resident_id == resident_id)).all()
    accesses = staff_accesses(uow, resident.public_id)  # before this export's own audit row (a resident's)
    now = clock.now()
    uow.session.add(
        AuditLog(
            at=now, actor=actor or f"resident:{resident.public_id}", action="export",
            subject=f"resident:{resident.public_id}",
        )
    )
    uow.commit()
    return {
        "exporte_le": now.isoformat(),
        "identifiant": resident.public_id,
        "prenom": resident.first_name,
        "langue": resident.language,
        "territoire": resident.territory_id,
        "quartier": quartier.name if quartier else None,
        "accord": {"version": resident.consent_version, "donne_le": _iso(resident.consent_at)},
        "ne_plus_recevoir_de_messages_depuis": _iso(resident.opted_out_at),
        "derniere_visite": _iso(resident.last_seen_at),
        "cree_le": _iso(resident.created_at),
        "messages_programmes": [{"type": m.kind, "prevu_le": _iso(m.due_at), "statut": str(m.status)} for m in outbox],
        "points_sur_mes_droits": screenings.export(uow, resident_id),
        "rendez_vous": [
            {
                "le": _iso(a.starts_at),
                "par_telephone": a.channel == "telephone",
                "sujet": a.topic,
                "statut": str(a.status),
                "note": a.notes,  # written by the adulte-relais when marking the appointment
            }
            for a in uow.session.exec(select(Appointment).where(Appointment.resident_id == resident_id)).all()
        ],
        "demandes_a_un_adulte_relais": [
            {
                "le": _iso(h.created_at),
                "motif": h.reason,
                "statut": str(h.status),
                "issue": h.outcome,
                "note": h.notes,
                "avis": h.satisfaction,
            }
            for h in uow.session.exec(select(Handoff).where(Handoff.resident_id == resident_id)).all()
        ],
        "acces_de_l_equipe": accesses,
        "conversation_avec_l_assistant": rasa_store.export(uow, resident.public_id),
    }


def export_json(uow: UnitOfWork, clock: Clock, resident_id: int, *, actor: str | None = None) -> bytes:
    return json.dumps(export(uow, clock, resident_id, actor=actor), ensure_ascii=False, indent=2).encode("utf-8")


def erase(uow: UnitOfWork, clock: Clock, resident_id: int, *, reason: str | None = None) -> str | None:
    """Right to erasure: deletes the resident and everything linked; statistics keep anonymous counts.

    Returns the public id that was erased (to clear Rasa's conversation), or None.
    """
    resident = uow.session.get(Resident, resident_id)
    if resident is None:
        return None
    public_id = _erase(uow, clock, resident, reason=reason)
    uow.commit()
    return public_id


# Outbox rows about a resident's case or appointment that are addressed to staff (no resident_id: the card with
# the resident's context, their relayed words, the notices): their keys, by case id / appointment id.
CASE_KEYS = ("card:{id}:%", "card-edit:{id}:%", "alert:{id}:%", "relay:_:{id}:%", "claimed:{id}", "satisfaction:{id}",
             "ended:{id}:%", "transfer:{id}:%")  # fmt: skip
APPOINTMENT_KEYS = ("appt:{id}:%",)


def _erase(uow: UnitOfWork, clock: Clock, resident: Resident, *, reason: str | None = None) -> str:
    """`erase` without the commit: the resident's rows go (their cases, appointments and campaign deliveries by
    the database's ON DELETE CASCADE), with the outbox rows about them sent to staff; events stay, anonymous."""
    assert resident.id is not None
    resident_id, public_id = resident.id, resident.public_id
    session = uow.session
    cases = session.exec(select(Handoff.id).where(Handoff.resident_id == resident_id)).all()
    appointments = session.exec(select(Appointment.id).where(Appointment.resident_id == resident_id)).all()
    keys = [pattern.format(id=case) for case in cases for pattern in CASE_KEYS]
    keys += [pattern.format(id=appointment) for appointment in appointments for pattern in APPOINTMENT_KEYS]
    session.exec(delete(ButtonToken).where(col(ButtonToken.resident_id) == resident_id))
    about_them = [col(OutboxMessage.idempotency_key).like(key) for key in keys]
    session.exec(delete(OutboxMessage).where(or_(col(OutboxMessage.resident_id) == resident_id, *about_them)))
    session.exec(delete(ScreeningRight).where(col(ScreeningRight.resident_id) == resident_id))
    session.exec(delete(Screening).where(col(Screening.resident_id) == resident_id))
    for event in session.exec(select(Event).where(Event.resident_id == resident_id)).all():
        event.resident_id = None
        session.add(event)
    session.delete(resident)
    session.add(
        AuditLog(
            at=clock.now(),
            actor=f"resident:{public_id}",
            action="erase",
            subject=f"resident:{public_id}",
            detail={"reason": reason} if reason else {},
        )
    )
    return public_id


def set_language(uow: UnitOfWork, clock: Clock, resident_id: int, code: str, *, confirmed: bool = True) -> str:
    """The language the bot speaks to a resident from now on (a supported code); confirmed: they chose it."""
    language = i18n.supported(code) or i18n.DEFAULT
    resident = uow.session.get(Resident, resident_id)
    if resident is not None:
        resident.language = language
        if confirmed:
            resident.language_confirmed_at = clock.now()
        uow.session.add(resident)
        uow.commit()
    return language


def language_of(uow: UnitOfWork, public_id: str) -> str:
    """The language of a resident known by their public id (the action server's sender), French by default."""
    found = uow.session.exec(select(Resident.language).where(Resident.public_id == public_id)).first()
    return i18n.supported(found) or i18n.DEFAULT
