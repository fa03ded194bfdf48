"""Runs generated scenarios (tests/fuzz/updates.py) against the real service, the project's PTB Application
polling the Bot API emulator and talking to the real Rasa, and checks what it does.

How an update is followed, without sleeping: the harness adds to the running Application a handler in a group
after every handler of the bot (:data:`MARKER_GROUP`, PTB runs the groups of one update in order) and an error
handler. The update is injected (``/control/inject``); once the marker has seen its ``update_id``, every handler
of the bot has finished with it, and the bot messages of the chat since the injection are its answer. The
updates of one scenario are sent one after the other (the next once the previous is handled), the scenarios run
side by side.

Properties (a breach is a :class:`Violation`; `check` names it):

* ``handled``: every update is handled within :data:`HANDLE_TIMEOUT` seconds (the service never hangs);
* ``error``: no exception reaches PTB's error handlers, nothing is logged at ERROR or above (any logger);
* ``one_answer``: a message from a user in a private chat (text, command, or any other content) gets one answer:
  exactly one bot message while the user has not accepted the consent (the consent question, or the notice
  for a language the bot does not speak, the language list, the refusal of an invite code…), 1 to
  :data:`MAX_TURN` bot messages from a resident who accepted it (a turn of Rasa: a few sentences, plus the
  notice that a long message was cut), at most one ("your message is kept for the adulte-relais", sent once)
  inside an open handoff case, where the messages go to a person;
* ``bounded``: any other update in a private chat (an edit, a button, a reaction, the bot blocked) gets at most
  :data:`MAX_TURN` bot messages;
* ``callback_answered``: every callback query with a chat is answered (``answerCallbackQuery``: the button
  stops spinning), once (a second answer is refused by Telegram, hence logged as an error);
* ``group_reply``: in a group, supergroup or channel the bot says only :data:`GROUP_TEXTS` (the sentence that
  it answers in private only, after a ``/start``, and that a button is no longer valid), without buttons, once
  per update at most;
* ``no_leak``: the members of groups and the users of updates without a chat, who never wrote to the bot in
  private, get nothing in private and no resident record (no consent recorded from a group);
* ``late``: no bot message reaches a chat except as the answer of one of its updates (checked at the end).

After the run, :meth:`Fuzz.resident_still_served` plays a normal resident through the emulator's client (the
service keeps answering)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from outreach import i18n, texts
from outreach.services import handoffs, residents
from sandbox.client import ChatUser, EmulatorClient, EmulatorError
from sandbox.emulator.inject import MESSAGE_FIELDS
from sandbox.emulator.text import command_entities
from tests.fuzz.updates import (
    BOT_USERNAME,
    GroupScenario,
    LoneUpdate,
    PrivateScenario,
    Scenario,
    Step,
)

MARKER_GROUP = 10_000  # after every group of handlers of the bot
HANDLE_TIMEOUT = 60.0  # seconds for one update (a Rasa turn takes ~40 ms)
MAX_TURN = 6  # bot messages of one turn of a resident who consented (observed: at most 3 in 12,000 updates)
BOT_ID = 123456  # tests/conftest.py TOKEN


def _every_language(name: str) -> set[str]:
    french = texts.french(name)
    return {french} | {i18n.translate(french, code) for code in i18n.LANGUAGES}


#: What the bot may say in a group, a supergroup or a channel.
GROUP_TEXTS = _every_language("GROUP_CHAT") | _every_language("BUTTON_EXPIRED")
FLOOD_TEXTS = _every_language("FLOOD")


@dataclass
class Violation:
    check: str
    detail: str
    update: dict[str, Any] | None = None
    answer: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"[{self.check}] {self.detail}"]
        if self.update is not None:
            lines.append(f"  update: {self.update!r}"[:2000])
        lines += [f"  bot: {text!r}"[:300] for text in self.answer]
        return "\n".join(lines)


def chat_type(update: dict[str, Any] | None) -> str | None:
    """The type of the chat an update comes from: private, group, supergroup, channel; "none" for a callback query
    of an inline message; None for an update without a chat."""
    if update is None:
        return None
    for key in MESSAGE_FIELDS:
        if isinstance(update.get(key), dict):
            return update[key].get("chat", {}).get("type")
    if "callback_query" in update:
        return (update["callback_query"].get("message") or {}).get("chat", {}).get("type", "none")
    return None


TECHNICAL_ERROR_TEXTS = _every_language("TECHNICAL_ERROR")
NOT_PRIVATE = ("group", "supergroup", "channel")

#: Open bugs of the bot, each with what the fuzz sees of it (tests/fuzz/test_updates.py has a minimal test of each,
#: marked xfail strict). When one is fixed, remove it here: the test of groups says so (it checks each is seen).
KNOWN_OPEN_BUGS: dict[str, Callable[[Violation], bool]] = {}  # none open (the three found are fixed)


def known_bug(violation: Violation) -> str | None:
    return next((name for name, seen in KNOWN_OPEN_BUGS.items() if seen(violation)), None)


@dataclass
class Handled:
    """One injected update and what the bot did with it."""

    kind: str  # "private:text", "group:forged", "lone:inline_query"…
    update_type: str  # the Update field: message, edited_message, callback_query…
    update: dict[str, Any]
    messages: list[dict[str, Any]]  # bot messages in the chat while it was handled
    edits: int
    seconds: float
    state: str = ""  # private chats: where the user stood before (new, consented, case…)


class _ErrorLog(logging.Handler):
    """Every record at ERROR or above, with the identity of its exception (to find the update it came from)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[tuple[str, BaseException | None]] = []  # the exception kept: its id stays its own

    def emit(self, record: logging.LogRecord) -> None:
        error, exception = "", None
        if record.exc_info and record.exc_info[1] is not None:
            exception = record.exc_info[1]
            error = "\n" + "".join(traceback.format_exception(exception))[-3000:]
        self.records.append((f"{record.levelname} {record.name}: {record.getMessage()}{error}", exception))


def _sender(user_id: int, first_name: str, language_code: str | None, username: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name or "?"}
    if language_code is not None:
        user["language_code"] = language_code
    if username is not None:
        user["username"] = username
    return user


BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Outreach", "username": BOT_USERNAME}


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ChatMember of `status`, with every field the Bot API gives it."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=False,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=False,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
    elif status == "restricted":
        member.update(
            is_member=True,
            can_send_messages=False,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_manage_topics=False,
            until_date=0,
        )
    return member


class Fuzz:
    """Sends scenarios to a running bot (the `bot` fixture's Application) and records what it does."""

    def __init__(
        self,
        telegram: EmulatorClient,
        application: Application,  # type: ignore[type-arg]
        services: Any,
        *,
        concurrency: int = 12,
        first_id: int = 710_000_000,
    ) -> None:
        self.telegram = telegram
        self.application = application
        self.services = services
        self.concurrency = concurrency
        self.next_id = first_id
        self.handled: list[Handled] = []
        self.violations: list[Violation] = []
        self.errors: dict[int, list[str]] = {}  # per update_id, what reached PTB's error handlers
        self._error_owner: dict[int, tuple[int, object]] = {}  # id(exception) -> (update_id, the exception)
        self._raw: dict[int, dict[str, Any]] = {}  # update_id -> the update as queued
        self._pressed_in_group: dict[int, dict[str, Any]] = {}  # user id -> their last callback query in a group
        self.log = _ErrorLog()
        self._done: dict[int, asyncio.Event] = {}
        self._attributed: Counter[int] = Counter()  # bot messages seen as answers, per chat
        self._private_chats: set[int] = set()
        self._silent_users: set[int] = set()  # group members, lone users: never wrote in private
        self._group_chats: set[int] = set()
        self._marker = TypeHandler(Update, self._on_handled)
        self.started = 0.0
        self.seconds = 0.0

    # -- instrumentation ------------------------------------------------------

    @contextlib.contextmanager
    def attached(self) -> Iterator[Fuzz]:
        self.application.add_handler(self._marker, group=MARKER_GROUP)
        self.application.add_error_handler(self._on_error)
        logging.getLogger().addHandler(self.log)
        try:
            yield self
        finally:
            logging.getLogger().removeHandler(self.log)
            self.application.remove_error_handler(self._on_error)
            self.application.remove_handler(self._marker, group=MARKER_GROUP)

    async def _on_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self._done.setdefault(update.update_id, asyncio.Event()).set()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        key = update.update_id if isinstance(update, Update) else -1
        error = context.error
        self._error_owner[id(error)] = (key, error)
        described = "".join(traceback.format_exception(error))[-3000:] if error is not None else "?"
        self.errors.setdefault(key, []).append(described)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- running ----------------------------------------------------------------

    async def run(self, scenarios: list[Scenario]) -> None:
        """Every scenario (those of a private chat and of a group step by step), `concurrency` at a time."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(scenario: Scenario) -> None:
            async with gate:
                if isinstance(scenario, PrivateScenario):
                    await self._private(scenario)
                elif isinstance(scenario, GroupScenario):
                    await self._group(scenario)
                else:
                    await self._lone(scenario)

        self.started = time.perf_counter()
        await asyncio.gather(*(one(scenario) for scenario in scenarios))
        self.seconds = time.perf_counter() - self.started

    async def send(
        self, kind: str, update: dict[str, Any], chat_id: int | None
    ) -> tuple[Handled, dict[str, Any]] | None:
        """Inject, wait until every handler of the bot is done with it, collect its answer in `chat_id`."""
        update_type = next((key for key in update if not key.startswith("future_")), "unknown update type")
        readable = {**update, "update_id": 1}  # as the emulator will number it
        for key, value in update.items():
            if key in MESSAGE_FIELDS and "message_id" not in value:
                readable[key] = {"message_id": 1, **value}
            elif key == "callback_query" and "id" not in value:
                readable[key] = {"id": "1", **value}
        try:
            Update.de_json(readable, self.application.bot)  # what Telegram sends, PTB reads: else a bug here
        except Exception as exc:
            raise AssertionError(f"the generator made an update PTB cannot read ({exc!r}): {update!r}") from exc
        started = time.perf_counter()
        queued = await self.telegram.inject(update)
        update_id, seq = queued["update_id"], queued["seq"]
        self._raw[update_id] = queued["update"]
        done = self._done.setdefault(update_id, asyncio.Event())
        try:
            await asyncio.wait_for(done.wait(), HANDLE_TIMEOUT)
        except TimeoutError:
            self.violations.append(
                Violation("handled", f"update {update_id} not handled within {HANDLE_TIMEOUT:g} s", queued["update"])
            )
            return None
        seconds = time.perf_counter() - started
        messages: list[dict[str, Any]] = []
        edits = 0
        if chat_id is not None:
            for event in (await self.telegram.events(chat_id, after=seq))["events"]:
                if event["from_bot"] and event["type"] == "message":
                    messages.append(event["message"])
                elif event["from_bot"] and event["type"] == "edit":
                    edits += 1
            self._attributed[chat_id] += len(messages)
        for error in self.errors.get(update_id, []):
            self.violations.append(Violation("error", f"{kind}: {error}", queued["update"], _texts(messages)))
        handled = Handled(kind, update_type, queued["update"], messages, edits, seconds)
        self.handled.append(handled)
        return handled, queued

    async def _callback_answered(self, handled: Handled) -> None:
        query_id = handled.update["callback_query"]["id"]
        data = await self.telegram.request("GET", f"/control/callbacks/{query_id}", params={"timeout": 0})
        if not data["answered"]:
            self.violations.append(
                Violation("callback_answered", f"{handled.kind}: callback query never answered", handled.update)
            )

    # -- private chats ----------------------------------------------------------

    def _state(self, user_id: int) -> str:
        """new | unconsented | refused | consented | case: where the user stands, read in the database."""
        with self.services.uow() as uow:
            resident = residents.find(uow, self.services.clock, user_id, touch=False)
            if resident is None:
                return "new"
            if handoffs.open_for_resident(uow, resident.id) is not None:
                return "case"
            if resident.consented:
                return "consented"
            return "refused" if resident.refused else "unconsented"

    async def _private(self, scenario: PrivateScenario) -> None:
        user_id = self._id()
        self._private_chats.add(user_id)
        user = _sender(user_id, scenario.first_name, scenario.language_code, scenario.username)
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        if scenario.username:
            chat["username"] = scenario.username
        sent: list[dict[str, Any]] = []  # the user's messages, for edits
        for step in scenario.steps:
            state = self._state(user_id)
            kind, update = await self._private_update(step, user, chat, sent)
            result = await self.send(f"private:{kind}", update, user_id)
            if result is None:
                return
            handled, queued = result
            if kind in ("text", "command", "media"):
                sent.append(queued["update"]["message"])
            handled.state = state
            self._check_private(handled, kind, state)
            if "callback_query" in handled.update:
                await self._callback_answered(handled)

    async def _bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        try:
            data = await self.telegram.messages(chat_id)
        except EmulatorError as exc:  # a chat the emulator has not seen yet
            if exc.status != 404:
                raise
            return []
        return [m["message"] for m in data["messages"] if m["from_bot"]]

    async def _private_update(
        self, step: Step, user: dict[str, Any], chat: dict[str, Any], sent: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        now = int(time.time())
        kind = step.kind
        if kind in ("press", "accept"):
            shown = [
                (message, button["callback_data"])
                for message in await self._bot_messages(chat["id"])
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
                if "callback_data" in button
            ]
            if kind == "accept":
                shown = [(message, data) for message, data in shown if data == "c:yes"]
                if not shown:  # no consent question in front of them: they ask for it
                    step = dataclasses.replace(step, kind="command", text="/start")
                    return await self._private_update(step, user, chat, sent)
                message, data = shown[-1]
            elif shown:
                latest = max(message["message_id"] for message, _ in shown)
                buttons = [(message, data) for message, data in shown if message["message_id"] == latest]
                message, data = buttons[step.target % len(buttons)]
            else:  # nothing to press: a stale button
                message, data = {"message_id": 1, "chat": chat, "date": 0}, "b:stale"
            query = {"from": user, "chat_instance": f"ci{chat['id']}", "message": message, "data": data}
            return kind, {"callback_query": query, **step.update_extra}
        if kind == "forged":
            known = await self._bot_messages(chat["id"])
            if known and step.target % 3:
                message = known[step.target % len(known)]
            else:  # a message id the bot never sent: inaccessible (date 0)
                message = {"message_id": 10_000 + step.target, "chat": chat, "date": 0}
            query = {"from": user, "chat_instance": f"ci{chat['id']}", "message": message}
            if step.data is not None:
                query["data"] = step.data
            return kind, {"callback_query": query, **step.update_extra}
        if kind == "member":
            old, new = ("member", "kicked") if step.data == "kicked" else ("kicked", "member")
            change = {
                "chat": chat,
                "from": user,
                "date": now,
                "old_chat_member": _member(old, BOT_USER),
                "new_chat_member": _member(new, BOT_USER),
            }
            return kind, {"my_chat_member": change, **step.update_extra}
        if kind == "reaction":
            known = await self._bot_messages(chat["id"])
            message_id = known[step.target % len(known)]["message_id"] if known else 1
            reaction = {
                "chat": chat,
                "message_id": message_id,
                "user": user,
                "date": now,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": step.text or "👍"}],
            }
            return kind, {"message_reaction": reaction}
        if kind == "edit":
            earlier = [message for message in sent if "text" in message]
            if earlier:
                original = earlier[step.target % len(earlier)]
                message = {**original, "edit_date": now, "text": step.text or "?"}
            else:  # an edit of a message the bot never saw (sent before it was started)
                message = {"message_id": 50_000 + step.target, "from": user, "chat": chat, "date": now - 3600}
                message.update(edit_date=now, text=step.text or "?")
            message.pop("entities", None)
            entities = command_entities(message["text"])
            if entities:
                message["entities"] = entities
            return kind, {"edited_message": {**message, **step.extra}, **step.update_extra}
        message = {"from": user, "chat": chat, "date": now}
        if kind == "media":
            message.update(step.content or {})
        else:
            message["text"] = step.text or "?"
            entities = command_entities(message["text"])
            if entities:
                message["entities"] = entities
        return kind, {"message": {**message, **step.extra}, **step.update_extra}

    def _check_private(self, handled: Handled, kind: str, state: str) -> None:
        count = len(handled.messages)
        answer = _texts(handled.messages)
        if any(text in FLOOD_TEXTS for text in answer):
            self.violations.append(Violation("one_answer", "the flood gate answered", handled.update, answer))
        if kind in ("text", "command", "media"):
            if state == "case":
                expected = range(0, 2)
            elif state == "consented":
                expected = range(1, MAX_TURN + 1)
            else:
                expected = range(1, 2)
            if count not in expected:
                self.violations.append(
                    Violation(
                        "one_answer",
                        f"{handled.kind} from a user in state {state!r}: {count} bot messages "
                        f"(expected {expected.start} to {expected.stop - 1})",
                        handled.update,
                        answer,
                    )
                )
        elif count > MAX_TURN:
            self.violations.append(
                Violation(
                    "bounded", f"{handled.kind}: {count} bot messages (at most {MAX_TURN})", handled.update, answer
                )
            )

    # -- groups, supergroups, channels -------------------------------------------

    async def _group(self, scenario: GroupScenario) -> None:
        number = self._id()
        channel = scenario.chat_type == "channel"
        chat_id = -(10**12) - number if scenario.chat_type != "group" else -number
        self._group_chats.add(chat_id)
        chat = {"id": chat_id, "type": scenario.chat_type, "title": scenario.title}
        members = []
        for index in range(scenario.members):
            member_id = self._id()
            self._silent_users.add(member_id)
            members.append(_sender(member_id, f"Membre{index}", "fr", None))
        posted: list[dict[str, Any]] = []
        for step in scenario.steps:
            kind, update = await self._group_update(step, chat, members, posted, channel)
            result = await self.send(f"{'channel' if channel else 'group'}:{kind}", update, chat_id)
            if result is None:
                return
            handled, queued = result
            for key in ("message", "channel_post"):
                if key in queued["update"]:
                    posted.append(queued["update"][key])
            answer = _texts(handled.messages)
            wrong = [m for m in handled.messages if _text(m) not in GROUP_TEXTS or m.get("reply_markup")]
            if wrong or len(handled.messages) > 1:
                self.violations.append(
                    Violation(
                        "group_reply",
                        f"{handled.kind}: the bot said {len(handled.messages)} message(s) in a {scenario.chat_type}",
                        handled.update,
                        answer,
                    )
                )
            if "callback_query" in handled.update:
                self._pressed_in_group[handled.update["callback_query"]["from"]["id"]] = handled.update
                await self._callback_answered(handled)

    async def _group_update(
        self,
        step: Step,
        chat: dict[str, Any],
        members: list[dict[str, Any]],
        posted: list[dict[str, Any]],
        channel: bool,
    ) -> tuple[str, dict[str, Any]]:
        now = int(time.time())
        member = members[step.target % len(members)]
        kind = step.kind
        if kind == "forged":
            known = await self._bot_messages(chat["id"])
            pool = known + posted
            if pool and step.target % 4:
                message = pool[step.target % len(pool)]
            else:
                message = {"message_id": 10_000 + step.target, "chat": chat, "date": 0}
            query: dict[str, Any] = {"from": member, "chat_instance": f"ci{chat['id']}", "message": message}
            if step.data is not None:
                query["data"] = step.data
            return kind, {"callback_query": query}
        if kind in ("my_member", "member"):
            old = "left" if step.data != "left" else "member"
            subject = BOT_USER if kind == "my_member" else members[(step.target + 1) % len(members)]
            change = {
                "chat": chat,
                "from": member,
                "date": now,
                "old_chat_member": _member(old, subject),
                "new_chat_member": _member(step.data or "member", subject),
            }
            return kind, {"my_chat_member" if kind == "my_member" else "chat_member": change}
        if kind == "join":
            request = {"chat": chat, "from": member, "user_chat_id": member["id"], "date": now}
            if step.text:
                request["bio"] = step.text[:70]
            return kind, {"chat_join_request": request}
        if kind == "reaction":
            message_id = posted[step.target % len(posted)]["message_id"] if posted else 1
            if channel or step.target % 2:
                counted = {"type": {"type": "emoji", "emoji": step.text or "👍"}, "total_count": 1 + step.target}
                reactions = {"chat": chat, "message_id": message_id, "date": now, "reactions": [counted]}
                return kind, {"message_reaction_count": reactions}
            reaction = {
                "chat": chat,
                "message_id": message_id,
                "user": member,
                "date": now,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": step.text or "👍"}],
            }
            return kind, {"message_reaction": reaction}
        author: dict[str, Any] = {"sender_chat": chat} if channel else {"from": member}
        if kind == "edit":
            earlier = [message for message in posted if "text" in message]
            if earlier:
                message = {**earlier[step.target % len(earlier)], "edit_date": now, "text": step.text or "?"}
            else:
                message = {"message_id": 50_000 + step.target, "chat": chat, "date": now - 60, **author}
                message.update(edit_date=now, text=step.text or "?")
            message.pop("entities", None)
            entities = command_entities(message["text"])
            if entities:
                message["entities"] = entities
            return kind, {"edited_channel_post" if channel else "edited_message": {**message, **step.extra}}
        message = {"chat": chat, "date": now, **author}
        if kind == "media":
            message.update(step.content or {})
        elif kind == "service":
            other = members[(step.target + 1) % len(members)]
            service: dict[str, Any] = {
                "new_chat_members": {"new_chat_members": [other, BOT_USER][: 1 + step.target % 2]},
                "left_chat_member": {"left_chat_member": other},
                "new_chat_title": {"new_chat_title": step.text or "titre"},
                "pinned_message": {
                    "pinned_message": posted[-1] if posted else {"message_id": 1, "chat": chat, "date": 0}
                },
                "group_chat_created": {"group_chat_created": True},
            }[step.data or "group_chat_created"]
            message.update(service)
        else:
            message["text"] = step.text or "?"
            entities = command_entities(message["text"])
            if entities:
                message["entities"] = entities
        return kind, {"channel_post" if channel else "message": {**message, **step.extra}}

    # -- updates without a chat ----------------------------------------------------

    async def _lone(self, lone: LoneUpdate) -> None:
        user_id = self._id()
        self._silent_users.add(user_id)
        user = _sender(user_id, "Anonyme", "fr", None)
        text = lone.text or ""
        body: dict[str, Any]
        if lone.kind == "inline_query":
            body = {"inline_query": {"id": str(user_id), "from": user, "query": text, "offset": ""}}
        elif lone.kind == "chosen_inline_result":
            body = {"chosen_inline_result": {"result_id": text[:64] or "1", "from": user, "query": text}}
        elif lone.kind == "inline_callback":
            query: dict[str, Any] = {"from": user, "chat_instance": "ci-inline", "inline_message_id": f"AAA{user_id}"}
            if lone.data is not None:
                query["data"] = lone.data
            body = {"callback_query": query}
        elif lone.kind == "poll":
            body = {"poll": lone.payload}
        elif lone.kind == "poll_answer":
            body = {"poll_answer": {"poll_id": "1", "user": user, "option_ids": [0]}}
        elif lone.kind == "shipping_query":
            address = {
                "country_code": "FR",
                "state": "",
                "city": "Dijon",
                "street_line1": text[:64] or "1 rue",
                "street_line2": "",
                "post_code": "21000",
            }
            body = {
                "shipping_query": {
                    "id": str(user_id),
                    "from": user,
                    "invoice_payload": text,
                    "shipping_address": address,
                }
            }
        elif lone.kind == "pre_checkout_query":
            body = {
                "pre_checkout_query": {
                    "id": str(user_id),
                    "from": user,
                    "currency": "EUR",
                    "total_amount": 100,
                    "invoice_payload": text,
                }
            }
        elif lone.kind in ("chat_boost", "removed_chat_boost"):
            channel = {"id": -(10**12) - user_id, "type": "channel", "title": "Chaîne"}
            source = {"source": "premium", "user": user}
            if lone.kind == "chat_boost":
                boost = {"boost_id": str(user_id), "add_date": 1, "expiration_date": 2, "source": source}
                body = {"chat_boost": {"chat": channel, "boost": boost}}
            else:
                body = {
                    "removed_chat_boost": {
                        "chat": channel,
                        "boost_id": str(user_id),
                        "remove_date": 1,
                        "source": source,
                    }
                }
        else:  # an update type that does not exist yet
            body = {lone.text or "future_update": lone.payload}
        result = await self.send(f"lone:{lone.kind}", {**body, **lone.update_extra}, None)
        if result is not None and lone.kind == "inline_callback":
            await self._callback_answered(result[0])

    # -- after the run ---------------------------------------------------------------

    async def finish(self) -> None:
        """The checks over the whole run: no late message, nothing for silent users, nothing logged at ERROR."""
        for chat_id in sorted(self._private_chats | self._group_chats):
            events = (await self.telegram.events(chat_id, after=0))["events"]
            sent = sum(1 for event in events if event["from_bot"] and event["type"] == "message")
            if sent != self._attributed[chat_id]:
                self.violations.append(
                    Violation(
                        "late",
                        f"chat {chat_id}: {sent} bot messages, {self._attributed[chat_id]} of them answers",
                    )
                )
        for user_id in sorted(self._silent_users):
            pressed = self._pressed_in_group.get(user_id)  # the update, if they pressed a button in a group
            events = (await self.telegram.events(user_id, after=0))["events"]
            said = [event for event in events if event["from_bot"] and event["type"] in ("message", "edit")]
            if said:
                detail = f"user {user_id} never wrote in private, got {len(said)} bot message(s) there"
                self.violations.append(Violation("no_leak", detail, pressed, _texts([e["message"] for e in said])))
            with self.services.uow() as uow:
                if residents.find(uow, self.services.clock, user_id, touch=False) is not None:
                    detail = f"user {user_id} never wrote in private, has a resident record"
                    self.violations.append(Violation("no_leak", detail, pressed))
        for record, exception in self.log.records:
            if exception is not None and id(exception) in self._error_owner:  # reported with its update already
                continue
            self.violations.append(Violation("error", record))
        for error in self.errors.get(-1, []):
            self.violations.append(Violation("error", f"outside an update: {error}"))

    async def resident_still_served(self) -> None:
        """A normal resident conversation, through the client the other tests use: the service still answers."""
        resident: ChatUser = await self.telegram.user(self._id(), "Amina")
        await resident.send("/start")
        question = await resident.wait_for(lambda m: "c:yes" in str(m.raw.get("reply_markup")), timeout=30)
        await resident.press(texts.french("CONSENT_ACCEPT"), message=question)
        await resident.wait_for(lambda m: not m.edited and m.message_id != question.message_id, timeout=30)
        await resident.send("je veux connaître mes droits")
        answer = await resident.wait_for(lambda m: not m.edited, timeout=30)
        assert answer.text, "the service did not answer a resident after the fuzz"
        assert self.application.running and self.application.updater.running

    def summary(self) -> dict[str, Any]:
        per_type: Counter[str] = Counter(h.update_type for h in self.handled)
        per_kind: Counter[str] = Counter(h.kind for h in self.handled)
        answers: Counter[str] = Counter()
        for h in self.handled:
            answers[h.kind] += len(h.messages)
        turn: Counter[str] = Counter(
            f"{h.state}:{len(h.messages)}"
            for h in self.handled
            if h.kind in ("private:text", "private:command", "private:media")
        )
        checks: Counter[str] = Counter(v.check for v in self.violations)
        known: Counter[str] = Counter(name for v in self.violations if (name := known_bug(v)) is not None)
        slowest = max((h.seconds for h in self.handled), default=0.0)
        return {
            "updates": len(self.handled),
            "updates_per_type": dict(sorted(per_type.items())),
            "updates_per_kind": dict(sorted(per_kind.items())),
            "bot_messages": sum(len(h.messages) for h in self.handled),
            "bot_edits": sum(h.edits for h in self.handled),
            "bot_messages_per_kind": dict(sorted(answers.items())),
            "private_messages_by_state_and_answer_size": dict(sorted(turn.items())),
            "errors_logged": len(self.log.records),
            "updates_with_an_error": len([key for key, errors in self.errors.items() if errors and key >= 0]),
            "violations": len(self.violations),
            "violations_per_check": dict(sorted(checks.items())),
            "violations_of_known_open_bugs": dict(sorted(known.items())),
            "violations_unexplained": len(self.unexplained()),
            "seconds": round(self.seconds, 1),
            "updates_per_second": round(len(self.handled) / self.seconds, 1) if self.seconds else None,
            "slowest_update_s": round(slowest, 2),
        }

    def unexplained(self) -> list[Violation]:
        """The violations that no known open bug explains."""
        return [v for v in self.violations if known_bug(v) is None]

    def report(self, violations: list[Violation] | None = None, limit: int = 12) -> str:
        """The first violations of each check (all of them, or those given), for an assertion message."""
        violations = self.violations if violations is None else violations
        shown: Counter[str] = Counter()
        lines = []
        for violation in violations:
            shown[violation.check] += 1
            if shown[violation.check] <= limit:
                lines.append(str(violation))
        hidden = len(violations) - sum(min(n, limit) for n in shown.values())
        if hidden:
            lines.append(f"… and {hidden} more")
        return "\n".join(lines)


def _text(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or f"<{next(iter(message), '?')}>"


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [_text(message) for message in messages]
