"""`python -m serving run …` (in .venv-rasa, PYTHONPATH=nlu): `rasa run` with `--auth-token` taken from
OUTREACH_RASA_TOKEN. A process's command line is readable by every user of the machine, its environment
only by its owner: the token is added to argv inside the process, never on the real command line."""

from __future__ import annotations

import os
import sys

MINIMUM_LENGTH = 24


def main() -> None:
    token = os.environ.get("OUTREACH_RASA_TOKEN", "")
    if len(token) < MINIMUM_LENGTH:
        sys.exit(f"OUTREACH_RASA_TOKEN is missing or shorter than {MINIMUM_LENGTH} characters: Rasa not started")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    rasa_main()


if __name__ == "__main__":
    main()
