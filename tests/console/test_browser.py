"""The console in a real browser (Debian's Chromium driven by Playwright), with axe-core checking
accessibility: a coordinator logs in, reads the dashboard of one QPV, creates a permanence, builds an
audience, previews and schedules a campaign, watches the progress bar reach 100 % while the campaign
goes out through the outbox to the Bot API emulator, and reads the results. Role limits, CSRF and
lockout are checked the way a person would meet them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from outreach import bootstrap, campaigns
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.console.server import ConsoleServer
from outreach.console.web import create_app
from outreach.outbox import QuietHours
from outreach.senders import BotApiSender
from outreach.services import residents
from sandbox.client import EmulatorClient
from sandbox.emulator import running_emulator
from tests.browser import chromium_page
from tests.conftest import TOKEN, free_port
from tests.console.conftest import PASSWORD, give_access, staff_named

RESIDENTS = [("Amina", "gresilles"), ("Karim", "gresilles"), ("Léa", "gresilles"), ("Sofiane", "fontaine_d_ouche")]


@dataclass
class Console:
    url: str
    engine: Engine
    emulator: Any
    telegram: EmulatorClient


@pytest.fixture
async def console(sqlite_engine: Engine, tmp_path: Path) -> AsyncIterator[Console]:
    """The console on a free port, the campaign pump and the outbox dispatcher sending to the emulator."""
    from outreach.seed import seed_demo

    clock = SystemClock()
    engine = sqlite_engine
    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
    give_access(engine, clock, staff_named(engine, "Hélène"), "helene")  # type: ignore[arg-type]
    give_access(engine, clock, staff_named(engine, "Marc"), "marc")  # type: ignore[arg-type]
    async with running_emulator() as emu, EmulatorClient(emu.url) as telegram:
        for number, (name, quartier) in enumerate(RESIDENTS, start=1):
            chat = 600_000 + number
            await telegram.user(chat, name)
            with UnitOfWork(engine) as uow:
                person = residents.record_consent(uow, clock, telegram_user_id=chat, chat_id=chat, accepted=True,
                                                  first_name=name, language="fr")
                residents.set_place(uow, person.id, commune_name="Dijon", quartier_id=quartier)
        settings = Settings(database_url=str(engine.url), telegram_bot_token=TOKEN, quiet_hours="none",
                            quiet_days="none", telegram_api_base_url=emu.base_url)
        port = free_port()
        server = ConsoleServer(create_app(engine, clock, settings), "127.0.0.1", port)  # as `outreach run` does
        stop = asyncio.Event()

        async def send_loop() -> None:
            async with BotApiSender(emu.base_url, TOKEN) as sender:
                dispatcher = bootstrap.make_dispatcher(engine, clock, sender, rate=25, quiet=QuietHours.never())
                while not stop.is_set():
                    await asyncio.to_thread(campaigns.pump, engine, clock, settings)
                    await dispatcher.run_once(budget=1.0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.2)

        sending = asyncio.create_task(send_loop())
        await server.start()
        yield Console(f"http://127.0.0.1:{port}", engine, emu, telegram)
        stop.set()
        await server.stop()
        await sending


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    async with chromium_page(1200, 900) as opened:
        yield opened


async def assert_accessible(page: Any) -> None:
    """axe-core in the page: no serious or critical violation (labels, contrast, landmarks, names...)."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)


async def log_in(page: Any, url: str, login: str, password: str = PASSWORD) -> None:
    await page.goto(url + "/connexion")
    await page.get_by_label("Identifiant", exact=True).fill(login)
    await page.get_by_label("Mot de passe", exact=True).fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def test_a_coordinator_runs_a_campaign_from_the_console(console: Console, page: Any) -> None:
    from playwright.async_api import expect

    await log_in(page, console.url, "helene")
    await expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    await assert_accessible(page)

    # the dashboard of one QPV
    await page.get_by_label("Quartier (QPV)").select_option(label="Grésilles")
    await page.get_by_role("button", name="Afficher").click()
    await expect(page.get_by_role("heading", level=2).first).to_contain_text("Grésilles")
    reached = page.locator(".cards li").filter(has_text="habitants touchés")
    await expect(reached.locator(".big")).to_have_text("3")

    # a permanence
    await page.get_by_role("link", name="Permanences et créneaux").click()
    await assert_accessible(page)
    await page.get_by_label("Adulte-relais").select_option(label="Samia")
    await page.get_by_label("Jour", exact=True).select_option(label="samedi")
    await page.get_by_label("Début").fill("10:00")
    await page.get_by_label("Fin", exact=True).fill("12:00")
    await page.get_by_role("button", name="Créer la permanence").click()
    await expect(page.get_by_role("status")).to_contain_text("samedi 10:00-12:00")

    # an audience, a preview, a campaign
    await page.get_by_role("link", name="Campagnes").click()
    await page.get_by_role("link", name="Nouvelle campagne").click()
    await expect(page.locator("#audience")).to_have_text("4")
    await page.get_by_label("Nom de la campagne").fill("Bilan de droits Grésilles")
    await page.get_by_label("Quartiers").select_option(label="Grésilles")
    await expect(page.locator("#audience")).to_have_text("3")
    text = "Bonjour {prenom}, l'équipe de {quartier} vous propose un bilan de vos droits."
    await page.get_by_label("Texte").fill(text)
    await expect(page.locator("#apercu-texte")).to_contain_text("l'équipe de Grésilles vous propose")
    await expect(page.locator("#apercu-boutons")).to_contain_text("Faire le point sur mes droits")
    await assert_accessible(page)
    await page.get_by_role("button", name="Programmer la campagne").click()

    # the progress bar reaches 100 %, then the results
    await expect(page.get_by_role("heading", name="Bilan de droits Grésilles")).to_be_visible()
    await expect(page.locator("#pourcentage")).to_have_text("100", timeout=30_000)
    await expect(page.locator("#etat")).to_have_text("terminée", timeout=10_000)
    await assert_accessible(page)
    await page.reload()
    received = page.get_by_role("row", name="Messages reçus")
    await expect(received).to_contain_text("3")
    for number, (name, quartier) in enumerate(RESIDENTS, start=1):
        messages = [e for e in (await console.telegram.events(600_000 + number))["events"] if e["type"] == "message"]
        expected = 1 if quartier == "gresilles" else 0
        assert len(messages) == expected, name
        if expected:
            assert messages[0]["message"]["text"].startswith(f"Bonjour {name}, l'équipe de Grésilles")


async def test_a_troyes_coordinator_sees_no_dijon_resident(console: Console, page: Any) -> None:
    from playwright.async_api import expect

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await log_in(page, console.url, "marc")
    await expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the dashboard fits a phone screen without sideways scrolling"
    await page.keyboard.press("Tab")  # the first Tab lands on the skip link
    await expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    await page.get_by_role("link", name="Habitants").click()
    await expect(page.get_by_text("Aucun habitant ne correspond")).to_be_visible()
    await expect(page.get_by_text("Amina")).to_have_count(0)
    await assert_accessible(page)


async def test_a_forged_form_is_refused_and_a_guessed_password_locks(console: Console, page: Any) -> None:
    from playwright.async_api import expect

    await log_in(page, console.url, "helene")
    await page.get_by_role("link", name="Permanences et créneaux").click()
    await page.locator("form[action='/permanences'] input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    await page.get_by_role("button", name="Créer la permanence").click()
    await expect(page.get_by_text("Formulaire expiré")).to_be_visible()

    await page.context.clear_cookies()
    for _ in range(5):
        await log_in(page, console.url, "marc", "ce n'est pas le bon")
    await expect(page.get_by_role("alert")).to_contain_text("un compte est bloqué 15 minutes")
    await log_in(page, console.url, "marc")  # the right password does not open it now
    await expect(page.get_by_role("alert")).to_contain_text("un compte est bloqué 15 minutes")
    await assert_accessible(page)
