"""`python -m outreach.cluster.webhook`: registers the cluster's webhook with the Bot API, once.

`outreach cluster up` runs it in a process of its own with a worker's environment (TELEGRAM_BOT_TOKEN,
TELEGRAM_API_BASE_URL, OUTREACH_WEBHOOK_URL): the secret is the one the workers check (bot.app.webhook_secret),
and the command line never imports Telegram's library (the import contracts in pyproject.toml).
Exit code 0 when Telegram (or the sandbox's emulator) accepted it, 1 otherwise (a French line on stderr).
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError
from telegram import Bot, Update
from telegram.error import TelegramError

from bot.app import webhook_secret
from outreach.cluster.topology import WEBHOOK_MAX_CONNECTIONS
from outreach.config import Settings
from outreach.logs import redact


async def register(settings: Settings) -> None:
    if settings.telegram_bot_token is None or not settings.webhook_url:
        raise ValueError("TELEGRAM_BOT_TOKEN and OUTREACH_WEBHOOK_URL are required")
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url,
    )
    async with bot:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=webhook_secret(settings),
            allowed_updates=Update.ALL_TYPES,
            max_connections=WEBHOOK_MAX_CONNECTIONS,
        )


def main() -> int:
    try:
        settings = Settings()
        asyncio.run(register(settings))
    except (ValidationError, ValueError, TelegramError) as exc:
        print(redact(f"erreur : webhook non enregistré ({type(exc).__name__}: {exc})"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
