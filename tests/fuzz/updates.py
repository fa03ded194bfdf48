"""Generated Telegram updates for the fuzz test (tests/fuzz/test_updates.py) and bench/fuzz.py.

Hypothesis strategies draw *scenarios*; the harness (tests/fuzz/harness.py) turns their steps into raw Update
dicts at run time (the ids of the users, chats and messages, the buttons the bot actually showed) and injects
them into the emulator (``/control/inject``). Three kinds of scenario:

* :class:`PrivateScenario`: one new user in a private chat; up to :data:`MAX_PRIVATE_STEPS` steps, each one
  update: a text (unicode edge cases, exactly 4096 characters, very long words), a command with odd arguments,
  a media message of every kind, a message with unknown future content, an edit of an earlier message, a press
  of a button the bot showed, the consent accepted, a forged callback query (any data, any message id), the bot
  blocked or unblocked (``my_chat_member``), a reaction;
* :class:`GroupScenario`: a group, supergroup or channel and a few members who never write to the bot in
  private: messages, commands (``/start@bot``…), edits, service messages, forged callback queries on messages of
  that chat, ``my_chat_member`` / ``chat_member``, join requests, reactions, channel posts and their edits;
* :class:`LoneUpdate`: an update with no chat: inline queries, chosen inline results, polls and poll answers,
  callback queries of inline messages, shipping / pre-checkout queries, boosts, and update types that do not
  exist yet (unknown keys, any JSON).

Any message may carry unknown fields, and any update an unknown top-level field (future Bot API versions).
Every update is well formed for the Bot API (what Telegram could send): a malformed known field is not a
Telegram update. The business_* updates are left out: they need a business connection the bot never has.

:func:`generate` gives the hand-written :func:`seed_corpus` (every prefix of the router's callback data in
private, in groups and on inline messages, texts of exactly 4096 characters, the odd commands of the issue), then
a fixed list drawn by Hypothesis (``derandomize=True``, no example database, generation phase only, none of the
"local constants" Hypothesis reads from the modules already imported): the same list in any process, for given
counts and version of Hypothesis.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from sandbox.emulator.text import utf16_len

MAX_TEXT = 4096  # Telegram: UTF-16 code units of a message's text
MAX_CAPTION = 1024
MAX_PRIVATE_STEPS = 10  # below the bot's flood gate (12 messages per chat in 10 s): every message is answered
MAX_GROUP_STEPS = 8
BOT_USERNAME = "outreach_sandbox_bot"

# ---------------------------------------------------------------- text

BIDI = [
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",  # left-to-right override
    "\u202e",  # right-to-left override
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad", "\u034f", "\u115f", "\u3164"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0336", "\u20dd", "\u0489", "\u064b", "\u0651", "\u05b4"]
EMOJI = [
    "👩‍👩‍👧‍👦",
    "🏳️‍🌈",
    "👨🏽‍💻",
    "🧑🏿‍🤝‍🧑🏻",
    "🇫🇷",
    "🇩🇿",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "1️⃣",
    "❤️",
    "😀",
    "🫶🏾",
    "👍",
]
ESCAPES = [
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udfff",
    "\\u0000",
    "\\x00",
    "%00",
    "&#0;",
    "&#x202e;",
    "\\n",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "{prenom}",
    "%s%s%n",
    "<b>gras</b>",
    "<a href='tg://user?id=1'>x</a>",
    "*_`[]()~>#+-=|{}.!",
    "'; DROP TABLE resident;--",
    "c:yes",
    "b:AAAA",
    '/inform{"age": 999}',
]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\r", "\n", "\t", "\x0b", "\x0c", "\u0085", "\u2028", "\u2029"]
ODD = ["İ", "ß", "ﬁ", "Ⅻ", "ＡＢＣ", "٠١٢٣", "۴۵۶", "𝐀𝐁𝐂", "\ufe0f", "\U000e0067", "\uffff", "\ufffd", "𒀱", "ǅ", "ẞ"]
PHRASES = [
    "bonjour",
    "Bonjour !",
    "slt",
    "merci",
    "oui",
    "non",
    "fin",
    "stop",
    "aide",
    "je veux connaître mes droits",
    "je veux prendre rendez-vous",
    "parler à quelqu'un",
    "je veux parler à une personne",
    "annuler mon rendez-vous de jeudi",
    "j'ai 3 enfants et je suis seule",
    "je suis au chômage depuis 1 an",
    "loyer 450 euros",
    "caf",
    "hlm",
    "Dijon",
    "Troyes",
    "les grésilles",
    "tout effacer",
    "c'est gratuit ?",
    "pourquoi ?",
    "et la CSS ?",
    "demain aprem",
    "le 14 je peux pas, le 21 ?",
    "42",
    "٣",
    "hello, can you help me?",
    "I want to know my rights",
    "مرحبا، أريد موعدا",
    "salam 3likom bghit n3ref l7o9o9 dyali",
    "merhaba, randevu almak istiyorum",
    "olá, quero marcar uma consulta",
    "Guten Tag, ich brauche Hilfe bei der Wohnung",
    "Здравствуйте, мне нужна помощь",
    "blorg fnak zut",
    "azertyuiop qsdfghjklm",
    "?",
    "...",
]
#: A piece of text: one of the lists above, or a few arbitrary characters (no lone surrogates: Telegram
#: sends valid UTF-8; "surrogate-like" escapes are in ESCAPES, astral characters in EMOJI and ODD).
_ANY_CHAR = st.characters(exclude_categories=("Cs",))
_PIECE = st.one_of(
    st.sampled_from(PHRASES),
    st.sampled_from(BIDI),
    st.sampled_from(ZERO_WIDTH),
    st.sampled_from(COMBINING),
    st.sampled_from(EMOJI),
    st.sampled_from(ESCAPES),
    st.sampled_from(CONTROL),
    st.sampled_from(ODD),
    st.text(_ANY_CHAR, min_size=1, max_size=12),
)


def _fit(text: str, limit: int) -> str:
    """At most `limit` UTF-16 code units (Telegram's count), cut on a code point."""
    while utf16_len(text) > limit:
        text = text[: max(1, len(text) - (utf16_len(text) - limit))]
        if utf16_len(text) > limit:
            text = text[:-1]
    return text


def _exactly(unit: str, length: int, *, astral: bool) -> str:
    """A text of exactly `length` UTF-16 code units (4096: the longest message Telegram lets through), made of
    `unit` repeated; with `astral`, padded with characters outside the BMP (2 code units each)."""
    unit = unit or "a"
    text = _fit(unit * (length // max(1, utf16_len(unit)) + 1), length)
    pad = "😀" if astral else "x"
    while utf16_len(text) + utf16_len(pad) <= length:
        text += pad
    while utf16_len(text) < length:
        text += "y"
    return text


def _valid_text(text: str) -> bool:
    return bool(text.strip()) and utf16_len(text) <= MAX_TEXT


@st.composite
def texts(draw: st.DrawFn, *, limit: int = MAX_TEXT) -> str:
    """What a person may type: phrases, unicode edge cases, very long words, texts of exactly `limit` units."""
    kind = draw(
        st.sampled_from(["phrase", "mix", "mix", "mix", "random", "long_word", "exact", "exact_astral", "repeated"])
    )
    if kind == "phrase":
        text = draw(st.sampled_from(PHRASES))
    elif kind == "mix":
        text = "".join(draw(st.lists(_PIECE, min_size=1, max_size=8)))
    elif kind == "random":
        text = draw(st.text(_ANY_CHAR, min_size=1, max_size=80))
    elif kind == "long_word":
        text = draw(st.sampled_from(["a", "é", "ب", "😀", "\u200b", "x\u0301", "Ⅻ"])) * draw(st.integers(100, 4000))
    elif kind in ("exact", "exact_astral"):
        unit = "".join(draw(st.lists(_PIECE, min_size=1, max_size=3)))
        text = _exactly(unit, limit, astral=kind == "exact_astral")
    else:  # a long message with spaces: a request at the end of a long story
        phrase = draw(st.sampled_from(PHRASES))
        text = _fit(" ".join([phrase] * draw(st.integers(50, 400))), limit)
    text = _fit(text, limit)
    return text if _valid_text(text) else "…" + text[: limit - 1]


COMMANDS = [
    "start",
    "langue",
    "donnees",
    "stop",
    "reprendre",
    "aide",
    "droits",
    "rendezvous",
    "parler",
    "fin",
    "note",
    "console",
    "help",
    "settings",
    "menu",
    "START",
    "Donnees",
]


@st.composite
def commands(draw: st.DrawFn) -> str:
    """A command with odd arguments: /start with random payloads (invite-like "st-…" too), /langue xyz…"""
    name = draw(st.one_of(st.sampled_from(COMMANDS), st.from_regex(r"[a-z_]{1,32}", fullmatch=True)))
    mention = draw(st.sampled_from(["", "", "", f"@{BOT_USERNAME}", "@another_bot", "@"]))
    argument = draw(
        st.one_of(
            st.just(""),
            st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),  # a deep-link payload
            st.from_regex(r"st-[A-Za-z0-9_-]{0,30}", fullmatch=True),  # an invite code that does not exist
            st.sampled_from(["xyz", "ar", "en", "fr", "tr", "pt", "zz", "export", "erase", "oui", "../../etc"]),
            texts(limit=200),
        )
    )
    separator = draw(st.sampled_from([" ", " ", "  ", "\n", "\u00a0"])) if argument else ""
    return _fit(f"/{name}{mention}{separator}{argument}", MAX_TEXT)


# ---------------------------------------------------------------- JSON, unknown fields

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_ANY_CHAR, max_size=20),
)
json_values = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
#: Names no Bot API object uses (yet): unknown fields, unknown update types.
future_names = st.from_regex(r"future_[a-z_]{1,16}", fullmatch=True)
unknown_fields = st.dictionaries(future_names, json_values, max_size=2)


# ---------------------------------------------------------------- media and message content


def _file(kind: str, n: int, **extra: Any) -> dict[str, Any]:
    return {"file_id": f"{kind}-fuzz-{n}", "file_unique_id": f"u{kind}{n}", **extra}


@st.composite
def contents(draw: st.DrawFn) -> dict[str, Any]:
    """The content of a message that is not text: every kind a user can send, and kinds not invented yet."""
    kind = draw(
        st.sampled_from(
            [
                "photo",
                "voice",
                "document",
                "sticker",
                "location",
                "contact",
                "video",
                "audio",
                "animation",
                "video_note",
                "dice",
                "venue",
                "poll",
                "unknown",
            ]
        )
    )
    n = draw(st.integers(1, 10**6))
    caption = draw(st.one_of(st.none(), texts(limit=MAX_CAPTION)))
    content: dict[str, Any]
    if kind == "photo":
        content = {
            "photo": [
                _file("photo", n, width=90, height=68, file_size=1000),
                _file("photo", n + 1, width=1280, height=960, file_size=90000),
            ]
        }
    elif kind == "voice":
        content = {"voice": _file("voice", n, duration=draw(st.integers(0, 3600)), mime_type="audio/ogg")}
    elif kind == "document":
        name = draw(st.one_of(st.none(), texts(limit=255)))
        document = _file("document", n, mime_type=draw(st.sampled_from(["application/pdf", "image/jpeg", "x/y"])))
        if name is not None:
            document["file_name"] = name
        content = {"document": document}
    elif kind == "sticker":
        content = {
            "sticker": _file(
                "sticker",
                n,
                type="regular",
                width=512,
                height=512,
                is_animated=draw(st.booleans()),
                is_video=False,
                emoji=draw(st.sampled_from(EMOJI)),
            )
        }
    elif kind == "location":
        location: dict[str, Any] = {
            "latitude": draw(st.floats(-90, 90)),
            "longitude": draw(st.floats(-180, 180)),
        }
        if draw(st.booleans()):
            location["live_period"] = draw(st.integers(60, 86400))
        content = {"location": location}
    elif kind == "contact":
        contact: dict[str, Any] = {
            "phone_number": draw(st.one_of(st.from_regex(r"\+?[0-9]{4,15}", fullmatch=True), texts(limit=30))),
            "first_name": draw(texts(limit=64)),
        }
        if draw(st.booleans()):
            contact["user_id"] = draw(st.integers(1, 2**40))
        content = {"contact": contact}
    elif kind == "video":
        content = {"video": _file("video", n, width=320, height=240, duration=3)}
    elif kind == "audio":
        content = {"audio": _file("audio", n, duration=180, title=draw(texts(limit=64)))}
    elif kind == "animation":
        animation = _file("animation", n, width=320, height=240, duration=2)
        content = {"animation": animation, "document": dict(animation)}  # as Telegram sends a GIF
    elif kind == "video_note":
        content = {"video_note": _file("video_note", n, length=240, duration=5)}
    elif kind == "dice":
        content = {"dice": {"emoji": draw(st.sampled_from(["🎲", "🎯", "🏀", "⚽", "🎳", "🎰"])), "value": 1}}
    elif kind == "venue":
        content = {
            "location": {"latitude": 47.32, "longitude": 5.04},
            "venue": {
                "location": {"latitude": 47.32, "longitude": 5.04},
                "title": draw(texts(limit=64)),
                "address": draw(texts(limit=64)),
            },
        }
    elif kind == "poll":
        content = {"poll": draw(polls())}
    else:  # content of a kind the Bot API does not have yet
        content = {draw(future_names): draw(json_values)}
    if caption is not None and kind in ("photo", "voice", "document", "video", "audio", "animation"):
        content["caption"] = caption
    return content


@st.composite
def polls(draw: st.DrawFn) -> dict[str, Any]:
    options = draw(st.lists(texts(limit=100), min_size=2, max_size=4))
    return {
        "id": str(draw(st.integers(1, 10**18))),
        "question": draw(texts(limit=300)),
        "options": [{"text": o, "voter_count": draw(st.integers(0, 5))} for o in options],
        "total_voter_count": 0,
        "is_closed": draw(st.booleans()),
        "is_anonymous": draw(st.booleans()),
        "type": draw(st.sampled_from(["regular", "quiz"])),
        "allows_multiple_answers": False,
    }


# ---------------------------------------------------------------- callback data

#: Shapes the router knows (bot/router.py), with forged or stale arguments.
_KNOWN_DATA = st.one_of(
    st.sampled_from(
        [
            "c:yes",
            "c:no",
            "c:maybe",
            "l:menu",
            "l:fr",
            "l:en",
            "l:ar",
            "l:keep",
            "l:person",
            "l:xx",
            "l:",
            "d:export",
            "d:erase",
            "d:erase!",
            "d:keep",
            "d:",
            "b:",
            "r:come:1",
            "r:cancel:999999",
            "r:x",
            "f:yes:1",
            "f:",
            "k:0:talk",
            "k:1:screening",
            "k:abc",
            "k:",
            "s:take:1",
            "s:avail:1",
            "s:close:1:x",
            "s:",
            "s",
            ":",
            "::::",
            "",
        ]
    ),
    st.from_regex(r"b:[A-Za-z0-9_-]{1,24}", fullmatch=True),  # a token that was never issued
    st.from_regex(r"[crfkslbd]:[^\n]{0,40}", fullmatch=True),
)


@st.composite
def callback_data(draw: st.DrawFn) -> str | None:
    """Forged callback data of any shape: known prefixes with wrong arguments, random bytes, too long (Telegram
    caps button data at 64 bytes, a forged request may send more), or none at all (a game button)."""
    data = draw(
        st.one_of(
            _KNOWN_DATA,
            st.text(_ANY_CHAR, max_size=64),
            st.text(_ANY_CHAR, min_size=65, max_size=300),
            st.sampled_from(EMOJI + BIDI + ZERO_WIDTH + ESCAPES + CONTROL),
            st.none(),
        )
    )
    return data


# ---------------------------------------------------------------- steps and scenarios


@dataclass(frozen=True)
class Step:
    """One update of a scenario. `kind` names the update (the harness builds it); the other fields are its
    generated parts."""

    kind: str
    text: str | None = None
    content: dict[str, Any] | None = None
    data: str | None = None
    target: int = 0  # which earlier message (of the user, of the bot) an edit, a press or a reaction is about
    extra: dict[str, Any] = field(default_factory=dict)  # unknown fields of the message
    update_extra: dict[str, Any] = field(default_factory=dict)  # unknown fields of the update


PRIVATE_KINDS = {
    "text": "a text message",
    "command": "a command",
    "media": "a message that is not text",
    "edit": "an edited message (text or caption)",
    "press": "a press of a button the bot showed",
    "accept": "the consent accepted (its button)",
    "forged": "a callback query with forged data",
    "member": "my_chat_member: the bot blocked or unblocked",
    "reaction": "message_reaction on a message of the chat",
}


@st.composite
def private_steps(draw: st.DrawFn) -> Step:
    kind = draw(
        st.sampled_from(
            ["text"] * 6
            + ["command"] * 3
            + ["media"] * 2
            + ["edit", "press", "press", "press", "accept"]
            + ["forged", "forged", "member", "reaction"]
        )
    )
    extra = draw(st.one_of(st.just({}), st.just({}), unknown_fields))
    update_extra = draw(st.one_of(st.just({}), st.just({}), st.just({}), unknown_fields))
    target = draw(st.integers(0, 50))
    if kind == "text":
        return Step(kind, text=draw(texts()), extra=extra, update_extra=update_extra)
    if kind == "command":
        return Step(kind, text=draw(commands()), extra=extra, update_extra=update_extra)
    if kind == "media":
        return Step(kind, content=draw(contents()), extra=extra, update_extra=update_extra)
    if kind == "edit":
        return Step(kind, text=draw(st.one_of(texts(), commands())), target=target, extra=extra)
    if kind == "forged":
        return Step(kind, data=draw(callback_data()), target=target, update_extra=update_extra)
    if kind == "member":
        return Step(kind, data=draw(st.sampled_from(["kicked", "member"])), update_extra=update_extra)
    if kind == "reaction":
        return Step(kind, text=draw(st.sampled_from(EMOJI)), target=target)
    return Step(kind, target=target, update_extra=update_extra)  # press, accept


@dataclass(frozen=True)
class PrivateScenario:
    """A new user, alone with the bot in a private chat."""

    first_name: str
    language_code: str | None
    steps: tuple[Step, ...]
    username: str | None = None


@st.composite
def private_scenarios(draw: st.DrawFn) -> PrivateScenario:
    steps = draw(st.lists(private_steps(), min_size=1, max_size=MAX_PRIVATE_STEPS))
    if draw(st.integers(0, 2)) == 0:  # a third of the users accept the consent early: Rasa's side gets fuzzed
        at = draw(st.integers(0, min(2, len(steps) - 1)))
        steps = [*steps[:at], Step("text", text=draw(st.sampled_from(PHRASES))), Step("accept"), *steps[at:]]
    return PrivateScenario(
        first_name=draw(st.one_of(st.sampled_from(["Amina", "Karim", "Fatou"]), texts(limit=64))),
        language_code=draw(st.sampled_from(["fr", "fr", "en", "ar", "tr", "pt", "de", "zh-hans", "xx", None])),
        username=draw(st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{4,31}", fullmatch=True))),
        steps=tuple(steps[: MAX_PRIVATE_STEPS + 2]),
    )


GROUP_KINDS = {
    "text": "a text message in the group",
    "command": "a command in the group (/start@bot…)",
    "media": "a media message in the group",
    "edit": "an edited message in the group",
    "service": "a service message (members joined or left, title, pin…)",
    "forged": "a callback query on a message of the group",
    "my_member": "my_chat_member: the bot added, promoted or removed",
    "member": "chat_member: a member's status changed",
    "join": "chat_join_request",
    "reaction": "message_reaction / message_reaction_count",
}


@st.composite
def group_steps(draw: st.DrawFn, channel: bool) -> Step:
    if channel:
        kind = draw(st.sampled_from(["text", "text", "command", "media", "edit", "my_member", "reaction"]))
    else:
        kind = draw(
            st.sampled_from(
                ["text"] * 3
                + ["command"] * 2
                + ["forged"] * 3
                + ["media", "edit", "service", "my_member", "member", "join", "reaction"]
            )
        )
    extra = draw(st.one_of(st.just({}), unknown_fields))
    target = draw(st.integers(0, 50))
    if kind == "text":
        return Step(kind, text=draw(texts()), target=target, extra=extra)
    if kind == "command":
        text = draw(st.one_of(commands(), st.just("/start"), st.just(f"/start@{BOT_USERNAME} st-abc")))
        return Step(kind, text=text, target=target, extra=extra)
    if kind == "media":
        return Step(kind, content=draw(contents()), target=target, extra=extra)
    if kind == "edit":
        return Step(kind, text=draw(st.one_of(texts(), commands())), target=target, extra=extra)
    if kind == "service":
        service = draw(
            st.sampled_from(
                ["new_chat_members", "left_chat_member", "new_chat_title", "pinned_message", "group_chat_created"]
            )
        )
        return Step(kind, data=service, text=draw(texts(limit=128)), target=target, extra=extra)
    if kind == "forged":  # the router's own prefixes half of the time: buttons of a private chat pressed here
        return Step(kind, data=draw(st.one_of(_KNOWN_DATA, callback_data())), target=target)
    if kind in ("my_member", "member"):
        status = draw(st.sampled_from(["member", "administrator", "left", "kicked", "restricted"]))
        return Step(kind, data=status, target=target)
    return Step(kind, text=draw(st.sampled_from(EMOJI)), target=target)


@dataclass(frozen=True)
class GroupScenario:
    """A group, supergroup or channel, and members who never write to the bot in private."""

    chat_type: str  # group | supergroup | channel
    title: str
    members: int
    steps: tuple[Step, ...]


@st.composite
def group_scenarios(draw: st.DrawFn) -> GroupScenario:
    chat_type = draw(st.sampled_from(["group", "supergroup", "supergroup", "channel"]))
    steps = draw(st.lists(group_steps(chat_type == "channel"), min_size=1, max_size=MAX_GROUP_STEPS))
    return GroupScenario(
        chat_type=chat_type, title=draw(texts(limit=128)), members=draw(st.integers(1, 4)), steps=tuple(steps)
    )


LONE_KINDS = {
    "inline_query": "an inline query (@bot …)",
    "chosen_inline_result": "a chosen inline result",
    "inline_callback": "a callback query of an inline message (no chat)",
    "poll": "a poll's new state",
    "poll_answer": "a poll answer",
    "shipping_query": "a shipping query",
    "pre_checkout_query": "a pre-checkout query",
    "chat_boost": "a chat boost",
    "removed_chat_boost": "a removed chat boost",
    "future": "an update type that does not exist yet",
}


@dataclass(frozen=True)
class LoneUpdate:
    """An update with no chat of its own (or of a kind not invented yet)."""

    kind: str
    text: str | None = None
    data: str | None = None
    payload: Any = None  # polls, and the content of an unknown update type
    update_extra: dict[str, Any] = field(default_factory=dict)


@st.composite
def lone_updates(draw: st.DrawFn) -> LoneUpdate:
    kind = draw(st.sampled_from([*LONE_KINDS, "future", "future", "inline_callback", "inline_query"]))
    update_extra = draw(st.one_of(st.just({}), unknown_fields))
    if kind in ("inline_query", "chosen_inline_result"):
        return LoneUpdate(kind, text=draw(st.one_of(st.just(""), texts(limit=256))), update_extra=update_extra)
    if kind == "inline_callback":
        return LoneUpdate(kind, data=draw(callback_data()), update_extra=update_extra)
    if kind == "poll":
        return LoneUpdate(kind, payload=draw(polls()), update_extra=update_extra)
    if kind == "future":
        return LoneUpdate(kind, text=draw(future_names), payload=draw(json_values), update_extra=update_extra)
    return LoneUpdate(kind, text=draw(texts(limit=128)), update_extra=update_extra)


Scenario = PrivateScenario | GroupScenario | LoneUpdate


@contextlib.contextmanager
def _no_local_constants() -> Iterator[None]:
    """Hypothesis also draws literals found in the project's modules already imported (its "local constants"):
    the examples would then depend on what the process imported before (other tests, the fixtures). Without
    them, the same examples in any process."""
    if not hasattr(providers, "_get_local_constants"):  # another version of Hypothesis: nothing to freeze
        yield
        return
    with mock.patch.object(providers, "_get_local_constants", lambda: providers.Constants()):
        yield


def _draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy` drawn by Hypothesis, the same on every run (derandomized: the seed comes from
    this function, no example database, generation phase only, no constants read from the modules imported)."""
    drawn: list[Any] = []
    if count <= 0:
        return drawn

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    with _no_local_constants():
        collect()
    return drawn


#: Callback data the router reads (bot/router.py), one of each prefix.
ROUTER_DATA = ("c:yes", "c:no", "l:menu", "l:ar", "l:person", "d:export", "d:erase!", "b:abc", "r:come:1", "f:yes:1")
ROUTER_DATA_MORE = ("k:1:talk", "k:0:book", "s:take:1", "s:avail:1", "l:keep", "d:keep", "f:", "r:x")
EXACT = (
    _exactly("je veux un rendez-vous ", MAX_TEXT, astral=False),
    _exactly("👩‍👩‍👧‍👦", MAX_TEXT, astral=True),
    "a" * MAX_TEXT,
    _exactly("\u202eparler à quelqu'un\u200b", MAX_TEXT, astral=False),
)
ODD_TEXTS = (
    "\x00",
    "\u202e\u200b",
    "👩‍👩‍👧‍👦",
    "z\u0301\u0301\u0301\u0301\u0301",
    "\\ud83d\\ude00",
    "\ufeff/start",
    "\u200f",
)
ODD_COMMANDS = (
    "/start",
    "/start Zm9vYmFy_-",
    "/start st-doesnotexist",
    f"/start@{BOT_USERNAME} {'x' * 64}",
    "/langue xyz",
    "/langue ar",
    "/donnees",
    "/donnees export",
    "/stop",
    "/reprendre",
    "/parler",
    "/fin",
)


def seed_corpus() -> list[Scenario]:
    """Hand-written scenarios played before the generated ones, so that each run has what matters most at least
    once: every prefix of the router's callback data pressed in private (before and after the consent), in a group
    and on an inline message; texts of exactly 4096 characters and odd characters from a resident; the odd commands
    of the issue from a new user and from a resident."""

    def private(*steps: Step, consent: bool = False, language: str | None = "fr") -> PrivateScenario:
        before = (Step("text", text="bonjour"), Step("accept")) if consent else ()
        return PrivateScenario("Amina", language, (*before, *steps))

    pressed = ROUTER_DATA + ROUTER_DATA_MORE
    forged = [Step("forged", data=data, target=1) for data in pressed]
    corpus: list[Scenario] = [
        private(Step("command", text="/start"), *forged[:9]),
        private(Step("command", text="/start"), *forged[9:]),
        private(*forged[:10], consent=True),
        private(*forged[10:], consent=True),
        private(*(Step("text", text=text) for text in EXACT + ODD_TEXTS[:4])),
        private(*(Step("text", text=text) for text in EXACT), consent=True),
        private(*(Step("text", text=text) for text in ODD_TEXTS), consent=True, language="ar"),
        private(*(Step("command", text=text) for text in ODD_COMMANDS[:10])),
        private(*(Step("command", text=text) for text in ODD_COMMANDS[:10]), consent=True),
        private(*(Step("command", text=text) for text in ODD_COMMANDS[10:]), consent=True),
    ]
    for chat_type, first in (("supergroup", 0), ("group", 8), ("supergroup", 16)):
        steps = tuple(Step("forged", data=data, target=1) for data in pressed[first : first + 8])
        corpus.append(GroupScenario(chat_type, "Quartier", 2, steps))
    group = (
        Step("command", text="/start"),
        Step("command", text=f"/start@{BOT_USERNAME} st-abc"),
        Step("text", text="bonjour"),
        Step("edit", text="/start"),
        Step("service", data="new_chat_members"),
        Step("my_member", data="administrator"),
    )
    corpus.append(GroupScenario("group", "Quartier", 2, group))
    channel = (Step("command", text="/start"), Step("text", text="bonjour"), Step("edit", text="x"))
    corpus.append(GroupScenario("channel", "Chaîne", 1, channel))
    corpus += [LoneUpdate("inline_callback", data=data) for data in pressed]
    return corpus


def generate(private: int, groups: int, lone: int, *, corpus: bool = True) -> list[Scenario]:
    """The seed corpus (of the kinds asked for), then so many generated scenarios of each kind, interleaved (the
    service sees the kinds mixed)."""
    seeds = seed_corpus() if corpus else []
    batches: list[list[Scenario]] = [
        [s for s in seeds if isinstance(s, PrivateScenario) and private] + _draw(private_scenarios(), private),
        [s for s in seeds if isinstance(s, GroupScenario) and groups] + _draw(group_scenarios(), groups),
        [s for s in seeds if isinstance(s, LoneUpdate) and lone] + _draw(lone_updates(), lone),
    ]
    total = sum(len(batch) for batch in batches)
    mixed: list[Scenario] = []
    taken = [0, 0, 0]
    for _ in range(total):  # each kind at its own pace: evenly spread over the run
        kind = min(range(3), key=lambda k: (taken[k] + 1) / (len(batches[k]) + 1e-9) if batches[k] else 9e9)
        mixed.append(batches[kind][taken[kind]])
        taken[kind] += 1
    return mixed


def update_count(scenario: Scenario) -> int:
    return len(scenario.steps) if isinstance(scenario, PrivateScenario | GroupScenario) else 1
