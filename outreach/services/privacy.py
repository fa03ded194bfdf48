"""Use cases of the resident's privacy controls, channel-neutral: what is stored (with the export and
erase buttons), stop proactive messages. The export file and the erasure itself are in
outreach/services/residents.py.

Its buttons are the channel's own, not single-use (the resident may export, then erase from the same
message): "d:export", "d:erase" (asks to confirm), "d:erase!" (erases), "d:keep" (parsed by bot/router.py).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from db.engine import UnitOfWork
from outreach import texts
from outreach.clock import Clock
from outreach.replies import Button, Reply
from outreach.services import residents

CHOICES = ("export", "erase", "erase!", "keep")
CHANNEL_PREFIX = "d:"  # payloads the channel sends as they are (reusable), not behind single-use tokens


def _french_date(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


def summary(uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int) -> list[Reply]:
    """What is stored, with export and erase buttons."""
    data = residents.export(uow, clock, resident_id)
    if not data:
        return [Reply(texts.BUTTON_EXPIRED)]
    agreed = data["accord"]["donne_le"]
    pending = sum(1 for m in data["messages_programmes"] if m["statut"] == "pending")
    text = texts.DATA_SUMMARY.format(
        prenom=data["prenom"] or texts.NOT_SET,
        quartier=data["quartier"] or texts.NOT_SET,
        accord=_french_date(agreed) if agreed else texts.NOT_SET,
        rappels="arrêtés" if data["ne_plus_recevoir_de_messages_depuis"] else f"{pending} prévu(s)",
    )
    return [Reply(text, buttons=(Button(texts.DATA_EXPORT, "d:export"), Button(texts.DATA_ERASE, "d:erase")))]


def confirm_erase() -> list[Reply]:
    return [
        Reply(
            texts.DATA_ERASE_CONFIRM,
            buttons=(Button(texts.DATA_ERASE_YES, "d:erase!"), Button(texts.DATA_ERASE_NO, "d:keep")),
        )
    ]


def stop(uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int) -> list[Reply]:
    """No more reminders or campaigns for this resident (pending rows dropped)."""
    residents.opt_out(uow, clock, resident_id)
    return [Reply(texts.STOPPED)]
