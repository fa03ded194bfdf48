"""Outreach campaigns ("aller-vers" messages to a segment of residents), through the outbox.

A coordinator writes a campaign (audience filters, a text with {prenom} {quartier} {droit}, up to three
buttons, a schedule), then starts it. When its time comes the audience is snapshotted into
CampaignDelivery rows (INSERT … ON CONFLICT DO NOTHING on (campaign, resident): nobody twice, crash or
not); a weekly campaign recomputes its audience every week and only the new members get it.

`pump` (an APScheduler job, every second) feeds the outbox lazily: for each running campaign it queues
only the next few seconds of messages (due times spaced 1/rate apart), rendering the text per resident,
re-checking exclusions (→ excluded) and the weekly cap (→ capped). The delivery update and the outbox
insert are one transaction. Pause and cancel delete the rows still pending in the outbox, so they take
effect at once; the dispatcher keeps Telegram's limits (global rate, 1 msg/s per chat, 429, 403).

`python -m outreach.campaigns` runs the pump and the outbox dispatcher without PTB (the service runs the
same two jobs: `add_job` and `Dispatcher.add_job`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import re
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Select, and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from db.engine import UnitOfWork
from db.models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    Campaign,
    CampaignDelivery,
    CampaignSchedule,
    CampaignStatus,
    DeliveryStatus,
    Event,
    OutboxMessage,
    OutboxStatus,
    Quartier,
    Resident,
    RightStatus,
    Screening,
    ScreeningRight,
    Staff,
    Territory,
)
from db.types import UTCDateTime
from outreach import outbox
from outreach.clock import Clock
from outreach.outbox import QuietHours

if TYPE_CHECKING:
    from outreach.config import Settings

log = logging.getLogger(__name__)

BUTTONS: dict[str, str] = {
    "screening": "Faire le point sur mes droits",
    "book": "Prendre rendez-vous",
    "talk": "Parler à quelqu'un",
    "stop": "Ne plus recevoir de messages",
}
PLACEHOLDERS = ("prenom", "quartier", "droit")
KIND = "campaign"
KIND_TEST = "campaign_test"
MAX_RATE = outbox.MAX_RATE
WEEK = dt.timedelta(days=7)
CAP_PERIOD = dt.timedelta(days=7)
RESULTS_WINDOW = dt.timedelta(days=7)  # screenings, bookings, opt-outs counted this long after a message
EXPIRY = dt.timedelta(hours=48)  # a campaign message that could not leave in two days is dropped
NEUTRAL = {"prenom": "", "quartier": "votre quartier", "droit": "vos droits"}
PARIS = ZoneInfo("Europe/Paris")

_T = OutboxMessage.__table__  # type: ignore[attr-defined]
_C = Campaign.__table__  # type: ignore[attr-defined]
_D = CampaignDelivery.__table__  # type: ignore[attr-defined]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_CHUNK = 500

# reasons written by the campaign guard on outbox rows (outbox_message.last_error)
PAUSED_REASON = "campaign paused"
CANCELLED_REASON = "campaign cancelled"
GONE_REASON = "campaign gone"


class CampaignError(ValueError):
    """A refused campaign operation; the message is French and shown as is to the coordinator."""


# ---------------------------------------------------------------- the campaign, as written


class Audience(BaseModel):
    """Who receives it. Always excluded (audience_query): no consent, opted out, unreachable, staff."""

    model_config = ConfigDict(extra="forbid")

    territory: str = Field(min_length=1, max_length=32)
    quartiers: list[str] = Field(default_factory=list)  # QPV ids; empty: the whole territory
    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    right_not_claimed: str | None = Field(default=None, min_length=1, max_length=64)  # a right id, or "any"
    never_screened: bool = False
    inactive_days: int | None = Field(default=None, ge=1, le=3650)
    booked: bool | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Audience:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("l'âge minimum est plus grand que l'âge maximum")
        if self.never_screened and (
            self.age_min is not None or self.age_max is not None or self.right_not_claimed is not None
        ):
            raise ValueError(
                "« jamais fait le point » ne va pas avec un âge ou un droit non demandé "
                "(ils viennent du point sur les droits)"
            )
        self.quartiers = sorted(set(self.quartiers))
        return self


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["now", "at", "weekly"] = "now"
    at: dt.datetime | None = None  # timezone-aware; the date (at) or the first run and weekly time (weekly)

    @model_validator(mode="after")
    def _needs_a_time(self) -> Schedule:
        if self.kind in ("at", "weekly"):
            if self.at is None:
                raise ValueError("indiquez la date et l'heure d'envoi")
            if self.at.tzinfo is None or self.at.utcoffset() is None:
                raise ValueError("indiquez le fuseau horaire de la date, par exemple 2026-12-01T10:00+01:00")
        return self


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    territory: str = Field(min_length=1, max_length=32)
    audience: Audience
    text: str = Field(min_length=1, max_length=1000)
    buttons: list[str] = Field(default_factory=list, max_length=3)
    schedule: Schedule = Field(default_factory=Schedule)
    rate: float = Field(default=25.0, gt=0, le=MAX_RATE)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("donnez un nom à la campagne")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = value.strip()
        unknown = [name for name in _PLACEHOLDER.findall(value) if name not in PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"champ inconnu {{{unknown[0]}}} : seuls {{prenom}}, {{quartier}} et {{droit}} sont possibles"
            )
        if "{" in _PLACEHOLDER.sub("", value) or "}" in _PLACEHOLDER.sub("", value):
            raise ValueError("accolade seule : écrivez les champs ainsi {prenom}, {quartier}, {droit}")
        if not any(ch.isalnum() for ch in _PLACEHOLDER.sub("", value)):
            raise ValueError("le message doit contenir du texte, pas seulement des champs")
        return value

    @field_validator("buttons")
    @classmethod
    def _buttons(cls, value: list[str]) -> list[str]:
        for key in value:
            if key not in BUTTONS:
                raise ValueError(f"bouton inconnu « {key} » : choisissez parmi {', '.join(BUTTONS)}")
        if len(set(value)) != len(value):
            raise ValueError("le même bouton est mis deux fois")
        return value

    @model_validator(mode="before")
    @classmethod
    def _audience_territory(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("territory"):
            audience = data.get("audience")
            if audience is None:
                data = {**data, "audience": {"territory": data["territory"]}}
            elif isinstance(audience, dict) and not audience.get("territory"):
                data = {**data, "audience": {**audience, "territory": data["territory"]}}
        return data

    @model_validator(mode="after")
    def _same_territory(self) -> CampaignSpec:
        if self.audience.territory != self.territory:
            raise ValueError("le public doit être dans le territoire de la campagne")
        return self

    @classmethod
    def from_yaml(cls, text: str, *, tz: ZoneInfo = PARIS) -> CampaignSpec:
        """The CLI's campaign file: the same fields (audience.territory defaults to territory); a date
        without a time zone is read in `tz`. Raises CampaignError (French) on invalid YAML or fields."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (ligne {mark.line + 1})" if mark is not None else ""
            raise CampaignError(f"fichier YAML illisible{where}") from None
        if not isinstance(data, dict):
            raise CampaignError("le fichier doit décrire une campagne (name, territory, audience, text…)")
        schedule = data.get("schedule")
        if isinstance(schedule, str):
            data["schedule"] = schedule = {"kind": schedule}
        if isinstance(schedule, dict):
            at = schedule.get("at")
            if isinstance(at, str):
                try:
                    at = dt.datetime.fromisoformat(at)
                except ValueError:
                    raise CampaignError("schedule.at : date illisible, écrivez par exemple 2026-12-01T10:00") from None
            if isinstance(at, dt.datetime) and at.tzinfo is None:
                at = at.replace(tzinfo=tz)
            if at is not None:
                data["schedule"] = {**schedule, "at": at}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise CampaignError(explain(exc)) from None


_FIELD_NAMES = {
    "name": "nom",
    "territory": "territoire",
    "audience": "public",
    "text": "texte",
    "buttons": "boutons",
    "schedule": "envoi",
    "rate": "débit",
    "quartiers": "quartiers",
    "age_min": "âge minimum",
    "age_max": "âge maximum",
    "right_not_claimed": "droit non demandé",
    "never_screened": "jamais fait le point",
    "inactive_days": "inactif depuis (jours)",
    "booked": "rendez-vous",
    "kind": "type d'envoi",
    "at": "date",
}


def explain(exc: ValidationError) -> str:
    """A pydantic error in French, one problem per line ("texte : …")."""
    lines = []
    for error in exc.errors():
        where = " › ".join(_FIELD_NAMES.get(str(part), str(part)) for part in error["loc"])
        kind, ctx = error["type"], error.get("ctx") or {}
        message = {
            "missing": "obligatoire",
            "extra_forbidden": "champ inconnu",
            "string_too_short": "ne doit pas être vide",
            "string_too_long": f"{ctx.get('max_length')} caractères au plus",
            "too_long": f"{ctx.get('max_length')} au plus",
            "greater_than": f"doit être plus grand que {ctx.get('gt')}",
            "greater_than_equal": f"doit être au moins {ctx.get('ge')}",
            "less_than_equal": f"doit être au plus {ctx.get('le')}",
            "less_than": f"doit être plus petit que {ctx.get('lt')}",
            "int_parsing": "un nombre entier est attendu",
            "int_from_float": "un nombre entier est attendu",
            "float_parsing": "un nombre est attendu",
            "bool_parsing": "oui ou non (true / false) est attendu",
            "datetime_parsing": "date illisible, écrivez par exemple 2026-12-01T10:00+01:00",
            "datetime_type": "date illisible, écrivez par exemple 2026-12-01T10:00+01:00",
            "literal_error": "valeur possible : now, at ou weekly",
            "string_type": "du texte est attendu",
            "list_type": "une liste est attendue",
            "model_type": "un bloc de champs est attendu",
            "dict_type": "un bloc de champs est attendu",
        }.get(kind)
        if message is None:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where} : {message}" if where else message)
    return "\n".join(lines)


# ---------------------------------------------------------------- audience


def _conditions(audience: Audience, now: dt.datetime) -> list[Any]:
    """The WHERE clauses on Resident for an audience (always with the exclusions)."""
    staff_ids = select(Staff.telegram_user_id).where(col(Staff.telegram_user_id).is_not(None))
    conditions: list[Any] = [
        col(Resident.territory_id) == audience.territory,
        col(Resident.consent_at).is_not(None),
        col(Resident.opted_out_at).is_(None),
        col(Resident.unreachable_at).is_(None),
        col(Resident.telegram_user_id).not_in(staff_ids),
    ]
    if audience.quartiers:
        conditions.append(col(Resident.quartier_id).in_(audience.quartiers))
    if audience.inactive_days is not None:
        cutoff = now - dt.timedelta(days=audience.inactive_days)
        conditions.append(or_(col(Resident.last_seen_at).is_(None), col(Resident.last_seen_at) < cutoff))
    if audience.never_screened:
        conditions.append(~exists().where(col(Screening.resident_id) == col(Resident.id)))
    def latest(resident_id: Any) -> Any:
        """The id of the latest screening of the resident in `resident_id` (the enclosing row)."""
        other = aliased(Screening)
        return select(func.max(other.id)).where(other.resident_id == resident_id).scalar_subquery()

    if audience.age_min is not None or audience.age_max is not None:
        age = Screening.answers["age"].as_integer()  # type: ignore[index]
        band = [col(Screening.resident_id) == col(Resident.id), col(Screening.id) == latest(Screening.resident_id)]
        if audience.age_min is not None:
            band.append(age >= audience.age_min)
        if audience.age_max is not None:
            band.append(age <= audience.age_max)
        conditions.append(exists().where(*band))
    if audience.right_not_claimed is not None:
        right = [
            col(ScreeningRight.resident_id) == col(Resident.id),
            col(ScreeningRight.screening_id) == latest(ScreeningRight.resident_id),
            col(ScreeningRight.status).in_([RightStatus.detected.value, RightStatus.to_claim.value]),
        ]
        if audience.right_not_claimed != "any":
            right.append(col(ScreeningRight.right_id) == audience.right_not_claimed)
        conditions.append(exists().where(*right))
    if audience.booked is not None:
        upcoming = exists().where(
            col(Appointment.resident_id) == col(Resident.id),
            col(Appointment.status) == AppointmentStatus.booked.value,
            col(Appointment.starts_at) > now,
        )
        conditions.append(upcoming if audience.booked else ~upcoming)
    return conditions


def audience_query(audience: Audience, now: dt.datetime) -> Select[Any]:
    """The ids of the residents in the audience now (consented, not opted out, reachable, not staff)."""
    return select(col(Resident.id)).where(*_conditions(audience, now))


def audience_count(session: Session, audience: Audience, now: dt.datetime) -> int:
    """How many residents the audience holds now (the builder's live count)."""
    query = select(func.count()).select_from(Resident).where(*_conditions(audience, now))
    return int(session.execute(query).scalar_one())


def sample_resident(session: Session, audience: Audience, now: dt.datetime) -> Resident | None:
    """One resident of the audience (one with a first name when there is one), for previews and tests."""
    query = (
        select(Resident)
        .where(*_conditions(audience, now))
        .order_by(col(Resident.first_name).is_(None), col(Resident.id))
        .limit(1)
    )
    return session.execute(query).scalars().first()


# ---------------------------------------------------------------- the text


def _drop_first_name(text: str) -> str:
    """{prenom} without a first name: "Bonjour {prenom}, …" → "Bonjour, …"; "{prenom}, vous …" → "Vous …"."""
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("{prenom}"):
            rest = re.sub(r"^\{prenom\}[\s,;:!.]*", "", stripped)
            line = line[: len(line) - len(stripped)] + rest[:1].upper() + rest[1:]
        lines.append(re.sub(r"[ \t\u00a0\u202f]*\{prenom\}", "", line))
    return "\n".join(lines)


def fill(text: str, values: dict[str, str]) -> str:
    """Put the values in the template; an empty first name leaves no stray comma or space."""
    if not values.get("prenom"):
        text = _drop_first_name(text)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text).strip()


def _latest_rights(session: Session, resident_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """(right id, label) of the rights detected and not claimed in each resident's latest screening."""
    ids = sorted(set(resident_ids))
    found: dict[int, list[tuple[str, str]]] = {}
    if not ids:
        return found
    latest = (
        select(func.max(col(Screening.id))).where(col(Screening.resident_id).in_(ids)).group_by(Screening.resident_id)
    )
    rows = session.execute(
        select(ScreeningRight.resident_id, ScreeningRight.right_id, ScreeningRight.label)
        .where(
            col(ScreeningRight.resident_id).in_(ids),
            col(ScreeningRight.screening_id).in_(latest),
            col(ScreeningRight.status).in_([RightStatus.detected.value, RightStatus.to_claim.value]),
        )
        .order_by(col(ScreeningRight.id))
    ).all()
    for resident_id, right_id, label in rows:
        found.setdefault(resident_id, []).append((right_id, label))
    return found


def _right_label(rights: list[tuple[str, str]], prefer: str | None) -> str:
    for right_id, label in rights:
        if prefer and prefer != "any" and right_id == prefer:
            return label
    return rights[0][1] if rights else NEUTRAL["droit"]


def _values(
    first_name: str | None, quartier: str | None, rights: list[tuple[str, str]], prefer: str | None
) -> dict[str, str]:
    return {
        "prenom": (first_name or "").strip(),
        "quartier": quartier or NEUTRAL["quartier"],
        "droit": _right_label(rights, prefer),
    }


def render_text(session: Session, text: str, resident: Resident | None, *, prefer_right: str | None = None) -> str:
    """The template for one resident: {prenom} their first name (or nothing, cleanly), {quartier} their
    QPV's name, {droit} a right detected and not claimed (`prefer_right` first); else neutral words.
    Without a resident: the neutral example."""
    if resident is None or resident.id is None:
        return fill(text, dict(NEUTRAL))
    quartier = session.get(Quartier, resident.quartier_id) if resident.quartier_id else None
    rights = _latest_rights(session, [resident.id]).get(resident.id, []) if "{droit}" in text else []
    return fill(text, _values(resident.first_name, quartier.name if quartier else None, rights, prefer_right))


def preview(session: Session, spec: CampaignSpec, now: dt.datetime) -> dict[str, Any]:
    """What the builder shows: the text on a sample resident (neutral when nobody matches), the button
    titles, the live audience count."""
    sample = sample_resident(session, spec.audience, now)
    return {
        "text": render_text(session, spec.text, sample, prefer_right=spec.audience.right_not_claimed),
        "buttons": [BUTTONS[key] for key in spec.buttons],
        "audience": audience_count(session, spec.audience, now),
    }


def callback_data(delivery_id: int, button: str) -> str:
    """`k:<delivery id>:<button>` (delivery 0: a staff member's test message, inert)."""
    return f"k:{delivery_id}:{button}"


def parse_callback(data: str) -> tuple[int, str] | None:
    """`k:<delivery id>:<button>` → (delivery id, button key), or None when it is not one of ours."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "k" or not parts[1].isdigit() or parts[2] not in BUTTONS:
        return None
    return int(parts[1]), parts[2]


def _buttons(delivery_id: int, keys: Sequence[str]) -> list[list[str]]:
    return [[BUTTONS[key], callback_data(delivery_id, key)] for key in keys if key in BUTTONS]


# ---------------------------------------------------------------- life cycle


def get(session: Session, campaign_id: int) -> Campaign:
    """The campaign, or CampaignError when there is none with that id."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"aucune campagne n° {campaign_id}")
    return campaign


def _audit(session: Session, now: dt.datetime, by: int | None, action: str, campaign_id: int, **detail: Any) -> None:
    actor = f"staff:{by}" if by is not None else "system"
    session.add(AuditLog(at=now, actor=actor, action=action, subject=f"campaign:{campaign_id}", detail=detail))


_STATE_WORDS = {
    CampaignStatus.draft: "n'est pas encore lancée",
    CampaignStatus.scheduled: "est programmée",
    CampaignStatus.running: "est en cours d'envoi",
    CampaignStatus.paused: "est en pause",
    CampaignStatus.done: "est terminée",
    CampaignStatus.cancelled: "est annulée",
}


def _refuse(campaign: Campaign, what: str) -> CampaignError:
    state = _STATE_WORDS.get(CampaignStatus(campaign.status), f"est « {campaign.status} »")
    return CampaignError(f"Impossible de {what} : la campagne « {campaign.name} » {state}.")


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


def spec_of(campaign: Campaign) -> CampaignSpec:
    """The campaign as written (for the console's edit and duplicate)."""
    return CampaignSpec(
        name=campaign.name,
        territory=campaign.territory_id,
        audience=Audience.model_validate(campaign.audience),
        text=campaign.text,
        buttons=list(campaign.buttons),
        schedule=Schedule(kind=str(campaign.schedule), at=campaign.starts_at),  # type: ignore[arg-type]
        rate=campaign.rate,
    )


def _snapshot(session: Session, campaign: Campaign, now: dt.datetime) -> int:
    """The audience now, into pending deliveries (ON CONFLICT DO NOTHING: nobody twice)."""
    assert campaign.id is not None
    audience = Audience.model_validate(campaign.audience)
    rows = select(
        literal(campaign.id),
        col(Resident.id),
        literal(DeliveryStatus.pending.value),
        literal(now, type_=UTCDateTime()),
    ).where(*_conditions(audience, now))
    columns = ["campaign_id", "resident_id", "status", "created_at"]
    dialect = session.get_bind().dialect.name
    index = ["campaign_id", "resident_id"]
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_D).from_select(columns, rows).on_conflict_do_nothing(index_elements=index)
    elif dialect == "sqlite":
        statement = sqlite.insert(_D).from_select(columns, rows).on_conflict_do_nothing(index_elements=index)
    else:  # pragma: no cover - only our two databases are supported
        statement = insert(_D).from_select(columns, rows)
    return int(session.execute(statement).rowcount or 0)


def next_weekly_run(anchor: dt.datetime, after: dt.datetime, tz: ZoneInfo = PARIS) -> dt.datetime:
    """The first weekly occurrence of `anchor` (same weekday and local time) strictly after `after`."""
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
            session, campaign_id, [CampaignStatus.draft], "lancer la campagne",
            status=CampaignStatus.running.value, started_at=now, next_run_at=None,
        )
        _snapshot(session, campaign, now)
    else:
        first = campaign.starts_at or now
        campaign = _transition(
            session, campaign_id, [CampaignStatus.draft], "lancer la campagne",
            status=CampaignStatus.scheduled.value, started_at=now, next_run_at=first,
        )
    _audit(session, now, by, "campaign_start", campaign_id)
    uow.commit()
    session.refresh(campaign)
    return campaign


def _row_status() -> Any:
    """outbox_message.status, kept out of index choice (`status || ''`): the campaign's rows are found from
    its deliveries through the unique key; the (status, due_at) index would walk the whole outbox
    (a million pending reminders) when SQLite, without statistics, prefers it."""
    return _T.c.status.concat("")


def _queued_rows(campaign_id: int, *, statuses: Sequence[OutboxStatus], error: str | None = None) -> Any:
    """The outbox keys of the campaign's queued deliveries whose row is in one of `statuses`."""
    query = (
        select(_T.c.idempotency_key)
        .select_from(_D.join(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(
            _D.c.campaign_id == campaign_id,
            _D.c.status == DeliveryStatus.queued.value,
            _row_status().in_([s.value for s in statuses]),
        )
    )
    return query.where(_T.c.last_error == error) if error is not None else query


def _take_back(session: Session, campaign_id: int, *, to: DeliveryStatus, also_dropped_paused: bool = False) -> int:
    """Delete the campaign's outbox rows still pending (not those being sent) and move their deliveries
    to `to`; with `also_dropped_paused`, rows the guard dropped because of a pause too."""
    found = list(session.execute(_queued_rows(campaign_id, statuses=[OutboxStatus.pending])).scalars())
    if also_dropped_paused:
        found += session.execute(
            _queued_rows(campaign_id, statuses=[OutboxStatus.dropped], error=PAUSED_REASON)
        ).scalars()
    deletable = _row_status() == OutboxStatus.pending.value
    if also_dropped_paused:
        deletable = or_(
            deletable, and_(_row_status() == OutboxStatus.dropped.value, _T.c.last_error == PAUSED_REASON)
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
    text = f"🧪 Test de la campagne « {campaign.name} »\n\n{body}"[: outbox.MAX_TEXT]
    outbox.enqueue(
        uow,
        key=f"camptest:{campaign_id}:{staff.id}:{int(now.timestamp() * 1000)}",
        chat_id=staff.chat_id,
        kind=KIND_TEST,
        payload={"text": text, "buttons": _buttons(0, campaign.buttons), "campaign_id": campaign_id},
        due_at=now,
        staff_id=staff.id,
        now=now,
    )
    _audit(session, now, staff.id, "campaign_test", campaign_id)
    uow.commit()


def list_campaigns(session: Session, territory: str | None) -> list[Campaign]:
    """The campaigns of a territory (None: all, for admins), newest first."""
    query = select(Campaign).order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
    if territory is not None:
        query = query.where(col(Campaign.territory_id) == territory)
    return list(session.execute(query).scalars())


# ---------------------------------------------------------------- progress and results

OUTCOMES = ("pending", "queued", "sent", "blocked", "failed", "dropped", "capped", "excluded", "cancelled")


def _outcome(delivery: str, row_status: str | None, error: str | None) -> str:
    """Where one delivery stands: its own status, then its outbox row's."""
    if delivery != DeliveryStatus.queued.value:
        return delivery
    if row_status in (OutboxStatus.pending.value, OutboxStatus.sending.value):
        return "queued"
    if row_status in (OutboxStatus.sent.value, OutboxStatus.failed.value):
        return row_status
    if row_status == OutboxStatus.dropped.value:
        error = error or ""
        if error.startswith("blocked"):
            return "blocked"
        if error == CANCELLED_REASON:
            return "cancelled"
        if error == PAUSED_REASON:
            return "pending"  # it goes back to pending when the campaign resumes
    return "dropped"  # dropped by a guard (opted out meanwhile, expired…), or the row is gone


def progress(session: Session, campaign_id: int) -> dict[str, Any]:
    """{"status", "total", "done", "percent", and a count per outcome (OUTCOMES)}."""
    campaign = get(session, campaign_id)
    reason = _T.c.last_error
    rows = session.execute(
        select(_D.c.status, _T.c.status, reason, func.count())
        .select_from(_D.outerjoin(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(_D.c.campaign_id == campaign_id)
        .group_by(_D.c.status, _T.c.status, reason)
    ).all()
    counts: Counter[str] = Counter({name: 0 for name in OUTCOMES})
    for delivery, row_status, error, count in rows:
        counts[_outcome(delivery, row_status, error)] += count
    total = sum(counts.values())
    done = total - counts["pending"] - counts["queued"]
    percent = 100 if campaign.status == CampaignStatus.done else (done * 100 // total if total else 0)
    return {"status": str(campaign.status), "total": total, "done": done, "percent": percent, **counts}


def results(session: Session, campaign_id: int, now: dt.datetime) -> dict[str, Any]:
    """What the campaign did: sent, blocked, failed, button clicks, and the residents who did a screening,
    booked an appointment or opted out within 7 days after their message."""
    get(session, campaign_id)
    counts = progress(session, campaign_id)
    delivered = session.execute(
        select(_D.c.resident_id, _T.c.sent_at)
        .select_from(_D.join(_T, _T.c.idempotency_key == _D.c.outbox_key))
        .where(_D.c.campaign_id == campaign_id, _row_status() == OutboxStatus.sent.value, _T.c.sent_at.is_not(None))
    ).all()
    sent_at = {resident_id: moment for resident_id, moment in delivered}
    clicks: Counter[str] = Counter({key: 0 for key in BUTTONS})
    stopped: set[int] = set()
    for resident_id, button in session.execute(
        select(_D.c.resident_id, _D.c.clicked_button).where(
            _D.c.campaign_id == campaign_id, _D.c.clicked_at.is_not(None)
        )
    ).all():
        if button in clicks:
            clicks[button] += 1
        if button == "stop":
            stopped.add(resident_id)
    followed = {kind: _within(session, kind, sent_at, now) for kind in (
        "screening_completed", "appointment_booked", "resident_opted_out"
    )}
    return {
        "sent": counts["sent"],
        "blocked": counts["blocked"],
        "failed": counts["failed"],
        "clicks": {**clicks, "total": sum(clicks.values())},
        "screenings_7d": len(followed["screening_completed"]),
        "bookings_7d": len(followed["appointment_booked"]),
        "opt_outs": len(stopped | followed["resident_opted_out"]),
    }


def _within(session: Session, kind: str, sent_at: dict[int, dt.datetime], now: dt.datetime) -> set[int]:
    """Residents with an event of `kind` in the 7 days after their message was sent."""
    if not sent_at:
        return set()
    first, last = min(sent_at.values()), max(sent_at.values()) + RESULTS_WINDOW
    found: set[int] = set()
    events = session.execute(
        select(Event.resident_id, Event.at).where(
            col(Event.kind) == kind, col(Event.at) >= first, col(Event.at) < min(last, now + dt.timedelta(seconds=1))
        )
    ).all()
    for resident_id, at in events:
        moment = sent_at.get(resident_id) if resident_id is not None else None
        if moment is not None and moment <= at < moment + RESULTS_WINDOW:
            found.add(resident_id)
    return found


# ---------------------------------------------------------------- buttons pressed by residents


def record_click(uow: UnitOfWork, clock: Clock, *, delivery_id: int, button: str, resident_id: int) -> bool:
    """A resident pressed a button of their campaign message: the first press is kept on the delivery,
    every press is an Event `campaign_click`. False (nothing recorded) when the delivery is not theirs,
    or the button is not one of that campaign's."""
    session = uow.session
    delivery = session.get(CampaignDelivery, delivery_id)
    if delivery is None or delivery.resident_id != resident_id:
        return False
    campaign = session.get(Campaign, delivery.campaign_id)
    if campaign is None or button not in campaign.buttons:
        return False
    now = clock.now()
    first = session.execute(
        update(_D)
        .where(_D.c.id == delivery_id, _D.c.clicked_at.is_(None))
        .values(clicked_at=now, clicked_button=button)
    ).rowcount
    resident = session.get(Resident, resident_id)
    session.add(
        Event(
            at=now,
            kind="campaign_click",
            resident_id=resident_id,
            territory_id=campaign.territory_id,
            quartier_id=resident.quartier_id if resident else None,
            data={"campaign": campaign.id, "button": button, "first": bool(first)},
        )
    )
    uow.commit()
    return True


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
    tz: ZoneInfo = PARIS
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
        added = _snapshot(session, campaign, now)
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
    query = _queued_rows(campaign_id, statuses=[OutboxStatus.pending, OutboxStatus.sending]).limit(1)
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
                    Resident.opted_out_at, Resident.unreachable_at, Resident.telegram_user_id,
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
        rights = _latest_rights(session, ids) if "{droit}" in campaign.text else {}
        if quartiers is None and "{quartier}" in campaign.text:
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
            values = _values(
                person.first_name,
                (quartiers or {}).get(person.quartier_id or ""),
                rights.get(resident_id, []),
                audience.right_not_claimed,
            )
            key = f"camp:{campaign.id}:{resident_id}"
            outbox.enqueue(
                uow,
                key=key,
                chat_id=person.chat_id,
                kind=KIND,
                payload={
                    "text": fill(campaign.text, values)[: outbox.MAX_TEXT],
                    "buttons": _buttons(delivery_id, campaign.buttons),
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


def add_job(scheduler: Any, engine: Engine, clock: Clock, settings: Settings, *, seconds: float = 1.0) -> None:
    """Run `pump` as an APScheduler interval job (in a worker thread, one run at a time)."""
    options = PumpOptions.from_settings(settings)

    async def campaigns_tick() -> None:
        await asyncio.to_thread(_safe_pump, engine, clock, options)

    scheduler.add_job(
        campaigns_tick,
        "interval",
        seconds=seconds,
        id="campaigns",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=30,
    )


# ---------------------------------------------------------------- `python -m outreach.campaigns`


async def serve(settings: Settings) -> None:
    """The campaign pump and the outbox dispatcher as APScheduler jobs, as in the service, without PTB."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from db.engine import make_engine
    from outreach.clock import SystemClock
    from outreach.outbox import Dispatcher
    from outreach.senders import BotApiSender

    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed")
    engine = make_engine(settings.database_url)
    clock = SystemClock()
    sender = BotApiSender(
        settings.telegram_api_base_url,
        settings.telegram_bot_token.get_secret_value(),
        max_connections=settings.outbox_concurrency * 2,
    )
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    add_job(scheduler, engine, clock, settings)
    dispatcher = Dispatcher.from_settings(engine, clock, sender, settings)
    dispatcher.add_job(scheduler, seconds=1.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scheduler.start()
    log.info("campaign pump and dispatcher ready (%s)", engine.dialect.name)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        for _ in range(400):  # the dispatcher's current run ends its sends and records them (≤ its budget)
            if not getattr(dispatcher, "_job_running", False):
                break
            await asyncio.sleep(0.1)
        await sender.aclose()
        engine.dispose()


def main() -> int:
    from outreach.config import Settings
    from outreach.logs import setup_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg']}", file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None:
        print("TELEGRAM_BOT_TOKEN is needed to send campaigns", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, prefix="campaigns ")
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    from outreach import campaigns as _module  # one copy of the module (the guard imports it by name)

    sys.exit(_module.main())
