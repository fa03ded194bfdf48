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

    from serving import speedups

    speedups.install()

    from serving import graph, history

    check = os.environ.get(history.CHECK_VARIABLE) == "1"
    graph.install(check=check)  # the prediction graph run in a fixed order, the rule policy's matches kept per state

    from serving import tracker_cache

    tracker_cache.install()  # the latest session of each conversation kept in memory while it is the stored one

    history.install(check=check)

    from serving import turns

    turns.install()  # a turn that cannot reach the action server is not saved, and retried by the service
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]  # "=": a token may begin with "-"
    rasa_main()


if __name__ == "__main__":
    main()
