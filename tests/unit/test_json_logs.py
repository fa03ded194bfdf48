"""outreach/logs.py: JSON lines (one object per line, with the worker and the update being handled) and the
redaction of tokens in the message, the `extra` fields and tracebacks, in both formats."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from outreach.logs import bound_update, setup_logging, update_id_var

BOT_TOKEN = "123456789:AAH-abcdefghijklmnopqrstuvwxyz_0123"
RASA_TOKEN = "s3cr3t-rasa-token-0123456789abcdef"
SECRETS = (BOT_TOKEN, RASA_TOKEN, "AAH-abcdefghijklmnopqrstuvwxyz_0123")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capsys.readouterr().err
    assert err.endswith("\n")
    return [json.loads(line) for line in err.splitlines()]  # each line alone is a JSON object


def test_one_json_object_per_line_with_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="worker-3")
    log = logging.getLogger("outreach.test")
    log.info("first line\nwith a newline inside")
    log.warning("second %s", "é", extra={"campaign": 7})
    log.debug("not at this level")
    first, second = lines(capsys)
    assert list(first)[:5] == ["time", "level", "logger", "message", "worker"]
    assert first["level"] == "INFO" and first["logger"] == "outreach.test" and first["worker"] == "worker-3"
    assert first["message"] == "first line\nwith a newline inside"
    assert "update_id" not in first
    moment = dt.datetime.fromisoformat(first["time"])
    assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)
    assert second["level"] == "WARNING" and second["message"] == "second é" and second["campaign"] == 7


def test_the_prefix_becomes_the_component_and_the_worker_has_a_default(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "dispatch ", json_format=True)
    logging.getLogger("outreach.dispatch").info("tick")
    (line,) = lines(capsys)
    assert line["component"] == "dispatch" and line["worker"]


def test_the_update_being_handled_is_on_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="w")
    log = logging.getLogger("outreach.bot")
    with bound_update(1001):
        log.info("outer")
        with bound_update(1002):
            log.info("inner")
        log.info("outer again")
    log.info("none")
    assert [line.get("update_id") for line in lines(capsys)] == [1001, 1002, 1001, None]
    assert update_id_var.get() is None


async def test_concurrent_updates_keep_their_own_id(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="w")
    log = logging.getLogger("outreach.bot")

    async def handle(update_id: int, other_started: asyncio.Event, started: asyncio.Event) -> None:
        with bound_update(update_id):
            started.set()
            await other_started.wait()  # both updates are in progress at once
            log.info("update %s in the loop", update_id)
            await asyncio.to_thread(log.info, "update %s in a thread", update_id)

    a, b = asyncio.Event(), asyncio.Event()
    await asyncio.gather(handle(1, b, a), handle(2, a, b))
    found = lines(capsys)
    assert len(found) == 4
    for line in found:
        assert line["message"].startswith(f"update {line['update_id']} ")


def test_tokens_are_redacted_in_the_message_and_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="w")
    log = logging.getLogger("outreach.test")
    log.info("GET https://api.telegram.org/bot%s/getUpdates", BOT_TOKEN)
    log.info("token %s seen", BOT_TOKEN)
    log.info("POST http://rasa:5005/conversations?token=%s", RASA_TOKEN)
    log.info("headers", extra={"authorization": f"Bearer {RASA_TOKEN}"})
    output = capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in output
    found = [json.loads(line) for line in output.splitlines()]
    assert found[0]["message"] == "GET https://api.telegram.org/bot<token>/getUpdates"
    assert found[1]["message"] == "token <token> seen"
    assert found[2]["message"] == "POST http://rasa:5005/conversations?token=<token>"
    assert found[3]["authorization"] == "Bearer <token>"


def _fail() -> None:
    url = f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage?token={RASA_TOKEN}"
    raise ConnectionError(f"cannot reach {url} (Authorization: Bearer {RASA_TOKEN})")


def test_tracebacks_are_redacted_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="w")
    log = logging.getLogger("outreach.test")
    with bound_update(77):
        try:
            _fail()
        except ConnectionError:
            log.exception("sending failed")
        try:
            _fail()
        except ConnectionError as exc:
            log.error("an error of the handler", exc_info=exc)
    output = capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in output
    found = [json.loads(line) for line in output.splitlines()]
    assert len(found) == 2
    for line in found:
        assert line["update_id"] == 77 and list(line)[-1] == "exc_info"
        assert "Traceback (most recent call last)" in line["exc_info"] and "_fail" in line["exc_info"]
        assert "bot<token>/sendMessage?token=<token>" in line["exc_info"]
        assert "Bearer <token>" in line["exc_info"]


def test_tracebacks_are_redacted_in_text_too(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "actions ")
    try:
        _fail()
    except ConnectionError:
        logging.getLogger("outreach.test").exception("sending failed")
    output = capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in output
    assert "INFO" not in output and " ERROR actions outreach.test: sending failed\n" in output
    assert "Traceback (most recent call last)" in output and "bot<token>/sendMessage" in output


def test_the_stack_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_format=True, worker="w")
    logging.getLogger("outreach.test").info("where %s", BOT_TOKEN, stack_info=True)
    (line,) = lines(capsys)
    assert "stack_info" in line and BOT_TOKEN not in json.dumps(line)
