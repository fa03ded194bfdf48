"""The sandbox chat page in a real browser (Debian's Chromium driven by Playwright): a person starts,
accepts, greets and gets a French answer with buttons, sends a photo, presses a button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outreach import texts
from tests.browser import chromium_page
from tests.conftest import BotHarness

pytestmark = pytest.mark.rasa

@pytest.fixture
async def page() -> AsyncIterator[object]:
    async with chromium_page(420, 860) as opened:
        yield opened


async def test_a_person_chats_as_a_resident_in_the_sandbox_page(
    bot: BotHarness, emulator: object, page: object, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    await page.goto(emulator.url + "/")
    await expect(page.get_by_role("heading", name="Bac à sable Outreach")).to_be_visible()
    message_box = page.get_by_label("Votre message")
    await message_box.fill("/start")
    await message_box.press("Enter")
    await page.get_by_role("button", name=texts.CONSENT_ACCEPT).click()
    log = page.get_by_role("log")
    await expect(log.get_by_role("button", name="Mes droits")).to_be_visible(timeout=20_000)
    await message_box.fill("bonjour")
    await message_box.press("Enter")
    await expect(log.locator(".msg.bot").last).to_contain_text("Bonjour", timeout=20_000)
    await expect(log.locator(".msg.bot").last.get_by_role("button", name="Parler à quelqu'un")).to_be_visible()
    await page.get_by_role("button", name="📷 Photo").click()
    await expect(log.locator(".msg.bot").last).to_contain_text("messages écrits", timeout=20_000)
    await log.get_by_role("button", name="Parler à quelqu'un").last.click()
    await expect(log.locator(".msg.bot").last).to_contain_text("adulte-relais", timeout=20_000)
    await page.screenshot(path=str(tmp_path / "sandbox.png"), full_page=True)
