"""The web console on uvicorn inside the service's asyncio loop (outreach/inloop_server.py)."""

from __future__ import annotations

from outreach.inloop_server import InLoopServer as ConsoleServer

__all__ = ["ConsoleServer"]
