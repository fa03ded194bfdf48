"""Logging set-up with redaction: bot tokens and Telegram ids never reach the logs."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{20,}")
_SHORT_TOKEN_IN_URL = re.compile(r"/bot\d{1,20}:[A-Za-z0-9_-]+")
_API_TOKEN = re.compile(r"((?:[?&]token=)|(?:Bearer\s+))[A-Za-z0-9_.~%-]+", re.IGNORECASE)  # Rasa's API token


def redact(text: str) -> str:
    text = _SHORT_TOKEN_IN_URL.sub("/bot<token>", text)
    text = _API_TOKEN.sub(r"\1<token>", text)
    return _TOKEN.sub("<token>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str = "INFO", *, prefix: str = "") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    fmt = f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Request URLs carry the token; keep these libraries quiet below WARNING.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
