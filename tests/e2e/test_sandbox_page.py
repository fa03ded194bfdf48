"""The sandbox chat page in a real browser (Debian's Chromium driven by Playwright): a person starts,
accepts, greets and gets a French answer with buttons, sends a photo, presses a button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outreach import PROJECT_ROOT, i18n, texts
from tests.browser import chromium_page
from tests.conftest import BotHarness

pytestmark = pytest.mark.rasa

ARTIFACTS = PROJECT_ROOT / "var" / "artifacts"  # kept after the run (screenshots)

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


async def test_an_arabic_conversation_reads_right_to_left_in_the_sandbox_page(
    bot: BotHarness, emulator: object, page: object
) -> None:
    """Issue 14: written in Arabic, the consent and the answers come in Arabic and read right to left (the
    messages' dir="auto", as Telegram does); axe finds no serious violation; the screenshot is kept in
    var/artifacts/sandbox-arabic.png."""
    from playwright.async_api import expect

    from tests.console.test_browser import assert_accessible

    await page.goto(emulator.url + "/")
    message_box = page.get_by_label("Votre message")
    await message_box.fill("السلام عليكم، أحتاج مساعدة في ملف الكاف")
    await message_box.press("Enter")
    with i18n.speaking("ar"):
        accept = texts.CONSENT_ACCEPT
    log = page.get_by_role("log")
    await log.get_by_role("button", name=accept).click(timeout=20_000)
    answer = log.locator(".msg.bot .text").last
    await expect(answer).to_contain_text(re.compile("[\u0600-\u06ff]"), timeout=20_000)
    assert await answer.evaluate("el => getComputedStyle(el).direction") == "rtl"
    mine = log.locator(".msg.user .text").first
    assert await mine.evaluate("el => getComputedStyle(el).direction") == "rtl"
    await assert_accessible(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sandbox-arabic.png"), full_page=True)
