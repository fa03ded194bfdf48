"""The figures coordinators report (to the State, ANCT, and the city), defined once.

The web console and `outreach stats` both call `figures()`, `by_quartier()` and `monthly_series()`.

Scope
-----
- **Month** "YYYY-MM" in local time (Europe/Paris by default): from the first day 00:00 to the next
  month's first day 00:00, local; a fact belongs to the month of its `Event.at`.
- **Territory / quartier** (QPV): the place written on the event. Events carry the resident's place
  when it is known; the consent comes before the resident says where they live, so
  `residents.set_place` fills the place in on the resident's earlier events. A resident who never
  gives a place is counted in no territory. With `quartier`, only events of that QPV count; without,
  the whole territory (residents outside any QPV included).
- **Source**: the `Event` table only (plus the campaign tables, below). Erasing a resident deletes
  the domain tables but keeps their events anonymously (resident_id NULL): an erased resident stays
  counted. A figure of a past month can still grow a little when a resident gives their place late.

Definitions (keys of `figures()`)
---------------------------------
- `residents_reached`: `resident_reached` events, written once per resident at their first consent.
- `residents_opted_out`: `resident_opted_out` events (written the first time a resident stops messages).
- `screenings_completed`: `screening_completed` events (one per completed screening; a resident who
  redoes it counts again).
- `rights_detected`: per right (`right_id`, `label`), `count` = new detections by the screenings
  completed in the month, where a detection is new unless the same resident's screenings of the 30
  days before had found that right already (`repeat` in data.detected, written by
  `screenings.record`; `screenings.REPEAT_WINDOW`): a resident who redoes the screening is not counted
  twice, and each month's counts add up over a year. `yearly_amount_eur` = 12 × the sum of the
  estimated monthly amounts of those detections that have one, rounded to the euro. A right paid
  once a year (ARS, bourses, chèque énergie: `per` in outreach/screening/rights.py) is stored as its
  yearly amount / 12, so this gives back the sum of its yearly amounts (not 12 times it). Most
  frequent first. `rights_detected_total` is the sum of the counts. "Already received" rights are not
  detections.
- `rights_reported`: `right_status` events of the month by new status: `asked` (the resident says
  the claim is made), `opened` (paid), `failed` (tried and did not manage), `refused`. These are
  status changes: a right that goes failed → asked counts once in each.
- `median_days_detection_to_claim`: median, over the claims of the month, of the days between the
  detection (the screening) and the claim. The claim is the first time a detected right reaches
  "asked", or "opened" when "asked" was skipped (`data.claim` on the `right_status` event, with
  `data.days_since_detection`). Rounded to 0.1 day; null when no claim.
- `appointments`: `booked` = `appointment_booked` events (a reschedule moves a booking: neither a new
  booking nor a cancellation); `cancelled` = `appointment_cancelled` events (by the resident, the
  staff, or a closure); `seen` / `no_show` / `excused` = appointments marked so in the month, by their
  last mark of the month (a corrected mark counts once, as corrected); `no_show_rate` =
  no_show / (seen + no_show), 3 decimals, null when both are 0. The place is the resident's, else
  the permanence's territory.
- `handoffs`: `opened` = `handoff_opened` events, `closed` = `handoff_closed` events; `outcomes` =
  cases whose outcome was given in the month (at closing, or afterwards), by the last outcome given
  in the month: oriente, rendez_vous, droit_ouvert, dossier_en_cours, sans_suite;
  `median_wait_minutes` = median time from opening to the first claim by an adulte-relais, over the
  cases claimed in the month (0.1 minute; null when none).
- `campaigns` (from the campaign tables, so an erased resident's deliveries are gone):
  `messages_sent` = deliveries of the territory's campaigns whose outbox message has status "sent"
  and `sent_at` in the month; `campaigns_sent` = campaigns with at least one of them; `clicks` =
  deliveries whose first button press (`clicked_at`) is in the month; `opt_outs` =
  `resident_opted_out` events of the month tagged with a campaign: the writer tags an opt-out when
  the resident got a campaign message in the 7 days before (`residents.CAMPAIGN_OPT_OUT_WINDOW`).
  With `quartier`, deliveries count by the resident's current quartier. For speed, messages are
  looked for only in the campaigns started before the month's end and not finished more than
  CAMPAIGN_SEND_SLACK (3 days) before its start (the outbox drops a campaign message after 48 h).

All counts are SQL aggregates (GROUP BY) over the indexes of migration 0006.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    case,
    cast,
    column,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from db.models import Campaign, CampaignDelivery, Event, HandoffOutcome, OutboxMessage, Quartier, Resident, Territory

PARIS = ZoneInfo("Europe/Paris")
MAX_SERIES_MONTHS = 36
CAMPAIGN_SEND_SLACK = dt.timedelta(days=3)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

COUNTED = {  # figure key → event kind, counted as is
    "residents_reached": "resident_reached",
    "residents_opted_out": "resident_opted_out",
    "screenings_completed": "screening_completed",
    "appointments_booked": "appointment_booked",
    "appointments_cancelled": "appointment_cancelled",
    "handoffs_opened": "handoff_opened",
    "handoffs_closed": "handoff_closed",
}
REPORTED = ("asked", "opened", "failed", "refused")
MARKS = {"appointment_seen": "seen", "appointment_no_show": "no_show", "appointment_excused": "excused"}
OUTCOMES = tuple(outcome.value for outcome in HandoffOutcome)


class StatsError(ValueError):
    """A bad month, or a territory / quartier that does not exist."""


# ---------------------------------------------------------------- scope


def parse_month(month: str) -> tuple[int, int]:
    found = _MONTH.match(month or "")
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2999:
        raise StatsError(f"month must be YYYY-MM with a month from 01 to 12, e.g. 2026-03 (got {month!r})")
    return int(found.group(1)), int(found.group(2))


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def _start(year: int, month: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=tz).astimezone(dt.UTC)


def month_bounds(month: str, tz: ZoneInfo = PARIS) -> tuple[dt.datetime, dt.datetime]:
    """The month as a UTC interval [start, end): local midnight of its first day to the next month's."""
    year, number = parse_month(month)
    return _start(year, number, tz), _start(*_shift(year, number, 1), tz)


def _check_place(session: Session, territory: str, quartier: str | None) -> tuple[str, str | None]:
    """The names of the territory and quartier; StatsError when unknown (or the QPV is elsewhere)."""
    found = session.get(Territory, territory) if territory else None
    if found is None:
        known = ", ".join(session.execute(select(Territory.id).order_by(Territory.id)).scalars())
        raise StatsError(f"unknown territory {territory!r} (known: {known})")
    if quartier is None:
        return found.name, None
    place = session.get(Quartier, quartier)
    if place is None or place.territory_id != territory:
        known = ", ".join(
            session.execute(
                select(Quartier.id).where(Quartier.territory_id == territory).order_by(Quartier.id)
            ).scalars()
        )
        raise StatsError(f"unknown quartier {quartier!r} in territory {territory!r} (known: {known})")
    return found.name, place.name


def _scope(
    territory: str, quartier: str | None, start: dt.datetime, end: dt.datetime, kinds: list[str] | tuple[str, ...]
) -> list[ColumnElement[bool]]:
    """Where clauses for events of these kinds, in the place, in [start, end)."""
    where = [
        Event.territory_id == territory,
        Event.kind.in_(kinds),  # type: ignore[attr-defined]
        Event.at >= start,  # type: ignore[operator]
        Event.at < end,  # type: ignore[operator]
    ]
    if quartier is not None:
        where.append(Event.quartier_id == quartier)  # type: ignore[arg-type]
    return where  # type: ignore[return-value]


# ---------------------------------------------------------------- building blocks


def _counts(session: Session, where: list[ColumnElement[bool]], *keys: ColumnElement[Any]) -> dict[tuple, int]:
    """Events counted by kind (and the extra keys), e.g. {("resident_reached",): 12}."""
    query = select(Event.kind, *keys, func.count()).where(*where).group_by(Event.kind, *keys)
    return {tuple(row[:-1]): int(row[-1]) for row in session.execute(query)}


def _median(session: Session, value: ColumnElement[Any], where: list[ColumnElement[bool]]) -> float | None:
    """Median of a numeric expression over events, in SQL (window functions: SQLite ≥ 3.25, PostgreSQL)."""
    ranked = (
        select(
            value.label("v"),
            func.row_number().over(order_by=value).label("rn"),
            func.count().over().label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery()
    )
    middle = select(func.avg(ranked.c.v)).where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
    result = session.execute(middle).scalar()
    return None if result is None else float(result)


def _detected(session: Session) -> tuple[Any, dict[str, ColumnElement[Any]]]:
    """The rights found by a screening, one row per right: the JSON list data.detected of the
    `screening_completed` event, expanded. The one dialect-specific part of this module: json_each on
    SQLite, jsonb_array_elements on PostgreSQL. Returns the table-valued function to join and its fields."""
    if session.get_bind().dialect.name == "postgresql":
        element = func.jsonb_array_elements(Event.data["detected"]).table_valued(  # type: ignore[index]
            column("value", JSONB), joins_implicitly=True
        )

        def field(name: str) -> ColumnElement[Any]:
            return element.c.value.op("->>")(literal(name))

        repeat = cast(field("repeat"), Boolean)
    else:
        element = func.json_each(Event.data, "$.detected").table_valued("value", joins_implicitly=True)

        def field(name: str) -> ColumnElement[Any]:
            return func.json_extract(element.c.value, f"$.{name}")

        repeat = field("repeat") == 1  # SQLite's JSON true
    return element, {
        "right_id": field("id"),
        "label": field("label"),
        "amount": cast(field("monthly_amount"), Float),
        "new": func.coalesce(repeat, false()) == false(),  # events written before the flag count as new
    }


def _rights_detected(session: Session, where: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """New detections of the screenings matching `where`, per right, most frequent first."""
    element, fields = _detected(session)
    count = func.count()
    query = (
        select(fields["right_id"], func.max(fields["label"]), count, func.sum(fields["amount"]))
        .select_from(Event)
        .join(element, true())
        .where(*where, fields["new"])
        .group_by(fields["right_id"])
        .order_by(count.desc(), fields["right_id"])
    )
    return [
        {
            "right_id": right_id,
            "label": label,
            "count": int(n),
            "yearly_amount_eur": round(12 * monthly) if monthly is not None else 0,
        }
        for right_id, label, n, monthly in session.execute(query)
    ]


def _detections_by(session: Session, where: list[ColumnElement[bool]], key: ColumnElement[Any]) -> dict[Any, int]:
    """How many new detections per `key` (a quartier, a month)."""
    element, fields = _detected(session)
    query = (
        select(key, func.count()).select_from(Event).join(element, true()).where(*where, fields["new"]).group_by(key)
    )
    return {value: int(n) for value, n in session.execute(query)}


def _last_per(
    session: Session, where: list[ColumnElement[bool]], group: ColumnElement[Any], value: ColumnElement[Any]
) -> dict[str, int]:
    """For each `group` (an appointment, a case), the `value` of its last matching event; counted by value."""
    last = select(func.max(Event.id)).where(*where).group_by(group).scalar_subquery()
    query = select(value, func.count()).where(Event.id.in_(last)).group_by(value)  # type: ignore[union-attr]
    return {str(key): int(count) for key, count in session.execute(query)}


def _campaigns(
    session: Session, territory: str, quartier: str | None, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    delivery, outbox = CampaignDelivery, OutboxMessage
    place = [Campaign.territory_id == territory]
    # only the campaigns running during the month can have sent in it (a message leaves at the latest
    # CAMPAIGN_SEND_SLACK after its campaign finished: the outbox drops it after 48 h)
    running = [
        Campaign.started_at < end,  # type: ignore[operator]
        or_(Campaign.finished_at.is_(None), Campaign.finished_at >= start - CAMPAIGN_SEND_SLACK),  # type: ignore[union-attr,operator]
    ]
    if quartier is not None:
        place.append(
            delivery.resident_id.in_(  # type: ignore[attr-defined]
                select(Resident.id).where(Resident.quartier_id == quartier)
            )
        )
    sent = session.execute(
        select(func.count(distinct(delivery.campaign_id)), func.count())
        .select_from(delivery)
        .join(Campaign, Campaign.id == delivery.campaign_id)  # type: ignore[arg-type]
        .join(outbox, outbox.idempotency_key == delivery.outbox_key)  # type: ignore[arg-type]
        .where(*place, *running, outbox.status == "sent", outbox.sent_at >= start, outbox.sent_at < end)  # type: ignore[operator]
    ).one()
    clicks = session.execute(
        select(func.count())
        .select_from(delivery)
        .join(Campaign, Campaign.id == delivery.campaign_id)  # type: ignore[arg-type]
        .where(*place, delivery.clicked_at >= start, delivery.clicked_at < end)  # type: ignore[operator]
    ).scalar_one()
    opt_outs = session.execute(
        select(func.count()).where(
            *_scope(territory, quartier, start, end, ["resident_opted_out"]),
            Event.data["campaign_id"].as_integer().is_not(None),  # type: ignore[index]
        )
    ).scalar_one()
    return {
        "campaigns_sent": int(sent[0]),
        "messages_sent": int(sent[1]),
        "clicks": int(clicks),
        "opt_outs": int(opt_outs),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- the figures


def figures(
    session: Session, *, territory: str, month: str, quartier: str | None = None, tz: ZoneInfo = PARIS
) -> dict[str, Any]:
    """The figures of a territory (or one of its QPV) for a month, as a JSON-able dict (module docstring)."""
    start, end = month_bounds(month, tz)
    territory_name, quartier_name = _check_place(session, territory, quartier)

    def scope(*kinds: str) -> list[ColumnElement[bool]]:
        return _scope(territory, quartier, start, end, kinds)

    counted = {kind: n for (kind,), n in _counts(session, scope(*COUNTED.values())).items()}
    count = {key: counted.get(kind, 0) for key, kind in COUNTED.items()}
    status = Event.data["status"].as_string()  # type: ignore[index]
    reported = {s: n for (_, s), n in _counts(session, scope("right_status"), status).items()}
    appointment = Event.data["appointment_id"].as_integer()  # type: ignore[index]
    marks = _last_per(session, scope(*MARKS), appointment, Event.kind)  # type: ignore[arg-type]
    seen, no_show = marks.get("appointment_seen", 0), marks.get("appointment_no_show", 0)
    outcome = Event.data["outcome"].as_string()  # type: ignore[index]
    outcomes = _last_per(
        session,
        [*scope("handoff_closed", "handoff_outcome"), outcome.is_not(None)],
        Event.data["handoff"].as_integer(),  # type: ignore[index]
        outcome,
    )
    wait = _median(session, Event.data["waited_s"].as_float(), scope("handoff_claimed"))  # type: ignore[index]
    claims = [*scope("right_status"), Event.data["claim"].as_boolean() == true()]  # type: ignore[index]
    to_claim = _median(session, Event.data["days_since_detection"].as_float(), claims)  # type: ignore[index]
    detected = _rights_detected(session, scope("screening_completed"))
    return {
        "territory": territory,
        "territory_name": territory_name,
        "quartier": quartier,
        "quartier_name": quartier_name,
        "month": month,
        "period": {"from": start.astimezone(tz).isoformat(), "to": end.astimezone(tz).isoformat()},
        "residents_reached": count["residents_reached"],
        "residents_opted_out": count["residents_opted_out"],
        "screenings_completed": count["screenings_completed"],
        "rights_detected": detected,
        "rights_detected_total": sum(item["count"] for item in detected),
        "rights_reported": {s: reported.get(s, 0) for s in REPORTED},
        "median_days_detection_to_claim": _round(to_claim, 1),
        "appointments": {
            "booked": count["appointments_booked"],
            "seen": seen,
            "no_show": no_show,
            "excused": marks.get("appointment_excused", 0),
            "cancelled": count["appointments_cancelled"],
            "no_show_rate": round(no_show / (seen + no_show), 3) if seen + no_show else None,
        },
        "handoffs": {
            "opened": count["handoffs_opened"],
            "closed": count["handoffs_closed"],
            "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
            "median_wait_minutes": _round(wait / 60 if wait is not None else None, 1),
        },
        "campaigns": _campaigns(session, territory, quartier, start, end),
    }


def by_quartier(session: Session, *, territory: str, month: str, tz: ZoneInfo = PARIS) -> list[dict[str, Any]]:
    """One small row per QPV of the territory (every QPV, zeros included, by name), same definitions as
    figures(): reached, screened, rights_detected (total), appointments_booked, handoffs (opened).
    Residents outside any QPV are in the territory's figures() only."""
    start, end = month_bounds(month, tz)
    _check_place(session, territory, None)
    kinds = ["resident_reached", "screening_completed", "appointment_booked", "handoff_opened"]
    where = _scope(territory, None, start, end, kinds)
    counted = _counts(session, where, Event.quartier_id)  # type: ignore[arg-type]
    screened = _scope(territory, None, start, end, ["screening_completed"])
    detected = _detections_by(session, screened, Event.quartier_id)  # type: ignore[arg-type]
    places = session.execute(
        select(Quartier.id, Quartier.name).where(Quartier.territory_id == territory).order_by(Quartier.name)
    ).all()
    return [
        {
            "quartier": quartier_id,
            "name": name,
            "reached": counted.get(("resident_reached", quartier_id), 0),
            "screened": counted.get(("screening_completed", quartier_id), 0),
            "rights_detected": detected.get(quartier_id, 0),
            "appointments_booked": counted.get(("appointment_booked", quartier_id), 0),
            "handoffs": counted.get(("handoff_opened", quartier_id), 0),
        }
        for quartier_id, name in places
    ]


def monthly_series(
    session: Session,
    *,
    territory: str,
    months: int = 6,
    end_month: str,
    quartier: str | None = None,
    tz: ZoneInfo = PARIS,
) -> list[dict[str, Any]]:
    """The last `months` months up to `end_month` included, oldest first, for a chart:
    reached, screened, rights_detected (total) and opened (rights), same definitions as figures()."""
    if not 1 <= months <= MAX_SERIES_MONTHS:
        raise StatsError(f"months must be between 1 and {MAX_SERIES_MONTHS} (got {months})")
    year, number = parse_month(end_month)
    _check_place(session, territory, quartier)
    labels = [f"{y:04d}-{m:02d}" for y, m in (_shift(year, number, i - months + 1) for i in range(months))]
    bounds = [_start(*_shift(year, number, i - months + 1), tz) for i in range(months + 1)]
    # the month of each event, computed in SQL from the UTC bounds (no per-dialect date functions)
    bucket = case(
        *((Event.at < bound, literal(label)) for bound, label in zip(bounds[1:], labels, strict=True)),  # type: ignore[operator]
        else_=literal(None),
    )
    start, end = bounds[0], bounds[-1]

    def scope(*kinds: str) -> list[ColumnElement[bool]]:
        return _scope(territory, quartier, start, end, kinds)

    series = {
        label: {"month": label, "reached": 0, "screened": 0, "rights_detected": 0, "opened": 0} for label in labels
    }
    names = {"resident_reached": "reached", "screening_completed": "screened"}
    for (kind, label), n in _counts(session, scope(*names), bucket).items():  # from the index alone
        series[label][names[kind]] = n
    opened = [*scope("right_status"), Event.data["status"].as_string() == "opened"]  # type: ignore[index]
    for (_, label), n in _counts(session, opened, bucket).items():
        series[label]["opened"] = n
    for label, n in _detections_by(session, scope("screening_completed"), bucket).items():
        series[label]["rights_detected"] = n
    return list(series.values())
