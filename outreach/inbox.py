"""The inbox: every update from Telegram is written down before it is handled and marked done after.

Polling acknowledges an update to Telegram when it asks for the next ones (the offset), that is while earlier
ones are still being handled (PTB handles them concurrently): a service killed then had lost them for good.
Now an update not marked done is handled again when the service starts (`unfinished`), and an update id seen
before is not handled twice (Telegram delivers again what was not acknowledged; a webhook may be retried).

The payload (what the person wrote, before any consent too) lives only until the update is handled: it is then
erased, the id kept `REMEMBER` for the duplicates, then purged (`purge`, the daily housekeeping)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, func, null, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.models import InboxUpdate

REMEMBER = dt.timedelta(days=2)
_T = InboxUpdate.__table__  # type: ignore[attr-defined]


def _plain(value: object) -> object:
    """What JSON cannot hold in an update as PTB gives it back (dates of some nested messages): timestamps."""
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return str(value)


def hold(
    engine: Engine, update_id: int, payload: dict[str, Any], now: dt.datetime, chat_id: int | None = None
) -> bool:
    """Write an update down before handling it. False: this update id was seen before (handled, or being
    handled or replayed): do not handle it again."""
    payload = json.loads(json.dumps(payload, default=_plain))
    values = {"update_id": update_id, "received_at": now, "payload": payload, "chat_id": chat_id}
    with Session(engine) as session:
        try:
            session.execute(_T.insert().values(**values))
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def done(engine: Engine, update_id: int, now: dt.datetime) -> None:
    """Handled: the payload is erased at once, the id kept for duplicates."""
    with Session(engine) as session:
        erased = update(_T).where(_T.c.update_id == update_id).values(done_at=now, payload=null())  # SQL NULL
        session.execute(erased)
        session.commit()


def unfinished(engine: Engine) -> list[dict[str, Any]]:
    """The updates written down and never marked done (the service stopped while handling them), oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(_T.c.payload).where(_T.c.done_at.is_(None), _T.c.payload.is_not(None)).order_by(_T.c.update_id)
        ).all()
    return [row.payload for row in rows]


def pending_in_chat(engine: Engine, chat_id: int, up_to: int) -> list[tuple[int, dict[str, Any]]]:
    """A chat's updates not handled yet, up to `up_to` included, oldest first: (update_id, payload). Read while
    holding the chat's turn (outreach/coordination.py), nobody else is handling them."""
    with Session(engine) as session:
        rows = session.execute(
            select(_T.c.update_id, _T.c.payload)
            .where(
                _T.c.chat_id == chat_id,
                _T.c.update_id <= up_to,
                _T.c.done_at.is_(None),
                _T.c.payload.is_not(None),
            )
            .order_by(_T.c.update_id)
        ).all()
    return [(row.update_id, row.payload) for row in rows]


def chats_left_behind(engine: Engine, received_before: dt.datetime, limit: int = 100) -> list[tuple[int, int]]:
    """Chats with an update not handled though received before `received_before` (a worker died while handling
    it, or while it waited for the chat's turn): (chat_id, newest such update id)."""
    with Session(engine) as session:
        rows = session.execute(
            select(_T.c.chat_id, func.max(_T.c.update_id).label("newest"))
            .where(
                _T.c.chat_id.is_not(None),
                _T.c.done_at.is_(None),
                _T.c.payload.is_not(None),
                _T.c.received_at < received_before,
            )
            .group_by(_T.c.chat_id)
            .limit(limit)
        ).all()
    return [(int(row.chat_id), int(row.newest)) for row in rows]


def purge(engine: Engine, now: dt.datetime) -> int:
    """Forget the ids of updates handled more than REMEMBER ago (and any payload left that old)."""
    with Session(engine) as session:
        gone = session.execute(delete(_T).where(_T.c.received_at < now - REMEMBER)).rowcount
        session.commit()
    return int(gone or 0)
