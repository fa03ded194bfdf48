"""A resident's turn is all or nothing when the action server cannot be reached (killed, restarting).

Rasa 3.6 catches every exception of a custom action and goes on without its events ("Bot will continue, but
the actions events are lost"): a form's answer vanished and the resident was told "Je n'ai pas bien compris".
During a turn of our REST channel (nlu/serving/rest.py), an action whose server cannot be reached now raises
`ActionServerUnavailable` instead: a BaseException, so that it leaves the turn before Rasa saves the tracker
(the message is not recorded), and the channel answers 503. The service then says "Un instant…" and sends the
message again until Rasa answers (bot/conversation.py), the form still where it was. An action server that
answers, even with an error, keeps Rasa's behaviour.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import aiohttp

IN_REST_TURN: ContextVar[bool] = ContextVar("outreach_in_rest_turn", default=False)


class ActionServerUnavailable(BaseException):  # not an Exception on purpose: see the module
    """A custom action's server could not be reached during a REST turn."""


def unreachable(error: BaseException | None) -> bool:
    """The error, or what caused it, is a connection failure or a timeout of the action server."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, aiohttp.ClientConnectionError | asyncio.TimeoutError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def install() -> None:
    """Wrap RemoteAction.run (once) in the Rasa server process (nlu/serving/__main__.py)."""
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction.run, "outreach_turns", False):
        return
    original = RemoteAction.run

    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except Exception as error:
            if IN_REST_TURN.get() and unreachable(error):
                raise ActionServerUnavailable(self.name()) from error
            raise

    run.outreach_turns = True  # type: ignore[attr-defined]
    RemoteAction.run = run  # type: ignore[method-assign]
