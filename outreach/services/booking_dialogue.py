"""Use cases of the appointment conversation, channel-neutral: the topic, the next free slots (the
resident's quartier first), free-text wishes ("mardi aprem"), the confirmation with the map link and an
.ics file, my appointments, cancel, reschedule, and the buttons of reminders and follow-ups. Each takes
the unit of work, the clock and the time zone, writes at most one transaction (through
outreach.services.booking's rules) and returns the replies to show. Rasa's actions and the Telegram
channel call the same functions.

Channel buttons ("!…", answered by the channel, never sent to Rasa; parsed by bot/router.py):
"!topic:<topic>:<wish>", "!slot:<permanence>:<epoch>:<topic or ->:<appointment moved, or 0>:<p|t>",
"!more:<offset>:<topic or ->:<appointment moved, or 0>", "!cancel:<id>", "!cancel!:<id>", "!keep",
"!change:<id>", "!ics:<id>", "!book:<wish>" (another appointment, when one is already booked).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from db.engine import UnitOfWork
from db.models import AppointmentChannel, Lieu, Permanence, Resident
from outreach import booking_texts as btexts
from outreach import texts
from outreach.clock import Clock
from outreach.dates import parse_wish
from outreach.i18n import N_, _
from outreach.replies import Button, Document, Reply
from outreach.services import booking, followups, residents, screenings

log = logging.getLogger(__name__)

TALK_TITLE = N_("Parler à quelqu'un")
MORE = N_("Autres créneaux")
PHONE = N_("Par téléphone")
SHOWN = 3


def talk() -> Button:
    """ "Parler à quelqu'un", in the language of the turn."""
    return Button(_(TALK_TITLE), "/talk_to_human")


def _place(uow: UnitOfWork, resident_id: int) -> tuple[str | None, str | None]:
    row = uow.session.get(Resident, resident_id)
    return (row.territory_id, row.quartier_id) if row else (None, None)


def _clip(wish: str) -> str:
    return wish.replace(":", " ")[:200]


def start(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    wish: str = "",
    reschedule_of: int = 0,
    another: bool = False,
) -> list[Reply]:
    """book_appointment: the topic first (after a screening with rights to claim it is "droits"), then slots. A
    resident who already has appointments sees them first ("c quand mon rdv ?" is often read as a booking), with
    a button for another one ("!book:<wish>")."""
    if not reschedule_of and not another and _upcoming(uow, clock, resident_id):
        return [
            *my_appointments(uow, clock, tz=tz, resident_id=resident_id),
            Reply(
                _(btexts.ALREADY_BOOKED), buttons=(Button(_("Un autre rendez-vous"), f"!book:{_clip(wish)}"), talk())
            ),
        ]
    topic = screenings.booking_topic(uow, resident_id)
    if topic or reschedule_of:
        return propose(uow, clock, tz=tz, resident_id=resident_id, topic=topic, wish=wish, reschedule_of=reschedule_of)
    buttons = tuple(
        Button(_capital(btexts.topic_label(key) or key), f"!topic:{key}:{_clip(wish)}") for key in btexts.TOPICS
    )
    return [Reply(_("C'est à quel sujet ?"), buttons=(*buttons, talk()))]


STEP_PAYLOADS = ("!topic:", "!slot:", "!more:")  # a choice the booking waits for: the topic, a slot


def waiting_step(shown: Sequence[Button]) -> Reply | None:
    """The booking step the resident was at when they asked something else ("c'est gratuit ?" at "C'est à quel
    sujet ?"): its buttons again, to show after the answer; None when the buttons shown (`residents.keyboard`) are
    no booking step's."""
    if not any(b.payload.startswith(STEP_PAYLOADS) for b in shown):
        return None
    return Reply(_("Pour continuer votre rendez-vous, choisissez :"), buttons=tuple(shown))


def only_answers(replies: Sequence[Reply]) -> bool:
    """Whether a turn's replies only answered (an FAQ, "pardon ?"): no question of their own with choices to make
    (a form's, the slots', an appointment's buttons), which would take the place of the step waiting."""
    return all(
        b.payload.startswith("/") and not b.payload.startswith("/inform") for r in replies for b in r.buttons
    ) and not any(r.custom or r.document for r in replies)


def _capital(label: str) -> str:
    return label[:1].upper() + label[1:]


def start_at_place(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    commune: str,
    quartier: str | None,
    wish: str = "",
) -> list[Reply]:
    """The where_form is done: remember where the resident lives (one transaction), then `start`."""
    if residents.place(uow, resident_id, commune_name=commune, quartier_id=quartier):
        uow.commit()
    return start(uow, clock, tz=tz, resident_id=resident_id, wish=wish)


def slot_button(
    title: str, slot: booking.Slot, topic: str | None, reschedule_of: int, *, telephone: bool = False
) -> Button:
    when = int(slot.starts_at.timestamp())
    return Button(
        title, f"!slot:{slot.permanence_id}:{when}:{topic or '-'}:{reschedule_of}:{'t' if telephone else 'p'}"
    )


def propose(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    topic: str | None,
    wish: str = "",
    offset: int = 0,
    reschedule_of: int = 0,
    intro: str | None = None,
) -> list[Reply]:
    """The next free slots (the wish first when one is given), with more, by phone and a person."""
    territory, quartier = _place(uow, resident_id)
    if territory is None:
        text = _("Pour trouver la permanence la plus proche, un adulte-relais peut vous aider.")
        return [Reply(text, buttons=(talk(),))]
    window = parse_wish(wish, clock.now(), tz) if wish else None
    slots = booking.next_free_slots(
        uow, clock, territory_id=territory, quartier_id=quartier, topic=topic, wish=window, limit=offset + SHOWN, tz=tz
    )[offset:]
    if window is not None and not slots:
        slots = booking.next_free_slots(
            uow, clock, territory_id=territory, quartier_id=quartier, topic=topic, limit=SHOWN, tz=tz
        )
        intro = _("Je n'ai pas de créneau libre à ce moment-là. Voici les prochains :")
    if not slots:
        return [Reply(btexts.no_slot(), buttons=(talk(),))]
    buttons = [slot_button(slot.title(tz), slot, topic, reschedule_of) for slot in slots]
    buttons.append(Button(_(MORE), f"!more:{offset + SHOWN}:{topic or '-'}:{reschedule_of}"))
    buttons.append(slot_button(_(PHONE), slots[0], topic, reschedule_of, telephone=True))
    buttons.append(talk())
    return [Reply(intro or btexts.proposals(), buttons=tuple(buttons))]


def choose(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    permanence_id: int,
    starts_at: dt.datetime,
    topic: str | None,
    reschedule_of: int,
    channel: str,
) -> list[Reply]:
    """A slot was pressed: book it (or move the appointment), then confirm with the .ics file."""
    try:
        if reschedule_of:
            appointment = booking.reschedule(
                uow,
                clock,
                appointment_id=reschedule_of,
                resident_id=resident_id,
                permanence_id=permanence_id,
                starts_at=starts_at,
                topic=topic,
                channel=channel,
                tz=tz,
            ).appointment
        else:
            appointment = booking.book(
                uow,
                clock,
                resident_id=resident_id,
                permanence_id=permanence_id,
                starts_at=starts_at,
                topic=topic,
                channel=channel,
                tz=tz,
            )
        assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
        lieu = _lieu(uow, appointment.permanence_id)
        filename, ics = booking.calendar_file(uow, appointment.id, resident_id, tz=tz)
        view = next(v for v in booking.upcoming(uow, clock, resident_id) if v.id == appointment.id)
    except booking.SlotTaken as taken:
        alternatives = list(taken.alternatives)
        buttons = [slot_button(s.title(tz), s, topic, reschedule_of) for s in alternatives]
        return [Reply(btexts.slot_taken(alternatives=len(alternatives)), buttons=(*buttons, talk()))]
    except booking.BookingError as exc:
        log.info("booking refused: %s", type(exc).__name__)
        text = _("Je ne peux pas prendre ce rendez-vous. Un adulte-relais peut vous aider.")
        return [Reply(text, buttons=(talk(),))]
    telephone = channel == AppointmentChannel.telephone
    if reschedule_of:
        text = btexts.rescheduled(starts_at=view.starts_at, place=view.lieu_name, relay=view.relay, tz=tz)
    else:
        text = btexts.booked(
            starts_at=view.starts_at,
            place=view.lieu_name,
            address=view.address,
            relay=view.relay,
            telephone=telephone,
            topic=topic,
            tz=tz,
        )
    if lieu is not None and not telephone:
        text += "\n" + _("Plan : {link}").format(link=map_link(lieu))
    calendar = Document(filename=filename, content=ics, mime_type="text/calendar")
    buttons = (Button(_("Mes rendez-vous"), "/my_appointments"), talk())
    return [Reply(text, buttons=buttons, document=calendar)]


def map_link(lieu: Lieu) -> str:
    """The place's own map link, else an OpenStreetMap search on its address."""
    return lieu.map_url or "https://www.openstreetmap.org/search?query=" + quote_plus(f"{lieu.address}")


def _lieu(uow: UnitOfWork, permanence_id: int) -> Lieu | None:
    permanence = uow.session.get(Permanence, permanence_id)
    return uow.session.get(Lieu, permanence.lieu_id) if permanence else None


# ---------------------------------------------------------------- my appointments, cancel, reschedule


def _upcoming(
    uow: UnitOfWork, clock: Clock, resident_id: int, appointment_id: int | None = None
) -> list[booking.AppointmentView]:
    """The resident's coming appointments (only that one when `appointment_id` is given)."""
    views = booking.upcoming(uow, clock, resident_id)
    return views if appointment_id is None else [v for v in views if v.id == appointment_id]


def _line(view: booking.AppointmentView, tz: ZoneInfo) -> str:
    how = (
        _("{relay} vous appelle").format(relay=view.relay)
        if view.channel == AppointmentChannel.telephone
        else _("avec {relay}, {place} ({address})").format(relay=view.relay, place=view.lieu_name, address=view.address)
    )
    return f"📅 {btexts.when(view.starts_at, tz)} — {how}"


def my_appointments(uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int) -> list[Reply]:
    views = _upcoming(uow, clock, resident_id)
    if not views:
        return [
            Reply(
                _("Vous n'avez pas de rendez-vous prévu."),
                buttons=(Button(_("Prendre rendez-vous"), "/book_appointment"), talk()),
            )
        ]
    return [
        Reply(
            _line(v, tz),
            buttons=(
                Button(_("Annuler"), f"!cancel:{v.id}"),
                Button(_("Changer"), f"!change:{v.id}"),
                Button(_("Fichier calendrier"), f"!ics:{v.id}"),
            ),
        )
        for v in views[:5]
    ]


def ask_cancel(
    uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int, appointment_id: int | None = None
) -> list[Reply]:
    views = _upcoming(uow, clock, resident_id, appointment_id)
    if not views:
        return [Reply(_("Vous n'avez pas de rendez-vous à annuler."), buttons=(talk(),))]
    if len(views) > 1:
        buttons = tuple(
            Button(btexts.slot_button_title(v.starts_at, v.lieu_name, tz), f"!cancel:{v.id}") for v in views[:5]
        )
        return [Reply(_("Lequel voulez-vous annuler ?"), buttons=buttons)]
    view = views[0]
    return [
        Reply(
            _("Annuler le rendez-vous {when} ?").format(when=btexts.when(view.starts_at, tz)),
            buttons=(Button(_("Oui, annuler"), f"!cancel!:{view.id}"), Button(_("Non, le garder"), "!keep")),
        )
    ]


def cancel(uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int, appointment_id: int) -> list[Reply]:
    try:
        outcome = booking.cancel(
            uow, clock, appointment_id=appointment_id, by="resident", resident_id=resident_id, tz=tz
        )
    except booking.BookingError:
        return [Reply(texts.BUTTON_EXPIRED)]
    starts_at = outcome.appointment.starts_at
    text = (
        btexts.cancelled_late(starts_at=starts_at, relay=outcome.relay, tz=tz)
        if outcome.late
        else btexts.cancelled(starts_at=starts_at, tz=tz)
    )
    return [Reply(text, buttons=(Button(_("Prendre un autre rendez-vous"), "/book_appointment"),))]


def keep() -> list[Reply]:
    return [Reply(_("D'accord, votre rendez-vous est gardé."))]


def reschedule(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    wish: str = "",
    appointment_id: int | None = None,
) -> list[Reply]:
    views = _upcoming(uow, clock, resident_id, appointment_id)
    if not views:  # a new date with no appointment yet: that is a booking
        return start(uow, clock, tz=tz, resident_id=resident_id, wish=wish)
    view = views[0]
    return propose(
        uow,
        clock,
        tz=tz,
        resident_id=resident_id,
        topic=view.topic,
        wish=wish,
        reschedule_of=view.id,
        intro=_("Votre rendez-vous est {when}. Voici d'autres moments libres :").format(
            when=btexts.when(view.starts_at, tz)
        ),
    )


def calendar(uow: UnitOfWork, *, tz: ZoneInfo, resident_id: int, appointment_id: int) -> list[Reply]:
    try:
        filename, ics = booking.calendar_file(uow, appointment_id, resident_id, tz=tz)
    except booking.BookingError:
        return [Reply(texts.BUTTON_EXPIRED)]
    return [Reply("", document=Document(filename=filename, content=ics, mime_type="text/calendar"))]


# ---------------------------------------------------------------- outbox buttons: reminders, follow-ups


def reminder(
    uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int, action: str, appointment_id: int
) -> list[Reply] | None:
    """A reminder's button ("r:<action>:<appointment id>"); None when it no longer applies."""
    if action == "come":
        try:
            appointment = booking.confirm(uow, clock, appointment_id=appointment_id, resident_id=resident_id)
        except booking.BookingError:
            return None
        return [Reply(btexts.come_confirmed(starts_at=appointment.starts_at, tz=tz))]
    if action in ("cancel", "change"):
        if not _upcoming(uow, clock, resident_id, appointment_id):
            return None
        if action == "cancel":
            return ask_cancel(uow, clock, tz=tz, resident_id=resident_id, appointment_id=appointment_id)
        return reschedule(uow, clock, tz=tz, resident_id=resident_id, appointment_id=appointment_id)
    if action == "rebook":
        return start(uow, clock, tz=tz, resident_id=resident_id)
    if action == "norebook":
        return [Reply(_("D'accord. Vous pouvez reprendre rendez-vous quand vous voulez."))]
    return None


def followup(
    uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int, callback: followups.FollowupCallback
) -> list[Reply] | None:
    """A follow-up's button ("f:…"); None when it no longer applies."""
    try:
        if callback.answer == "rdv":
            return start(uow, clock, tz=tz, resident_id=resident_id)
        if callback.answer == "stop":
            followups.stop_followups(uow, clock, resident_id=resident_id, screening_id=callback.screening_id)
            return [Reply(_("D'accord, je ne vous en reparle plus. Je reste là si besoin."))]
        answer = followups.answer_followup(
            uow,
            clock,
            resident_id=resident_id,
            screening_id=callback.screening_id,
            right_id=callback.right_id or "",
            answer=callback.answer,
        )
    except (LookupError, ValueError):
        return None
    buttons = (Button(_("Prendre rendez-vous"), "/book_appointment"), talk()) if answer.offer_relay else ()
    return [Reply(answer.text, buttons=buttons)]
