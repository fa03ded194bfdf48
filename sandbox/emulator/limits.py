"""The failures the emulator imposes on the bot: Telegram's rate limits (429 with ``retry_after``,
only with ``enforce_limits=True``) and the faults a test injects through ``/control/faults``
(any error code, for one method or ``*``, optionally one chat, a number of times; with ``delay`` the
call is held that many seconds first, then fails with the error code, or without one is carried out:
a Telegram so slow that the bot's request times out, although the message may arrive)."""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import BotState, Fault
from sandbox.emulator.protocol import ApiError, ControlError
from sandbox.emulator.state import ControlRoute, EmulatorState

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _too_many(retry_after: int) -> ApiError:
    retry_after = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class LimitsMixin(EmulatorState):
    """Rate limits of the ``send*`` methods and fault injection."""

    # -- rate limits ---------------------------------------------------------

    @staticmethod
    def _trim(bot: BotState, now: float) -> None:
        while bot.send_times and now - bot.send_times[0] >= 1.0:
            bot.send_times.popleft()

    def _bucket(self, key: tuple[str, int], now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.per_chat_burst), now))
        if self.per_chat_interval > 0:
            tokens = min(float(self.per_chat_burst), tokens + (now - last) / self.per_chat_interval)
        return tokens

    def _check_rate(self, bot: BotState, chat_id: int, count: int = 1) -> None:
        now = time.monotonic()
        self._trim(bot, now)
        if not self.enforce_limits:
            return
        if len(bot.send_times) + count > self.global_rate:
            oldest = bot.send_times[0] if bot.send_times else now
            raise _too_many(math.ceil(oldest + 1.0 - now))
        if self.per_chat_interval > 0:
            tokens = self._bucket((bot.token, chat_id), now)
            if tokens < 1:
                raise _too_many(math.ceil((1 - tokens) * self.per_chat_interval))

    def _record_send(self, bot: BotState, chat_id: int) -> None:
        now = time.monotonic()
        bot.send_times.append(now)
        self._trim(bot, now)
        bot.max_rate = max(bot.max_rate, len(bot.send_times))
        self.max_send_rate = max(self.max_send_rate, bot.max_rate)
        self.sends_per_chat[chat_id] += 1
        self.total_sends += 1
        key = (bot.token, chat_id)
        self._buckets[key] = (self._bucket(key, now) - 1, now)

    # -- injected faults -----------------------------------------------------

    def _limits_controls(self) -> list[ControlRoute]:
        return [
            ("/control/faults", self._c_faults, ["GET", "POST"]),
            ("/control/faults/clear", self._c_clear_faults, ["POST"]),
        ]

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        """The fault this call meets (used up by one), or None."""
        chat = params.get("chat_id")
        chat_id = str(chat).strip() if chat is not None else None
        for fault in self.faults:
            if fault.method not in ("*", method.lower()):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _fault_error(fault: Fault) -> ApiError | None:
        """The error a fault answers with (None: a delay alone, the call then goes through)."""
        if not fault.error_code:
            return None
        return ApiError(fault.error_code, fault.description, fault.retry_after)

    async def _c_faults(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "GET":
            return {"faults": [f.as_dict() for f in self.faults]}
        method = str(body.get("method") or "").strip()
        if not method:
            raise ControlError(400, "'method' is required (a Bot API method name, or '*')")
        try:
            delay = max(0.0, float(body.get("delay") or 0.0))
        except (TypeError, ValueError):
            raise ControlError(400, "'delay' must be a number of seconds") from None
        code = self._int(body, "error_code", 0 if delay > 0 else None)
        retry_after = body.get("retry_after")
        retry = int(retry_after) if retry_after is not None else (1 if code == 429 else None)
        if code == 429:
            description = body.get("description") or f"Too Many Requests: retry after {retry}"
        else:
            description = body.get("description") or _DEFAULT_DESCRIPTIONS.get(code, "Error")
        chat_id = body.get("chat_id")
        fault = Fault(
            method=method.lower(),
            chat_id=str(chat_id).strip() if chat_id is not None else None,
            error_code=code,
            description=str(description),
            retry_after=retry,
            remaining=max(1, self._int(body, "times", 1)),
            delay=delay,
        )
        self.faults.append(fault)
        return {"ok": True, "fault": fault.as_dict(), "pending": len(self.faults)}

    async def _c_clear_faults(self, request: Request, body: dict[str, Any]) -> Any:
        self.faults.clear()
        return {"ok": True}
