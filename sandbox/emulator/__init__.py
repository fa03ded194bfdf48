"""Local emulator of the Telegram Bot API, for tests, benchmarks and the sandbox.

The emulator stands in for ``api.telegram.org``: a real python-telegram-bot
``Application`` talks to it with ``base_url="http://127.0.0.1:PORT/bot"`` and
``base_file_url="http://127.0.0.1:PORT/file/bot"``.  Next to the Bot API it
exposes a JSON *control* API under ``/control/`` that plays the Telegram users
(send messages, press buttons, block the bot, inject faults, read events) and a
small web page at ``/`` where a person chats with the bot.

Everything lives in memory in one :class:`BotApiEmulator`; all waiting (long
polling of ``getUpdates`` and of the event log) uses one ``asyncio.Condition``
that is notified after every state change: nothing sleeps in a loop.

Fidelity notes (what the emulator checks like Telegram does):

* message text and captions are parsed with ``parse_mode`` (``HTML``,
  ``MarkdownV2``, ``Markdown``) the way TDLib does, producing ``entities`` with
  UTF-16 offsets, and the same "can't parse entities" errors;
* length limits (4096 for text, 1024 for captions) are counted in UTF-16 code
  units of the text *after* entity parsing, like Telegram;
* inline keyboards are validated (text required, an action required,
  ``callback_data`` 1-64 bytes);
* ``editMessageText``/``editMessageReplyMarkup`` without ``reply_markup``
  remove the inline keyboard, as Telegram does.

Rate limits (only with ``enforce_limits=True``): per bot, at most
``global_rate`` sends in any rolling second; per chat, a token bucket that
holds ``per_chat_burst`` sends (3 by default: Telegram tolerates short bursts)
and refills one send per ``per_chat_interval`` seconds.  "Sends" are the
``send*`` methods (except ``sendChatAction``), ``copyMessage(s)`` and
``forwardMessage(s)``; edits are not counted.

Layout: :class:`BotApiEmulator` (``app``) is :class:`~sandbox.emulator.state.EmulatorState` (the
shared in-memory state) plus one mixin per area, each contributing its Bot API methods and control
routes: ``messages``, ``keyboards`` (and callback queries), ``files``, ``updates`` (getUpdates,
webhooks), ``settings`` (getMe, commands...), ``people`` (the users the control API plays),
``limits`` (rate limits, injected faults), ``observe`` (events, stats, status). ``protocol``,
``text``, ``media`` and ``models`` are plain helpers and records; ``server`` serves an emulator
inside the running event loop.
"""

from sandbox.emulator.app import BotApiEmulator, create_app
from sandbox.emulator.media import (
    PHOTO_JPEG,
    PLACEHOLDER_MP4,
    PLACEHOLDER_OGG,
    PLACEHOLDER_PDF,
    STICKER_WEBP,
    THUMB_JPEG,
    image_size,
)
from sandbox.emulator.models import BOT_USERNAME
from sandbox.emulator.people import PRESET_USERS
from sandbox.emulator.protocol import ApiError
from sandbox.emulator.server import RunningEmulator, running_emulator
from sandbox.emulator.text import (
    command_entities,
    format_text,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)

__all__ = [
    "BOT_USERNAME",
    "PHOTO_JPEG",
    "PLACEHOLDER_MP4",
    "PLACEHOLDER_OGG",
    "PLACEHOLDER_PDF",
    "PRESET_USERS",
    "STICKER_WEBP",
    "THUMB_JPEG",
    "ApiError",
    "BotApiEmulator",
    "RunningEmulator",
    "command_entities",
    "create_app",
    "format_text",
    "image_size",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "running_emulator",
    "utf16_len",
]
