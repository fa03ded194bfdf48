"""The staff side of the chat (adultes-relais, coordinators): onboarding by invite, the staff menu,
case cards, claiming, relaying both ways, transfer and close. Also the resident side of a case
(open, relay while open, "fin", satisfaction). Staff never see the resident flow."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes, filters

from bot.channel import Services, acknowledge, markup, send_replies, services_of
from db.models import HandoffOutcome, HandoffStatus, StaffRole
from outreach import booking_texts as btexts
from outreach import i18n, office_hours, texts
from outreach.places import fold
from outreach.services import booking, case_messages, handoff_dialogue, handoffs, staff
from outreach.services import console_accounts as accounts
from outreach.services.handoffs import CaseView
from outreach.services.residents import ResidentView
from outreach.services.staff import StaffView

log = logging.getLogger(__name__)

# What staff read (French, whatever language their Telegram speaks).
ROLE_LABELS = {
    StaffRole.relay: i18n.staff("adulte-relais"),
    StaffRole.coordinator: i18n.staff("coordination"),
    StaffRole.admin: i18n.staff("admin"),
}
TERRITORY_LABELS = {
    "dijon": i18n.staff("Dijon métropole"),
    "troyes": i18n.staff("Troyes Champagne Métropole"),
    None: i18n.staff("tous territoires"),
}
MARK_LABELS = {"seen": i18n.staff("venu"), "no_show": i18n.staff("pas venu"), "excused": i18n.staff("excusé")}


@dataclass(frozen=True)
class Press:
    """A staff button press, as the handlers of _STAFF_ACTIONS receive it."""

    services: Services
    update: Update
    context: ContextTypes.DEFAULT_TYPE
    member: StaffView
    case_id: int | None  # the number after the verb ("s:take:12")
    rest: list[str]  # what follows it


class StaffLookup:
    """Whether an update comes from staff, looked up once per update (several handlers' filters ask),
    and at every update: disabling an account takes effect at once."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._last: tuple[int, str | None] | None = None

    def state(self, update: Update) -> str | None:
        user = update.effective_user
        if user is None:
            return None
        if self._last is None or self._last[0] != update.update_id:
            with self.services.uow() as uow:
                self._last = (update.update_id, staff.account_state(uow, user.id))
        return self._last[1]


class StaffFilter(filters.UpdateFilter):
    """Updates from a staff account in the given state ("active" or "disabled")."""

    def __init__(self, lookup: StaffLookup, state: str) -> None:
        super().__init__(name=f"{state}_staff")
        self.lookup, self.wanted = lookup, state

    def filter(self, update: Update) -> bool:
        return self.lookup.state(update) == self.wanted


def _current_staff(services: Services, update: Update) -> StaffView | None:
    with services.uow() as uow:
        return staff.find(uow, update.effective_user.id)


def _case_line(case: CaseView) -> str:
    quartier = handoff_dialogue.quartier_words(case)
    return texts.CASE_LINE.format(prenom=case.first_name, quartier=quartier, raison=case.reason)


# ---------------------------------------------------------------- menus


def staff_menu(member: StaffView) -> tuple[str, InlineKeyboardMarkup]:
    toggle = (texts.STAFF_UNAVAILABLE, "s:avail:0") if member.available else (texts.STAFF_AVAILABLE, "s:avail:1")
    state = i18n.staff("disponible") if member.available else i18n.staff("indisponible")
    return texts.STAFF_MENU.format(etat=state), markup(
        [
            [toggle],
            [(texts.STAFF_PENDING, "s:pending")],
            [(texts.STAFF_MINE, "s:mine")],
            [(texts.STAFF_APPOINTMENTS, "s:rdv")],
        ]
    )


async def send_menu(bot: object, chat_id: int, member: StaffView) -> None:
    text, keyboard = staff_menu(member)
    await bot.send_message(chat_id, text, reply_markup=keyboard)  # type: ignore[attr-defined]


async def onboard(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    """/start <invite code>: this Telegram account becomes staff, or a clear refusal."""
    services = services_of(context)
    user, chat = update.effective_user, update.effective_chat
    with services.uow() as uow:
        member = staff.redeem_invite(uow, services.clock, code, telegram_user_id=user.id, chat_id=chat.id)
    if member is None:
        await update.effective_message.reply_text(texts.INVITE_INVALID)
        return
    await update.effective_message.reply_text(
        texts.STAFF_WELCOME.format(
            prenom=member.first_name,
            role=ROLE_LABELS[member.role],
            territoire=TERRITORY_LABELS.get(member.territory_id),
        )
    )
    await send_menu(context.bot, chat.id, member)


async def disabled_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A disabled staff account: no access, a clear word."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.STAFF_DISABLED, show_alert=True)
        return
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.STAFF_DISABLED)


async def staff_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start from staff: a new invite code, or the menu."""
    if context.args and context.args[0].startswith(staff.CODE_PREFIX):
        await onboard(update, context, context.args[0])
        return
    member = _current_staff(services_of(context), update)
    if member is not None:
        await send_menu(context.bot, update.effective_chat.id, member)


# ---------------------------------------------------------------- cards


async def open_case(
    services: Services,
    bot: object,
    chat_id: int,
    resident: ResidentView,
    source: str,
    said: str = "",
    language: str | None = None,
) -> None:
    """Hand the resident to a person ("Parler à quelqu'un", a campaign's button, a request in words): the case,
    its cards (with what the resident just `said`), a plain word on when someone answers; Rasa is paused until
    the case ends."""
    exchanges = await services.rasa.last_exchanges(resident.public_id)
    if said:
        exchanges = [*exchanges, ("habitant", said)][-10:]
    with services.uow() as uow:
        opened = handoff_dialogue.open_case(
            uow,
            services.clock,
            tz=services.settings.tz,
            resident_id=resident.id,
            source=source,
            exchanges=exchanges,
            language=language,
        )
    await _opened(services, bot, chat_id, resident, opened)


async def territory_chosen(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case_id: int, territory_id: str
) -> None:
    """ "!terr:<case>:<territory>": where the resident lives, for a case that could not be routed."""
    exchanges = await services.rasa.last_exchanges(resident.public_id)
    with services.uow() as uow:
        opened = handoff_dialogue.territory_chosen(
            uow,
            services.clock,
            tz=services.settings.tz,
            resident_id=resident.id,
            case_id=case_id,
            territory_id=territory_id,
            exchanges=exchanges,
        )
    await _opened(services, bot, chat_id, resident, opened)


async def _opened(
    services: Services, bot: object, chat_id: int, resident: ResidentView, opened: handoff_dialogue.Opened
) -> None:
    if opened.paused:
        await services.rasa.pause(resident.public_id)
    services.wake_outbox()
    await send_replies(services, bot, chat_id, resident, opened.replies)


async def resend_waiting_cases(services: Services) -> int:
    """Scheduler job: a card nobody took within 15 minutes during office hours is sent again, and the
    territory's coordinator is told. Returns the number of cases re-sent."""
    if not office_hours.is_open(services.clock.now(), services.settings.tz):
        return 0
    with services.uow() as uow:
        due = handoffs.due_for_resend(uow, services.clock)
    if not due:
        return 0
    exchanges = {case.id: await services.rasa.last_exchanges(case.resident_public_id) for case in due}
    with services.uow() as uow:
        resent = handoff_dialogue.resend(uow, services.clock, due, exchanges)
    services.wake_outbox()
    return resent


def is_end_word(text: str) -> bool:
    return fold(text).strip(" .!") in texts.END_WORDS


async def resident_in_case(
    services: Services, bot: object, message: Message, resident: ResidentView, case: CaseView
) -> None:
    """A resident's message while a case is open: relayed to the adulte-relais (or kept until one takes it)."""
    chat_id = message.chat_id
    text = message.text or message.caption or ""
    if message.text and is_end_word(message.text):
        await end_by_resident(services, bot, chat_id, resident, case)
        return
    kind, file_id = _media(message)
    if case.status == HandoffStatus.waiting:
        with services.uow() as uow:
            count = handoffs.queue_message(uow, services.clock, case.id, kind=kind, text=text, file_id=file_id)
        if count == 1:
            await bot.send_message(chat_id, texts.HANDOFF_QUEUED)  # type: ignore[attr-defined]
        return
    with services.uow() as uow:
        member = staff.get(uow, case.staff_id) if case.staff_id else None
        relayed = member is not None and case_messages.to_staff(
            uow, services.clock, case, member, case_messages.Relayed(kind, text, file_id, str(message.message_id))
        )
        uow.commit()
    if not relayed:
        await bot.send_message(chat_id, texts.HANDOFF_QUEUED)  # type: ignore[attr-defined]
        return
    services.wake_outbox()


def _media(message: Message) -> tuple[str, str | None]:
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.document is not None:
        return "document", message.document.file_id
    if message.voice is not None:  # a voice note reaches the adulte-relais as it is (no offline transcription)
        return "voice", message.voice.file_id
    if message.audio is not None:
        return "audio", message.audio.file_id
    return "text", None


async def end_by_resident(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case: CaseView
) -> None:
    """The resident wrote "fin": the case ends, the dialogue engine is back."""
    with services.uow() as uow:
        said = case_messages.ended_by_resident(uow, services.clock, case)
        uow.commit()
    await services.rasa.resume(resident.public_id)
    services.wake_outbox()
    if said:
        await bot.send_message(chat_id, said)  # type: ignore[attr-defined]


async def satisfaction(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case_id: int, score: int
) -> None:
    with services.uow() as uow:
        ok = handoffs.set_satisfaction(uow, services.clock, resident.id, case_id, score)
    await bot.send_message(chat_id, texts.SATISFACTION_THANKS if ok else texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- staff side: messages and buttons


def console_link(services: Services, staff_id: int) -> str:
    """/console: a single-use login link to the web console, or why there is none."""
    with services.uow() as uow:
        if accounts.account_of(uow, staff_id) is None:
            return texts.CONSOLE_NO_ACCESS
        made = accounts.login_link_for_staff(uow, services.clock, staff_id)
    if made is None:
        return texts.CONSOLE_LINK_WAIT
    return accounts.LOGIN_LINK_TEXT.format(lien=f"{services.settings.effective_console_url}/connexion/lien/{made[1]}")


async def staff_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything a staff member writes or sends: to the resident of their current case."""
    services = services_of(context)
    member = _current_staff(services, update)
    message = update.effective_message
    if member is None or message is None:
        return
    if message.text and message.text.startswith("/note"):
        note = message.text[len("/note") :].strip()
        with services.uow() as uow:
            saved = bool(note) and handoffs.add_note(uow, services.clock, member, note)
        await message.reply_text(texts.NOTE_SAVED if saved else texts.NOTE_NOTHING)
        return
    if message.text and message.text.split()[0] == "/console":
        await message.reply_text(console_link(services, member.id))
        return
    if message.text and message.text.startswith("/"):
        await send_menu(context.bot, message.chat_id, member)
        return
    with services.uow() as uow:
        case = handoffs.current_for_staff(uow, member.id)
        if case is not None:
            handoffs.touch(uow, services.clock, case.id)
    if case is None:
        await message.reply_text(texts.STAFF_NO_CASE)
        await send_menu(context.bot, message.chat_id, member)
        return
    kind, file_id = _media(message)
    text = message.text or message.caption or ""
    if kind == "text" and not text:
        return
    with services.uow() as uow:
        case_messages.to_resident(
            uow, services.clock, case, member, case_messages.Relayed(kind, text, file_id, str(message.message_id))
        )
        uow.commit()
    services.wake_outbox()


async def pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, verb: str, case_id: int | None, rest: list[str]
) -> None:
    """Every staff button ("s:<verb>:<number>:<rest…>", read by the router), checked against the staff
    member's rights."""
    services = services_of(context)
    query = update.callback_query
    member = _current_staff(services, update)
    if member is None:
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    try:
        await _STAFF_ACTIONS.get(verb, _unknown)(Press(services, update, context, member, case_id, rest))
    except handoffs.Forbidden:
        await query.answer(texts.STAFF_NOT_FOR_YOU, show_alert=True)


async def _unknown(press: Press) -> None:
    update = press.update
    await update.callback_query.answer(texts.BUTTON_EXPIRED_ALERT)


async def _availability(press: Press) -> None:
    services, update, context, member, case_id = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
    )
    query = update.callback_query
    available = case_id == 1
    with services.uow() as uow:
        updated = staff.set_available(uow, services.clock, member.id, available)
    await query.answer(texts.STAFF_NOW_AVAILABLE if available else texts.STAFF_NOW_UNAVAILABLE)
    if updated is not None:
        text, keyboard = staff_menu(updated)
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
        except BadRequest:
            await send_menu(context.bot, update.effective_chat.id, updated)


async def _pending(press: Press) -> None:
    services, update, context, member = press.services, press.update, press.context, press.member
    await acknowledge(update.callback_query)
    with services.uow() as uow:
        waiting = handoffs.waiting_in(uow, member.territory_id)
    if not waiting:
        await context.bot.send_message(update.effective_chat.id, texts.STAFF_NO_PENDING)
        return
    for case in waiting[:10]:
        with services.uow() as uow:
            handoffs.view_case(uow, services.clock, case.id, member)
        waited = handoff_dialogue.minutes((services.clock.now() - case.created_at).total_seconds())
        await context.bot.send_message(
            update.effective_chat.id,
            i18n.staff(f"{_case_line(case)} — en attente depuis {waited}"),
            reply_markup=markup([[(texts.CARD_TAKE, f"s:take:{case.id}")]]),
        )


async def _mine(press: Press) -> None:
    services, update, context, member = press.services, press.update, press.context, press.member
    await acknowledge(update.callback_query)
    with services.uow() as uow:
        cases = handoffs.mine(uow, member.id)
    if not cases:
        await context.bot.send_message(update.effective_chat.id, texts.STAFF_NO_CASE)
        return
    for case in cases:
        await context.bot.send_message(
            update.effective_chat.id,
            _case_line(case),
            reply_markup=markup(
                [
                    [(texts.CASE_WRITE.format(prenom=case.first_name), f"s:focus:{case.id}")],
                    [(texts.CASE_CLOSE, f"s:close:{case.id}"), (texts.CASE_TRANSFER, f"s:transfer:{case.id}")],
                ]
            ),
        )


async def _appointments(press: Press) -> None:
    services, update, context, member = press.services, press.update, press.context, press.member
    await acknowledge(update.callback_query)
    await staff_agenda(services, context.bot, update.effective_chat.id, member)


async def _mark(press: Press) -> None:
    """After an appointment: seen / no_show / excused, one button ("s:mark:<appointment id>:<status>")."""
    services, update, member, case_id, rest = press.services, press.update, press.member, press.case_id, press.rest
    if case_id is None or not rest:
        await update.callback_query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    await staff_mark(services, update.callback_query, member, case_id, rest[0])


async def _take(press: Press) -> None:
    services, update, _context, member, case_id = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
    )
    query = update.callback_query
    if case_id is None:
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    with services.uow() as uow:
        result = case_messages.take(uow, services.clock, case_id, member)
    if result.won:
        services.wake_outbox()
    if not result.won or result.case is None:
        taken = texts.CARD_TAKEN_BY.format(prenom=result.taken_by) if result.taken_by else texts.CARD_GONE
        await query.answer(taken)
        try:
            await query.edit_message_text(taken)
        except BadRequest:
            pass
        return
    case = result.case
    await acknowledge(query)
    await query.edit_message_text(texts.CARD_TAKEN_BY_YOU.format(prenom=case.first_name))


async def _later(press: Press) -> None:
    update = press.update
    await update.callback_query.answer(texts.CARD_LATER_OK)


async def _focus(press: Press) -> None:
    services, update, context, member, case_id = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
    )
    if case_id is None:
        raise handoffs.Forbidden("no case")
    with services.uow() as uow:
        case = handoffs.focus(uow, services.clock, case_id, member)
    await acknowledge(update.callback_query)
    await context.bot.send_message(update.effective_chat.id, texts.CASE_FOCUS.format(prenom=case.first_name))


def _outcome_keyboard(case_id: int, *, after: bool = False) -> InlineKeyboardMarkup:
    return markup([(title, data)] for title, data in case_messages.outcome_buttons(case_id, after=after))


async def _close(press: Press) -> None:
    services, update, context, member, case_id = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
    )
    if case_id is None:
        raise handoffs.Forbidden("no case")
    with services.uow() as uow:
        case = handoffs.view_case(uow, services.clock, case_id, member)
    if case.staff_id != member.id or case.status != HandoffStatus.claimed:
        raise handoffs.Forbidden("not an open case of this staff member")
    await acknowledge(update.callback_query)
    await context.bot.send_message(
        update.effective_chat.id,
        texts.CASE_OUTCOME.format(prenom=case.first_name),
        reply_markup=_outcome_keyboard(case_id),
    )


def _parse_outcome(rest: list[str]) -> HandoffOutcome | None:
    try:
        return HandoffOutcome(rest[0]) if rest else None
    except ValueError:
        return None


async def _closed_with_outcome(press: Press) -> None:
    services, update, _context, member, case_id, rest = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
        press.rest,
    )
    query = update.callback_query
    outcome = _parse_outcome(rest)
    if case_id is None or outcome is None:
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    with services.uow() as uow:
        case = case_messages.closed_by_staff(uow, services.clock, case_id, member, outcome)
    if case is None:
        await query.answer(texts.CARD_GONE)
        return
    await acknowledge(query)
    await query.edit_message_text(
        texts.CASE_CLOSED.format(prenom=case.first_name, issue=handoffs.OUTCOME_LABELS[outcome])
    )
    await services.rasa.resume(case.resident_public_id)
    services.wake_outbox()


async def _outcome_after(press: Press) -> None:
    services, update, member, case_id, rest = press.services, press.update, press.member, press.case_id, press.rest
    query = update.callback_query
    outcome = _parse_outcome(rest)
    with services.uow() as uow:
        ok = (
            case_id is not None
            and outcome is not None
            and handoffs.set_outcome(uow, services.clock, case_id, member, outcome)
        )
    if not ok or outcome is None:
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    await acknowledge(query)
    await query.edit_message_text(
        i18n.staff(f"Issue enregistrée : {handoffs.OUTCOME_LABELS[outcome]}. Pour une note : /note …")
    )


async def _transfer(press: Press) -> None:
    services, update, context, member, case_id = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
    )
    if case_id is None:
        raise handoffs.Forbidden("no case")
    with services.uow() as uow:
        case = handoffs.view_case(uow, services.clock, case_id, member)
        colleagues = [s for s in staff.relays_of(uow, member.territory_id, available_only=False) if s.id != member.id]
    await acknowledge(update.callback_query)
    if not colleagues:
        await context.bot.send_message(update.effective_chat.id, texts.CASE_NO_COLLEAGUE)
        return
    await context.bot.send_message(
        update.effective_chat.id,
        texts.CASE_TRANSFER_TO.format(prenom=case.first_name),
        reply_markup=markup([[(c.first_name, f"s:to:{case_id}:{c.id}")] for c in colleagues]),
    )


async def _transfer_to(press: Press) -> None:
    services, update, _context, member, case_id, rest = (
        press.services,
        press.update,
        press.context,
        press.member,
        press.case_id,
        press.rest,
    )
    query = update.callback_query
    if case_id is None or not rest or not rest[0].isdigit():
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    with services.uow() as uow:
        case, colleague = case_messages.transfer(uow, services.clock, case_id, member, int(rest[0]))
    services.wake_outbox()
    await acknowledge(query)
    await query.edit_message_text(texts.CASE_TRANSFERRED.format(prenom=case.first_name, collegue=colleague.first_name))


_STAFF_ACTIONS = {
    "avail": _availability,
    "pending": _pending,
    "mine": _mine,
    "rdv": _appointments,
    "mark": _mark,
    "take": _take,
    "later": _later,
    "focus": _focus,
    "close": _close,
    "out": _closed_with_outcome,
    "outcome": _outcome_after,
    "transfer": _transfer,
    "to": _transfer_to,
}


# ---------------------------------------------------------------- staff: agenda and marks


async def staff_agenda(services: Services, bot: object, chat_id: int, member: StaffView) -> None:
    """The staff member's next 8 days of appointments (French, whatever the turn's language)."""
    with i18n.speaking("fr"):
        await _staff_agenda(services, bot, chat_id, member)


async def _staff_agenda(services: Services, bot: object, chat_id: int, member: StaffView) -> None:
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
        who = view.resident_name or i18n.staff("Habitant")
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
                        (i18n.staff("Venu"), f"s:mark:{view.id}:seen"),
                        (i18n.staff("Pas venu"), f"s:mark:{view.id}:no_show"),
                        (i18n.staff("Excusé"), f"s:mark:{view.id}:excused"),
                    ]
                ]
            )
        await bot.send_message(chat_id, line, reply_markup=keyboard)  # type: ignore[attr-defined]


async def staff_mark(
    services: Services, query: CallbackQuery, member: StaffView, appointment_id: int, status: str
) -> None:
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
    await acknowledge(query)
    await query.edit_message_text(f"{query.message.text}\n👉 {MARK_LABELS.get(status, status)}")  # type: ignore[union-attr]
