"""Appointments end to end: real PTB Application ⇄ Bot API emulator, real Rasa, the demo permanences
(outreach seed-demo), a frozen clock (Monday 30 November 2026, 10:00 in Paris), the outbox dispatcher
run by hand for the adulte-relais' notice and the reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Appointment, AppointmentStatus, Staff
from outreach import bootstrap
from outreach.clock import FrozenClock
from outreach.outbox import QuietHours
from outreach.seed import seed_demo
from outreach.senders import BotApiSender
from tests.conftest import TOKEN, BotHarness, RasaStack, bot_running
from tests.e2e.test_conversation import consent

pytestmark = pytest.mark.rasa

MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # 10:00 in Paris


@dataclass
class Desk:
    harness: BotHarness
    clock: FrozenClock
    telegram: object
    emulator: object

    def appointments(self) -> list[Appointment]:
        with UnitOfWork(self.harness.engine) as uow:
            return list(uow.session.exec(select(Appointment)).all())

    async def dispatch(self) -> None:
        """What the service's outbox job does every second."""
        async with BotApiSender(self.emulator.base_url, TOKEN) as sender:  # type: ignore[attr-defined]
            dispatcher = bootstrap.make_dispatcher(self.harness.engine, self.clock, sender, quiet=QuietHours.never())
            await dispatcher.run_once(budget=10)

    async def samia(self) -> object:
        """The demo adulte-relais of the Grésilles, on Telegram (as after her invite)."""
        with UnitOfWork(self.harness.engine) as uow:
            row = uow.session.exec(select(Staff).where(Staff.first_name == "Samia")).one()
            row.telegram_user_id, row.chat_id = 2001, 2001
            uow.session.add(row)
            uow.commit()
        return await self.telegram.user(2001, "Samia")  # type: ignore[attr-defined]


@pytest.fixture
async def desk(emulator: object, telegram: object, rasa_stack: RasaStack, sqlite_engine: Engine) -> AsyncIterator[Desk]:
    clock = FrozenClock(MONDAY)
    with UnitOfWork(sqlite_engine) as uow:
        seed_demo(uow, clock)
    async with bot_running(emulator, sqlite_engine, str(sqlite_engine.url), rasa_stack.url, clock=clock) as harness:
        yield Desk(harness, clock, telegram, emulator)


async def where(user: object) -> None:
    """The place form, answered with buttons: Dijon, Grésilles."""
    question = await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 1 sur 2"))
    await user.press("Dijon", message=question)
    second = await user.wait_for(lambda m: not m.edited and m.text.startswith("Question 2 sur 2"))
    await user.press("Grésilles", message=second)


async def proposals(user: object) -> object:
    return await user.wait_for(lambda m: not m.edited and "Autres créneaux" in m.buttons, timeout=30)


async def book_first_slot(desk: Desk, user: object, request: str = "je voudrais un rendez-vous") -> object:
    await user.send(request)
    await where(user)
    topic = await user.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    await user.press(topic.buttons[0], message=topic)
    offer = await proposals(user)
    await user.press(offer.buttons[0], message=offer)
    return await user.wait_for(lambda m: not m.edited and m.text.startswith("C'est noté"), timeout=30)


async def test_booking_with_buttons_confirms_with_a_calendar_file_and_tells_the_relay(desk: Desk) -> None:
    samia = await desk.samia()
    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    confirmation = await book_first_slot(desk, amina)
    assert "Samia" in confirmation.text and "Grésilles" in confirmation.text and "apporter" in confirmation.text
    assert "Plan : https://" in confirmation.text
    calendar = await amina.wait_for(lambda m: m.document is not None)
    assert calendar.document["file_name"].endswith(".ics")
    ics = (await desk.telegram.file_bytes(calendar.document["file_id"])).decode()
    assert "BEGIN:VEVENT" in ics and "DTSTART;TZID=Europe/Paris:20261201T1400" in ics
    [appointment] = desk.appointments()
    assert appointment.status == AppointmentStatus.booked
    await desk.dispatch()
    notice = await samia.wait_for(lambda m: not m.edited)
    assert "Amina" in notice.text


async def test_booking_with_a_wish_in_words_offers_that_moment(desk: Desk) -> None:
    karim = await desk.telegram.user(1002, "Karim")
    await consent(karim)
    await karim.send("je voudrais un rdv demain aprem")
    await where(karim)
    topic = await karim.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    await karim.press(topic.buttons[1], message=topic)
    offer = await proposals(karim)
    slots = [b for b in offer.buttons if "·" in b]
    assert slots and all(b.startswith("mar. 1er déc.") for b in slots), slots
    assert all(int(b.split(" ")[3]) >= 14 for b in slots)  # the afternoon
    await karim.press(slots[0], message=offer)
    assert (await karim.wait_for(lambda m: not m.edited)).text.startswith("C'est noté : rendez-vous mardi 1er")


async def test_see_cancel_and_reschedule_my_appointment(desk: Desk) -> None:
    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    await book_first_slot(desk, amina)
    await amina.send("c'est quand mon rdv deja ?")
    mine = await amina.wait_for(lambda m: not m.edited and m.text.startswith("📅"))
    assert "Samia" in mine.text and mine.buttons == ["Annuler", "Changer", "Fichier calendrier"]
    await amina.press("Changer", message=mine)
    offer = await proposals(amina)
    await amina.press(offer.buttons[1], message=offer)
    assert (await amina.wait_for(lambda m: not m.edited)).text.startswith("C'est changé")
    statuses = sorted(str(a.status) for a in desk.appointments())
    assert statuses == ["booked", "cancelled"]
    await amina.send("je dois annuler mon rendez vous")
    confirm = await amina.wait_for(lambda m: not m.edited and "Oui, annuler" in m.buttons)
    await amina.press("Oui, annuler", message=confirm)
    done = await amina.wait_for(lambda m: not m.edited and "annulé" in m.text)
    assert "Prendre un autre rendez-vous" in done.buttons
    assert [str(a.status) for a in desk.appointments()] == ["cancelled", "cancelled"]


async def test_reminder_buttons_and_the_relay_marks_a_no_show(desk: Desk) -> None:
    samia = await desk.samia()
    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    await book_first_slot(desk, amina)
    [appointment] = desk.appointments()
    desk.clock.set(appointment.starts_at - dt.timedelta(hours=2))
    await desk.dispatch()
    reminder = await amina.wait_for(lambda m: not m.edited and "Je viens" in m.buttons)
    await amina.press("Je viens", message=reminder)
    assert (await amina.wait_for(lambda m: not m.edited)).text.startswith("Merci, à")
    desk.clock.set(appointment.starts_at + dt.timedelta(minutes=45))
    await samia.drain()
    await samia.send("/start")
    menu = await samia.wait_for(lambda m: "📅 Mes rendez-vous" in m.buttons)
    await samia.press("📅 Mes rendez-vous", message=menu)
    line = await samia.wait_for(lambda m: "Pas venu" in m.buttons)
    await samia.press("Pas venu", message=line)
    assert (await samia.wait_for(lambda m: m.edited)).text.endswith("👉 pas venu")
    assert desk.appointments()[0].status == AppointmentStatus.no_show
    desk.clock.set(appointment.ends_at + dt.timedelta(hours=1, minutes=1))  # the kind offer waits an hour
    await desk.dispatch()
    offer = await amina.wait_for(lambda m: not m.edited and "Nous ne vous avons pas vu" in m.text)
    assert "Choisir un autre moment" in offer.buttons


async def test_forged_reminder_buttons_are_refused(desk: Desk) -> None:
    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    for forged in ("r:cancel:1", "r:come:999", "f:deja:1:rsa", "r:come:abc"):
        query = await amina.press_data(1, forged)
        assert await amina.callback_answer(query) == "Ce bouton a expiré."


async def test_when_nobody_can_answer_the_resident_is_told_the_next_permanence_of_their_quartier(desk: Desk) -> None:
    from outreach import texts
    from outreach.services import residents

    amina = await desk.telegram.user(1001, "Amina")
    await consent(amina)
    with UnitOfWork(desk.harness.engine) as uow:
        view = residents.find(uow, desk.clock, 1001)
        assert view is not None
        residents.set_place(uow, view.id, commune_name="Dijon", quartier_id="gresilles")
    await amina.send("je veux parler a une vraie personne svp")
    answer = await amina.wait_for(lambda m: not m.edited)
    assert answer.text == texts.HANDOFF_OPENED_CLOSED_HOURS.format(quand="demain à 14 h")  # Tuesday, Grésilles


async def test_at_the_place_question_a_time_is_kept_and_thanks_or_facts_are_not_a_wrong_quartier(desk: Desk) -> None:
    """What people write while asked for their quartier: when they would like to come (kept for the slots), thanks,
    facts about their household. None of it is "Je ne trouve pas ce quartier"."""
    nadia = await desk.telegram.user(1003, "Nadia")
    await consent(nadia)
    await nadia.send("je voudrais un rdv")
    question = await nadia.wait_for(lambda m: not m.edited and m.text.startswith("Question 1 sur 2"))
    await nadia.press("Dijon", message=question)
    await nadia.wait_for(lambda m: not m.edited and m.text.startswith("Question 2 sur 2"))
    for message, answer in (
        ("plutot jeudi matin si possible", "C'est noté, je chercherai d'abord un créneau à ce moment-là."),
        ("merci", "Avec plaisir."),
        ("Je travaille pas et jai 2 enfants, je touche rien", "Merci. Vous pourrez en parler"),
    ):
        await nadia.send(message)
        said = await nadia.wait_for(lambda m: not m.edited)
        assert said.text.startswith(answer), (message, said.text)
        again = await nadia.wait_for(lambda m: not m.edited)
        assert again.text.startswith("Question 2 sur 2"), (message, again.text)
    await nadia.send("gresilles")
    topic = await nadia.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    await nadia.press(topic.buttons[0], message=topic)  # vos droits
    offer = await proposals(nadia)
    slots = [b for b in offer.buttons if "·" in b]
    assert slots and all(b.startswith("jeu. 3 déc.") for b in slots), slots
    assert all(int(b.split(" ")[3]) < 12 for b in slots)  # the morning


async def test_a_question_at_the_topic_is_answered_then_the_topic_is_asked_again(desk: Desk) -> None:
    """ "c'est gratuit ?" while the booking waits for its topic: the answer, then the topic's buttons again, so that
    "pour la caf" is still read as the topic (not as a question about the CAF)."""
    leila = await desk.telegram.user(1004, "Leïla")
    await consent(leila)
    await leila.send("je voudrais un rdv")
    await where(leila)
    topic = await leila.wait_for(lambda m: not m.edited and m.text == "C'est à quel sujet ?")
    await leila.send("c gratuit ?")
    answer = await leila.wait_for(lambda m: not m.edited)
    assert "gratuit" in answer.text.lower(), answer.text
    again = await leila.wait_for(lambda m: not m.edited)
    assert again.text == "Pour continuer votre rendez-vous, choisissez :" and again.buttons == topic.buttons
    await leila.send("pour la caf")
    offer = await proposals(leila)
    assert [b for b in offer.buttons if "·" in b]
    await leila.send("c quand mon rdv ?")  # nothing booked yet: no booking step comes back after the answer
    said = await leila.wait_for(lambda m: not m.edited)
    assert not said.text.startswith("Pour continuer"), said.text
