"""What every custom action shares: the resident behind Rasa's sender id, running a use case of
outreach/services with the process's runtime, and saying channel-neutral replies through Rasa (text
and buttons; the Telegram channel turns buttons into server-side tokens)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from outreach import texts
from outreach.replies import Reply
from outreach.services import residents
from outreach.services.residents import ResidentView

log = logging.getLogger(__name__)


def resident_of(tracker: Tracker) -> ResidentView | None:
    with runtime.current().uow() as uow:
        return residents.by_public_id(uow, tracker.sender_id)


def typed_text(tracker: Tracker) -> str:
    """The resident's latest typed words; "" when the latest message was a button's payload ("/intent…")."""
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.startswith("/") else text


def say(dispatcher: CollectingDispatcher, replies: Sequence[Reply]) -> None:
    for reply in replies:
        buttons = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        if reply.text or buttons:
            dispatcher.utter_message(text=reply.text, buttons=buttons)


def run(
    dispatcher: CollectingDispatcher, tracker: Tracker, use_case: Callable[..., Any], **arguments: object
) -> ResidentView | None:
    """Run a resident's use case (unit of work, clock, time zone, resident id, `arguments`) and say its
    replies; the resident, or None (and an apology) when the sender is no known resident."""
    resident = resident_of(tracker)
    if resident is None:
        log.warning("action for an unknown sender")
        dispatcher.utter_message(text=texts.TECHNICAL_ERROR)
        return None
    rt = runtime.current()
    with rt.uow() as uow:
        replies = use_case(uow, rt.clock, tz=rt.settings.tz, resident_id=resident.id, **arguments)
    say(dispatcher, replies or [])
    return resident
