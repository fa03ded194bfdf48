"""Several service workers (issue 16) in webhook mode, sharing PostgreSQL and Redis, behind a round-robin proxy
(what nginx does in `outreach cluster up`): a chat's updates are handled once and in order whichever worker
gets them, Telegram's secret token is checked, and what a killed worker left behind is handled by another."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app import ChatUpdateProcessor, webhook_secret
from db.engine import make_engine
from db.models import HandoffCard, HandoffStatus
from outreach import inbox, texts
from outreach.cli import prepare_database
from outreach.clock import FrozenClock
from outreach.inloop_server import InLoopServer
from tests.booking.test_crash import eventually
from tests.conftest import BotHarness, RasaStack, bot_running, free_port, postgres_database
from tests.e2e.test_conversation import consent
from tests.e2e.test_handoff import OFFICE_HOURS, Team, ask_for_someone, card_of

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


class RoundRobin:
    """A load balancer in front of the workers' webhooks, taking them in turn (nginx's default)."""

    def __init__(self, ports: list[int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram"
        self.turns = itertools.cycle(ports)
        self.served: list[int] = []
        self.http = httpx.AsyncClient(timeout=30)
        self.server = InLoopServer(
            Starlette(routes=[Route("/telegram", self._forward, methods=["POST"])]), "127.0.0.1", self.port
        )

    async def _forward(self, request: Request) -> Response:
        port = next(self.turns)
        self.served.append(port)
        answer = await self.http.post(
            f"http://127.0.0.1:{port}/telegram", content=await request.body(), headers=dict(request.headers)
        )
        return Response(answer.content, status_code=answer.status_code)


@contextlib.asynccontextmanager
async def workers(
    emulator: object, rasa_stack: RasaStack, redis_url: str, count: int = 2, **services_kw: object
) -> AsyncIterator[tuple[list[BotHarness], RoundRobin, Engine]]:
    """`count` workers on one fresh PostgreSQL database and Redis, in webhook mode behind a round robin."""
    with postgres_database() as url:
        prepare_database(url)
        engine = make_engine(url)
        ports = [free_port() for _ in range(count)]
        balancer = RoundRobin(ports)
        await balancer.server.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                harnesses = []
                for index, port in enumerate(ports, start=1):
                    settings_kw = {
                        "webhook_url": balancer.url,
                        "webhook_port": port,
                        "redis_url": redis_url,
                        "worker_name": f"worker-{index}",
                    }
                    harness = await stack.enter_async_context(
                        bot_running(emulator, engine, url, rasa_stack.url, settings_kw=settings_kw, **services_kw)
                    )
                    harnesses.append(harness)
                yield harnesses, balancer, engine
        finally:
            await balancer.server.stop()
            await balancer.http.aclose()
            engine.dispose()


async def _user_turns(rasa_stack: RasaStack, harness: BotHarness, user_id: int) -> list[str]:
    """What Rasa received from this resident, in the order it received it."""
    with harness.services.uow() as uow:
        from outreach.services import residents

        resident = residents.find(uow, harness.services.clock, user_id, touch=False)
    assert resident is not None
    async with rasa_stack.client() as http:
        events = (await http.get(f"/conversations/{resident.public_id}/tracker")).json()["events"]
    return [e["text"] for e in events if e.get("event") == "user" and not str(e.get("text", "")).startswith("/")]


def _slow_down(harness: BotHarness, texts: list[str], seconds: float = 0.4) -> None:
    rasa = harness.services.rasa
    send = rasa.send

    async def slow_send(sender: str, text: str, metadata: dict[str, object] | None = None) -> object:
        if text in texts:
            await asyncio.sleep(seconds)  # the slowness being simulated
        return await send(sender, text, metadata)

    rasa.send = slow_send  # type: ignore[method-assign]


def text_update(update_id: int, message_id: int, user_id: int, text: str) -> dict[str, object]:
    """A private text message from Amina as Telegram sends it, for an update written straight into the inbox or
    posted to a worker's webhook."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1,
            "text": text,
            "chat": {"id": user_id, "type": "private", "first_name": "Amina"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Amina"},
        },
    }


async def test_a_residents_messages_reach_two_workers_and_are_handled_once_in_order(
    emulator: object, rasa_stack: RasaStack, redis_url: str, telegram: object
) -> None:
    async with workers(emulator, rasa_stack, redis_url) as (harnesses, balancer, _engine):
        amina = await telegram.user(2601, "Amina")  # type: ignore[attr-defined]
        await consent(amina)
        sent = ["je cherche du travail", "j'ai pas de voiture", "et la caf ?", "merci", "au revoir"]
        for harness in harnesses:  # a worker slow on every other message (a pause, a busy core): the next one,
            _slow_down(harness, sent[0::2])  # on the other worker, must wait for it all the same
        for text in sent:  # without waiting for the answers: they alternate between the two workers
            await amina.send(text)
        deadline = asyncio.get_running_loop().time() + 60
        while (got := await _user_turns(rasa_stack, harnesses[0], 2601)) != sent:
            assert len(got) <= len(sent) and got == sent[: len(got)], got  # never out of order, never twice
            assert asyncio.get_running_loop().time() < deadline, got
            await asyncio.sleep(0.1)  # Rasa's tracker is read: no event to wait on
        assert len(set(balancer.served)) == 2  # both workers took some


async def test_the_webhook_refuses_an_update_without_telegrams_secret(
    emulator: object, rasa_stack: RasaStack, redis_url: str
) -> None:
    async with workers(emulator, rasa_stack, redis_url, count=1) as (harnesses, balancer, engine):
        port = next(balancer.turns)
        update = {
            "update_id": 99,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "X"},
                "text": "hi",
            },
        }
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{port}/telegram"
            assert (await http.post(url, json=update)).status_code == 403
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
            assert (await http.post(url, json=update, headers=wrong)).status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(harnesses[0].services.settings)}
            assert (await http.post(url, content=b"{not json", headers=right)).status_code == 400
        assert inbox.pending_in_chat(engine, 5, 10**9) == []  # nothing refused was written down


async def test_an_update_a_killed_worker_left_behind_is_handled_by_another(
    emulator: object, rasa_stack: RasaStack, redis_url: str, telegram: object
) -> None:
    async with workers(emulator, rasa_stack, redis_url) as (harnesses, _balancer, engine):
        amina = await telegram.user(2603, "Amina")  # type: ignore[attr-defined]
        await consent(amina)
        await amina.drain()
        # a worker wrote this update down (Telegram got its 200), then was killed before handling it
        left = text_update(10**9, 900, 2603, "bonjour")
        long_ago = harnesses[1].services.clock.now() - dt.timedelta(minutes=2)
        assert inbox.hold(engine, 10**9, left, long_ago, 2603)
        processor = harnesses[0].application.update_processor  # type: ignore[attr-defined]
        assert isinstance(processor, ChatUpdateProcessor)
        assert await processor.sweep() == 1
        assert (await amina.next_message()).text  # answered
        assert inbox.pending_in_chat(engine, 2603, 10**9) == []
        assert await processor.sweep() == 0  # handled once


async def test_five_relays_press_at_once_on_three_workers_and_exactly_one_wins(
    emulator: object, rasa_stack: RasaStack, redis_url: str, telegram: object
) -> None:
    clock = FrozenClock(OFFICE_HOURS)
    async with workers(emulator, rasa_stack, redis_url, count=3, clock=clock) as (harnesses, balancer, _engine):
        team = Team(harnesses[0], clock, telegram)
        relays = [
            await team.member(2611 + i, name, "dijon")
            for i, name in enumerate(["Samia", "Yannick", "Léa", "Hugo", "Nora"])
        ]
        amina = await team.resident(2610, "Amina")
        await ask_for_someone(amina)
        cards = [await card_of(relay) for relay in relays]

        def recorded() -> int:
            with team.uow() as uow:
                return len(uow.session.exec(select(HandoffCard)).all())

        await eventually(lambda: recorded() == len(relays), 10, "every card recorded")
        before = len(balancer.served)
        await asyncio.gather(*(r.press(texts.CARD_TAKE, message=c) for r, c in zip(relays, cards, strict=True)))
        claimed = [
            m
            for r in relays
            for m in [await r.wait_for(lambda m: m.edited and ("Pris par" in m.text or "Vous avez pris" in m.text))]
        ]
        assert len(set(balancer.served[before : before + 5])) == 3  # the presses reached the three workers
        [case] = team.cases()
        assert case.status == HandoffStatus.claimed
        assert sum(m.text.startswith("Vous avez pris") for m in claimed) == 1


async def test_an_update_handled_again_after_rasa_took_its_turn_is_not_taken_twice(
    emulator: object, rasa_stack: RasaStack, redis_url: str, telegram: object
) -> None:
    """A worker killed after Rasa took a turn and before the update was marked done: the update is handled again
    (sweep); Rasa must not take the same words twice (in a form, a question would be skipped), and the resident
    gets the turn's answer."""
    async with workers(emulator, rasa_stack, redis_url, count=1) as (harnesses, balancer, engine):
        amina = await telegram.user(2605, "Amina")  # type: ignore[attr-defined]
        await consent(amina)
        await amina.drain()
        update = text_update(10**9 + 5, 905, 2605, "je cherche du travail")
        secret = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(harnesses[0].services.settings)}
        async with httpx.AsyncClient() as http:
            assert (await http.post(balancer.url, json=update, headers=secret)).status_code == 200
        first = await amina.next_message()
        processor = harnesses[0].application.update_processor  # type: ignore[attr-defined]
        await eventually(lambda: not processor.handling, 10, "the turn over")
        with engine.begin() as connection:  # as if the worker had died before marking it done
            connection.execute(
                inbox._T.update()
                .where(inbox._T.c.update_id == 10**9 + 5)
                .values(done_at=None, payload=update, received_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
            )
        assert await processor.sweep() == 1
        again = await amina.next_message()
        assert again.text == first.text  # the turn's answer, given again
        turns = await _user_turns(rasa_stack, harnesses[0], 2605)
        assert turns.count("je cherche du travail") == 1  # Rasa took it once
