"""Privacy controls asked for in words: stop proactive messages, see / export / erase my data."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.channel import run
from actions.fallback import confirm_if_close
from outreach.services import privacy


class ActionStopMessages(Action):
    def name(self) -> str:
        return "action_stop_messages"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not confirm_if_close(dispatcher, tracker):
            run(dispatcher, tracker, privacy.stop)
        return []


class ActionMyData(Action):
    def name(self) -> str:
        return "action_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not confirm_if_close(dispatcher, tracker):
            run(dispatcher, tracker, privacy.summary)
        return []
