"""What tests and the page read back: the event log (long-polled, globally or per chat), a chat's
messages, counters (``stats``), the connection status, and ``/control/reset``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from sandbox.emulator.models import BOT_USERNAME
from sandbox.emulator.protocol import ControlError
from sandbox.emulator.state import ControlRoute
from sandbox.emulator.updates import UpdatesMixin


class ObserveMixin(UpdatesMixin):
    """The read side of the control API (plus reset)."""

    def _observe_controls(self) -> list[ControlRoute]:
        return [
            ("/control/events", self._c_events, ["GET"]),
            ("/control/chats/{chat_id}/events", self._c_chat_events, ["GET"]),
            ("/control/chats/{chat_id}/messages", self._c_chat_messages, ["GET"]),
            ("/control/stats", self._c_stats, ["GET"]),
            ("/control/status", self._c_status, ["GET"]),
            ("/control/reset", self._c_reset, ["POST"]),
        ]

    async def _c_chat_events(self, request: Request, body: dict[str, Any]) -> Any:
        chat_id = self._path_int(request, "chat_id")
        after = self._after(request)
        timeout = self._timeout(request)

        def pending() -> bool:
            chat = self.chats.get(chat_id)
            return bool(chat and chat.events and chat.events[-1]["seq"] > after)

        await self._wait(pending, timeout)
        chat = self.chats.get(chat_id)
        events: list[dict[str, Any]] = []
        if chat is not None:
            for event in reversed(chat.events):
                if event["seq"] <= after:
                    break
                events.append(event)
            events.reverse()
        return {"events": events, "last": max(after, self.seq)}

    async def _c_events(self, request: Request, body: dict[str, Any]) -> Any:
        after = self._after(request)
        await self._wait(lambda: bool(self.events) and self.events[-1]["seq"] > after, self._timeout(request))
        events = [e for e in self.events if e["seq"] > after]
        return {"events": events, "last": max(after, self.seq)}

    async def _c_chat_messages(self, request: Request, body: dict[str, Any]) -> Any:
        chat_id = self._path_int(request, "chat_id")
        user = self.users.get(chat_id)
        chat = self.chats.get(chat_id)
        if user is None and chat is None:
            raise ControlError(404, f"unknown chat {chat_id}")
        messages = [
            {"from_bot": m.from_bot, "message": m.data}
            for m in (chat.messages.values() if chat else [])
            if not m.deleted
        ]
        return {
            "chat_id": chat_id,
            "user": user.as_user() if user else None,
            "blocked": bool(user and user.blocked),
            "messages": messages,
            "reply_keyboard": chat.reply_keyboard if chat else None,
            "last": self.seq,
        }

    def stats(self) -> dict[str, Any]:
        return {
            "methods": dict(self.method_calls),
            "sends_per_chat": {str(k): v for k, v in self.sends_per_chat.items()},
            "total_sends": self.total_sends,
            "too_many_requests": self.error_counts[429],
            "forbidden": self.error_counts[403],
            "errors": {str(k): v for k, v in sorted(self.error_counts.items())},
            "max_global_send_rate": self.max_send_rate,
            "max_send_rate_per_bot": {str(b.id): b.max_rate for b in self.bots.values()},
            "updates_queued": self.updates_queued,
            "pending_updates": {str(b.id): len(b.pending) for b in self.bots.values()},
            "faults_pending": len(self.faults),
            "enforce_limits": self.enforce_limits,
        }

    async def _c_stats(self, request: Request, body: dict[str, Any]) -> Any:
        return self.stats()

    def status(self) -> dict[str, Any]:
        bots = [
            {
                "id": b.id,
                "username": BOT_USERNAME,
                "token_hint": f"{b.id}:…",
                "polling": b.active_polls > 0,
                "webhook": b.webhook["url"] if b.webhook else None,
                "connected": self._is_connected(b),
                "pending_updates": len(b.pending),
            }
            for b in self.bots.values()
        ]
        return {
            "version": self._status_version,
            "connected": any(b["connected"] for b in bots),
            "bot_seen": bool(bots),
            "bots": bots,
            "enforce_limits": self.enforce_limits,
            "last": self.seq,
        }

    async def _c_status(self, request: Request, body: dict[str, Any]) -> Any:
        after = self._after(request, -1)
        if after >= 0:
            await self._wait(lambda: self._status_version != after, self._timeout(request))
        return self.status()

    async def _c_reset(self, request: Request, body: dict[str, Any]) -> Any:
        self.reset()
        return {"ok": True, "last": self.seq}
