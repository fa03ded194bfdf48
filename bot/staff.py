"""The staff side of the chat (adultes-relais, coordinators): onboarding by invite, the staff menu,
case cards, claiming, relaying both ways, transfer and close. Also the resident side of a case
(open, relay while open, "fin", satisfaction). Staff never see the resident flow."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes, filters

from bot import texts
from db.models import HandoffOutcome, HandoffStatus, StaffRole
from outreach import office_hours
from outreach.console import accounts
from outreach.places import fold
from outreach.replies import Button, Reply
from outreach.services import handoffs, staff
from outreach.services.handoffs import CaseView
from outreach.services.residents import ResidentView
from outreach.services.staff import StaffView

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

ROLE_LABELS = {StaffRole.relay: "adulte-relais", StaffRole.coordinator: "coordination", StaffRole.admin: "admin"}
TERRITORY_LABELS = {"dijon": "Dijon métropole", "troyes": "Troyes Champagne Métropole", None: "tous territoires"}


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


def markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows])


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


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "moins d'1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def _quartier(case: CaseView) -> str:
    return f" ({case.quartier})" if case.quartier else ""


# ---------------------------------------------------------------- menus


def staff_menu(member: StaffView) -> tuple[str, InlineKeyboardMarkup]:
    toggle = (texts.STAFF_UNAVAILABLE, "s:avail:0") if member.available else (texts.STAFF_AVAILABLE, "s:avail:1")
    state = "disponible" if member.available else "indisponible"
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


def _card_text(case: CaseView, exchanges: list[tuple[str, str]], rights: list[str], waited: float) -> str:
    droits = ("\nDroits repérés :\n" + "\n".join(rights)) if rights else ""
    lines = [f"{'👤' if who == 'habitant' else '🤖'} {text[:200]}" for who, text in exchanges]
    echanges = ("\nDerniers échanges :\n" + "\n".join(lines)) if lines else ""
    text = texts.CARD.format(
        prenom=case.first_name,
        quartier=_quartier(case),
        raison=case.reason,
        attente=_minutes(waited),
        droits=droits,
        echanges=echanges,
    )
    return text[:4000]


async def send_cards(services: Services, bot: object, case: CaseView, *, resend: bool = False) -> int:
    """The case card to the available adultes-relais of the resident's territory; returns how many got it."""
    with services.uow() as uow:
        relays = staff.relays_of(uow, case.territory_id)
        rights = handoffs.context_lines(uow, case)
    exchanges = await services.rasa.last_exchanges(case.resident_public_id)
    waited = (services.clock.now() - case.created_at).total_seconds()
    text = (texts.RESEND_PREFIX if resend else "") + _card_text(case, exchanges, rights, waited)
    keyboard = markup([[(texts.CARD_TAKE, f"s:take:{case.id}"), (texts.CARD_LATER, f"s:later:{case.id}")]])
    sent = 0
    for relay in relays:
        if relay.chat_id is None:
            continue
        try:
            message = await bot.send_message(relay.chat_id, text, reply_markup=keyboard)  # type: ignore[attr-defined]
        except TelegramError as exc:
            log.warning("case card not delivered to staff %s (%s)", relay.id, type(exc).__name__)
            continue
        with services.uow() as uow:
            handoffs.record_card(uow, services.clock, case.id, relay.id, relay.chat_id, message.message_id)
            handoffs.view_case(uow, services.clock, case.id, relay, action="handoff_card")
        sent += 1
    return sent


async def tell_coordinators(services: Services, bot: object, case: CaseView, template: str) -> None:
    with services.uow() as uow:
        coordinators = staff.coordinators_of(uow, case.territory_id)
    waited = _minutes((services.clock.now() - case.created_at).total_seconds())
    for coordinator in coordinators:
        text = template.format(prenom=case.first_name, quartier=_quartier(case), raison=case.reason, attente=waited)
        try:
            await bot.send_message(coordinator.chat_id, text)  # type: ignore[attr-defined]
        except TelegramError:
            log.warning("coordinator %s not reachable", coordinator.id)


async def resend_waiting_cases(services: Services, bot: object) -> int:
    """Scheduler job: a card nobody took within 15 minutes during office hours is sent again, and the
    territory's coordinator is told. Returns the number of cases re-sent."""
    now = services.clock.now()
    if not office_hours.is_open(now, services.settings.tz):
        return 0
    with services.uow() as uow:
        due = handoffs.due_for_resend(uow, services.clock)
    for case in due:
        await send_cards(services, bot, case, resend=True)
        await tell_coordinators(services, bot, case, texts.COORDINATOR_ALERT)
        with services.uow() as uow:
            handoffs.mark_resent(uow, services.clock, case.id, coordinator_told=True)
    return len(due)


# ---------------------------------------------------------------- resident side


async def open_case(services: Services, bot: object, chat_id: int, resident: ResidentView, source: str) -> None:
    """Hand the resident to a person: the case, the cards, a plain word on when someone answers."""
    with services.uow() as uow:
        case, created = handoffs.open_case(uow, services.clock, resident.id, source=source)
    if not created:
        await bot.send_message(chat_id, texts.HANDOFF_ALREADY)  # type: ignore[attr-defined]
        return
    if case.territory_id is None:
        await ask_territory(services, bot, chat_id, resident, case)
        return
    await services.rasa.pause(resident.public_id)
    await announce_case(services, bot, chat_id, case, source)


async def announce_case(services: Services, bot: object, chat_id: int, case: CaseView, source: str) -> None:
    now, tz = services.clock.now(), services.settings.tz
    sent = await send_cards(services, bot, case)
    if sent == 0:
        await tell_coordinators(services, bot, case, texts.NOBODY_AVAILABLE)
    if office_hours.is_open(now, tz) and sent:
        opened = {"fallback": texts.HANDOFF_FALLBACK, "screening": texts.HANDOFF_SCREENING}.get(
            source, texts.HANDOFF_OPENED
        )
        await bot.send_message(chat_id, opened)  # type: ignore[attr-defined]
    else:
        soonest = now + _HALF_DAY if office_hours.is_open(now, tz) else now  # open, but nobody available
        opening = next_permanence(services, case) or office_hours.next_opening(soonest, tz)
        when = office_hours.say_when(opening, now, tz)
        await bot.send_message(chat_id, texts.HANDOFF_OPENED_CLOSED_HOURS.format(quand=when))  # type: ignore[attr-defined]


_HALF_DAY = dt.timedelta(hours=3)


def next_permanence(services: Services, case: CaseView) -> dt.datetime | None:
    """When the adulte-relais of the resident's own quartier is next at their permanence, if known."""
    from outreach.services import booking

    with services.uow() as uow:
        slots = booking.next_free_slots(
            uow,
            services.clock,
            territory_id=case.territory_id,
            quartier_id=case.quartier_id,
            limit=3,
            notice=dt.timedelta(0),
            tz=services.settings.tz,
        )
    own = [slot.starts_at for slot in slots if slot.proximity == 0]
    return min(own) if own else None


async def ask_territory(services: Services, bot: object, chat_id: int, resident: ResidentView, case: CaseView) -> None:
    from bot.app import send_replies

    buttons = (
        Button("Dijon métropole", f"!terr:{case.id}:dijon"),
        Button("Troyes Champagne Métropole", f"!terr:{case.id}:troyes"),
        Button("Ailleurs", f"!terr:{case.id}:autre"),
    )
    await send_replies(services, bot, chat_id, resident, [Reply(texts.WHICH_TERRITORY, buttons=buttons)])


async def territory_chosen(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case_id: int, territory_id: str
) -> None:
    if territory_id not in ("dijon", "troyes"):
        with services.uow() as uow:
            handoffs.close(uow, services.clock, case_id, by="resident")
        await bot.send_message(chat_id, texts.OUTSIDE_TERRITORY)  # type: ignore[attr-defined]
        return
    with services.uow() as uow:
        case = handoffs.set_territory(uow, case_id, resident.id, territory_id)
    if case is None:
        await bot.send_message(chat_id, texts.BUTTON_EXPIRED)  # type: ignore[attr-defined]
        return
    await services.rasa.pause(resident.public_id)
    await announce_case(services, bot, chat_id, case, case.source)


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
    if member is None or member.chat_id is None:
        await bot.send_message(chat_id, texts.HANDOFF_QUEUED)  # type: ignore[attr-defined]
        return
    await relay_to_staff(bot, member.chat_id, case.first_name, kind, text, file_id)


def _media(message: Message) -> tuple[str, str | None]:
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.document is not None:
        return "document", message.document.file_id
    return "text", None


async def relay_to_staff(
    bot: object, chat_id: int, first_name: str, kind: str, text: str | None, file_id: str | None
) -> None:
    legende = f" : {text}" if text else ""
    if kind == "photo" and file_id:
        await bot.send_photo(
            chat_id,
            file_id,
            caption=texts.RESIDENT_SENT_PHOTO.format(  # type: ignore[attr-defined]
                prenom=first_name, legende=legende
            )[:1024],
        )
    elif kind == "document" and file_id:
        await bot.send_document(
            chat_id,
            file_id,
            caption=texts.RESIDENT_SENT_DOCUMENT.format(  # type: ignore[attr-defined]
                prenom=first_name, legende=legende
            )[:1024],
        )
    else:
        await bot.send_message(chat_id, texts.RESIDENT_SAYS.format(prenom=first_name, texte=text))  # type: ignore[attr-defined]


async def end_by_resident(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case: CaseView
) -> None:
    with services.uow() as uow:
        closed = handoffs.close(uow, services.clock, case.id, by="resident")
        member = staff.get(uow, case.staff_id) if case.staff_id else None
    await services.rasa.resume(resident.public_id)
    if closed is None:
        return
    if case.status == HandoffStatus.waiting:
        await _edit_cards(services, bot, case.id, texts.CARD_GONE)
        await bot.send_message(chat_id, texts.HANDOFF_CANCELLED_WAITING)  # type: ignore[attr-defined]
        return
    await ask_satisfaction(services, bot, chat_id, resident, case.id, texts.HANDOFF_ENDED_BY_RESIDENT)
    if member is not None and member.chat_id is not None:
        await bot.send_message(  # type: ignore[attr-defined]
            member.chat_id,
            texts.CASE_ENDED_BY_RESIDENT.format(prenom=case.first_name),
            reply_markup=_outcome_keyboard(case.id, after=True),
        )


async def ask_satisfaction(
    services: Services, bot: object, chat_id: int, resident: ResidentView, case_id: int, text: str
) -> None:
    from bot.app import send_replies

    buttons = tuple(Button(f"{'⭐' * n}", f"!sat:{case_id}:{n}") for n in range(1, 6))
    await send_replies(services, bot, chat_id, resident, [Reply(text, buttons=buttons)])


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
    signed = texts.HANDOFF_FROM_STAFF.format(prenom=member.first_name, texte=text) if text else member.first_name
    try:
        if kind == "photo" and file_id:
            await context.bot.send_photo(case.resident_chat_id, file_id, caption=signed[:1024])
        elif kind == "document" and file_id:
            await context.bot.send_document(case.resident_chat_id, file_id, caption=signed[:1024])
        elif text:
            await context.bot.send_message(case.resident_chat_id, signed)
    except Forbidden:
        await message.reply_text("Ce message n'a pas pu être remis : l'habitant a bloqué le bot.")


async def staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every staff button ("s:…"), checked against the staff member's rights."""
    services = services_of(context)
    query = update.callback_query
    member = _current_staff(services, update)
    if member is None:
        await query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    parts = (query.data or "").split(":")
    verb = parts[1] if len(parts) > 1 else ""
    arg = parts[2] if len(parts) > 2 else ""
    case_id = int(arg) if arg.isdigit() else None
    try:
        await _STAFF_ACTIONS.get(verb, _unknown)(Press(services, update, context, member, case_id, parts[3:]))
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
    await update.callback_query.answer()
    with services.uow() as uow:
        waiting = handoffs.waiting_in(uow, member.territory_id)
    if not waiting:
        await context.bot.send_message(update.effective_chat.id, texts.STAFF_NO_PENDING)
        return
    for case in waiting[:10]:
        with services.uow() as uow:
            handoffs.view_case(uow, services.clock, case.id, member)
        waited = _minutes((services.clock.now() - case.created_at).total_seconds())
        await context.bot.send_message(
            update.effective_chat.id,
            f"{texts.CASE_LINE.format(prenom=case.first_name, quartier=_quartier(case), raison=case.reason)}"
            f" — en attente depuis {waited}",
            reply_markup=markup([[(texts.CARD_TAKE, f"s:take:{case.id}")]]),
        )


async def _mine(press: Press) -> None:
    services, update, context, member = press.services, press.update, press.context, press.member
    await update.callback_query.answer()
    with services.uow() as uow:
        cases = handoffs.mine(uow, member.id)
    if not cases:
        await context.bot.send_message(update.effective_chat.id, texts.STAFF_NO_CASE)
        return
    for case in cases:
        await context.bot.send_message(
            update.effective_chat.id,
            texts.CASE_LINE.format(prenom=case.first_name, quartier=_quartier(case), raison=case.reason),
            reply_markup=markup(
                [
                    [(texts.CASE_WRITE.format(prenom=case.first_name), f"s:focus:{case.id}")],
                    [(texts.CASE_CLOSE, f"s:close:{case.id}"), (texts.CASE_TRANSFER, f"s:transfer:{case.id}")],
                ]
            ),
        )


async def _appointments(press: Press) -> None:
    services, update, context, member = press.services, press.update, press.context, press.member
    from bot import booking

    await update.callback_query.answer()
    await booking.staff_agenda(services, context.bot, update.effective_chat.id, member)


async def _mark(press: Press) -> None:
    """After an appointment: seen / no_show / excused, one button ("s:mark:<appointment id>:<status>")."""
    services, update, member, case_id, rest = press.services, press.update, press.member, press.case_id, press.rest
    from bot import booking

    if case_id is None or not rest:
        await update.callback_query.answer(texts.BUTTON_EXPIRED_ALERT)
        return
    await booking.staff_mark(services, update, member, case_id, rest[0])


async def _edit_cards(
    services: Services, bot: object, case_id: int, text: str, *, except_staff: int | None = None
) -> None:
    with services.uow() as uow:
        cards = handoffs.cards_of(uow, case_id)
    for card in cards:
        if card.staff_id == except_staff:
            continue
        try:
            await bot.edit_message_text(text, chat_id=card.chat_id, message_id=card.message_id)  # type: ignore[attr-defined]
        except TelegramError:
            pass  # too old or already edited: nothing to do


async def _take(press: Press) -> None:
    services, update, context, member, case_id = (
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
        result = handoffs.claim(uow, services.clock, case_id, member)
    if not result.won or result.case is None:
        taken = texts.CARD_TAKEN_BY.format(prenom=result.taken_by) if result.taken_by else texts.CARD_GONE
        await query.answer(taken)
        try:
            await query.edit_message_text(taken)
        except BadRequest:
            pass
        return
    case = result.case
    await query.answer()
    await query.edit_message_text(texts.CARD_TAKEN_BY_YOU.format(prenom=case.first_name))
    await _edit_cards(
        services, context.bot, case.id, texts.CARD_TAKEN_BY.format(prenom=member.first_name), except_staff=member.id
    )
    await context.bot.send_message(case.resident_chat_id, texts.HANDOFF_CLAIMED.format(prenom=member.first_name))
    with services.uow() as uow:
        queued = handoffs.take_queued(uow, case.id)
    for item in queued:
        await relay_to_staff(context.bot, update.effective_chat.id, case.first_name, item.kind, item.text, item.file_id)


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
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, texts.CASE_FOCUS.format(prenom=case.first_name))


def _outcome_keyboard(case_id: int, *, after: bool = False) -> InlineKeyboardMarkup:
    verb = "outcome" if after else "out"
    return markup(
        [[(label, f"s:{verb}:{case_id}:{outcome.value}")] for outcome, label in handoffs.OUTCOME_LABELS.items()]
    )


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
    await update.callback_query.answer()
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
    services, update, context, member, case_id, rest = (
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
        case = handoffs.close(uow, services.clock, case_id, by="staff", staff=member, outcome=outcome)
    if case is None:
        await query.answer(texts.CARD_GONE)
        return
    await query.answer()
    await query.edit_message_text(
        texts.CASE_CLOSED.format(prenom=case.first_name, issue=handoffs.OUTCOME_LABELS[outcome])
    )
    await services.rasa.resume(case.resident_public_id)
    from bot.app import resident_view

    resident = resident_view(services, case.resident_id)
    if resident is not None:
        await ask_satisfaction(
            services,
            context.bot,
            case.resident_chat_id,
            resident,
            case.id,
            texts.HANDOFF_CLOSED.format(prenom=member.first_name),
        )


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
    await query.answer()
    await query.edit_message_text(f"Issue enregistrée : {handoffs.OUTCOME_LABELS[outcome]}. Pour une note : /note …")


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
    await update.callback_query.answer()
    if not colleagues:
        await context.bot.send_message(update.effective_chat.id, texts.CASE_NO_COLLEAGUE)
        return
    await context.bot.send_message(
        update.effective_chat.id,
        texts.CASE_TRANSFER_TO.format(prenom=case.first_name),
        reply_markup=markup([[(c.first_name, f"s:to:{case_id}:{c.id}")] for c in colleagues]),
    )


async def _transfer_to(press: Press) -> None:
    services, update, context, member, case_id, rest = (
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
        case = handoffs.transfer(uow, services.clock, case_id, member, int(rest[0]))
        colleague = staff.get(uow, int(rest[0]))
    await query.answer()
    assert colleague is not None
    await query.edit_message_text(texts.CASE_TRANSFERRED.format(prenom=case.first_name, collegue=colleague.first_name))
    if colleague.chat_id is not None:
        await context.bot.send_message(
            colleague.chat_id, texts.CASE_RECEIVED.format(collegue=member.first_name, prenom=case.first_name)
        )
    await context.bot.send_message(case.resident_chat_id, texts.HANDOFF_TRANSFERRED.format(prenom=colleague.first_name))


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
