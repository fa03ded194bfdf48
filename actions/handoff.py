"""A person takes over: talk_to_human in words, the second misunderstanding in a row (the fallback
ladder), a screening the rules call complex. The case, its cards and what the resident is told come
from outreach's handoff dialogue; the conversation is paused (Rasa's own event) until the case ends."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.channel import resident_of, say
from outreach import texts
from outreach.rasa import exchanges
from outreach.services import handoff_dialogue


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, source: str) -> list[EventType]:
    resident = resident_of(tracker)
    if resident is None:
        dispatcher.utter_message(text=texts.TECHNICAL_ERROR)
        return []
    rt = runtime.current()
    with rt.uow() as uow:
        opened = handoff_dialogue.open_case(
            uow,
            rt.clock,
            tz=rt.settings.tz,
            resident_id=resident.id,
            source=source,
            exchanges=exchanges(list(tracker.events)),
        )
    say(dispatcher, opened.replies)
    if not opened.paused:
        return []
    # The turn ends as Rasa ends any turn (listening), then the conversation pauses: once the case is over
    # and the channel resumes it, the next message is read as after any other turn.
    return [ActionExecuted("action_listen"), ConversationPaused()]


class ActionTalkToHuman(Action):
    def name(self) -> str:
        return "action_talk_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return hand_off(dispatcher, tracker, "talk_to_human")
