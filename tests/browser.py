"""A page in Debian's Chromium driven by Playwright (installed by scripts/browser.sh), for the browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.asynccontextmanager
async def chromium_page(width: int, height: int) -> AsyncIterator[Any]:
    """A fresh French-locale page; the test is skipped when Chromium is missing (CI installs it)."""
    chromium = os.environ.get("OUTREACH_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.skip("Chromium not installed (scripts/browser.sh installs it; CI requires it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = await browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        yield await context.new_page()
        await browser.close()
