"""The Bot API wire format: errors answered like Telegram, and decoding of a call's parameters.

Also :class:`ControlError`, the error of the control API (``{"ok": false, "error": ...}``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
MAX_LONG_POLL = 60.0  # seconds: getUpdates and the control API's long polls

#: Parameters that hold JSON objects/arrays; in form bodies they arrive as JSON strings.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "commands",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "allowed_updates",
        "scope",
        "menu_button",
        "media",
        "message_ids",
        "reaction",
        "results",
    }
)


class ApiError(Exception):
    """An error answered to the bot exactly as Telegram would."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class ControlError(Exception):
    """An error of the control API (a bad request from the test or the page, not from the bot)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """A file received in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


async def read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters of a Bot API call: query string, then JSON / urlencoded / multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if body:
        low = ctype.lower()
        try:
            if "application/json" in low:
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                params.update(data)
            elif "multipart/form-data" in low:
                form = await request.form(max_part_size=50 * 1024 * 1024)
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        files[key] = Upload(value.filename, value.content_type, await value.read())
                    else:
                        params[key] = value
            else:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError, MultiPartException) as exc:
            raise ApiError(400, f"Bad Request: can't parse request body: {exc}") from None
    for name in JSON_PARAMS:
        value = params.get(name)
        if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            try:
                params[name] = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return params, files


def p_int(params: dict[str, Any], name: str, default: int | None = None, error: str | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if error:
            raise ApiError(400, error)
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ApiError(400, error or f"Bad Request: invalid {name} specified")


def p_float(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def p_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def p_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def p_list(params: dict[str, Any], name: str) -> list[Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise ApiError(400, f'Bad Request: field "{name}" must be an Array')
    return value
