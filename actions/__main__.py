"""`python -m actions --port N`: the action endpoint alone (Rasa calls it), with the database of
DATABASE_URL. Stateless: several may run behind one Rasa."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from actions import runtime
from actions.server import create_app
from outreach import bootstrap
from outreach.logs import setup_logging_for
from outreach.screening import national

log = logging.getLogger("outreach.actions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None, help="interface (default: OUTREACH_ACTIONS_HOST, loopback)")
    parser.add_argument("--port", type=int, default=None, help="port (default: OUTREACH_ACTIONS_PORT)")
    args = parser.parse_args(argv)
    settings = bootstrap.load_settings()
    if settings is None:
        return 2
    setup_logging_for(settings, prefix="actions ")
    container = bootstrap.build(settings)  # no bot token here: what actions send goes through the outbox
    runtime.use(runtime.Runtime(settings=settings, engine=container.engine, clock=container.clock))
    # OpenFisca's first simulation is slow: done before the first resident's screening
    national.warm_up(container.clock.now().astimezone(settings.tz).date())
    host = args.host or settings.actions_host
    port = args.port or settings.actions_port
    if settings.rasa_secret is None:
        log.error("OUTREACH_RASA_TOKEN is not set: the action endpoint would answer anyone, not started")
        return 2
    uvicorn.run(create_app(token=settings.rasa_secret), host=host, port=port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
