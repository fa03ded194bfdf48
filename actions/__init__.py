"""Rasa custom actions (rasa-sdk), served by the action server. Thin adapters over outreach/."""

from actions.booking import ActionBooking
from actions.fallback import ActionFallbackLadder
from actions.place import ActionAskQuartier, ActionPlaceDone, ValidateWhereForm
from actions.screening import ASK_ACTIONS, ActionScreeningDone, ActionScreeningStart, ValidateScreeningForm

__all__ = [
    "ASK_ACTIONS",
    "ActionAskQuartier",
    "ActionBooking",
    "ActionFallbackLadder",
    "ActionPlaceDone",
    "ActionScreeningDone",
    "ActionScreeningStart",
    "ValidateScreeningForm",
    "ValidateWhereForm",
]
