"""The Telegram Bot API emulator, driven by the real python-telegram-bot client over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter

from sandbox.client import ChatUser, EmulatorClient
from sandbox.emulator import (
    PLACEHOLDER_OGG,
    PLACEHOLDER_PDF,
    RunningEmulator,
    image_size,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    running_emulator,
)

TOKEN = "123:ABC"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def bot(emu: RunningEmulator) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, base_url=emu.base_url, base_file_url=emu.file_url) as ptb_bot:
        yield ptb_bot


async def next_update(bot: Bot, offset: int | None = None) -> Update:
    [update] = await bot.get_updates(offset=offset, timeout=5)
    return update


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


YES_NO = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Oui", callback_data="yes"), InlineKeyboardButton("Non", callback_data="no")]]
)


# --------------------------------------------------------------------------- Bot API basics


async def test_get_me_and_unknown_methods(emu: RunningEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123 and me.is_bot and me.username == "outreach_sandbox_bot"
    async with httpx.AsyncClient(base_url=emu.url) as http:
        upper = (await http.get(f"/bot{TOKEN}/GETME")).json()
        assert upper["ok"] and upper["result"]["id"] == 123
        bad_token = await http.post("/botnot-a-token/getMe")
        assert bad_token.status_code == 401
        assert bad_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = await http.post(f"/bot{TOKEN}/sendTelepathy")
        assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
        as_json = await http.post(f"/bot{TOKEN}/getMyCommands", json={})
        assert as_json.json() == {"ok": True, "result": []}


async def test_the_sandbox_page_is_served(emu: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emu.url) as http:
        page = await http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for fragment in (
        "Bac à sable Outreach",
        "Samia, adulte-relais Dijon",
        "Le bot n'est pas encore connecté",
        "📷 Photo",
    ):
        assert fragment in page.text
    assert "https://" not in page.text and "<script src" not in page.text  # works offline, no CDN


async def test_user_text_arrives_through_get_updates(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina", last_name="B.", username="amina_b")
    sent = await amina.send("/start coucou")
    update = await next_update(bot)
    assert isinstance(update, Update) and update.update_id == sent["update_id"]
    message = update.message
    assert isinstance(message, Message) and message.message_id == sent["message_id"]
    assert message.text == "/start coucou" and message.chat.type == "private" and message.chat.id == 1001
    assert message.from_user.first_name == "Amina" and message.from_user.language_code == "fr"
    assert message.from_user.username == "amina_b"
    assert isinstance(message.date, dtm.datetime)
    [entity] = message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    # the offset confirms the update: nothing left
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_inline_keyboard_press_and_callback_answer(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    sent = await bot.send_message(1001, "Êtes-vous <b>d'accord</b> ?", parse_mode=ParseMode.HTML, reply_markup=YES_NO)
    assert sent.text == "Êtes-vous d'accord ?" and sent.entities[0].type == "bold"
    question = await amina.next_message()
    assert question.buttons == ["Oui", "Non"] and question.text == "Êtes-vous d'accord ?"
    assert question.raw_buttons[1]["callback_data"] == "no"
    query_id = await amina.press("Oui")
    update = await next_update(bot)
    query = update.callback_query
    assert isinstance(query, CallbackQuery) and query.id == query_id and query.data == "yes"
    assert query.message.message_id == sent.message_id and query.from_user.id == 1001
    assert await bot.answer_callback_query(query.id, text="C'est noté", show_alert=True)
    answer = await amina.callback_answer(query_id)
    assert answer == "C'est noté" and answer.show_alert
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("42")

    forged = await amina.press_data(sent.message_id, "admin:delete_everything")
    update = await next_update(bot, offset=update.update_id + 1)
    assert update.callback_query.id == forged and update.callback_query.data == "admin:delete_everything"

    with pytest.raises(AssertionError, match=r"no inline button 'Peut-être'.*Oui"):
        await amina.press("Peut-être")


async def test_keyboard_validation(bot: Bot, tg: EmulatorClient) -> None:
    await tg.user(1001, "Amina")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1001, "hop", reply_markup=too_long)
    async with httpx.AsyncClient() as http:
        no_action = await http.post(
            f"{bot.base_url}/sendMessage",
            json={"chat_id": 1001, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "seul"}]]}},
        )
        no_text = await http.post(
            f"{bot.base_url}/sendMessage",
            data={"chat_id": "1001", "text": "x", "reply_markup": '{"inline_keyboard": [[{"callback_data": "a"}]]}'},
        )
    assert no_action.status_code == 400 and "Text buttons are unallowed" in no_action.json()["description"]
    assert no_text.status_code == 400 and 'Field "text"' in no_text.json()["description"]


async def test_edit_delete_and_not_modified(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    sent = await bot.send_message(1001, "Choisissez", reply_markup=YES_NO)
    await amina.next_message()
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Choisissez", chat_id=1001, message_id=sent.message_id, reply_markup=YES_NO)
    edited = await bot.edit_message_text("Choisissez\n👉 Oui", chat_id=1001, message_id=sent.message_id)
    assert edited.edit_date is not None and edited.reply_markup is None  # no markup = keyboard removed
    seen = await amina.next_message()
    assert seen.edited and seen.event == "edit" and seen.buttons == [] and seen.text.endswith("👉 Oui")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=YES_NO)
    assert (await amina.next_message()).buttons == ["Oui", "Non"]
    assert await bot.delete_message(1001, sent.message_id)
    assert await amina.messages() == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(1001, sent.message_id)


async def test_send_document_roundtrip(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    payload = b'{"first_name": "Amina", "consent": true}'
    sent = await bot.send_document(1001, payload, filename="mes-donnees.json", caption="Vos données")
    assert sent.document.file_name == "mes-donnees.json" and sent.caption == "Vos données"
    received = await amina.wait_for(lambda m: m.document is not None)
    assert received.document["file_name"] == "mes-donnees.json" and received.text == "Vos données"
    assert await tg.file_bytes(received.document["file_id"]) == payload
    ptb_file = await bot.get_file(sent.document.file_id)
    assert bytes(await ptb_file.download_as_bytearray()) == payload
    again = await bot.send_document(1001, sent.document.file_id)  # re-send by file_id
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(1001, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(1001, b"not an image")


async def test_a_residents_photo_is_copied_to_a_staff_member(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    samia = await tg.user(2001, "Samia")
    sent = await amina.send_kind("photo", caption="Mon courrier de la CAF")
    update = await next_update(bot)
    photo = update.message.photo
    assert len(photo) == 2 and photo[-1].width == 320 and update.message.caption == "Mon courrier de la CAF"
    copied = await bot.copy_message(chat_id=2001, from_chat_id=1001, message_id=sent["message_id"])
    relayed = await samia.next_message()
    assert relayed.message_id == copied.message_id and relayed.photo is not None
    assert relayed.text == "Mon courrier de la CAF"
    image = await tg.file_bytes(relayed.file_id)
    assert image_size(image) == ("jpeg", 320, 240)
    forwarded = await bot.forward_message(chat_id=2001, from_chat_id=1001, message_id=sent["message_id"])
    assert forwarded.forward_origin.sender_user.first_name == "Amina"
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(chat_id=2001, from_chat_id=1001, message_id=404)


@pytest.mark.parametrize("kind", ["document", "sticker", "voice", "video", "location", "contact"])
async def test_user_media_kinds(bot: Bot, tg: EmulatorClient, kind: str) -> None:
    fatou = await tg.user(1003, "Fatou")
    await fatou.send_kind(kind)
    message = (await next_update(bot)).message
    assert getattr(message, kind) is not None
    if kind == "document":
        assert await tg.file_bytes(message.document.file_id) == PLACEHOLDER_PDF
    if kind == "voice":
        assert await tg.file_bytes(message.voice.file_id) == PLACEHOLDER_OGG


async def test_commands(bot: Bot, tg: EmulatorClient) -> None:
    await tg.user(2001, "Samia")
    commands = [BotCommand("start", "Commencer"), BotCommand("donnees", "Mes données")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    assert await tg.commands() == [c.to_dict() for c in commands]
    staff = [BotCommand("file", "File d'attente")]
    await bot.set_my_commands(staff, scope=BotCommandScopeChat(2001))
    assert [c["command"] for c in await tg.commands(user_id=2001)] == ["file"]
    assert [c["command"] for c in await tg.commands(user_id=1001)] == ["start", "donnees"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])


# --------------------------------------------------------------------------- errors like Telegram


async def test_text_limits_and_entity_errors(bot: Bot, tg: EmulatorClient) -> None:
    await tg.user(1001, "Amina")
    assert (await bot.send_message(1001, "a" * 4096)).text == "a" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1001, "a" * 4097)
    await bot.send_message(1001, "😀" * 2048)  # 4096 UTF-16 code units
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1001, "😀" * 2049)
    await bot.send_message(1001, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)  # counted after parsing
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1001, "  ")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "" at byte offset 2'):
        await bot.send_message(1001, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '.' is reserved"):
        await bot.send_message(1001, "Fin.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999_999, "hello")


async def test_blocked_user_is_forbidden(bot: Bot, tg: EmulatorClient) -> None:
    karim = await tg.user(1002, "Karim")
    await karim.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1002, "Bonjour")
    update = await next_update(bot, offset=None)
    assert update.my_chat_member.new_chat_member.status == "kicked"
    await karim.unblock()
    await bot.send_message(1002, "Re-bonjour")
    stats = await tg.stats()
    assert stats["forbidden"] == 1 and stats["sends_per_chat"] == {"1002": 1}
    never_started = await tg.user(1004, "Nora", started=False)
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(never_started.user_id, "Coucou")


async def test_injected_faults(bot: Bot, tg: EmulatorClient) -> None:
    await tg.user(1001, "Amina")
    await tg.user(1002, "Karim")
    await tg.fault("sendMessage", 429, retry_after=7, chat_id=1002)
    await bot.send_message(1001, "not affected: other chat")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1002, "hello")
    assert seconds(caught.value.retry_after) == 7
    await bot.send_message(1002, "hello again")  # one-shot
    await tg.fault("getMe", 502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_me()
    assert (await bot.get_me()).id == 123
    stats = await tg.stats()
    assert stats["too_many_requests"] == 1 and stats["errors"]["502"] == 2


async def test_enforced_rate_limits() -> None:
    async with (
        running_emulator(enforce_limits=True, global_rate=5, per_chat_interval=1.0) as emu,
        EmulatorClient(emu.url) as tg,
        Bot(TOKEN, base_url=emu.base_url) as bot,
    ):
        for user_id in range(1001, 1008):
            await tg.user(user_id, f"U{user_id}")
        for _ in range(3):  # a burst of 3 to one chat is tolerated
            await bot.send_message(1001, "burst")
        with pytest.raises(RetryAfter) as per_chat:
            await bot.send_message(1001, "one too many")
        assert seconds(per_chat.value.retry_after) >= 1
        await bot.send_message(1002, "4th this second")
        await bot.send_message(1003, "5th this second")
        with pytest.raises(RetryAfter) as global_limit:
            await bot.send_message(1004, "6th this second")
        assert seconds(global_limit.value.retry_after) >= 1
        stats = await tg.stats()
        assert stats["too_many_requests"] == 2 and stats["max_global_send_rate"] == 5
        assert stats["sends_per_chat"]["1001"] == 3


# --------------------------------------------------------------------------- polling


async def test_webhook_makes_get_updates_conflict(bot: Bot) -> None:
    assert await bot.set_webhook("https://example.invalid/hook")  # not loopback: never contacted
    info = await bot.get_webhook_info()
    assert info.url == "https://example.invalid/hook"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_webhook_delivery_to_a_loopback_url(bot: Bot, tg: EmulatorClient) -> None:
    received: asyncio.Queue[tuple[dict[str, object], str | None]] = asyncio.Queue()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in head.split("\r\n")[1:])}
        body = await reader.readexactly(int(headers["content-length"]))
        await received.put((json.loads(body), headers.get("x-telegram-bot-api-secret-token")))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token="s3cret")
        amina = await tg.user(1001, "Amina")
        sent = await amina.send("par webhook")
        update, secret = await asyncio.wait_for(received.get(), timeout=5)
        assert update["update_id"] == sent["update_id"] and secret == "s3cret"
        assert update["message"]["text"] == "par webhook"
        assert await bot.delete_webhook()


async def test_long_polling_returns_as_soon_as_an_update_arrives(
    emu: RunningEmulator, bot: Bot, tg: EmulatorClient
) -> None:
    amina = await tg.user(1001, "Amina")
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_polling(timeout=5)  # woken by the emulator when the poll starts
    await amina.send("bonjour")
    [update] = await asyncio.wait_for(poll, timeout=5)  # far sooner than the 30 s poll timeout
    assert update.message.text == "bonjour"
    # a second bot instance polling terminates the first one's poll, like Telegram does
    first = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=30))
    await tg.wait_polling(timeout=5)
    async with Bot(token=TOKEN, base_url=emu.base_url) as second_instance:
        assert await second_instance.get_updates(offset=update.update_id + 1, timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=5)


async def test_event_stream_and_client_cursor(bot: Bot, tg: EmulatorClient) -> None:
    amina: ChatUser = await tg.user(1001, "Amina")
    await amina.send("salut")
    before = (await tg.events(1001, after=0))["last"]
    waiting = asyncio.create_task(tg.events(1001, after=before, wait=30))
    await bot.send_chat_action(1001, "typing")
    events = (await asyncio.wait_for(waiting, timeout=5))["events"]
    assert [e["type"] for e in events] == ["chat_action"]
    await bot.send_message(1001, "un")
    await bot.send_message(1001, "deux", reply_markup=ReplyKeyboardMarkup([["Oui", "Non"]]))
    assert [(await amina.next_message()).text for _ in range(2)] == ["un", "deux"]
    assert amina.reply_keyboard is not None and amina.reply_keyboard["keyboard"][0][0]["text"] == "Oui"
    with pytest.raises(TimeoutError, match=r"(?s)no new bot message.*#2 bot: un"):
        await amina.next_message(timeout=0.2)
    transcript = [m.line() for m in await amina.messages()]
    assert transcript == ["#1 user: salut", "#2 bot: un", "#3 bot: deux"]


async def test_reset_forgets_everything_but_keeps_ids_increasing(bot: Bot, tg: EmulatorClient) -> None:
    amina = await tg.user(1001, "Amina")
    first = await amina.send("un")
    await tg.reset()
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(1001, "x")
    amina = await tg.user(1001, "Amina")
    second = await amina.send("deux")
    assert second["update_id"] > first["update_id"] and second["seq"] > first["seq"]
    [update] = await bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    assert update.message.text == "deux"


async def test_python_m_sandbox_serves_and_stops_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        str(port),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        first_line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        assert f"http://127.0.0.1:{port}/" in first_line.decode()
        async with EmulatorClient(f"http://127.0.0.1:{port}") as tg:
            for _ in range(200):
                try:
                    status = await tg.status()
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)  # the child process is still binding its port
            assert status["bot_seen"] is False and status["connected"] is False
            pending = asyncio.create_task(tg.events(1001, wait=30))
            await asyncio.sleep(0.2)  # give the long poll time to reach the server
            process.terminate()
            with contextlib.suppress(httpx.HTTPError):
                await asyncio.wait_for(pending, timeout=5)  # released by the shutdown, not after 30 s
        # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully
        assert await asyncio.wait_for(process.wait(), timeout=5) in (0, -signal.SIGTERM)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --------------------------------------------------------------------------- formatting (no server)


def test_html_parsing_matches_telegram() -> None:
    text, entities = parse_html('<b>Gras <i>et</i></b> <a href="https://x.fr">lien</a> &lt;3 &amp; 😀<code>c</code>')
    assert text == "Gras et lien <3 & 😀c"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 7),
        ("italic", 5, 2),
        ("text_link", 8, 4),
        ("code", 20, 1),  # the emoji counts for two UTF-16 units
    ]
    assert parse_html('<pre><code class="language-python">x = 1</code></pre>')[1] == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"}
    ]
    for bad, message in [
        ("<b>x", 'end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink"'),
    ]:
        with pytest.raises(Exception, match=message):
            parse_html(bad)


def test_markdown_parsing_matches_telegram() -> None:
    text, entities = parse_markdown_v2(r"*Gras* _it_ __sous__ ~barré~ ||spoil|| [lien](https://x.fr/a\)b) \. `c\`d`")
    assert text == "Gras it sous barré spoil lien . c`d"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
    ]
    assert entities[5]["url"] == "https://x.fr/a)b"
    with pytest.raises(Exception, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*pas fermé")
    text, entities = parse_markdown("*gras* _it_ [lien](http://a.b) `code`")
    assert text == "gras it lien code" and [e["type"] for e in entities] == ["bold", "italic", "text_link", "code"]
    with pytest.raises(Exception, match="Can't find end of the entity starting at byte offset 0"):
        parse_markdown("_ouvert")
