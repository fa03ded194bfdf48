"""Logging set-up with redaction: bot tokens and Rasa's API token never reach the logs (Telegram ids are kept
out by the callers, which log opaque ids). Two formats: readable text, or JSON lines (OUTREACH_LOG_FORMAT=json,
what a log collector reads: docs/operations.md) with the worker's name and the id of the update being handled
(`bound_update`)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import re
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from outreach.config import Settings

_TOKEN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{20,}")
_SHORT_TOKEN_IN_URL = re.compile(r"/bot\d{1,20}:[A-Za-z0-9_-]+")
_API_TOKEN = re.compile(r"((?:[?&]token=)|(?:Bearer\s+))[A-Za-z0-9_.~%-]+", re.IGNORECASE)  # Rasa's API token

# The Telegram update being handled in this context (set by `bound_update`; copied into threads by
# asyncio.to_thread and into the tasks created meanwhile): JSON lines carry it as "update_id".
update_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("outreach_update_id", default=None)


def redact(text: str) -> str:
    text = _SHORT_TOKEN_IN_URL.sub("/bot<token>", text)
    text = _API_TOKEN.sub(r"\1<token>", text)
    return _TOKEN.sub("<token>", text)


@contextlib.contextmanager
def bound_update(update_id: int) -> Iterator[None]:
    """Within this block, log lines (JSON format) carry `update_id`; the previous value comes back after it."""
    reset = update_id_var.set(update_id)
    try:
        yield
    finally:
        update_id_var.reset(reset)


class RedactingFilter(logging.Filter):
    """Redacts the message and the traceback text of every record a handler writes (whatever its formatter)."""

    _traceback = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text: format it here, redacted
            record.exc_text = self._traceback.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if not hasattr(record, "update_id"):
            record.update_id = update_id_var.get()  # the emitting context's (a handler may write later)
        return True


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, worker, update_id (when bound),
    then the record's `extra` fields and exc_info (the traceback); the whole line is redacted once more."""

    def __init__(self, worker: str, component: str = "") -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "update_id"],
            json_ensure_ascii=False,
        )
        self.worker = worker
        self.component = component

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        fields: dict[str, Any] = {}
        super().add_fields(fields, record, message_dict)
        first: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": fields.pop("level", record.levelname),
            "logger": fields.pop("logger", record.name),
            "message": fields.pop("message", ""),
            "worker": self.worker,
        }
        if self.component:
            first["component"] = self.component
        update_id = getattr(record, "update_id", None)
        if update_id is None:
            update_id = update_id_var.get()
        if update_id is not None:
            first["update_id"] = update_id
        traceback = fields.pop("exc_info", None)
        log_data.update(first)
        log_data.update(fields)  # the record's `extra` fields
        if traceback is not None:
            log_data["exc_info"] = traceback

    def formatException(self, ei: Any) -> str:  # type: ignore[override]
        return redact(str(super().formatException(ei)))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def default_worker_name() -> str:
    """The name Settings.effective_worker_name gives when OUTREACH_WORKER_NAME is unset."""
    return f"{socket.gethostname()}-{os.getpid()}"


def setup_logging(
    level: str = "INFO", prefix: str = "", *, json_format: bool = False, worker: str | None = None
) -> None:
    """Log to stderr at `level`, redacted. Text: `time LEVEL {prefix}logger: message`. `json_format`: one JSON
    object per line (JsonLinesFormatter), `worker` naming this process (default: host name and pid) and the
    prefix, when given, as "component"."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    if json_format:
        handler.setFormatter(JsonLinesFormatter(worker or default_worker_name(), prefix.strip()))
    else:
        fmt = f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s"
        handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Request URLs carry the token; keep these libraries quiet below WARNING.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler.executors", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def setup_logging_for(settings: Settings, prefix: str = "") -> None:
    """`setup_logging` as the settings say (OUTREACH_LOG_LEVEL, OUTREACH_LOG_FORMAT, OUTREACH_WORKER_NAME)."""
    setup_logging(
        settings.log_level, prefix, json_format=settings.log_format == "json", worker=settings.effective_worker_name
    )
