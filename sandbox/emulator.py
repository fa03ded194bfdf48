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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import math
import mimetypes
import re
import secrets
import socket
import struct
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "RunningEmulator",
    "create_app",
    "running_emulator",
]

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
BOT_USERNAME = "outreach_sandbox_bot"
BOT_FIRST_NAME = "Outreach (bac à sable)"
MAX_TEXT_LENGTH = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_LONG_POLL = 60.0
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
STATIC_DIR = Path(__file__).with_name("static")

#: Parameters that hold JSON objects/arrays; in form bodies they arrive as JSON strings.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "commands",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "allowed_updates",
        "scope",
        "menu_button",
        "media",
        "message_ids",
        "reaction",
        "results",
    }
)

#: Update types Telegram delivers when ``allowed_updates`` is not set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_BAD_BUTTON = "Bad Request: can't parse inline keyboard button: "
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """An error answered to the bot exactly as Telegram would."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _too_many(retry_after: int) -> ApiError:
    retry_after = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


# ---------------------------------------------------------------------------
# Text helpers: UTF-16 lengths and TDLib-like parsing of HTML / Markdown
# ---------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le")) // 2


class _ParseError(Exception):
    pass


_RawEntity = tuple[str, int, int, dict[str, Any]]  # type, start char, end char, extra fields


def _finish_entities(chars: list[str], raw: list[_RawEntity]) -> tuple[str, list[dict[str, Any]]]:
    offsets = [0]
    for ch in chars:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    entities = []
    for typ, start, end, extra in raw:
        if end <= start:
            continue
        entity = {"type": typ, "offset": offsets[start], "length": offsets[end] - offsets[start]}
        entity.update(extra)
        entities.append(entity)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(chars), entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _normalize_url(url: str) -> str | None:
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return url
    return "http://" + url


_HTML_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_html_entity(match: re.Match[str]) -> str | None:
    dec, hexa, name = match.groups()
    if name:
        return _HTML_NAMED[name]
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _html_unescape(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        decoded = _decode_html_entity(m)
        return m.group(0) if decoded is None else decoded

    return _HTML_ENTITY_RE.sub(repl, value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into plain text + entities (TDLib rules)."""
    out: list[str] = []
    raw: list[_RawEntity] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(m) if m else None
            if m and decoded is not None:
                out.append(decoded)
                i = m.end()
            else:
                out.append(c)
                i += 1
            continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if i >= n or text[i] != "/":
            j = i
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            if j >= n:
                raise _ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[i:j].lower()
            if tag not in _HTML_TAGS:
                raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            i = j
            attrs: dict[str, str] = {}
            while True:
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if text[i] == ">":
                    i += 1
                    break
                a0 = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                name = text[a0:i].lower()
                if not name:
                    raise _ParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                while i < n and text[i].isspace():
                    i += 1
                if i >= n or text[i] != "=":
                    attrs[name] = ""  # valueless attribute, e.g. <blockquote expandable>
                    continue
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if text[i] in "'\"":
                    end = text.find(text[i], i + 1)
                    if end == -1:
                        raise _ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                    attrs[name] = _html_unescape(text[i + 1 : end])
                    i = end + 1
                else:
                    v0 = i
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    attrs[name] = text[v0:i]
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise _ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
            stack.append((tag, attrs, len(out)))
            continue
        # end tag
        if not stack:
            raise _ParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        end_name = text[i:j].lower()
        while j < n and text[j].isspace():
            j += 1
        if j >= n or text[j] != ">":
            raise _ParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        tag, attrs, start = stack[-1]
        if end_name and end_name != tag:
            raise _ParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_name}>"'
            )
        stack.pop()
        i = j + 1
        if len(out) <= start:
            continue
        typ = _HTML_TAGS[tag]
        extra: dict[str, Any] = {}
        if typ == "text_link":
            url = _normalize_url(attrs.get("href", ""))
            if url is None:
                continue
            extra["url"] = url
        elif typ == "blockquote" and "expandable" in attrs:
            typ = "expandable_blockquote"
        elif typ == "custom_emoji":
            if not attrs.get("emoji-id"):
                continue
            extra["custom_emoji_id"] = attrs["emoji-id"]
        elif typ == "pre" and raw:
            last = raw[-1]
            lang = str(last[3].get("_language", ""))
            if last[0] == "code" and last[1] == start and last[2] == len(out) and lang:
                raw.pop()
                extra["language"] = lang
        if typ == "code" and attrs.get("class", "").startswith("language-"):
            extra["_language"] = attrs["class"][len("language-") :]
        raw.append((typ, start, len(out), extra))
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    raw = [(t, s, e, {k: v for k, v in x.items() if not k.startswith("_")}) for t, s, e, x in raw]
    return _finish_entities(out, raw)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_TD_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _reserved(c: str) -> _ParseError:
    return _ParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into plain text + entities (TDLib rules, simplified blockquotes)."""
    out: list[str] = []
    raw: list[_RawEntity] = []
    stack: list[list[Any]] = []  # [type, start, byte offset, argument]
    quote_start: int | None = None
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    i = 0
    while i < n:
        c = text[i]
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if c == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = len(out)
            i += 1
            continue
        if c == "\n" and quote_start is not None and at(i + 1) != ">":
            raw.append(("blockquote", quote_start, len(out), {}))
            quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        reserved = "`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            out.append(c)
            i += 1
            continue
        top = stack[-1][0] if stack else None
        is_end = {
            "bold": c == "*",
            "italic": c == "_" and at(i + 1) != "_",
            "code": c == "`",
            "pre": c == "`" and at(i + 1) == "`" and at(i + 2) == "`",
            "text_link": c == "]",
            "custom_emoji": c == "]",
            "underline": c == "_" and at(i + 1) == "_",
            "strikethrough": c == "~",
            "spoiler": c == "|" and at(i + 1) == "|",
        }.get(top or "", False)
        if not is_end:
            byte = _byte_offset(text, i)
            arg = ""
            if c == "_":
                if at(i + 1) == "_":
                    typ = "underline"
                    i += 1
                else:
                    typ = "italic"
            elif c == "*":
                typ = "bold"
            elif c == "~":
                typ = "strikethrough"
            elif c == "|":
                if at(i + 1) != "|":
                    raise _reserved(c)
                typ = "spoiler"
                i += 1
            elif c == "[":
                typ = "text_link"
            elif c == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    i += 3
                    typ = "pre"
                    le = i
                    while le < n and not text[le].isspace() and text[le] != "`":
                        le += 1
                    if i != le and le < n and text[le] != "`":
                        arg = text[i:le]
                        i = le
                    if at(i) in ("\n", "\r") and at(i):
                        if at(i + 1) in ("\n", "\r") and at(i + 1) and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    typ = "code"
            elif c == "!":
                if at(i + 1) != "[":
                    raise _reserved(c)
                typ = "custom_emoji"
                i += 1
            else:
                raise _reserved(c)
            stack.append([typ, len(out), byte, arg])
            i += 1
            continue
        typ, start, _byte, arg = stack.pop()
        extra: dict[str, Any] = {}
        skip = len(out) == start
        if typ in ("underline", "spoiler"):
            i += 1
        elif typ == "pre":
            i += 2
            if arg:
                extra["language"] = arg
        elif typ in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                url = "".join(out[start:])
            else:
                i += 2
                u0 = i
                chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if i >= n:
                    raise _ParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, u0)}")
                url = "".join(chars)
            if typ == "text_link":
                normalized = _normalize_url(url)
                if normalized is None:
                    skip = True
                else:
                    extra["url"] = normalized
            else:
                m = re.match(r"^tg://emoji\?id=(\d+)$", url)
                if not m:
                    raise _ParseError("Custom emoji entity must contain a tg://emoji URL")
                extra["custom_emoji_id"] = m.group(1)
        if not skip:
            raw.append((typ, start, len(out), extra))
        i += 1
    if stack:
        typ, _start, byte, arg = stack[-1]
        name = "PreCode" if typ == "pre" and arg else _TD_ENTITY_NAMES[typ]
        raise _ParseError(f"Can't find end of {name} entity at byte offset {byte}")
    if quote_start is not None:
        raw.append(("blockquote", quote_start, len(out), {}))
    return _finish_entities(out, raw)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown into plain text + entities (TDLib rules)."""
    out: list[str] = []
    raw: list[_RawEntity] = []
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and at(i + 1) in ("_", "*", "`", "[") and at(i + 1):
            out.append(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        language = ""
        i += 1
        if c == "`" and at(i) == "`" and at(i + 1) == "`":
            i += 2
            is_pre = True
            le = i
            while le < n and not text[le].isspace() and text[le] != "`":
                le += 1
            if i != le and le < n and text[le] != "`":
                language = text[i:le]
                i = le
            if at(i) in ("\n", "\r") and at(i):
                if at(i + 1) in ("\n", "\r") and at(i + 1) and at(i) != at(i + 1):
                    i += 2
                else:
                    i += 1
        start = len(out)
        while i < n and (text[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))):
            out.append(text[i])
            i += 1
        if i >= n:
            raise _ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")
        if len(out) > start:
            if c == "_":
                raw.append(("italic", start, len(out), {}))
            elif c == "*":
                raw.append(("bold", start, len(out), {}))
            elif c == "[":
                if at(i + 1) != "(":
                    url = text[begin + 1 : i]
                else:
                    i += 2
                    u0 = i
                    while i < n and text[i] != ")":
                        i += 1
                    url = text[u0:i]
                normalized = _normalize_url(url)
                if normalized:
                    raw.append(("text_link", start, len(out), {"url": normalized}))
            elif is_pre:
                raw.append(("pre", start, len(out), {"language": language} if language else {}))
            else:
                raw.append(("code", start, len(out), {}))
        if is_pre:
            i += 2
        i += 1
    return _finish_entities(out, raw)


def format_text(
    text: str, parse_mode: str | None, entities: Any = None, *, what: str = "text"
) -> tuple[str, list[dict[str, Any]]]:
    """Apply ``parse_mode`` (or explicit ``entities``) like Telegram, raising :class:`ApiError`."""
    mode = (parse_mode or "").strip()
    try:
        if not mode:
            ents = [dict(e) for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
            total = utf16_len(text)
            for e in ents:
                off, length = e.get("offset"), e.get("length")
                if not isinstance(off, int) or not isinstance(length, int) or off < 0 or length < 0:
                    raise _ParseError("entity offset and length must be non-negative integers")
                if off + length > total:
                    raise _ParseError(f"entity beyond the end of the {what}")
            return text, ents
        low = mode.lower()
        if low == "html":
            return parse_html(text)
        if low == "markdownv2":
            return parse_markdown_v2(text)
        if low == "markdown":
            return parse_markdown(text)
    except _ParseError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    raise ApiError(400, f'Bad Request: unsupported parse_mode "{mode}"')


_BOT_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram attaches to a user's text."""
    chars = list(text)
    raw: list[_RawEntity] = [("bot_command", m.start(), m.end(), {}) for m in _BOT_COMMAND_RE.finditer(text)]
    return _finish_entities(chars, raw)[1]


# ---------------------------------------------------------------------------
# Placeholder media (small valid files) and image inspection
# ---------------------------------------------------------------------------

_PHOTO_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDACgcHiMeGSgjISMtKygwPGRBPDc3PHtYXUlkkYCZlo+A"
    "jIqgtObDoKrarYqMyP/L2u71////m8H////6/+b9//j/2wBDASstLTw1PHZBQXb4pYyl+Pj4+Pj4"
    "+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj/wAARCADwAUADASIA"
    "AhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEB"
    "AQEAAAAAAAAAAAAAAAAAAAME/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AgBpQ"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAf/2Q=="
)
_THUMB_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDACgcHiMeGSgjISMtKygwPGRBPDc3PHtYXUlkkYCZlo+A"
    "jIqgtObDoKrarYqMyP/L2u71////m8H////6/+b9//j/2wBDASstLTw1PHZBQXb4pYyl+Pj4+Pj4"
    "+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj/wAARCABEAFoDASIA"
    "AhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEB"
    "AQEAAAAAAAAAAAAAAAAAAAME/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AgBpQ"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAf/2Q=="
)
_STICKER_WEBP_B64 = (
    "UklGRiwDAABXRUJQVlA4TB8DAAAv/8F/EBTFbds4p/33Tm/3i4gJeK0CqDCVCUWAAWoVhgpM/ZBg"
    "HYc0lPH5IbhtG0jS/3++u3exYnSmETEBkNpIEiTxJ2V+u3tXGf3rf/Q/uf6//r/+v/6//r/+v/7f"
    "7bPF8v098uvV8Zf2xd9cE397PfyPtfC/9sF/3AT/dwf8d/vc4J1LjHOPbG7yzGWKuU4vF5rlTqnc"
    "KpR7ZXKzSO6WyO0GuV4fC9SxQhtLnLFFGHtksckUqzSxzBHbBLHPDgvVsNILO62wVAlrfbDXBotV"
    "sNoDuy2wXAHr87M/PQWy0yA5FXLTITUlIlMjLz3SUiQrTZJSJSddUlImI20SUicffdJRKBuNklEp"
    "F51aTalMtEpErTz0SkOxLDRLQrUe0y0F5TLQrsHUm59+01OwuzScnIpz07G1lJyZlo2l5rz0bCtF"
    "Z6VpU6naU7pOSdmO0rah1O0nfaejcDdp3Ewq95LOraR0J2l9IlG7j/RuI8XPIpo3kernEN1PIcqf"
    "QbQ/gah//tD/9OEFnj28wZOHV3ju8A5vHbzEOydvcePgNa7/Csd7XP9d/13/vXFgHbj+KxyWgRsH"
    "VoF3TiwCbx1YA547WAKePFgBnj1YAE4f6Mf5A/k4gaAeZxDE4xSCdpxDkI4mQjnOIghHG6EbfYRs"
    "nEhQjU5CNFoJzeglJKOZUIxuQjDGqxf9hFw0FGrRUYjFmLWip5CKpkIphi0UbYVODFwmGguVGLpI"
    "tBYaMXiJGL1CdBcCMX59CFAeGgx1CFEcYtSGHkMaolSGMIUhTl0IVBYiVYVQRaHV0IRgJSFaRQhX"
    "EOLVg4DlIGI1CFkMYtaCoKUgaiUIWwji1oHEVSB0EYhdA4KXgOgVIHwBiD8+DIwOCYNDw9gwMTJk"
    "DAwd48LIqJAyKLSMCTMjQs6A8DMcFI0GS2NB1FBwNRB8DQNlo8DaGDA3AuwdHwIPD4cHh8dDw+WB"
    "4fOwcHpQiD0i7B4Pho8GzYeC6wNB+FGg/RCQ/99jBf8xFvFfYh3/Gbbyn2A7/zi29I9iXf8UNvfn"
    "WOMfYK8/xPX/9f/1//X/9f/1/603AA=="
)
PHOTO_JPEG = base64.b64decode(_PHOTO_JPEG_B64)  # 320x240
THUMB_JPEG = base64.b64decode(_THUMB_JPEG_B64)  # 90x68
STICKER_WEBP = base64.b64decode(_STICKER_WEBP_B64)  # 512x512


def _make_pdf(line: str = "Document de test (bac a sable Outreach)") -> bytes:
    content = f"BT /F1 14 Tf 24 60 Td ({line}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
            r &= 0xFFFFFFFF
        table.append(r)
    return table


_OGG_TABLE = _ogg_crc_table()


def _ogg_page(packets: list[bytes], seq: int, header_type: int, granule: int) -> bytes:
    segments: list[int] = []
    for packet in packets:
        size = len(packet)
        while size >= 255:
            segments.append(255)
            size -= 255
        segments.append(size)
    header = b"OggS" + bytes([0, header_type]) + struct.pack("<qIII", granule, 0x0A11CE, seq, 0)
    page = bytearray(header + bytes([len(segments)]) + bytes(segments) + b"".join(packets))
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_TABLE[((crc >> 24) & 0xFF) ^ byte]
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


def _make_ogg_opus() -> bytes:
    """One second of Opus silence in an Ogg container (what Telegram voice notes are)."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    vendor = b"outreach-sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    silence = [b"\xf8\xff\xfe"] * 50  # 50 x 20 ms CELT silence frames
    return _ogg_page([head], 0, 2, 0) + _ogg_page([tags], 1, 0, 0) + _ogg_page(silence, 2, 4, 312 + 48000)


PLACEHOLDER_PDF = _make_pdf()
PLACEHOLDER_OGG = _make_ogg_opus()
#: An MP4 header (``ftyp`` + empty ``mdat``): recognisable, not playable.
PLACEHOLDER_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a PNG/JPEG/GIF/WEBP/BMP image, or None."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return "png", w, h
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            w, h = struct.unpack("<HH", data[6:10])
            return "gif", w, h
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                return "webp", 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return "webp", w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            return None
        if data[:2] == b"BM" and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return "bmp", w, abs(h)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker == 0xFF:
                    i += 1
                    continue
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return "jpeg", w, h
                i += 2 + length
    except (struct.error, IndexError):
        return None
    return None


#: The people offered by the sandbox page (residents, then staff), as (user_id, first_name, role).
PRESET_USERS: tuple[tuple[int, str, str], ...] = (
    (1001, "Amina", "habitante"),
    (1002, "Karim", "habitant"),
    (1003, "Fatou", "habitante"),
    (2001, "Samia", "adulte-relais Dijon"),
    (2002, "Julien", "adulte-relais Dijon"),
    (2003, "Nadia", "adulte-relais Troyes"),
    (2004, "Claire", "coordinatrice Dijon"),
)

_PLACEHOLDERS: dict[str, tuple[bytes, str, str]] = {
    # kind: (bytes, mime type, default file name)
    "photo": (PHOTO_JPEG, "image/jpeg", "photo.jpg"),
    "document": (PLACEHOLDER_PDF, "application/pdf", "document.pdf"),
    "sticker": (STICKER_WEBP, "image/webp", "sticker.webp"),
    "voice": (PLACEHOLDER_OGG, "audio/ogg", "voice.oga"),
    "audio": (PLACEHOLDER_OGG, "audio/ogg", "audio.ogg"),
    "video": (PLACEHOLDER_MP4, "video/mp4", "video.mp4"),
    "animation": (PLACEHOLDER_MP4, "video/mp4", "animation.mp4"),
    "video_note": (PLACEHOLDER_MP4, "video/mp4", "video_note.mp4"),
}
_FILE_FOLDERS = {
    "photo": ("photos", ".jpg", "AgAC"),
    "document": ("documents", "", "BQAC"),
    "sticker": ("stickers", ".webp", "CAAC"),
    "voice": ("voice", ".oga", "AwAC"),
    "audio": ("music", ".mp3", "CQAC"),
    "video": ("videos", ".mp4", "BAAC"),
    "animation": ("animations", ".mp4", "CgAC"),
    "video_note": ("video_notes", ".mp4", "DQAC"),
}
MEDIA_KINDS = tuple(_FILE_FOLDERS)
USER_MESSAGE_KINDS = ("text", "photo", "document", "sticker", "voice", "video", "location", "contact")
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


# ---------------------------------------------------------------------------
# Request decoding
# ---------------------------------------------------------------------------


@dataclass
class Upload:
    """A file received in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


async def read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters of a Bot API call: query string, then JSON / urlencoded / multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if body:
        low = ctype.lower()
        try:
            if "application/json" in low:
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                params.update(data)
            elif "multipart/form-data" in low:
                form = await request.form(max_part_size=50 * 1024 * 1024)
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        files[key] = Upload(value.filename, value.content_type, await value.read())
                    else:
                        params[key] = value
            else:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError, MultiPartException) as exc:
            raise ApiError(400, f"Bad Request: can't parse request body: {exc}") from None
    for name in JSON_PARAMS:
        value = params.get(name)
        if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            try:
                params[name] = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return params, files


def _p_int(params: dict[str, Any], name: str, default: int | None = None, error: str | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if error:
            raise ApiError(400, error)
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ApiError(400, error or f"Bad Request: invalid {name} specified")


def _p_float(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _p_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _p_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _p_list(params: dict[str, Any], name: str) -> list[Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise ApiError(400, f'Bad Request: field "{name}" must be an Array')
    return value


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


@dataclass
class _User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fr"
    started: bool = True
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class _Msg:
    chat_id: int
    message_id: int
    data: dict[str, Any]
    from_bot: bool
    token: str | None = None
    deleted: bool = False


@dataclass
class _Chat:
    id: int
    messages: dict[int, _Msg] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    source_url: str | None = None
    group: list[str] | None = None  # photo sizes sharing one picture

    def as_object(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.kind in ("photo", "sticker", "video", "animation"):
            data["width"] = self.width or 0
            data["height"] = self.height or 0
        if self.kind in ("voice", "audio", "video", "animation", "video_note"):
            data["duration"] = self.duration or 0
        if self.kind == "video_note":
            data["length"] = self.width or 240
        if self.kind == "sticker":
            data.update(type="regular", is_animated=False, is_video=False, emoji="👍")
        if self.kind in ("document", "audio", "video", "animation") and self.file_name:
            data["file_name"] = self.file_name
        if self.kind not in ("photo", "sticker", "video_note") and self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class _Bot:
    token: str
    id: int
    pending: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook: dict[str, Any] | None = None
    webhook_gen: int = 0
    webhook_task: asyncio.Task[None] | None = None
    webhook_error: tuple[int, str] | None = None
    poll_gen: int = 0
    active_polls: int = 0
    last_poll: float = 0.0
    last_seen: float = 0.0
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    last_commands: list[dict[str, str]] | None = None
    last_commands_key: tuple[str, str] | None = None
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    profile: dict[tuple[str, str], str] = field(default_factory=dict)
    send_times: deque[float] = field(default_factory=deque)
    max_rate: int = 0

    def as_user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


@dataclass
class _Callback:
    id: str
    token: str
    user_id: int
    message_id: int
    data: str | None
    created: float
    answer: dict[str, Any] | None = None


@dataclass
class _Fault:
    method: str
    chat_id: str | None
    error_code: int
    description: str
    retry_after: int | None
    remaining: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chat_id": self.chat_id,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after,
            "remaining": self.remaining,
        }


class _ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _scope_key(scope: Any) -> str:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    scope = dict(scope)
    for key in ("chat_id", "user_id"):
        value = scope.get(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            scope[key] = int(value)
    return json.dumps(scope, sort_keys=True)


def _buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup:
        return []
    return [b for row in markup.get("inline_keyboard", []) for b in row]


# ---------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------

Handler = Callable[[_Bot, dict[str, Any], dict[str, Upload]], Awaitable[Any]]


class BotApiEmulator:
    """In-memory Telegram: bots (by token), users, private chats, updates, events.

    ``app`` is the Starlette application serving the Bot API (``/bot<token>/<method>``),
    file downloads (``/file/bot<token>/<path>``), the control API (``/control/...``)
    and the sandbox page (``/``).
    """

    def __init__(
        self,
        enforce_limits: bool = False,
        global_rate: float = 30.0,
        per_chat_interval: float = 1.0,
        *,
        per_chat_burst: int = 3,
        callback_timeout: float | None = None,
        deliver_webhooks: bool = True,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.per_chat_burst = max(1, per_chat_burst)
        self.callback_timeout = callback_timeout
        self.deliver_webhooks = deliver_webhooks
        self._cond = asyncio.Condition()
        self._closing = False
        # Counters that survive /control/reset so that clients never see ids go backwards.
        self.seq = 0
        self._update_id = 0
        self._file_counter = 0
        self._callback_counter = 0
        self._status_version = 0
        self._methods = self._method_table()
        self._reset_state()
        self.app = self._build_app()

    # -- state -------------------------------------------------------------

    def _reset_state(self) -> None:
        for bot in getattr(self, "bots", {}).values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
        self.bots: dict[str, _Bot] = {}
        self.users: dict[int, _User] = {}
        self.chats: dict[int, _Chat] = {}
        self.files: dict[str, _File] = {}
        self._files_by_path: dict[str, _File] = {}
        self.callbacks: dict[str, _Callback] = {}
        self.faults: list[_Fault] = []
        self.events: list[dict[str, Any]] = []
        self.last_token: str | None = None
        self._buckets: dict[tuple[str, int], tuple[float, float]] = {}
        self.method_calls: Counter[str] = Counter()
        self.error_counts: Counter[int] = Counter()
        self.sends_per_chat: Counter[int] = Counter()
        self.total_sends = 0
        self.max_send_rate = 0
        self.updates_queued = 0
        self._status_version += 1

    def reset(self) -> None:
        """Forget everything (ids and ``seq`` keep increasing)."""
        self._reset_state()

    async def aclose(self) -> None:
        """Release every waiter and stop webhook delivery (call before stopping the server)."""
        self._closing = True
        for bot in self.bots.values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
        await self._notify()

    def _bot(self, token: str) -> _Bot:
        bot = self.bots.get(token)
        if bot is None:
            bot = self.bots[token] = _Bot(token=token, id=int(token.split(":", 1)[0]))
            self._status_version += 1
        return bot

    def _chat(self, chat_id: int) -> _Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = _Chat(chat_id)
        return chat

    def register_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        started: bool = True,
    ) -> _User:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = _User(user_id, first_name)
        user.first_name = first_name
        user.last_name = last_name
        user.username = username
        user.language_code = language_code
        user.started = started
        self._chat(user_id)
        return user

    def register_presets(self) -> None:
        """Register the page's preset people, as if each had already started the bot."""
        for user_id, first_name, _role in PRESET_USERS:
            if user_id not in self.users:
                self.register_user(user_id, first_name)

    # -- waiting -------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _wait(self, predicate: Callable[[], bool], seconds: float | None) -> bool:
        """Wait (without polling) until ``predicate()`` holds, ``seconds`` pass or we close."""
        async with self._cond:
            if predicate() or self._closing:
                return predicate()
            if seconds is not None and seconds <= 0:
                return False
            try:
                async with asyncio.timeout(seconds):
                    await self._cond.wait_for(lambda: self._closing or predicate())
            except TimeoutError:
                pass
            return predicate()

    # -- events & updates ------------------------------------------------

    def _emit(
        self, chat_id: int, typ: str, message: dict[str, Any] | None, from_bot: bool, **extra: Any
    ) -> dict[str, Any]:
        self.seq += 1
        event: dict[str, Any] = {
            "seq": self.seq,
            "type": typ,
            "chat_id": chat_id,
            "from_bot": from_bot,
            "time": time.time(),
            "message": message,
        }
        event.update(extra)
        self.events.append(event)
        self._chat(chat_id).events.append(event)
        return event

    def _queue_update(self, bot: _Bot, kind: str, payload: dict[str, Any]) -> int | None:
        allowed = bot.allowed_updates
        if allowed:
            if kind not in allowed:
                return None
        elif kind in DEFAULT_EXCLUDED_UPDATES:
            return None
        self._update_id += 1
        bot.pending.append({"update_id": self._update_id, kind: payload})
        self.updates_queued += 1
        return self._update_id

    def _new_message(self, chat_id: int, sender: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        state = self._chat(chat_id)
        message_id = state.next_message_id
        state.next_message_id += 1
        return {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}

    def _store(
        self,
        data: dict[str, Any],
        *,
        from_bot: bool,
        token: str | None,
        keyboard_change: dict[str, Any] | None = None,
    ) -> _Msg:
        chat_id = data["chat"]["id"]
        chat = self._chat(chat_id)
        msg = _Msg(chat_id, data["message_id"], data, from_bot, token)
        chat.messages[msg.message_id] = msg
        extra: dict[str, Any] = {}
        if keyboard_change is not None:
            chat.reply_keyboard = keyboard_change if "keyboard" in keyboard_change else None
            extra["reply_keyboard"] = keyboard_change
        self._emit(chat_id, "message", data, from_bot, **extra)
        return msg

    def _replace(self, msg: _Msg, data: dict[str, Any]) -> None:
        msg.data = data
        self._emit(msg.chat_id, "edit", data, msg.from_bot)

    # -- rate limits ---------------------------------------------------------

    @staticmethod
    def _trim(bot: _Bot, now: float) -> None:
        while bot.send_times and now - bot.send_times[0] >= 1.0:
            bot.send_times.popleft()

    def _bucket(self, key: tuple[str, int], now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.per_chat_burst), now))
        if self.per_chat_interval > 0:
            tokens = min(float(self.per_chat_burst), tokens + (now - last) / self.per_chat_interval)
        return tokens

    def _check_rate(self, bot: _Bot, chat_id: int, count: int = 1) -> None:
        now = time.monotonic()
        self._trim(bot, now)
        if not self.enforce_limits:
            return
        if len(bot.send_times) + count > self.global_rate:
            oldest = bot.send_times[0] if bot.send_times else now
            raise _too_many(math.ceil(oldest + 1.0 - now))
        if self.per_chat_interval > 0:
            tokens = self._bucket((bot.token, chat_id), now)
            if tokens < 1:
                raise _too_many(math.ceil((1 - tokens) * self.per_chat_interval))

    def _record_send(self, bot: _Bot, chat_id: int) -> None:
        now = time.monotonic()
        bot.send_times.append(now)
        self._trim(bot, now)
        bot.max_rate = max(bot.max_rate, len(bot.send_times))
        self.max_send_rate = max(self.max_send_rate, bot.max_rate)
        self.sends_per_chat[chat_id] += 1
        self.total_sends += 1
        key = (bot.token, chat_id)
        self._buckets[key] = (self._bucket(key, now) - 1, now)

    # -- lookups ---------------------------------------------------------

    def _chat_user(self, params: dict[str, Any], key: str = "chat_id") -> _User:
        value = params.get(key)
        if value is None or value == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(str(value).strip())
        except ValueError:
            raise ApiError(400, "Bad Request: chat not found") from None
        user = self.users.get(chat_id)
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        return user

    def _writable(self, params: dict[str, Any], key: str = "chat_id") -> _User:
        user = self._chat_user(params, key)
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    def _message(self, chat_id: int, message_id: int | None) -> _Msg | None:
        chat = self.chats.get(chat_id)
        if chat is None or message_id is None:
            return None
        msg = chat.messages.get(message_id)
        return None if msg is None or msg.deleted else msg

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        rp = params.get("reply_parameters")
        allow = _p_bool(params, "allow_sending_without_reply")
        if isinstance(rp, dict):
            target = _p_int(rp, "message_id")
            allow = allow or _p_bool(rp, "allow_sending_without_reply")
        else:
            target = _p_int(params, "reply_to_message_id")
        if target is None:
            return None
        msg = self._message(chat_id, target)
        if msg is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in msg.data.items() if k != "reply_to_message"}

    def _reply_markup(self, params: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(inline keyboard for Message.reply_markup, reply-keyboard change) from ``reply_markup``."""
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None, None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
                )
            clean_rows = []
            count = 0
            for row in rows:
                clean = []
                for button in row:
                    if not isinstance(button, dict):
                        raise ApiError(400, _BAD_BUTTON + "InlineKeyboardButton should be an Object")
                    text = button.get("text")
                    if not isinstance(text, str):
                        raise ApiError(400, _BAD_BUTTON + 'Field "text" must be of type String')
                    if not text.strip():
                        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                    if not any(k in button for k in _BUTTON_ACTIONS):
                        raise ApiError(400, _BAD_BUTTON + "Text buttons are unallowed in the inline keyboard")
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = button["url"]
                        if not isinstance(url, str) or _normalize_url(url) is None:
                            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    clean.append(dict(button))
                    count += 1
                if clean:
                    clean_rows.append(clean)
            if count > 100:
                raise ApiError(400, "Bad Request: reply markup is too long")
            return ({"inline_keyboard": clean_rows} if clean_rows else None), None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, 'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            norm = [
                [{"text": b} if isinstance(b, str) else dict(b) for b in row if isinstance(b, (str, dict))]
                for row in rows
            ]
            if any(not isinstance(b.get("text"), str) or not b["text"] for row in norm for b in row):
                raise ApiError(400, 'Bad Request: can\'t parse keyboard button: Field "text" must be of type String')
            change = {k: v for k, v in markup.items() if k != "keyboard"}
            change["keyboard"] = [r for r in norm if r]
            return None, change
        if markup.get("remove_keyboard"):
            return None, {"remove_keyboard": True}
        if markup.get("force_reply"):
            return None, None
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    # -- files ---------------------------------------------------------------

    def _new_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
        source_url: str | None = None,
    ) -> _File:
        self._file_counter += 1
        n = self._file_counter
        folder, default_ext, prefix = _FILE_FOLDERS[kind]
        ext = Path(file_name).suffix if file_name and Path(file_name).suffix else default_ext
        if not ext and mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        f = _File(
            file_id=f"{prefix}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:06d}{secrets.token_hex(2)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
            source_url=source_url,
        )
        self.files[f.file_id] = f
        self._files_by_path[f.file_path] = f
        return f

    def _upload_to_file(self, kind: str, upload: Upload, params: dict[str, Any]) -> _File:
        data = upload.data
        if not data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        name = upload.filename or _PLACEHOLDERS[kind][2]
        mime = upload.content_type
        if mime == "application/octet-stream":
            mime = None
        if mime is None:
            mime = mimetypes.guess_type(name)[0] or ("application/octet-stream" if kind == "document" else None)
        width = _p_int(params, "width")
        height = _p_int(params, "height")
        if kind in ("photo", "sticker"):
            info = image_size(data)
            if info is None:
                if kind == "photo":
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
                info = ("webp", 512, 512)
            _fmt, width, height = info
        return self._new_file(
            kind,
            data,
            file_name=name,
            mime_type=mime,
            width=width,
            height=height,
            duration=_p_int(params, "duration", 0),
        )

    def _input_file(self, params: dict[str, Any], files: dict[str, Upload], name: str, kind: str) -> _File:
        value = params.get(name)
        upload = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no file attached as {value}")
        elif name in files:
            upload = files[name]
        if upload is not None:
            return self._upload_to_file(kind, upload, params)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        ref = str(value).strip()
        if re.match(r"^https?://", ref):
            data, mime, default_name = _PLACEHOLDERS[kind]
            basename = urlsplit(ref).path.rsplit("/", 1)[-1] or default_name
            info = image_size(data) if kind in ("photo", "sticker") else None
            return self._new_file(
                kind,
                data,
                file_name=basename,
                mime_type=mime,
                width=info[1] if info else None,
                height=info[2] if info else None,
                source_url=ref,
            )
        f = self.files.get(ref)
        if f is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if f.kind != kind:
            raise ApiError(400, f"Bad Request: can't use file of type {f.kind.title()} as {kind.title()}")
        return f

    def _media_value(self, f: _File) -> Any:
        if f.kind == "photo":
            group = [self.files[i] for i in (f.group or [f.file_id]) if i in self.files]
            return [g.as_object() for g in group]
        return f.as_object()

    def _caption(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        caption = _p_str(params, "caption")
        if caption is None or caption == "":
            return None, []
        plain, ents = format_text(caption, _p_str(params, "parse_mode"), params.get("caption_entities"), what="caption")
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return plain, ents

    # -- Bot API methods ------------------------------------------------------

    def _method_table(self) -> dict[str, tuple[str, Handler]]:
        def media(kind: str) -> Handler:
            async def handler(bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> Any:
                return await self._m_send_media(kind, bot, p, files)

            return handler

        table: dict[str, Handler] = {
            "getMe": self._m_get_me,
            "logOut": self._m_true,
            "close": self._m_true,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
            "sendChatAction": self._m_send_chat_action,
            "sendMessage": self._m_send_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
            "answerCallbackQuery": self._m_answer_callback_query,
            "sendPhoto": media("photo"),
            "sendDocument": media("document"),
            "sendAudio": media("audio"),
            "sendVideo": media("video"),
            "sendVoice": media("voice"),
            "sendAnimation": media("animation"),
            "sendSticker": media("sticker"),
            "sendVideoNote": media("video_note"),
            "sendMediaGroup": self._m_send_media_group,
            "sendLocation": self._m_send_location,
            "sendContact": self._m_send_contact,
            "getFile": self._m_get_file,
            "copyMessage": self._m_copy_message,
            "copyMessages": self._m_copy_messages,
            "forwardMessage": self._m_forward_message,
            "forwardMessages": self._m_forward_messages,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "setMessageReaction": self._m_chat_true,
            "pinChatMessage": self._m_chat_true,
            "unpinChatMessage": self._m_chat_true,
            "unpinAllChatMessages": self._m_chat_true,
        }
        return {name.lower(): (name, fn) for name, fn in table.items()}

    async def _m_true(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        return True

    async def _m_chat_true(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        self._chat_user(p)
        return True

    async def _m_get_me(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        me = bot.as_user()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    def _is_connected(self, bot: _Bot) -> bool:
        return bot.active_polls > 0 or bot.webhook is not None or time.monotonic() - bot.last_poll < 15.0

    async def _m_get_updates(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, Any]]:
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = _p_int(p, "offset", 0) or 0
        limit = min(100, max(1, _p_int(p, "limit", 100) or 100))
        timeout = min(MAX_LONG_POLL, max(0.0, _p_float(p, "timeout", 0.0)))
        allowed = _p_list(p, "allowed_updates")
        if "allowed_updates" in p and p["allowed_updates"] not in (None, ""):
            bot.allowed_updates = [str(a) for a in allowed or []] or None
        if offset > 0:
            bot.pending = [u for u in bot.pending if u["update_id"] >= offset]
        elif offset < 0:
            bot.pending = bot.pending[offset:]
        bot.poll_gen += 1
        generation = bot.poll_gen
        bot.active_polls += 1
        self._status_version += 1
        await self._notify()  # an older getUpdates still waiting is terminated (409) like on Telegram
        try:
            await self._wait(
                lambda: bool(bot.pending) or bot.poll_gen != generation or bot.webhook is not None, timeout
            )
        finally:
            bot.active_polls -= 1
            bot.last_poll = time.monotonic()
            self._status_version += 1
        if bot.poll_gen != generation:
            raise ApiError(409, CONFLICT_OTHER_POLLER)
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        return bot.pending[:limit]

    def _drop_webhook(self, bot: _Bot) -> None:
        if bot.webhook is not None:
            self._status_version += 1
        bot.webhook = None
        bot.webhook_gen += 1
        bot.webhook_error = None
        if bot.webhook_task is not None:
            bot.webhook_task.cancel()
            bot.webhook_task = None

    async def _m_set_webhook(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        url = (_p_str(p, "url") or "").strip()
        if _p_bool(p, "drop_pending_updates"):
            bot.pending.clear()
        if "allowed_updates" in p and p["allowed_updates"] not in (None, ""):
            bot.allowed_updates = [str(a) for a in _p_list(p, "allowed_updates") or []] or None
        if not url:
            self._drop_webhook(bot)
            return True
        if not re.match(r"^https?://[^\s/]+", url):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._drop_webhook(bot)
        bot.webhook = {
            "url": url,
            "secret_token": _p_str(p, "secret_token"),
            "max_connections": _p_int(p, "max_connections", 40),
        }
        self._status_version += 1
        bot.poll_gen += 1  # a pending getUpdates now conflicts
        if self.deliver_webhooks and _is_loopback_url(url):
            bot.webhook_task = asyncio.create_task(self._webhook_worker(bot, bot.webhook_gen))
        else:
            bot.webhook_error = (int(time.time()), "The emulator delivers webhooks to loopback addresses only")
        return True

    async def _webhook_worker(self, bot: _Bot, generation: int) -> None:
        backoff = 0.25
        async with httpx.AsyncClient(timeout=30.0) as client:
            while not self._closing and bot.webhook is not None and bot.webhook_gen == generation:
                if not bot.pending:
                    await self._wait(lambda: bool(bot.pending) or bot.webhook_gen != generation, None)
                    continue
                update = bot.pending[0]
                webhook = bot.webhook
                headers = {"Content-Type": "application/json"}
                if webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
                try:
                    response = await client.post(webhook["url"], content=json.dumps(update), headers=headers)
                    error = None
                    if not 200 <= response.status_code < 300:
                        error = f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {exc.__class__.__name__}"
                if bot.webhook_gen != generation:
                    return
                if error is None:
                    if bot.pending and bot.pending[0] is update:
                        bot.pending.pop(0)
                    backoff = 0.25
                    await self._notify()
                else:
                    bot.webhook_error = (int(time.time()), error)
                    await self._wait(lambda: bot.webhook_gen != generation, backoff)
                    backoff = min(backoff * 2, 10.0)

    async def _m_delete_webhook(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        if _p_bool(p, "drop_pending_updates"):
            bot.pending.clear()
        self._drop_webhook(bot)
        return True

    async def _m_get_webhook_info(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": bot.webhook["url"] if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        if bot.webhook:
            info["max_connections"] = bot.webhook.get("max_connections") or 40
            info["ip_address"] = "127.0.0.1"
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
            if bot.webhook_error:
                info["last_error_date"], info["last_error_message"] = bot.webhook_error
        return info

    async def _m_set_my_commands(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand: BotCommand should be an Object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = (_scope_key(p.get("scope")), _p_str(p, "language_code") or "")
        bot.commands[key] = clean
        bot.last_commands = clean
        bot.last_commands_key = key
        return True

    async def _m_get_my_commands(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, str]]:
        return bot.commands.get((_scope_key(p.get("scope")), _p_str(p, "language_code") or ""), [])

    async def _m_delete_my_commands(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        key = (_scope_key(p.get("scope")), _p_str(p, "language_code") or "")
        bot.commands.pop(key, None)
        if bot.last_commands_key == key:
            bot.last_commands = []
        return True

    def resolve_commands(self, bot: _Bot, user_id: int | None, language_code: str | None) -> list[dict[str, str]]:
        """The command list a private-chat user sees in the "Menu" (Telegram's scope order)."""
        if user_id is None:
            return list(bot.last_commands or [])
        lang = language_code or ""
        scopes = [
            {"type": "chat", "chat_id": user_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        ]
        for scope in scopes:
            for code in [lang, ""] if lang else [""]:
                found = bot.commands.get((_scope_key(scope), code))
                if found:
                    return list(found)
        return []

    async def _m_set_chat_menu_button(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        chat_id = _p_int(p, "chat_id")
        if chat_id is not None:
            self._chat_user(p)
        button = p.get("menu_button")
        bot.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    async def _m_get_chat_menu_button(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        chat_id = _p_int(p, "chat_id")
        return bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(None) or {"type": "commands"}

    def _profile_setter(self, what: str) -> Handler:
        async def handler(bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
            bot.profile[(what, _p_str(p, "language_code") or "")] = _p_str(p, what) or ""
            return True

        return handler

    def _profile_getter(self, what: str) -> Handler:
        async def handler(bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, str]:
            lang = _p_str(p, "language_code") or ""
            value = bot.profile.get((what, lang), bot.profile.get((what, ""), ""))
            if what == "name" and not value:
                value = BOT_FIRST_NAME
            return {what: value}

        return handler

    async def _m_send_chat_action(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._writable(p)
        action = _p_str(p, "action") or ""
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._emit(user.id, "chat_action", None, True, action=action)
        return True

    def _bot_message(self, bot: _Bot, user: _User, params: dict[str, Any]) -> dict[str, Any]:
        data = self._new_message(user.id, bot.as_user(), user.as_chat())
        reply = self._reply_to(user.id, params)
        if reply is not None:
            data["reply_to_message"] = reply
        if _p_bool(params, "protect_content"):
            data["has_protected_content"] = True
        return data

    async def _m_send_message(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        text = _p_str(p, "text")
        if text is None or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = format_text(text, _p_str(p, "parse_mode"), p.get("entities"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)  # validate before counting the send
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data["text"] = plain
        if entities:
            data["entities"] = entities
        preview = p.get("link_preview_options")
        if isinstance(preview, dict):
            data["link_preview_options"] = preview
        elif _p_bool(p, "disable_web_page_preview"):
            data["link_preview_options"] = {"is_disabled": True}
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_media(self, kind: str, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        caption, caption_entities = self._caption(p) if kind not in ("sticker", "video_note") else (None, [])
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)
        f = self._input_file(p, files, kind, kind)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data[kind] = self._media_value(f)
        if caption:
            data["caption"] = caption
            if caption_entities:
                data["caption_entities"] = caption_entities
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_media_group(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, Any]]:
        user = self._writable(p)
        media = _p_list(p, "media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album: must be 2-10")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: can't parse InputMedia: unsupported media type")
            kind = item["type"]
            caption, caption_entities = self._caption(item)
            prepared.append((kind, self._input_file(item, files, "media", kind), caption, caption_entities))
        self._check_rate(bot, user.id)
        group_id = str(10**17 + self.seq)
        results = []
        for kind, f, caption, caption_entities in prepared:
            data = self._bot_message(bot, user, p)
            data["media_group_id"] = group_id
            data[kind] = self._media_value(f)
            if caption:
                data["caption"] = caption
                if caption_entities:
                    data["caption_entities"] = caption_entities
            self._store(data, from_bot=True, token=bot.token)
            self._record_send(bot, user.id)
            results.append(data)
        return results

    async def _m_send_location(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        latitude = _p_float(p, "latitude", math.nan)
        longitude = _p_float(p, "longitude", math.nan)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ApiError(400, "Bad Request: wrong latitude or longitude specified")
        inline, keyboard = self._reply_markup(p)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        data["location"] = {"latitude": latitude, "longitude": longitude}
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    async def _m_send_contact(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        phone = _p_str(p, "phone_number")
        first_name = _p_str(p, "first_name")
        if not phone or not first_name:
            raise ApiError(400, "Bad Request: phone_number and first_name are required")
        inline, keyboard = self._reply_markup(p)
        self._check_rate(bot, user.id)
        data = self._bot_message(bot, user, p)
        contact = {"phone_number": phone, "first_name": first_name}
        if _p_str(p, "last_name"):
            contact["last_name"] = _p_str(p, "last_name") or ""
        data["contact"] = contact
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return data

    def _editable(self, p: dict[str, Any]) -> _Msg:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        user = self._chat_user(p)
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message_id = _p_int(p, "message_id", error="Bad Request: message identifier is not specified")
        msg = self._message(user.id, message_id)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not msg.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    def _edit_markup(self, p: dict[str, Any]) -> dict[str, Any] | None:
        inline, keyboard = self._reply_markup(p)
        if keyboard is not None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        return inline

    async def _m_edit_message_text(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        msg = self._editable(p)
        text = _p_str(p, "text")
        if text is None or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if "text" not in msg.data:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        plain, entities = format_text(text, _p_str(p, "parse_mode"), p.get("entities"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        inline = self._edit_markup(p)
        old = msg.data
        if old.get("text") == plain and old.get("entities", []) == entities and old.get("reply_markup") == inline:
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup", "edit_date")}
        data["text"] = plain
        if entities:
            data["entities"] = entities
        if isinstance(p.get("link_preview_options"), dict):
            data["link_preview_options"] = p["link_preview_options"]
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    async def _m_edit_message_caption(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        msg = self._editable(p)
        if not any(k in msg.data for k in ("photo", "document", "video", "audio", "voice", "animation")):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, caption_entities = self._caption(p)
        inline = self._edit_markup(p)
        old = msg.data
        if (
            old.get("caption") == caption
            and old.get("caption_entities", []) == caption_entities
            and old.get("reply_markup") == inline
        ):
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("caption", "caption_entities", "reply_markup", "edit_date")}
        if caption:
            data["caption"] = caption
            if caption_entities:
                data["caption_entities"] = caption_entities
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    async def _m_edit_message_reply_markup(
        self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]
    ) -> dict[str, Any]:
        msg = self._editable(p)
        inline = self._edit_markup(p)
        if msg.data.get("reply_markup") == inline:
            raise ApiError(400, NOT_MODIFIED)
        data = {k: v for k, v in msg.data.items() if k not in ("reply_markup", "edit_date")}
        if inline:
            data["reply_markup"] = inline
        data["edit_date"] = int(time.time())
        self._replace(msg, data)
        return data

    def _delete(self, msg: _Msg) -> None:
        msg.deleted = True
        self._emit(msg.chat_id, "delete", msg.data, msg.from_bot)

    async def _m_delete_message(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._chat_user(p)
        msg = self._message(user.id, _p_int(p, "message_id", error="Bad Request: message identifier is not specified"))
        if msg is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._delete(msg)
        return True

    async def _m_delete_messages(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        user = self._chat_user(p)
        ids = _p_list(p, "message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        for message_id in ids:
            msg = self._message(user.id, _p_int({"id": message_id}, "id"))
            if msg is not None:
                self._delete(msg)
        return True

    async def _m_answer_callback_query(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> bool:
        query_id = _p_str(p, "callback_query_id") or ""
        cb = self.callbacks.get(query_id)
        if cb is None or cb.answer is not None or cb.token != bot.token:
            raise ApiError(400, QUERY_TOO_OLD)
        if self.callback_timeout is not None and time.monotonic() - cb.created > self.callback_timeout:
            raise ApiError(400, QUERY_TOO_OLD)
        text = _p_str(p, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        cb.answer = {
            "text": text,
            "show_alert": _p_bool(p, "show_alert"),
            "url": _p_str(p, "url"),
            "cache_time": _p_int(p, "cache_time", 0),
        }
        msg = self._message(cb.user_id, cb.message_id)
        self._emit(
            cb.user_id,
            "callback_answer",
            msg.data if msg else None,
            True,
            callback_query_id=cb.id,
            data=cb.data,
            **cb.answer,
        )
        return True

    async def _m_get_file(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        f = self.files.get(_p_str(p, "file_id") or "")
        if f is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(f.data) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.file_path,
        }

    _CONTENT_KEYS = (
        "text",
        "entities",
        "link_preview_options",
        "photo",
        "document",
        "sticker",
        "voice",
        "video",
        "audio",
        "animation",
        "video_note",
        "location",
        "contact",
        "caption",
        "caption_entities",
    )

    def _source(self, p: dict[str, Any], message_id: Any, what: str) -> _Msg:
        source_user = self._chat_user(p, "from_chat_id")
        msg = self._message(source_user.id, _p_int({"id": message_id}, "id"))
        if msg is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return msg

    def _copy(self, bot: _Bot, user: _User, src: _Msg, p: dict[str, Any], forward: bool) -> dict[str, Any]:
        data = self._bot_message(bot, user, p)
        for key in self._CONTENT_KEYS:
            if key in src.data:
                data[key] = src.data[key]
        if forward:
            data["forward_origin"] = {"type": "user", "sender_user": src.data["from"], "date": src.data["date"]}
        elif p.get("caption") is not None and "text" not in data:
            data.pop("caption", None)
            data.pop("caption_entities", None)
            caption, caption_entities = self._caption(p)
            if caption:
                data["caption"] = caption
                if caption_entities:
                    data["caption_entities"] = caption_entities
        return data

    async def _m_copy_message(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, int]:
        user = self._writable(p)
        src = self._source(p, p.get("message_id"), "copy")
        inline, keyboard = self._reply_markup(p)
        self._reply_to(user.id, p)
        self._check_rate(bot, user.id)
        data = self._copy(bot, user, src, p, forward=False)
        if inline:
            data["reply_markup"] = inline
        self._store(data, from_bot=True, token=bot.token, keyboard_change=keyboard)
        self._record_send(bot, user.id)
        return {"message_id": data["message_id"]}

    async def _m_forward_message(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._writable(p)
        src = self._source(p, p.get("message_id"), "forward")
        self._check_rate(bot, user.id)
        data = self._copy(bot, user, src, p, forward=True)
        self._store(data, from_bot=True, token=bot.token)
        self._record_send(bot, user.id)
        return data

    async def _copy_many(self, bot: _Bot, p: dict[str, Any], forward: bool) -> list[dict[str, int]]:
        user = self._writable(p)
        ids = _p_list(p, "message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        sources = [self._source(p, i, "forward" if forward else "copy") for i in ids]
        self._check_rate(bot, user.id)
        out = []
        for src in sources:
            data = self._copy(bot, user, src, {"chat_id": user.id}, forward=forward)
            self._store(data, from_bot=True, token=bot.token)
            self._record_send(bot, user.id)
            out.append({"message_id": data["message_id"]})
        return out

    async def _m_copy_messages(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, int]]:
        return await self._copy_many(bot, p, forward=False)

    async def _m_forward_messages(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, int]]:
        return await self._copy_many(bot, p, forward=True)

    async def _m_get_chat(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._chat_user(p)
        data = user.as_chat()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        )
        return data

    async def _m_get_chat_member(self, bot: _Bot, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        user = self._chat_user(p)
        user_id = _p_int(p, "user_id", error="Bad Request: user_id is empty")
        if user_id == bot.id:
            if user.blocked:
                return {"status": "kicked", "user": bot.as_user(), "until_date": 0}
            return {"status": "member", "user": bot.as_user()}
        if user_id != user.id:
            raise ApiError(400, "Bad Request: user not found")
        return {"status": "member", "user": user.as_user()}

    # -- HTTP: Bot API -----------------------------------------------------------

    def _take_fault(self, method: str, params: dict[str, Any]) -> ApiError | None:
        chat = params.get("chat_id")
        chat_id = str(chat).strip() if chat is not None else None
        for fault in self.faults:
            if fault.method not in ("*", method.lower()):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
            return ApiError(fault.error_code, fault.description, fault.retry_after)
        return None

    async def _bot_api(self, request: Request) -> Response:
        token = request.path_params["token"]
        method = request.path_params["method"]
        if not TOKEN_RE.match(token):
            self.error_counts[401] += 1
            return JSONResponse(ApiError(401, "Unauthorized").payload(), status_code=401)
        bot = self._bot(token)
        bot.last_seen = time.monotonic()
        self.last_token = token
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
        self.method_calls[name] += 1
        try:
            params, files = await read_params(request)
            if entry is None:
                raise ApiError(404, "Not Found")
            fault = self._take_fault(name, params)
            if fault is not None:
                raise fault
            result = await entry[1](bot, params, files)
            response = JSONResponse({"ok": True, "result": result})
        except ApiError as exc:
            self.error_counts[exc.code] += 1
            response = JSONResponse(exc.payload(), status_code=exc.code)
        await self._notify()
        return response

    async def _bot_file(self, request: Request) -> Response:
        if not TOKEN_RE.match(request.path_params["token"]):
            return JSONResponse(ApiError(401, "Unauthorized").payload(), status_code=401)
        f = self._files_by_path.get(request.path_params["file_path"])
        if f is None:
            return JSONResponse(ApiError(404, "Not Found").payload(), status_code=404)
        return Response(f.data, media_type=f.mime_type or "application/octet-stream")

    # -- HTTP: control API ---------------------------------------------------

    def _control_bot(self, token: Any) -> _Bot:
        if token:
            token = str(token)
            if not TOKEN_RE.match(token):
                raise _ControlError(400, "invalid bot token")
            return self._bot(token)
        if self.last_token is None:
            raise _ControlError(409, "no bot has connected to the emulator yet (no Bot API call received)")
        return self.bots[self.last_token]

    @staticmethod
    def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
        value = body.get(name, default)
        if value is None:
            raise _ControlError(400, f"'{name}' is required")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _ControlError(400, f"'{name}' must be an integer") from None

    def _known_user(self, user_id: int) -> _User:
        user = self.users.get(user_id)
        if user is None:
            raise _ControlError(404, f"unknown user {user_id} (POST /control/users first)")
        return user

    async def _c_users(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "GET":
            return {"users": [dict(u.as_user(), blocked=u.blocked, started=u.started) for u in self.users.values()]}
        user_id = self._int(body, "user_id")
        if user_id <= 0:
            raise _ControlError(400, "'user_id' must be a positive integer")
        first_name = str(body.get("first_name") or "").strip()
        existing = self.users.get(user_id)
        if not first_name:
            first_name = existing.first_name if existing else f"Utilisateur {user_id}"
        user = self.register_user(
            user_id,
            first_name,
            last_name=body.get("last_name") or None,
            username=body.get("username") or None,
            language_code=body.get("language_code", "fr") or None,
            started=bool(body.get("started", True)),
        )
        return {"ok": True, "user": user.as_user(), "chat": user.as_chat(), "last": self.seq}

    def _user_content(self, user: _User, body: dict[str, Any], kind: str) -> dict[str, Any]:
        content: dict[str, Any] = {}
        caption = body.get("caption")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _ControlError(400, "'text' must be a non-empty string")
            content["text"] = text
            entities = command_entities(text)
            if entities:
                content["entities"] = entities
            return content
        if kind == "photo":
            thumb = self._new_file("photo", THUMB_JPEG, mime_type="image/jpeg", width=90, height=68)
            full = self._new_file("photo", PHOTO_JPEG, mime_type="image/jpeg", width=320, height=240)
            thumb.group = full.group = [thumb.file_id, full.file_id]
            content["photo"] = self._media_value(full)
        elif kind in ("document", "voice", "video", "sticker"):
            data, mime, name = _PLACEHOLDERS[kind]
            if kind == "document" and body.get("content_base64"):
                try:
                    data = base64.b64decode(str(body["content_base64"]), validate=True)
                except ValueError:
                    raise _ControlError(400, "'content_base64' is not valid base64") from None
                mime = str(body.get("mime_type") or "application/octet-stream")
            if kind == "document":
                name = str(body.get("file_name") or name)
            info = image_size(data) if kind == "sticker" else None
            f = self._new_file(
                kind,
                data,
                file_name=name,
                mime_type=mime,
                width=info[1] if info else (320 if kind == "video" else None),
                height=info[2] if info else (240 if kind == "video" else None),
                duration=1 if kind in ("voice", "video") else None,
            )
            content[kind] = f.as_object()
        elif kind == "location":
            content["location"] = {
                "latitude": float(body.get("latitude", 47.3220)),
                "longitude": float(body.get("longitude", 5.0415)),
            }
        elif kind == "contact":
            content["contact"] = {
                "phone_number": str(body.get("phone_number") or "+33612345678"),
                "first_name": str(body.get("contact_first_name") or user.first_name),
                "user_id": user.id,
            }
        else:
            raise _ControlError(400, f"unknown kind {kind!r}; expected one of {', '.join(USER_MESSAGE_KINDS)}")
        if caption and kind in ("photo", "document", "voice", "video"):
            content["caption"] = str(caption)
        return content

    async def _c_send(self, request: Request, body: dict[str, Any]) -> Any:
        user_id = self._int(body, "user_id")
        user = self.users.get(user_id)
        if user is None:
            user = self.register_user(user_id, str(body.get("first_name") or f"Utilisateur {user_id}"))
        if user.blocked:
            raise _ControlError(409, "this user has blocked the bot: POST /control/unblock first")
        kind = str(body.get("kind") or "text")
        bot = self._control_bot(body.get("token"))
        content = self._user_content(user, body, kind)
        user.started = True
        data = self._new_message(user.id, user.as_user(), user.as_chat())
        reply_id = body.get("reply_to_message_id")
        if reply_id is not None:
            target = self._message(user.id, self._int(body, "reply_to_message_id"))
            if target is not None:
                data["reply_to_message"] = {k: v for k, v in target.data.items() if k != "reply_to_message"}
        data.update(content)
        self._store(data, from_bot=False, token=bot.token)
        update_id = self._queue_update(bot, "message", data)
        return {"update_id": update_id, "message_id": data["message_id"], "seq": self.seq, "message": data}

    async def _c_press(self, request: Request, body: dict[str, Any]) -> Any:
        user = self._known_user(self._int(body, "user_id"))
        if user.blocked:
            raise _ControlError(409, "this user has blocked the bot: POST /control/unblock first")
        message_id = self._int(body, "message_id")
        msg = self._message(user.id, message_id)
        if "callback_data" in body:
            data: str | None = None if body["callback_data"] is None else str(body["callback_data"])
        elif "button_text" in body:
            wanted = str(body["button_text"])
            if msg is None or not msg.from_bot:
                raise _ControlError(404, f"no bot message {message_id} in chat {user.id}")
            buttons = _buttons(msg.data.get("reply_markup"))
            button = next((b for b in buttons if b.get("text") == wanted), None)
            if button is None:
                titles = [b.get("text") for b in buttons]
                raise _ControlError(404, f"no button {wanted!r} on message {message_id}; buttons: {titles}")
            if "callback_data" not in button:
                raise _ControlError(400, f"button {wanted!r} has no callback_data: {button}")
            data = button["callback_data"]
        else:
            raise _ControlError(400, "give 'callback_data' or 'button_text'")
        bot = self._control_bot(body.get("token") or (msg.token if msg else None))
        self._callback_counter += 1
        query_id = f"{self._callback_counter}{secrets.randbelow(10**12):012d}"
        message = msg.data if msg is not None else {"chat": user.as_chat(), "message_id": message_id, "date": 0}
        query: dict[str, Any] = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": str(-((user.id * 1_000_003 + bot.id) % 10**18)),
        }
        if data is not None:
            query["data"] = data
        self.callbacks[query_id] = _Callback(query_id, bot.token, user.id, message_id, data, time.monotonic())
        update_id = self._queue_update(bot, "callback_query", query)
        return {"callback_query_id": query_id, "update_id": update_id, "data": data}

    async def _set_blocked(self, body: dict[str, Any], blocked: bool) -> Any:
        user = self._known_user(self._int(body, "user_id"))
        if user.blocked != blocked:
            user.blocked = blocked
            token = body.get("token") or self.last_token
            if token:
                bot = self._control_bot(token)
                member = {"user": bot.as_user(), "status": "member"}
                kicked = {"user": bot.as_user(), "status": "kicked", "until_date": 0}
                self._queue_update(
                    bot,
                    "my_chat_member",
                    {
                        "chat": user.as_chat(),
                        "from": user.as_user(),
                        "date": int(time.time()),
                        "old_chat_member": member if blocked else kicked,
                        "new_chat_member": kicked if blocked else member,
                    },
                )
        return {"ok": True, "user_id": user.id, "blocked": user.blocked}

    async def _c_block(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._set_blocked(body, True)

    async def _c_unblock(self, request: Request, body: dict[str, Any]) -> Any:
        return await self._set_blocked(body, False)

    async def _c_faults(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "GET":
            return {"faults": [f.as_dict() for f in self.faults]}
        method = str(body.get("method") or "").strip()
        if not method:
            raise _ControlError(400, "'method' is required (a Bot API method name, or '*')")
        code = self._int(body, "error_code")
        retry_after = body.get("retry_after")
        retry = int(retry_after) if retry_after is not None else (1 if code == 429 else None)
        if code == 429:
            description = body.get("description") or f"Too Many Requests: retry after {retry}"
        else:
            description = body.get("description") or _DEFAULT_DESCRIPTIONS.get(code, "Error")
        chat_id = body.get("chat_id")
        fault = _Fault(
            method=method.lower(),
            chat_id=str(chat_id).strip() if chat_id is not None else None,
            error_code=code,
            description=str(description),
            retry_after=retry,
            remaining=max(1, self._int(body, "times", 1)),
        )
        self.faults.append(fault)
        return {"ok": True, "fault": fault.as_dict(), "pending": len(self.faults)}

    async def _c_clear_faults(self, request: Request, body: dict[str, Any]) -> Any:
        self.faults.clear()
        return {"ok": True}

    def _timeout(self, request: Request) -> float:
        try:
            return min(MAX_LONG_POLL, max(0.0, float(request.query_params.get("timeout", 0))))
        except ValueError:
            raise _ControlError(400, "'timeout' must be a number") from None

    def _after(self, request: Request, default: int = 0) -> int:
        try:
            return int(request.query_params.get("after", default))
        except ValueError:
            raise _ControlError(400, "'after' must be an integer") from None

    def _path_int(self, request: Request, name: str) -> int:
        try:
            return int(request.path_params[name])
        except ValueError:
            raise _ControlError(400, f"'{name}' must be an integer") from None

    async def _c_chat_events(self, request: Request, body: dict[str, Any]) -> Any:
        chat_id = self._path_int(request, "chat_id")
        after = self._after(request)
        timeout = self._timeout(request)

        def pending() -> bool:
            chat = self.chats.get(chat_id)
            return bool(chat and chat.events and chat.events[-1]["seq"] > after)

        await self._wait(pending, timeout)
        chat = self.chats.get(chat_id)
        events: list[dict[str, Any]] = []
        if chat is not None:
            for event in reversed(chat.events):
                if event["seq"] <= after:
                    break
                events.append(event)
            events.reverse()
        return {"events": events, "last": max(after, self.seq)}

    async def _c_events(self, request: Request, body: dict[str, Any]) -> Any:
        after = self._after(request)
        await self._wait(lambda: bool(self.events) and self.events[-1]["seq"] > after, self._timeout(request))
        events = [e for e in self.events if e["seq"] > after]
        return {"events": events, "last": max(after, self.seq)}

    async def _c_chat_messages(self, request: Request, body: dict[str, Any]) -> Any:
        chat_id = self._path_int(request, "chat_id")
        user = self.users.get(chat_id)
        chat = self.chats.get(chat_id)
        if user is None and chat is None:
            raise _ControlError(404, f"unknown chat {chat_id}")
        messages = [
            {"from_bot": m.from_bot, "message": m.data}
            for m in (chat.messages.values() if chat else [])
            if not m.deleted
        ]
        return {
            "chat_id": chat_id,
            "user": user.as_user() if user else None,
            "blocked": bool(user and user.blocked),
            "messages": messages,
            "reply_keyboard": chat.reply_keyboard if chat else None,
            "last": self.seq,
        }

    async def _c_file(self, request: Request, body: dict[str, Any]) -> Any:
        f = self.files.get(request.path_params["file_id"])
        if f is None:
            raise _ControlError(404, "unknown file_id")
        name = f.file_name or Path(f.file_path).name
        return Response(
            f.data,
            media_type=f.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"},
        )

    async def _c_callback(self, request: Request, body: dict[str, Any]) -> Any:
        query_id = request.path_params["query_id"]
        cb = self.callbacks.get(query_id)
        if cb is None:
            raise _ControlError(404, "unknown callback_query_id")
        await self._wait(lambda: cb.answer is not None, self._timeout(request))
        return {
            "callback_query_id": cb.id,
            "user_id": cb.user_id,
            "message_id": cb.message_id,
            "data": cb.data,
            "answered": cb.answer is not None,
            "answer": cb.answer,
        }

    def stats(self) -> dict[str, Any]:
        return {
            "methods": dict(self.method_calls),
            "sends_per_chat": {str(k): v for k, v in self.sends_per_chat.items()},
            "total_sends": self.total_sends,
            "too_many_requests": self.error_counts[429],
            "forbidden": self.error_counts[403],
            "errors": {str(k): v for k, v in sorted(self.error_counts.items())},
            "max_global_send_rate": self.max_send_rate,
            "max_send_rate_per_bot": {str(b.id): b.max_rate for b in self.bots.values()},
            "updates_queued": self.updates_queued,
            "pending_updates": {str(b.id): len(b.pending) for b in self.bots.values()},
            "faults_pending": len(self.faults),
            "enforce_limits": self.enforce_limits,
        }

    async def _c_stats(self, request: Request, body: dict[str, Any]) -> Any:
        return self.stats()

    async def _c_commands(self, request: Request, body: dict[str, Any]) -> Any:
        token = request.query_params.get("token") or self.last_token
        bot = self.bots.get(token) if token else None
        if bot is None:
            return {"commands": [], "bot_connected": False}
        user_id = request.query_params.get("user_id")
        uid = int(user_id) if user_id and user_id.lstrip("-").isdigit() else None
        lang = request.query_params.get("language_code")
        if uid is not None and lang is None and uid in self.users:
            lang = self.users[uid].language_code
        return {"commands": self.resolve_commands(bot, uid, lang), "bot_connected": True}

    def status(self) -> dict[str, Any]:
        bots = [
            {
                "id": b.id,
                "username": BOT_USERNAME,
                "token_hint": f"{b.id}:…",
                "polling": b.active_polls > 0,
                "webhook": b.webhook["url"] if b.webhook else None,
                "connected": self._is_connected(b),
                "pending_updates": len(b.pending),
            }
            for b in self.bots.values()
        ]
        return {
            "version": self._status_version,
            "connected": any(b["connected"] for b in bots),
            "bot_seen": bool(bots),
            "bots": bots,
            "enforce_limits": self.enforce_limits,
            "last": self.seq,
        }

    async def _c_status(self, request: Request, body: dict[str, Any]) -> Any:
        after = self._after(request, -1)
        if after >= 0:
            await self._wait(lambda: self._status_version != after, self._timeout(request))
        return self.status()

    async def _c_updates(self, request: Request, body: dict[str, Any]) -> Any:
        token = request.query_params.get("token") or self.last_token
        bot = self.bots.get(token) if token else None
        return {"updates": list(bot.pending) if bot else []}

    async def _c_reset(self, request: Request, body: dict[str, Any]) -> Any:
        self.reset()
        return {"ok": True, "last": self.seq}

    async def _page(self, request: Request) -> Response:
        return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    def _control(
        self, fn: Callable[[Request, dict[str, Any]], Awaitable[Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body: dict[str, Any] = {}
            mutating = request.method in ("POST", "PUT", "DELETE")
            try:
                if mutating:
                    raw = await request.body()
                    if raw.strip():
                        try:
                            parsed = json.loads(raw)
                        except ValueError:
                            raise _ControlError(400, "the body must be a JSON object") from None
                        if not isinstance(parsed, dict):
                            raise _ControlError(400, "the body must be a JSON object")
                        body = parsed
                result = await fn(request, body)
                response = result if isinstance(result, Response) else JSONResponse(result)
            except _ControlError as exc:
                response = JSONResponse({"ok": False, "error": exc.message}, status_code=exc.status)
            except ApiError as exc:
                response = JSONResponse({"ok": False, "error": exc.description}, status_code=exc.code)
            if mutating:
                await self._notify()
            return response

        return endpoint

    def _build_app(self) -> Starlette:
        c = self._control

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self._closing = False
            yield
            await self.aclose()

        routes = [
            Route("/", self._page, methods=["GET"]),
            Route("/bot{token}/{method}", self._bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", self._bot_file, methods=["GET"]),
            Route("/control/users", c(self._c_users), methods=["GET", "POST"]),
            Route("/control/send", c(self._c_send), methods=["POST"]),
            Route("/control/press", c(self._c_press), methods=["POST"]),
            Route("/control/block", c(self._c_block), methods=["POST"]),
            Route("/control/unblock", c(self._c_unblock), methods=["POST"]),
            Route("/control/faults", c(self._c_faults), methods=["GET", "POST"]),
            Route("/control/faults/clear", c(self._c_clear_faults), methods=["POST"]),
            Route("/control/events", c(self._c_events), methods=["GET"]),
            Route("/control/chats/{chat_id}/events", c(self._c_chat_events), methods=["GET"]),
            Route("/control/chats/{chat_id}/messages", c(self._c_chat_messages), methods=["GET"]),
            Route("/control/files/{file_id}", c(self._c_file), methods=["GET"]),
            Route("/control/callbacks/{query_id}", c(self._c_callback), methods=["GET"]),
            Route("/control/stats", c(self._c_stats), methods=["GET"]),
            Route("/control/commands", c(self._c_commands), methods=["GET"]),
            Route("/control/status", c(self._c_status), methods=["GET"]),
            Route("/control/updates", c(self._c_updates), methods=["GET"]),
            Route("/control/reset", c(self._c_reset), methods=["POST"]),
        ]
        return Starlette(routes=routes, lifespan=lifespan)


def create_app(**kwargs: Any) -> Starlette:
    """A Starlette app backed by a new :class:`BotApiEmulator` (``app.state.emulator``)."""
    emulator = BotApiEmulator(**kwargs)
    emulator.app.state.emulator = emulator
    return emulator.app


# ---------------------------------------------------------------------------
# Running inside the current event loop (tests, benchmarks)
# ---------------------------------------------------------------------------


@dataclass
class RunningEmulator:
    """A served emulator: ``base_url``/``file_url`` go to PTB, ``url`` to the control client."""

    state: BotApiEmulator
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.url}/file/bot"

    def client(self) -> Any:
        """An :class:`sandbox.client.EmulatorClient` for this emulator (use ``async with``)."""
        from sandbox.client import EmulatorClient

        return EmulatorClient(self.url)


class _Server(uvicorn.Server):
    """uvicorn server that reports readiness with an event and leaves signal handlers alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


@contextlib.asynccontextmanager
async def running_emulator(
    *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", **kwargs: Any
) -> AsyncIterator[RunningEmulator]:
    """Serve a new emulator on a free loopback port inside the running event loop.

    ``kwargs`` go to :class:`BotApiEmulator` (``enforce_limits``, ``global_rate``...).
    """
    state = BotApiEmulator(**kwargs)
    # IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets (else ~40 ms per request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    config = uvicorn.Config(
        state.app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    serve = asyncio.create_task(server.serve(sockets=[sock]), name="telegram-emulator")
    ready = asyncio.create_task(server.ready.wait())
    try:
        await asyncio.wait({serve, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            raise RuntimeError("the Telegram emulator failed to start") from serve.exception()
        yield RunningEmulator(state, host, sock.getsockname()[1])
    finally:
        ready.cancel()
        await state.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serve
        sock.close()
