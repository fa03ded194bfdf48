"""Sending a campaign: its life cycle (create, start, pause, resume, cancel, the staff's test message),
the pump that feeds the outbox, and the outbox guard that stops the rows of a paused or cancelled
campaign at claim time.

When its time comes the audience is snapshotted into CampaignDelivery rows (INSERT … ON CONFLICT DO
NOTHING on (campaign, resident): nobody twice, crash or not); a weekly campaign recomputes its audience
every week and only the new members get it.

`pump` (an APScheduler job, every second) feeds the outbox lazily: for each running campaign it queues
only the next few seconds of messages (due times spaced 1/rate apart), rendering the text per resident,
re-checking exclusions (→ excluded) and the weekly cap (→ capped). The delivery update and the outbox
insert are one transaction. Pause and cancel delete the rows still pending in the outbox, so they take
effect at once; the dispatcher keeps Telegram's limits (global rate, 1 msg/s per chat, 429, 403).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from db.engine import UnitOfWork
from db.models import (
    AuditLog,
    Campaign,
    CampaignDelivery,
    CampaignSchedule,
    CampaignStatus,
    DeliveryStatus,
    OutboxMessage,
    OutboxStatus,
    Quartier,
    Resident,
    Staff,
    Territory,
)
from outreach import i18n, outbox
from outreach.campaigns.audience import latest_rights, render_text, sample_resident, snapshot
from outreach.campaigns.spec import MAX_RATE, Audience, CampaignError, CampaignSpec, button_rows, fill, values_for
from outreach.clock import Clock
from outreach.config import default_tz
from outreach.outbox import QuietHours

if TYPE_CHECKING:
    from outreach.config import Settings

log = logging.getLogger("outreach.campaigns")

KIND = "campaign"
KIND_TEST = "campaign_test"
WEEK = dt.timedelta(days=7)
CAP_PERIOD = dt.timedelta(days=7)
EXPIRY = dt.timedelta(hours=48)  # a campaign message that could not leave in two days is dropped

# reasons written by the campaign guard on outbox rows (outbox_message.last_error)
PAUSED_REASON = "campaign paused"
CANCELLED_REASON = "campaign cancelled"
GONE_REASON = "campaign gone"

_T = OutboxMessage.__table__  # type: ignore[attr-defined]
_C = Campaign.__table__  # type: ignore[attr-defined]
_D = CampaignDelivery.__table__  # type: ignore[attr-defined]
_CHUNK = 500


# ---------------------------------------------------------------- life cycle


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign, or CampaignError when there is none with that id."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"aucune campagne n° {campaign_id}")
    return campaign


def list_campaigns(session: Session, territory: str | None) -> list[Campaign]:
    """The campaigns of a territory (None: all, for admins), newest first."""
    query = select(Campaign).order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
    if territory is not None:
        query = query.where(col(Campaign.territory_id) == territory)
    return list(session.execute(query).scalars())


def _audit(session: Session, now: dt.datetime, by: int | None, action: str, campaign_id: int, **detail: Any) -> None:
    actor = f"staff:{by}" if by is not None else "system"
    session.add(AuditLog(at=now, actor=actor, action=action, subject=f"campaign:{campaign_id}", detail=detail))


_STATE_WORDS = {  # the coordinator reads them (French, staff only)
    CampaignStatus.draft: i18n.staff("n'est pas encore lancée"),
    CampaignStatus.scheduled: i18n.staff("est programmée"),
    CampaignStatus.running: i18n.staff("est en cours d'envoi"),
    CampaignStatus.paused: i18n.staff("est en pause"),
    CampaignStatus.done: i18n.staff("est terminée"),
    CampaignStatus.cancelled: i18n.staff("est annulée"),
}


def _refuse(campaign: Campaign, what: str) -> CampaignError:
    state = _STATE_WORDS.get(CampaignStatus(campaign.status), f"est « {campaign.status} »")
    return CampaignError(i18n.staff(f"Impossible de {what} : la campagne « {campaign.name} » {state}."))


def _transition(
    session: Session, campaign_id: int, allowed: Iterable[CampaignStatus], what: str, **values: Any
) -> Campaign:
    """Move the campaign's status atomically (the UPDATE also locks the row against the pump)."""
    campaign = get(session, campaign_id)
    done = session.execute(
        update(_C).where(_C.c.id == campaign_id, _C.c.status.in_([s.value for s in allowed])).values(**values)
    ).rowcount
    if not done:
        session.refresh(campaign)
        raise _refuse(campaign, what)
    session.refresh(campaign)
    return campaign


def create(uow: UnitOfWork, clock: Clock, spec: CampaignSpec, *, created_by: int | None) -> Campaign:
    """A new campaign, in draft: nothing is sent until it is started."""
    session = uow.session
    if session.get(Territory, spec.territory) is None:
        raise CampaignError(f"territoire inconnu « {spec.territory} »")
    if spec.audience.quartiers:
        known = set(
            session.execute(
                select(Quartier.id).where(
                    col(Quartier.id).in_(spec.audience.quartiers), col(Quartier.territory_id) == spec.territory
                )
            ).scalars()
        )
        unknown = [q for q in spec.audience.quartiers if q not in known]
        if unknown:
            raise CampaignError(f"quartier inconnu dans ce territoire : {', '.join(unknown)}")
    now = clock.now()
    campaign = Campaign(
        name=spec.name,
        territory_id=spec.territory,
        audience=spec.audience.model_dump(mode="json"),
        text=spec.text,
        translations=dict(spec.translations),
        buttons=list(spec.buttons),
        schedule=CampaignSchedule(spec.schedule.kind),
        starts_at=spec.schedule.at.astimezone(dt.UTC) if spec.schedule.at else None,
        rate=spec.rate,
        status=CampaignStatus.draft,
        created_by=created_by,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    _audit(session, now, created_by, "campaign_create", campaign.id, name=spec.name)
    uow.commit()
    return campaign


def next_weekly_run(anchor: dt.datetime, after: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first weekly occurrence of `anchor` (same weekday and local time in `tz`) strictly after `after`."""
    local = anchor.astimezone(tz)
    weeks = max(0, math.floor((after - anchor) / WEEK))
    while True:
        candidate = dt.datetime.combine(local.date() + WEEK * weeks, local.time(), tz).astimezone(dt.UTC)
        if candidate > after:
            return candidate
        weeks += 1


def start(uow: UnitOfWork, clock: Clock, campaign_id: int, *, by: int | None = None) -> Campaign:
    """Draft → running ("now": the audience is taken at once) or scheduled ("at", "weekly")."""
    session = uow.session
    now = clock.now()
    campaign = get(session, campaign_id)
    if campaign.schedule == CampaignSchedule.now:
        campaign = _transition(
            session, campaign_id, [CampaignStatus.draft], i18n.staff("lancer la campagne"),
            status=CampaignStatus.running.value, started_at=now, next_run_at=None,
        )
        snapshot(session, campaign, now)
    else:
        first = campaign.starts_at or now
        campaign = _transition(
            session, campaign_id, [CampaignStatus.draft], i18n.staff("lancer la campagne"),
            status=CampaignStatus.scheduled.value, started_at=now, next_run_at=first,
        )
    _audit(session, now, by, "campaign_start", campaign_id)
    uow.commit()
    session.refresh(campaign)
    return campaign


def row_status() -> Any:
    """outbox_message.status, kept out of index choice (`status || ''`): the campaign's rows are found from
    its deliveries through the unique key; the (status, due_at) index would walk the whole outbox
    (a million pending reminders) when SQLite, without statistics, prefers it."""
    return _T.c.status.concat("")


def queued_rows(campaign_id: int, *, statuses: Sequence[OutboxStatus], error: str | None = None) -> Any:
    """The outbox keys of the campaign's queued deliveries whose row is in one of `statuses`."""
    query = (
        select(_T.c.idempotency_key)
        .select_from(_D.join(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(
            _D.c.campaign_id == campaign_id,
            _D.c.status == DeliveryStatus.queued.value,
            row_status().in_([s.value for s in statuses]),
        )
    )
    return query.where(_T.c.last_error == error) if error is not None else query


def _take_back(session: Session, campaign_id: int, *, to: DeliveryStatus, also_dropped_paused: bool = False) -> int:
    """Delete the campaign's outbox rows still pending (not those being sent) and move their deliveries
    to `to`; with `also_dropped_paused`, rows the guard dropped because of a pause too."""
    found = list(session.execute(queued_rows(campaign_id, statuses=[OutboxStatus.pending])).scalars())
    if also_dropped_paused:
        found += session.execute(
            queued_rows(campaign_id, statuses=[OutboxStatus.dropped], error=PAUSED_REASON)
        ).scalars()
    deletable = row_status() == OutboxStatus.pending.value
    if also_dropped_paused:
        deletable = or_(
            deletable, and_(row_status() == OutboxStatus.dropped.value, _T.c.last_error == PAUSED_REASON)
        )
    keys: list[str] = []
    for start_at in range(0, len(found), _CHUNK):
        chunk = found[start_at : start_at + _CHUNK]
        # the status is checked again in the DELETE: a row claimed meanwhile is being sent, it stays
        keys += session.execute(
            delete(_T).where(_T.c.idempotency_key.in_(chunk), deletable).returning(_T.c.idempotency_key)
        ).scalars()
    values: dict[str, Any] = {"status": to.value}
    if to == DeliveryStatus.pending:
        values.update(outbox_key=None, queued_at=None)
    for start_at in range(0, len(keys), _CHUNK):
        session.execute(
            update(_D)
            .where(_D.c.campaign_id == campaign_id, _D.c.outbox_key.in_(keys[start_at : start_at + _CHUNK]))
            .values(**values)
        )
    return len(keys)


def pause(uow: UnitOfWork, clock: Clock, campaign_id: int, *, by: int | None = None) -> Campaign:
    """Stop sending at once: rows not yet taken by the dispatcher leave the outbox (back to pending)."""
    session = uow.session
    now = clock.now()
    campaign = _transition(
        session, campaign_id, [CampaignStatus.running, CampaignStatus.scheduled], "mettre en pause",
        status=CampaignStatus.paused.value,
    )
    taken = _take_back(session, campaign_id, to=DeliveryStatus.pending)
    _audit(session, now, by, "campaign_pause", campaign_id, taken_back=taken)
    uow.commit()
    return campaign


def resume(uow: UnitOfWork, clock: Clock, campaign_id: int, *, by: int | None = None) -> Campaign:
    """Paused → running (or scheduled, when its time has not come yet)."""
    session = uow.session
    now = clock.now()
    campaign = get(session, campaign_id)
    waiting = campaign.schedule != CampaignSchedule.weekly and campaign.next_run_at is not None
    target = CampaignStatus.scheduled if waiting else CampaignStatus.running
    campaign = _transition(session, campaign_id, [CampaignStatus.paused], "reprendre", status=target.value)
    _take_back(session, campaign_id, to=DeliveryStatus.pending, also_dropped_paused=True)
    _audit(session, now, by, "campaign_resume", campaign_id)
    uow.commit()
    return campaign


def cancel(uow: UnitOfWork, clock: Clock, campaign_id: int, *, by: int | None = None) -> Campaign:
    """Stop for good: nothing more leaves (the messages being sent at this very moment excepted)."""
    session = uow.session
    now = clock.now()
    campaign = _transition(
        session,
        campaign_id,
        [CampaignStatus.draft, CampaignStatus.scheduled, CampaignStatus.running, CampaignStatus.paused],
        "annuler",
        status=CampaignStatus.cancelled.value,
        finished_at=now,
        next_run_at=None,
    )
    taken = _take_back(session, campaign_id, to=DeliveryStatus.cancelled, also_dropped_paused=True)
    session.execute(
        update(_D)
        .where(_D.c.campaign_id == campaign_id, _D.c.status == DeliveryStatus.pending.value)
        .values(status=DeliveryStatus.cancelled.value)
    )
    _audit(session, now, by, "campaign_cancel", campaign_id, taken_back=taken)
    uow.commit()
    return campaign


def send_test(uow: UnitOfWork, clock: Clock, campaign_id: int, staff: Staff) -> None:
    """"M'envoyer un test": the message rendered on a sample resident, to the staff member's own chat
    (same buttons, inert for staff), kind "campaign_test" (the dispatcher may exempt it from quiet hours)."""
    session = uow.session
    campaign = get(session, campaign_id)
    if staff.chat_id is None or staff.id is None:
        raise CampaignError(
            "Votre compte n'est pas encore relié à Telegram : ouvrez votre lien d'invitation dans Telegram, "
            "puis réessayez."
        )
    now = clock.now()
    audience = Audience.model_validate(campaign.audience)
    sample = sample_resident(session, audience, now)
    body = render_text(session, campaign.text, sample, prefer_right=audience.right_not_claimed)
    text = i18n.staff(f"🧪 Test de la campagne « {campaign.name} »\n\n{body}")[: outbox.MAX_TEXT]
    with i18n.speaking("fr"):  # the staff member's own chat: the buttons in French, as written
        buttons = button_rows(0, campaign.buttons)
    outbox.enqueue(
        uow,
        key=f"camptest:{campaign_id}:{staff.id}:{int(now.timestamp() * 1000)}",
        chat_id=staff.chat_id,
        kind=KIND_TEST,
        payload={"text": text, "buttons": buttons, "campaign_id": campaign_id},
        due_at=now,
        staff_id=staff.id,
        now=now,
    )
    _audit(session, now, staff.id, "campaign_test", campaign_id)
    uow.commit()


# ---------------------------------------------------------------- the guard (claim time)


def guard(session: Session, rows: Sequence[outbox.OutboxRow], now: dt.datetime) -> dict[int, str]:
    """No campaign message of a campaign paused, cancelled or deleted since it was queued."""
    mine = [r for r in rows if r.kind == KIND and r.payload.get("campaign_id")]
    if not mine:
        return {}
    ids = {int(r.payload["campaign_id"]) for r in mine}
    statuses = dict(session.execute(select(Campaign.id, Campaign.status).where(col(Campaign.id).in_(ids))).all())
    reasons: dict[int, str] = {}
    for row in mine:
        status = statuses.get(int(row.payload["campaign_id"]))
        if status is None:
            reasons[row.id] = GONE_REASON
        elif status == CampaignStatus.paused:
            reasons[row.id] = PAUSED_REASON
        elif status == CampaignStatus.cancelled:
            reasons[row.id] = CANCELLED_REASON
    return reasons


# ---------------------------------------------------------------- the pump


@dataclasses.dataclass(frozen=True)
class PumpOptions:
    rate: float = 25.0  # the dispatcher's global rate: a campaign never asks for more
    weekly_cap: int = 2  # campaigns per resident in any 7 days
    quiet: QuietHours = dataclasses.field(default_factory=QuietHours)
    tz: ZoneInfo = dataclasses.field(default_factory=default_tz)  # processes give settings.tz (from_settings)
    window: float = 3.0  # seconds of messages queued ahead (pause and cancel take effect within it)

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> PumpOptions:
        options: dict[str, Any] = {
            "rate": settings.outbox_rate,
            "weekly_cap": settings.campaign_weekly_cap,
            "quiet": QuietHours.from_settings(settings),
            "tz": settings.tz,
        }
        options.update(kw)
        return cls(**options)


@dataclasses.dataclass
class _Flight:
    """A campaign's rows in the outbox near now: how many wait, the latest due time (the pacing frontier)."""

    waiting: int = 0
    last_due: dt.datetime | None = None


def _options(settings_or_options: Any) -> PumpOptions:
    if isinstance(settings_or_options, PumpOptions):
        return settings_or_options
    return PumpOptions.from_settings(settings_or_options)


def pump(engine: Engine, clock: Clock, settings_or_options: Any) -> int:
    """One tick: take the audiences whose time came (now / at / weekly), queue the next few seconds of
    each running campaign into the outbox, mark the finished ones done. Returns the rows queued."""
    options = _options(settings_or_options)
    now = clock.now()
    with Session(engine) as session:
        due = list(
            session.execute(
                select(Campaign.id).where(
                    col(Campaign.status).in_([CampaignStatus.scheduled.value, CampaignStatus.running.value]),
                    col(Campaign.next_run_at).is_not(None),
                    col(Campaign.next_run_at) <= now,
                )
            ).scalars()
        )
    for campaign_id in due:
        _run_due(engine, campaign_id, now, options)
    if options.quiet.is_quiet(now):
        return 0  # nothing is queued in a quiet time (the dispatcher would hold it anyway)
    with Session(engine) as session:
        running = list(
            session.execute(
                select(Campaign.id).where(col(Campaign.status) == CampaignStatus.running.value).order_by(Campaign.id)
            ).scalars()
        )
        if not running:
            return 0
        flights = _flights(session, now, now + dt.timedelta(seconds=options.window))
    return sum(_queue(engine, cid, now, options, flights.get(cid, _Flight())) for cid in running)


def _lock(session: Session, campaign_id: int, *statuses: CampaignStatus) -> bool:
    """Take the campaign's row (a no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite)."""
    return bool(
        session.execute(
            update(_C)
            .where(_C.c.id == campaign_id, _C.c.status.in_([s.value for s in statuses]))
            .values(status=_C.c.status)
        ).rowcount
    )


def _run_due(engine: Engine, campaign_id: int, now: dt.datetime, options: PumpOptions) -> None:
    with Session(engine) as session:
        if not _lock(session, campaign_id, CampaignStatus.scheduled, CampaignStatus.running):
            return
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        if campaign.next_run_at is None or campaign.next_run_at > now:
            return
        added = snapshot(session, campaign, now)
        next_run = None
        if campaign.schedule == CampaignSchedule.weekly:
            next_run = next_weekly_run(campaign.starts_at or campaign.next_run_at, max(now, campaign.next_run_at),
                                       options.tz)
        session.execute(
            update(_C).where(_C.c.id == campaign_id).values(status=CampaignStatus.running.value, next_run_at=next_run)
        )
        session.commit()
    log.info("campaign %s: audience taken, %s new deliveries", campaign_id, added)


def _flights(session: Session, now: dt.datetime, horizon: dt.datetime) -> dict[int, _Flight]:
    """Campaign rows waiting in the outbox (pending up to the horizon, or being sent) and those sent in
    the last seconds: per campaign, how many wait and the latest due time."""
    recent = now - dt.timedelta(seconds=2)
    rows = session.execute(
        select(_T.c.idempotency_key, _T.c.due_at, _T.c.status).where(
            _T.c.kind == KIND,
            or_(
                and_(_T.c.status == OutboxStatus.pending.value, _T.c.due_at <= horizon),
                _T.c.status == OutboxStatus.sending.value,
                and_(_T.c.status == OutboxStatus.sent.value, _T.c.due_at >= recent, _T.c.due_at <= horizon),
            ),
        )
    ).all()
    flights: dict[int, _Flight] = {}
    for key, due_at, status in rows:
        parts = key.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        flight = flights.setdefault(int(parts[1]), _Flight())
        if status != OutboxStatus.sent.value:
            flight.waiting += 1
        flight.last_due = due_at if flight.last_due is None else max(flight.last_due, due_at)
    return flights


def _has_rows_in_flight(session: Session, campaign_id: int) -> bool:
    query = queued_rows(campaign_id, statuses=[OutboxStatus.pending, OutboxStatus.sending]).limit(1)
    return session.execute(query).first() is not None


def _queue(engine: Engine, campaign_id: int, now: dt.datetime, options: PumpOptions, flight: _Flight) -> int:
    """Queue the next seconds of one running campaign (one transaction), or mark it finished."""
    with UnitOfWork(engine) as uow:
        session = uow.session
        if not _lock(session, campaign_id, CampaignStatus.running):
            return 0
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.id is not None
        rate = max(0.01, min(campaign.rate, options.rate, MAX_RATE))
        step = dt.timedelta(seconds=1 / rate)
        horizon = now + dt.timedelta(seconds=options.window)
        room = max(0, math.ceil(options.window * rate) - flight.waiting)
        moment = now if flight.last_due is None else max(now, flight.last_due + step)
        slots: list[dt.datetime] = []
        while len(slots) < room and moment < horizon and not options.quiet.is_quiet(moment):
            slots.append(moment)
            moment += step
        if not slots:
            return 0
        queued, exhausted = _fill(uow, campaign, slots, now, options)
        if exhausted and not queued and not flight.waiting and not _has_rows_in_flight(session, campaign_id):
            weekly = campaign.schedule == CampaignSchedule.weekly
            session.execute(
                update(_C)
                .where(_C.c.id == campaign_id)
                .values(
                    status=(CampaignStatus.scheduled if weekly else CampaignStatus.done).value,
                    finished_at=None if weekly else now,
                )
            )
            log.info("campaign %s: %s", campaign_id, "sent, waiting for next week" if weekly else "done")
        uow.commit()
    return queued


def _fill(
    uow: UnitOfWork, campaign: Campaign, slots: list[dt.datetime], now: dt.datetime, options: PumpOptions
) -> tuple[int, bool]:
    """Give pending deliveries the free slots (exclusions and the cap first). Returns (queued, exhausted)."""
    session = uow.session
    assert campaign.id is not None
    audience = Audience.model_validate(campaign.audience)
    quartiers: dict[str, str] | None = None
    free = list(slots)
    queued = 0
    for _round in range(5):
        want = max(len(free), 100)
        batch = session.execute(
            select(_D.c.id, _D.c.resident_id)
            .where(_D.c.campaign_id == campaign.id, _D.c.status == DeliveryStatus.pending.value)
            .order_by(_D.c.id)
            .limit(want)
        ).all()
        if not batch:
            return queued, True
        ids = [resident_id for _, resident_id in batch]
        people = {
            row.id: row
            for row in session.execute(
                select(
                    Resident.id, Resident.chat_id, Resident.first_name, Resident.quartier_id, Resident.consent_at,
                    Resident.opted_out_at, Resident.unreachable_at, Resident.telegram_user_id, Resident.language,
                ).where(col(Resident.id).in_(ids))
            ).all()
        }
        staff = set(
            session.execute(
                select(Staff.telegram_user_id).where(
                    col(Staff.telegram_user_id).in_([p.telegram_user_id for p in people.values()])
                )
            ).scalars()
        )
        capped = {
            resident_id
            for resident_id, count in session.execute(
                select(_D.c.resident_id, func.count())
                .where(
                    _D.c.resident_id.in_(ids),
                    _D.c.campaign_id != campaign.id,
                    _D.c.status == DeliveryStatus.queued.value,
                    _D.c.queued_at > now - CAP_PERIOD,
                )
                .group_by(_D.c.resident_id)
            ).all()
            if count >= options.weekly_cap
        }
        every_text = " ".join([campaign.text, *(campaign.translations or {}).values()])
        rights = latest_rights(session, ids) if "{droit}" in every_text else {}
        if quartiers is None and "{quartier}" in every_text:
            quartiers = dict(session.execute(select(Quartier.id, Quartier.name)).all())
        excluded: list[int] = []
        over_cap: list[int] = []
        used = 0
        for delivery_id, resident_id in batch:
            person = people.get(resident_id)
            if (
                person is None
                or person.consent_at is None
                or person.opted_out_at is not None
                or person.unreachable_at is not None
                or person.telegram_user_id in staff
            ):
                excluded.append(delivery_id)
                continue
            if resident_id in capped:
                over_cap.append(delivery_id)
                continue
            if not free:
                break
            due_at = free.pop(0)
            used += 1
            values = values_for(
                person.first_name,
                (quartiers or {}).get(person.quartier_id or ""),
                rights.get(resident_id, []),
                audience.right_not_claimed,
            )
            key = f"camp:{campaign.id}:{resident_id}"
            # the text as the coordinator wrote it (in the resident's language if they wrote one), buttons translated
            text = (campaign.translations or {}).get(i18n.supported(person.language) or "") or campaign.text
            with i18n.speaking(person.language):
                buttons = button_rows(delivery_id, campaign.buttons)
            outbox.enqueue(
                uow,
                key=key,
                chat_id=person.chat_id,
                kind=KIND,
                payload={
                    "text": fill(text, values)[: outbox.MAX_TEXT],
                    "buttons": buttons,
                    "campaign_id": campaign.id,
                    "delivery_id": delivery_id,
                },
                due_at=due_at,
                expires_at=due_at + EXPIRY,
                resident_id=resident_id,
                now=now,
            )
            session.execute(
                update(_D)
                .where(_D.c.id == delivery_id, _D.c.status == DeliveryStatus.pending.value)
                .values(status=DeliveryStatus.queued.value, queued_at=now, outbox_key=key)
            )
            queued += 1
        for status, which in ((DeliveryStatus.excluded, excluded), (DeliveryStatus.capped, over_cap)):
            if which:
                session.execute(
                    update(_D)
                    .where(_D.c.id.in_(which), _D.c.status == DeliveryStatus.pending.value)
                    .values(status=status.value)
                )
        handled = used + len(excluded) + len(over_cap)
        if handled < len(batch):  # out of slots: the rest waits for the next tick
            return queued, False
        if len(batch) < want:
            return queued, True
        if not free:
            return queued, False
    return queued, False


def _safe_pump(engine: Engine, clock: Clock, options: PumpOptions) -> int:
    try:
        return pump(engine, clock, options)
    except OperationalError as exc:  # SQLite busy for too long, PostgreSQL restarting: the next tick retries
        log.warning("campaign pump: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return 0


def add_job(
    scheduler: Any,
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    seconds: float = 1.0,
    wrap: Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[Any]]] | None = None,
) -> None:
    """Run `pump` as an APScheduler interval job (in a worker thread, one run at a time); `wrap`: e.g. only on the
    worker holding the job's lease (outreach/bootstrap.py)."""
    options = PumpOptions.from_settings(settings)

    async def campaigns_tick() -> None:
        await asyncio.to_thread(_safe_pump, engine, clock, options)

    scheduler.add_job(
        wrap(campaigns_tick) if wrap is not None else campaigns_tick,
        "interval",
        seconds=seconds,
        id="campaigns",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=30,
    )
