"""Handoff to adultes-relais, end to end with several chats: a resident, adultes-relais of Dijon, one
of Troyes, a coordinator. Real PTB Application ⇄ Bot API emulator, real Rasa; a frozen clock in office
hours (Tuesday 1 December 2026, 10:00 in Paris) so that waiting times and re-sends are controlled."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import staff as staff_bot
from db.engine import UnitOfWork
from db.models import AuditLog, Handoff, HandoffCard, HandoffOutcome, HandoffStatus, StaffRole
from outreach import texts
from outreach.clock import FrozenClock
from outreach.services import residents
from outreach.services import staff as staff_service
from tests.booking.test_crash import eventually
from tests.conftest import BotHarness, RasaStack, bot_running
from tests.e2e.test_conversation import consent

pytestmark = pytest.mark.rasa

OFFICE_HOURS = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Paris
SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


@dataclass
class Team:
    harness: BotHarness
    clock: FrozenClock
    telegram: object

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.harness.engine)

    async def member(
        self,
        user_id: int,
        name: str,
        territory: str,
        *,
        role: StaffRole = StaffRole.relay,
        available: bool = True,
        languages: list[str] | None = None,
    ) -> object:
        """A staff member onboarded through an invite (speaking `languages` besides French), available unless told
        otherwise."""
        with self.uow() as uow:
            invite = staff_service.create_invite(
                uow, self.clock, role=role, territory_id=territory, first_name=name, languages=languages
            )
        user = await self.telegram.user(user_id, name)  # type: ignore[attr-defined]
        await user.send(f"/start {invite.code}")
        welcome = await user.next_message()
        assert welcome.text.startswith(f"Bienvenue {name}")
        menu = await user.next_message()
        assert texts.STAFF_PENDING in menu.buttons
        if available:
            await user.press(texts.STAFF_AVAILABLE, message=menu)
            await user.wait_for(lambda m: m.edited and texts.STAFF_UNAVAILABLE in m.buttons)
        return user

    async def resident(
        self, user_id: int, name: str, commune: str | None = "Dijon", quartier: str | None = "gresilles",
        *, language: str = "fr",
    ) -> object:
        user = await self.telegram.user(user_id, name, language_code=language)  # type: ignore[attr-defined]
        await consent(user, language=language)
        if commune:
            with self.uow() as uow:
                view = residents.find(uow, self.clock, user_id)
                assert view is not None
                residents.set_place(uow, view.id, commune_name=commune, quartier_id=quartier)
        return user

    def cases(self) -> list[Handoff]:
        with self.uow() as uow:
            return list(uow.session.exec(select(Handoff)).all())


@pytest.fixture
async def team(emulator: object, telegram: object, rasa_stack: RasaStack, sqlite_engine: Engine) -> AsyncIterator[Team]:
    clock = FrozenClock(OFFICE_HOURS)
    async with bot_running(emulator, sqlite_engine, str(sqlite_engine.url), rasa_stack.url, clock=clock) as harness:
        yield Team(harness, clock, telegram)


async def card_of(user: object) -> object:
    return await user.wait_for(lambda m: not m.edited and texts.CARD_TAKE in m.buttons)


async def ask_for_someone(resident: object) -> object:
    await resident.send("je veux parler a une vraie personne svp")
    return await resident.wait_for(lambda m: not m.edited)


class TestOnboarding:
    async def test_an_invite_makes_staff_who_see_the_staff_menu_not_the_resident_flow(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        await samia.send("bonjour")
        assert (await samia.next_message()).text == texts.STAFF_NO_CASE
        assert texts.STAFF_MINE in (await samia.next_message()).buttons  # the menu again, never the consent

    async def test_reused_expired_and_forged_codes_are_refused(self, team: Team) -> None:
        with team.uow() as uow:
            used = staff_service.create_invite(
                uow, team.clock, role=StaffRole.relay, territory_id="dijon", first_name="Samia"
            )
            old = staff_service.create_invite(
                uow, team.clock, role=StaffRole.relay, territory_id="dijon", first_name="Yannick"
            )
        samia = await team.telegram.user(2001, "Samia")
        await samia.send(f"/start {used.code}")
        assert (await samia.next_message()).text.startswith("Bienvenue Samia")
        intruder = await team.telegram.user(2999, "Intrus")
        for code in (used.code, "st-forgedcode000000000", "st-" + "x" * 60):
            await intruder.send(f"/start {code}")
            assert (await intruder.wait_for(lambda m: not m.edited)).text == texts.INVITE_INVALID
        team.clock.advance(days=8)
        await intruder.send(f"/start {old.code}")
        assert (await intruder.wait_for(lambda m: not m.edited)).text == texts.INVITE_INVALID
        with team.uow() as uow:
            assert staff_service.find(uow, 2999) is None

    async def test_a_disabled_account_loses_access_at_once(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        with team.uow() as uow:
            member = staff_service.find(uow, 2001)
            assert member is not None
            staff_service.disable(uow, team.clock, member.id)
        await samia.send("bonjour")
        assert (await samia.next_message()).text == texts.STAFF_DISABLED
        amina = await team.resident(1001, "Amina")
        answer = await ask_for_someone(amina)  # told after the cards went out
        assert answer.text.startswith("C'est noté : je préviens un adulte-relais. Les adultes-relais répondent")
        assert not [m for m in await samia.drain() if texts.CARD_TAKE in m.buttons]


class TestCards:
    async def test_a_dijon_case_reaches_the_available_dijon_relays_only(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        yannick = await team.member(2002, "Yannick", "dijon")
        busy = await team.member(2003, "Léa", "dijon", available=False)
        ines = await team.member(3001, "Inès", "troyes")
        amina = await team.resident(1001, "Amina")
        await amina.send("bonjour")
        await amina.next_message()
        answer = await ask_for_someone(amina)
        assert answer.text == texts.HANDOFF_OPENED
        for relay in (samia, yannick):
            card = await card_of(relay)
            assert card.text.startswith("🆕 Amina (Grésilles)")
            assert "Demande à parler à quelqu'un" in card.text and "En attente depuis" in card.text
            assert "je veux parler a une vraie personne" in card.text  # the last exchanges
            assert card.buttons == [texts.CARD_TAKE, texts.CARD_LATER]
        assert not [m for m in await ines.drain() + await busy.drain() if texts.CARD_TAKE in m.buttons]
        def audited() -> int:  # each card is a staff access to the resident's data, written once it is sent
            with team.uow() as uow:
                return len(uow.session.exec(select(AuditLog).where(AuditLog.action == "handoff_card")).all())

        await eventually(lambda: audited() == 2, 10, "an audit row per card delivered")

    async def test_five_relays_press_at_once_and_exactly_one_wins(self, team: Team) -> None:
        names = ["Samia", "Yannick", "Léa", "Hugo", "Nora"]
        relays = [await team.member(2001 + i, name, "dijon") for i, name in enumerate(names)]
        amina = await team.resident(1001, "Amina")
        await ask_for_someone(amina)
        cards = [await card_of(relay) for relay in relays]

        def recorded() -> int:  # the outbox records each card's message (to edit it) once Telegram took it
            with team.uow() as uow:
                return len(uow.session.exec(select(HandoffCard)).all())

        await eventually(lambda: recorded() == len(relays), 10, "every card recorded")
        await asyncio.gather(*(r.press(texts.CARD_TAKE, message=c) for r, c in zip(relays, cards, strict=True)))
        [case] = team.cases()
        assert case.status == HandoffStatus.claimed and case.staff_id is not None
        edited = []
        for relay in relays:
            last = await relay.wait_for(lambda m: m.edited and ("Pris par" in m.text or "Vous avez pris" in m.text))
            edited.append(last.text)
        assert sum(text.startswith("Vous avez pris") for text in edited) == 1
        winners = {text for text in edited if text.startswith("✔️ Pris par")}
        assert len(winners) == 1 and len([t for t in edited if t.startswith("✔️ Pris par")]) == 4
        claimed_by = winners.pop().removeprefix("✔️ Pris par ")
        assert (await amina.wait_for(lambda m: not m.edited)).text.startswith(f"Bonjour, c'est {claimed_by}")

    async def test_a_resident_with_no_known_place_is_asked_the_territory_first(self, team: Team) -> None:
        ines = await team.member(3001, "Inès", "troyes")
        karim = await team.resident(1002, "Karim", commune=None)
        question = await ask_for_someone(karim)
        assert question.text == texts.WHICH_TERRITORY
        await karim.press("Troyes Champagne Métropole", message=question)
        assert (await karim.wait_for(lambda m: not m.edited)).text == texts.HANDOFF_OPENED
        assert (await card_of(ines)).text.startswith("🆕 Karim")


class TestRelay:
    async def claimed(self, team: Team) -> tuple[object, object]:
        samia = await team.member(2001, "Samia", "dijon")
        amina = await team.resident(1001, "Amina")
        await ask_for_someone(amina)
        await samia.press(texts.CARD_TAKE, message=await card_of(samia))
        await samia.wait_for(lambda m: m.edited and m.text.startswith("Vous avez pris"))
        assert (await amina.wait_for(lambda m: not m.edited)).text.startswith("Bonjour, c'est Samia")
        return amina, samia

    async def test_messages_and_a_photo_go_both_ways_and_the_bot_stays_silent(
        self, team: Team, rasa_stack: RasaStack
    ) -> None:
        amina, samia = await self.claimed(team)
        await amina.send("bonjour, j'ai recu une lettre de la caf")
        assert (await samia.next_message()).text == "Amina : bonjour, j'ai recu une lettre de la caf"
        await amina.send_kind("photo", caption="la lettre")
        photo = await samia.next_message()
        assert photo.kind == "photo" and photo.text == "Amina a envoyé une photo : la lettre"
        await amina.send_document(b"%PDF-1.4 courrier", "courrier-caf.pdf", "application/pdf")
        document = await samia.next_message()
        assert document.kind == "document" and document.text.startswith("Amina a envoyé un document")
        await amina.send_kind("voice")  # no offline transcription: the voice note itself reaches the relay
        voice = await samia.next_message()
        assert voice.kind == "voice" and voice.text.startswith("🎤 Amina a envoyé un message vocal")
        await samia.send("Je regarde ça, un instant")
        assert (await amina.next_message()).text == "Samia : Je regarde ça, un instant"
        assert await amina.drain() == []  # the bot never talked over the person
        with team.uow() as uow:
            resident = residents.find(uow, team.clock, 1001)
        assert resident is not None
        async with rasa_stack.client() as http:
            tracker = (await http.get(f"/conversations/{resident.public_id}/tracker")).json()
        assert tracker["paused"] is True

    async def test_close_with_an_outcome_asks_satisfaction_and_resumes_the_bot(
        self, team: Team, rasa_stack: RasaStack
    ) -> None:
        amina, samia = await self.claimed(team)
        await samia.press(texts.STAFF_MINE)
        line = await samia.wait_for(lambda m: texts.CASE_CLOSE in m.buttons)
        await samia.press(texts.CASE_CLOSE, message=line)
        outcomes = await samia.wait_for(lambda m: "Droit ouvert" in m.buttons)
        await samia.press("Droit ouvert", message=outcomes)
        assert (await samia.wait_for(lambda m: m.edited)).text.startswith("Cas de Amina clos (Droit ouvert)")
        question = await amina.wait_for(lambda m: not m.edited)
        assert question.text.startswith("Samia a terminé la conversation") and len(question.buttons) == 5
        await amina.press("⭐⭐⭐⭐", message=question)
        assert (await amina.wait_for(lambda m: not m.edited)).text == texts.SATISFACTION_THANKS
        [case] = team.cases()
        assert (case.status, case.outcome, case.satisfaction) == (HandoffStatus.closed, HandoffOutcome.droit_ouvert, 4)
        await samia.send("/note dossier CAF déposé")
        assert (await samia.wait_for(lambda m: not m.edited)).text == texts.NOTE_SAVED
        await amina.send("bonjour")
        assert "Bonjour" in (await amina.wait_for(lambda m: not m.edited)).text  # Rasa is back

    async def test_the_resident_can_end_it_with_fin(self, team: Team) -> None:
        amina, samia = await self.claimed(team)
        await amina.send("fin")
        assert (await amina.next_message()).text == texts.HANDOFF_ENDED_BY_RESIDENT
        told = await samia.wait_for(lambda m: not m.edited and "a mis fin" in m.text)
        await samia.press("Orienté vers un service", message=told)
        assert (await samia.wait_for(lambda m: m.edited)).text.startswith("Issue enregistrée")
        [case] = team.cases()
        assert (case.closed_by, case.outcome) == ("resident", HandoffOutcome.oriente)

    async def test_a_case_can_be_transferred_to_a_colleague(self, team: Team) -> None:
        amina, samia = await self.claimed(team)
        yannick = await team.member(2002, "Yannick", "dijon")
        await samia.press(texts.STAFF_MINE)
        line = await samia.wait_for(lambda m: texts.CASE_TRANSFER in m.buttons)
        await samia.press(texts.CASE_TRANSFER, message=line)
        choice = await samia.wait_for(lambda m: "Yannick" in m.buttons)
        await samia.press("Yannick", message=choice)
        assert (await yannick.wait_for(lambda m: not m.edited)).text.startswith("Samia vous transfère le cas de Amina")
        assert (await amina.wait_for(lambda m: not m.edited)).text.startswith("Yannick va continuer")
        await yannick.send("Bonjour Amina")
        assert (await amina.next_message()).text == "Yannick : Bonjour Amina"


class TestTriggers:
    async def test_the_second_misunderstanding_in_a_row_hands_off(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        amina = await team.resident(1001, "Amina")
        await amina.send("azerty qsdf")
        assert "pas bien compris" in (await amina.next_message()).text
        await amina.send("blorg fnak zut")
        assert (await amina.next_message()).text == texts.HANDOFF_FALLBACK
        assert "n'a pas compris deux messages" in (await card_of(samia)).text

    async def test_the_parler_a_quelqu_un_button_hands_off(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        amina = await team.telegram.user(1001, "Amina")
        welcome = await consent(amina)
        with team.uow() as uow:
            view = residents.find(uow, team.clock, 1001)
            assert view is not None
            residents.set_place(uow, view.id, commune_name="Chenôve", quartier_id="le_mail")
        await amina.press("Parler à quelqu'un", message=welcome)
        assert (await amina.wait_for(lambda m: not m.edited)).text == texts.HANDOFF_OPENED
        assert "A appuyé sur « Parler à quelqu'un »" in (await card_of(samia)).text

    async def test_messages_sent_while_waiting_reach_whoever_takes_the_case(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        amina = await team.resident(1001, "Amina")
        await ask_for_someone(amina)
        await amina.send("c'est pour mon dossier de logement")
        assert (await amina.next_message()).text == texts.HANDOFF_QUEUED
        await amina.send("merci")
        await samia.press(texts.CARD_TAKE, message=await card_of(samia))
        lines: list[str] = []
        while len(lines) < 2:  # in order, in one message or two (waiting lines may leave together)
            lines += (await samia.wait_for(lambda m: m.text.startswith("Amina :"))).text.split("\n")
        assert lines == ["Amina : c'est pour mon dossier de logement", "Amina : merci"]


class TestWaiting:
    async def test_a_card_nobody_takes_in_15_minutes_is_sent_again_and_the_coordinator_told(self, team: Team) -> None:
        samia = await team.member(2001, "Samia", "dijon")
        claire = await team.member(2100, "Claire", "dijon", role=StaffRole.coordinator, available=False)
        amina = await team.resident(1001, "Amina")
        await ask_for_someone(amina)
        await card_of(samia)
        team.clock.advance(minutes=14)
        assert await staff_bot.resend_waiting_cases(team.harness.services) == 0
        team.clock.advance(minutes=2)
        assert await staff_bot.resend_waiting_cases(team.harness.services) == 1
        again = await card_of(samia)
        assert again.text.startswith(texts.RESEND_PREFIX) and "16 min" in again.text
        alert = await claire.wait_for(lambda m: not m.edited)
        assert alert.text.startswith("⏰ Un cas attend depuis 16 min") and "Amina" in alert.text
        assert await staff_bot.resend_waiting_cases(team.harness.services) == 0  # once

    async def test_the_troyes_relay_never_receives_a_dijon_case_nor_can_take_it(self, team: Team) -> None:
        ines = await team.member(3001, "Inès", "troyes")
        samia = await team.member(2001, "Samia", "dijon")
        amina = await team.resident(1001, "Amina")
        await ask_for_someone(amina)
        card = await card_of(samia)
        [case] = team.cases()
        forged = await ines.press_data(card.message_id, f"s:take:{case.id}")
        assert await ines.callback_answer(forged) == texts.STAFF_NOT_FOR_YOU
        await ines.press(texts.STAFF_PENDING)
        assert (await ines.wait_for(lambda m: not m.edited and not m.buttons)).text == texts.STAFF_NO_PENDING
        assert team.cases()[0].status == HandoffStatus.waiting

    async def test_forged_staff_buttons_from_a_resident_are_refused(self, team: Team) -> None:
        amina = await team.resident(1001, "Amina")
        for forged in ("s:take:1", "s:out:1:droit_ouvert", "s:avail:1"):
            query = await amina.press_data(1, forged)
            assert await amina.callback_answer(query) == texts.BUTTON_EXPIRED_ALERT


async def test_outside_office_hours_the_resident_is_told_when_someone_answers(
    emulator: object, telegram: object, rasa_stack: RasaStack, sqlite_engine: Engine
) -> None:
    clock = FrozenClock(SATURDAY)
    async with bot_running(emulator, sqlite_engine, str(sqlite_engine.url), rasa_stack.url, clock=clock) as harness:
        team = Team(harness, clock, telegram)
        await team.member(2001, "Samia", "dijon")
        amina = await team.resident(1001, "Amina")
        answer = await ask_for_someone(amina)
        assert answer.text == texts.HANDOFF_OPENED_CLOSED_HOURS.format(quand="lundi 7 décembre à 9 h")


class TestConsoleLink:
    async def test_console_gives_a_single_use_login_link_to_staff_with_access(self, team: Team) -> None:
        from fastapi.testclient import TestClient

        from outreach.console.web import create_app
        from outreach.services import console_accounts as accounts
        from tests.console.conftest import csrf_of

        samia = await team.member(2301, "Samia", "dijon", available=False)
        await samia.send("/console")
        assert (await samia.next_message()).text == texts.CONSOLE_NO_ACCESS
        with team.uow() as uow:
            member = staff_service.find(uow, 2301)
            assert member is not None
            accounts.grant(uow, team.clock, member.id, "samia")
        await samia.send("/console")
        answer = await samia.next_message()
        assert answer.text.startswith("Votre lien pour ouvrir la console") and "/connexion/lien/" in answer.text
        await samia.send("/console")
        assert (await samia.next_message()).text == texts.CONSOLE_LINK_WAIT  # one a minute
        settings = team.harness.services.settings
        path = "/connexion/lien/" + answer.text.rsplit("/connexion/lien/", 1)[1]
        with TestClient(create_app(team.harness.engine, team.clock, settings), follow_redirects=False) as client:
            page = client.get(path)
            assert client.post(path, data={"csrf_token": csrf_of(page.text)}).status_code == 303
            assert "Samia" in client.get("/").text
