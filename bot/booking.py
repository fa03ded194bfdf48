"""Appointments in the chat: the topic, the next free slots (the resident's quartier first), free-text
wishes ("mardi aprem"), confirmation with the map link and an .ics file, my appointments, cancel,
reschedule; the buttons of reminders ("r:…") and follow-ups ("f:…") sent by the outbox; the staff's
agenda with seen / no-show / excused marks. The rules are in outreach/services/booking.py."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from telegram import Update
from telegram.ext import ContextTypes

from bot import texts
from db.models import AppointmentChannel, Lieu, Permanence, Resident
from outreach import booking_texts as btexts
from outreach.dates import parse_wish
from outreach.replies import Button, Document, Reply
from outreach.services import booking, followups, screenings
from outreach.services.residents import ResidentView

if TYPE_CHECKING:
    from bot.app import Services
    from outreach.services.staff import StaffView

log = logging.getLogger(__name__)

TALK = Button("Parler à quelqu'un", "/talk_to_human")
MORE = "Autres créneaux"
PHONE = "Par téléphone"


def _send(services: Services, bot: object, chat_id: int, resident: ResidentView, replies: list[Reply]) -> object:
    from bot.app import send_replies

    return send_replies(services, bot, chat_id, resident, replies)


def _place(services: Services, resident_id: int) -> tuple[str | None, str | None]:
    with services.uow() as uow:
        row = uow.session.get(Resident, resident_id)
        return (row.territory_id, row.quartier_id) if row else (None, None)


def _prefilled_topic(services: Services, resident_id: int) -> str | None:
    """After a screening with rights still to claim, the appointment is about rights."""
    with services.uow() as uow:
        latest = screenings.latest(uow, resident_id)
    if latest and any(r.status in ("to_claim", "failed") for r in latest[1]):
        return "droits"
    return None


# ---------------------------------------------------------------- proposing slots


async def start_booking(
    services: Services, bot: object, chat_id: int, resident: ResidentView, wish: str = "", *, reschedule_of: int = 0
) -> None:
    """book_appointment: the topic first (pre-filled from the screening), then slots."""
    topic = _prefilled_topic(services, resident.id)
    if topic or reschedule_of:
        await propose(services, bot, chat_id, resident, topic=topic, wish=wish, reschedule_of=reschedule_of)
        return
    buttons = tuple(
        Button(label[0].upper() + label[1:], f"!topic:{key}:{_clip(wish)}") for key, label in btexts.TOPICS.items()
    )
    await _send(services, bot, chat_id, resident, [Reply("C'est à quel sujet ?", buttons=(*buttons, TALK))])


def _clip(wish: str) -> str:
    return wish.replace(":", " ")[:200]


async def propose(
    services: Services,
    bot: object,
    chat_id: int,
    resident: ResidentView,
    *,
    topic: str | None,
    wish: str = "",
    offset: int = 0,
    reschedule_of: int = 0,
    intro: str | None = None,
) -> None:
    territory, quartier = _place(services, resident.id)
    if territory is None:
        await _send(
            services,
            bot,
            chat_id,
            resident,
            [Reply("Pour trouver la permanence la plus proche, un adulte-relais peut vous aider.", buttons=(TALK,))],
        )
        return
    now, tz = services.clock.now(), services.settings.tz
    window = parse_wish(wish, now, tz) if wish else None
    with services.uow() as uow:
        slots = booking.next_free_slots(
            uow,
            services.clock,
            territory_id=territory,
            quartier_id=quartier,
            topic=topic,
            wish=window,
            limit=offset + 3,
            tz=tz,
        )[offset:]
        if window is not None and not slots:
            slots = booking.next_free_slots(
                uow, services.clock, territory_id=territory, quartier_id=quartier, topic=topic, limit=3, tz=tz
            )
            intro = "Je n'ai pas de créneau libre à ce moment-là. Voici les prochains :"
    if not slots:
        await _send(services, bot, chat_id, resident, [Reply(btexts.no_slot(), buttons=(TALK,))])
        return
    buttons = [slot_button(slot.title(tz), slot, topic, reschedule_of) for slot in slots]
    buttons.append(Button(MORE, f"!more:{offset + 3}:{topic or '-'}:{reschedule_of}"))
    buttons.append(slot_button(PHONE, slots[0], topic, reschedule_of, telephone=True))
    buttons.append(TALK)
    await _send(services, bot, chat_id, resident, [Reply(intro or btexts.proposals(), buttons=tuple(buttons))])


def slot_button(
    title: str, slot: booking.Slot, topic: str | None, reschedule_of: int, *, telephone: bool = False
) -> Button:
    """ "!slot:<permanence>:<epoch>:<topic or ->:<appointment moved, or 0>:<p|t>", read by channel_button."""
    when = int(slot.starts_at.timestamp())
    return Button(
        title, f"!slot:{slot.permanence_id}:{when}:{topic or '-'}:{reschedule_of}:{'t' if telephone else 'p'}"
    )


async def choose(
    services: Services,
    bot: object,
    chat_id: int,
    resident: ResidentView,
    permanence_id: int,
    starts_at: dt.datetime,
    topic: str | None,
    reschedule_of: int,
    channel: str,
) -> None:
    """A slot was pressed: book it (or move the appointment), then confirm with the .ics file."""
    tz = services.settings.tz
    try:
        with services.uow() as uow:
            if reschedule_of:
                moved = booking.reschedule(
                    uow,
                    services.clock,
                    appointment_id=reschedule_of,
                    resident_id=resident.id,
                    permanence_id=permanence_id,
                    starts_at=starts_at,
                    topic=topic,
                    channel=channel,
                    tz=tz,
                )
                appointment = moved.appointment
            else:
                appointment = booking.book(
                    uow,
                    services.clock,
                    resident_id=resident.id,
                    permanence_id=permanence_id,
                    starts_at=starts_at,
                    topic=topic,
                    channel=channel,
                    tz=tz,
                )
            assert appointment.id is not None
            lieu = _lieu(uow, appointment.permanence_id)
            filename, ics = booking.calendar_file(uow, appointment.id, resident.id, tz=tz)
            view = next(v for v in booking.upcoming(uow, services.clock, resident.id) if v.id == appointment.id)
    except booking.SlotTaken as taken:
        alternatives = list(taken.alternatives)
        buttons = [slot_button(s.title(tz), s, topic, reschedule_of) for s in alternatives]
        await _send(
            services,
            bot,
            chat_id,
            resident,
            [Reply(btexts.slot_taken(alternatives=len(alternatives)), buttons=(*buttons, TALK))],
        )
        return
    except booking.BookingError as exc:
        log.info("booking refused: %s", type(exc).__name__)
        await _send(
            services,
            bot,
            chat_id,
            resident,
            [Reply("Je ne peux pas prendre ce rendez-vous. Un adulte-relais peut vous aider.", buttons=(TALK,))],
        )
        return
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
        text += f"\nPlan : {map_link(lieu)}"
    calendar = Document(filename=filename, content=ics, mime_type="text/calendar")
    buttons = (Button("Mes rendez-vous", "/my_appointments"), TALK)
    await _send(services, bot, chat_id, resident, [Reply(text, buttons=buttons, document=calendar)])


def map_link(lieu: Lieu) -> str:
    """The place's own map link, else an OpenStreetMap search on its address."""
    return lieu.map_url or "https://www.openstreetmap.org/search?query=" + quote_plus(f"{lieu.address}")


def _lieu(uow: object, permanence_id: int) -> Lieu | None:
    session = uow.session  # type: ignore[attr-defined]
    permanence = session.get(Permanence, permanence_id)
    return session.get(Lieu, permanence.lieu_id) if permanence else None


# ---------------------------------------------------------------- my appointments, cancel, reschedule


def _upcoming(
    services: Services, resident: ResidentView, appointment_id: int | None = None
) -> list[booking.AppointmentView]:
    """The resident's coming appointments (only that one when `appointment_id` is given)."""
    with services.uow() as uow:
        views = booking.upcoming(uow, services.clock, resident.id)
    return views if appointment_id is None else [v for v in views if v.id == appointment_id]


def _line(view: booking.AppointmentView, tz: object) -> str:
    how = (
        f"{view.relay} vous appelle"
        if view.channel == AppointmentChannel.telephone
        else (f"avec {view.relay}, {view.lieu_name} ({view.address})")
    )
    return f"📅 {btexts.when(view.starts_at, tz)} — {how}"  # type: ignore[arg-type]


async def my_appointments(services: Services, bot: object, chat_id: int, resident: ResidentView) -> None:
    views = _upcoming(services, resident)
    if not views:
        await _send(
            services,
            bot,
            chat_id,
            resident,
            [
                Reply(
                    "Vous n'avez pas de rendez-vous prévu.",
                    buttons=(Button("Prendre rendez-vous", "/book_appointment"), TALK),
                )
            ],
        )
        return
    replies = [
        Reply(
            _line(v, services.settings.tz),
            buttons=(
                Button("Annuler", f"!cancel:{v.id}"),
                Button("Changer", f"!change:{v.id}"),
                Button("Fichier calendrier", f"!ics:{v.id}"),
            ),
        )
        for v in views[:5]
    ]
    await _send(services, bot, chat_id, resident, replies)


async def ask_cancel(
    services: Services, bot: object, chat_id: int, resident: ResidentView, appointment_id: int | None = None
) -> None:
    views = _upcoming(services, resident, appointment_id)
    if not views:
        await _send(
            services, bot, chat_id, resident, [Reply("Vous n'avez pas de rendez-vous à annuler.", buttons=(TALK,))]
        )
        return
    if len(views) > 1:
        await _send(
            services,
            bot,
            chat_id,
            resident,
            [
                Reply(
                    "Lequel voulez-vous annuler ?",
                    buttons=tuple(
                        Button(
                            btexts.slot_button_title(v.starts_at, v.lieu_name, services.settings.tz), f"!cancel:{v.id}"
                        )
                        for v in views[:5]
                    ),
                )
            ],
        )
        return
    view = views[0]
    await _send(
        services,
        bot,
        chat_id,
        resident,
        [
            Reply(
                f"Annuler le rendez-vous {btexts.when(view.starts_at, services.settings.tz)} ?",
                buttons=(Button("Oui, annuler", f"!cancel!:{view.id}"), Button("Non, le garder", "!keep")),
            )
        ],
    )


async def do_cancel(services: Services, bot: object, chat_id: int, resident: ResidentView, appointment_id: int) -> None:
    tz = services.settings.tz
    try:
        with services.uow() as uow:
            outcome = booking.cancel(
                uow, services.clock, appointment_id=appointment_id, by="resident", resident_id=resident.id, tz=tz
            )
    except booking.BookingError:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]
        return
    starts_at = outcome.appointment.starts_at
    text = (
        btexts.cancelled_late(starts_at=starts_at, relay=outcome.relay, tz=tz)
        if outcome.late
        else btexts.cancelled(starts_at=starts_at, tz=tz)
    )
    await _send(
        services,
        bot,
        chat_id,
        resident,
        [Reply(text, buttons=(Button("Prendre un autre rendez-vous", "/book_appointment"),))],
    )


async def reschedule(
    services: Services,
    bot: object,
    chat_id: int,
    resident: ResidentView,
    wish: str = "",
    appointment_id: int | None = None,
) -> None:
    views = _upcoming(services, resident, appointment_id)
    if not views:  # a new date with no appointment yet: that is a booking
        await start_booking(services, bot, chat_id, resident, wish)
        return
    view = views[0]
    await propose(
        services,
        bot,
        chat_id,
        resident,
        topic=view.topic,
        wish=wish,
        reschedule_of=view.id,
        intro=f"Votre rendez-vous est {btexts.when(view.starts_at, services.settings.tz)}. "
        "Voici d'autres moments libres :",
    )


async def send_calendar(
    services: Services, bot: object, chat_id: int, resident: ResidentView, appointment_id: int
) -> None:
    try:
        with services.uow() as uow:
            filename, ics = booking.calendar_file(uow, appointment_id, resident.id, tz=services.settings.tz)
    except booking.BookingError:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]
        return
    await bot.send_document(chat_id, ics, filename=filename)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- channel buttons ("!…")


async def channel_button(
    services: Services, bot: object, chat_id: int, resident: ResidentView, verb: str, args: list[str]
) -> bool:
    """The booking buttons; False when `verb` is not one of them."""
    if verb == "topic" and args:
        topic = args[0] if args[0] in btexts.TOPICS else None
        await propose(services, bot, chat_id, resident, topic=topic, wish=":".join(args[1:]))
    elif verb == "slot" and len(args) == 5 and args[0].isdigit() and args[1].isdigit() and args[3].isdigit():
        topic = args[2] if args[2] in btexts.TOPICS else None
        channel = AppointmentChannel.telephone if args[4] == "t" else AppointmentChannel.permanence
        starts_at = dt.datetime.fromtimestamp(int(args[1]), tz=dt.UTC)
        await choose(services, bot, chat_id, resident, int(args[0]), starts_at, topic, int(args[3]), channel)
    elif verb == "more" and len(args) == 3 and args[0].isdigit() and args[2].isdigit():
        topic = args[1] if args[1] in btexts.TOPICS else None
        await propose(
            services, bot, chat_id, resident, topic=topic, offset=min(int(args[0]), 30), reschedule_of=int(args[2])
        )
    elif verb == "cancel" and args and args[0].isdigit():
        await ask_cancel(services, bot, chat_id, resident, int(args[0]))
    elif verb == "cancel!" and args and args[0].isdigit():
        await do_cancel(services, bot, chat_id, resident, int(args[0]))
    elif verb == "keep":
        await bot.send_message(chat_id, "D'accord, votre rendez-vous est gardé.")  # type: ignore[attr-defined]
    elif verb == "change" and args and args[0].isdigit():
        await reschedule(services, bot, chat_id, resident, appointment_id=int(args[0]))
    elif verb == "ics" and args and args[0].isdigit():
        await send_calendar(services, bot, chat_id, resident, int(args[0]))
    else:
        return False
    return True


# ---------------------------------------------------------------- outbox buttons: reminders, follow-ups


async def outbox_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "r:<action>:<appointment id>" (reminders) and "f:…" (follow-ups): checked against the resident."""
    from bot.app import _resident, expired_button, services_of

    services = services_of(context)
    query = update.callback_query
    resident = await _resident(services, update.effective_user.id)
    data = query.data or ""
    if resident is None or not resident.consented:
        await expired_button(update, context)
        return
    chat_id = update.effective_chat.id
    async with services.gate.lock(chat_id):
        if data.startswith("f:"):
            handled = await _followup(services, context.bot, chat_id, resident, data)
        else:
            handled = await _reminder(services, context.bot, chat_id, resident, data)
    if not handled:
        await expired_button(update, context)
        return
    await query.answer()
    from bot.app import _close_keyboard

    await _close_keyboard(query, "✔️")


async def _reminder(services: Services, bot: object, chat_id: int, resident: ResidentView, data: str) -> bool:
    parts = data.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        return False
    action, appointment_id = parts[1], int(parts[2])
    tz = services.settings.tz
    if action == "come":
        try:
            with services.uow() as uow:
                appointment = booking.confirm(
                    uow, services.clock, appointment_id=appointment_id, resident_id=resident.id
                )
        except booking.BookingError:
            return False
        await bot.send_message(chat_id, btexts.come_confirmed(starts_at=appointment.starts_at, tz=tz))  # type: ignore[attr-defined]
    elif action == "cancel":
        if not _upcoming(services, resident, appointment_id):
            return False
        await ask_cancel(services, bot, chat_id, resident, appointment_id)
    elif action == "change":
        if not _upcoming(services, resident, appointment_id):
            return False
        await reschedule(services, bot, chat_id, resident, appointment_id=appointment_id)
    elif action == "rebook":
        await start_booking(services, bot, chat_id, resident)
    elif action == "norebook":
        await bot.send_message(chat_id, "D'accord. Vous pouvez reprendre rendez-vous quand vous voulez.")  # type: ignore[attr-defined]
    else:
        return False
    return True


async def _followup(services: Services, bot: object, chat_id: int, resident: ResidentView, data: str) -> bool:
    callback = followups.parse_callback(data)
    if callback is None:
        return False
    try:
        if callback.answer == "rdv":
            await start_booking(services, bot, chat_id, resident)
            return True
        if callback.answer == "stop":
            with services.uow() as uow:
                followups.stop_followups(
                    uow, services.clock, resident_id=resident.id, screening_id=callback.screening_id
                )
            await bot.send_message(chat_id, "D'accord, je ne vous en reparle plus. Je reste là si besoin.")  # type: ignore[attr-defined]
            return True
        with services.uow() as uow:
            answer = followups.answer_followup(
                uow,
                services.clock,
                resident_id=resident.id,
                screening_id=callback.screening_id,
                right_id=callback.right_id or "",
                answer=callback.answer,
            )
    except (LookupError, ValueError):
        return False
    buttons = (Button("Prendre rendez-vous", "/book_appointment"), TALK) if answer.offer_relay else ()
    await _send(services, bot, chat_id, resident, [Reply(answer.text, buttons=buttons)])
    return True


# ---------------------------------------------------------------- staff: agenda and marks


async def staff_agenda(services: Services, bot: object, chat_id: int, member: StaffView) -> None:
    from bot.staff import markup

    tz = services.settings.tz
    today = services.clock.now().astimezone(tz).date()
    with services.uow() as uow:
        views = [
            v
            for offset in range(0, 8)
            for v in booking.staff_agenda(uow, services.clock, member.id, today + dt.timedelta(days=offset), tz=tz)
        ]
    if not views:
        await bot.send_message(chat_id, texts.STAFF_NO_APPOINTMENTS)  # type: ignore[attr-defined]
        return
    now = services.clock.now()
    for view in views[:15]:
        who = view.resident_name or "Habitant"
        line = f"📅 {btexts.when(view.starts_at, tz)} — {who}, {view.lieu_name}"
        if view.topic:
            line += f" ({btexts.topic_label(view.topic)})"
        if view.status != "booked":
            line += f" — {view.status}"
            await bot.send_message(chat_id, line)  # type: ignore[attr-defined]
            continue
        keyboard = None
        if view.starts_at <= now:  # after it started: one button to say how it went
            keyboard = markup(
                [
                    [
                        ("Venu", f"s:mark:{view.id}:seen"),
                        ("Pas venu", f"s:mark:{view.id}:no_show"),
                        ("Excusé", f"s:mark:{view.id}:excused"),
                    ]
                ]
            )
        await bot.send_message(chat_id, line, reply_markup=keyboard)  # type: ignore[attr-defined]


async def staff_mark(services: Services, update: Update, member: StaffView, appointment_id: int, status: str) -> None:
    query = update.callback_query
    try:
        with services.uow() as uow:
            booking.mark(
                uow,
                services.clock,
                appointment_id=appointment_id,
                status=status,
                staff_id=member.id,
                tz=services.settings.tz,
            )
    except (booking.BookingError, ValueError):
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    await query.answer()
    labels = {"seen": "venu", "no_show": "pas venu", "excused": "excusé"}
    await query.edit_message_text(f"{query.message.text}\n👉 {labels.get(status, status)}")  # type: ignore[union-attr]
