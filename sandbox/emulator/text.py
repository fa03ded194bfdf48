"""Message text as Telegram counts and parses it.

UTF-16 lengths, TDLib-like parsing of ``HTML`` / ``MarkdownV2`` / ``Markdown`` into plain text and
entities (with the same "can't parse entities" errors), and the ``bot_command`` entities of users' texts.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.emulator.protocol import ApiError


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


def normalize_url(url: str) -> str | None:
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
            url = normalize_url(attrs.get("href", ""))
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
                normalized = normalize_url(url)
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
                normalized = normalize_url(url)
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
