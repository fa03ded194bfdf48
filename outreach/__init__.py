"""outreach: the domain of the aller-vers assistant (no Telegram, no Rasa imports here)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
