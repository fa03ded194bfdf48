"""Rasa custom actions (rasa-sdk), served by the action server. Thin adapters over outreach/."""

from actions.fallback import ActionFallbackLadder

__all__ = ["ActionFallbackLadder"]
