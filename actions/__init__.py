"""Rasa custom actions (rasa-sdk), served by the action server. Thin adapters over outreach/."""

from actions.fallback import ActionFallbackLadder
from actions.place import ActionAskQuartier, ActionPlaceDone, ValidateWhereForm
from actions.screening import ASK_ACTIONS, ActionScreeningDone, ActionScreeningStart, ValidateScreeningForm

__all__ = [
    "ASK_ACTIONS",
    "ActionAskQuartier",
    "ActionFallbackLadder",
    "ActionPlaceDone",
    "ActionScreeningDone",
    "ActionScreeningStart",
    "ValidateScreeningForm",
    "ValidateWhereForm",
]
