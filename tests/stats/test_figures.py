"""The figures of outreach/stats.py, built through the real services (consent, place, screening, right
status, booking, handoff, opt-out, erasure) on SQLite and PostgreSQL: the writers and the definitions agree."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.engine import UnitOfWork
from db.models import (
    AppointmentStatus,
    Campaign,
    CampaignDelivery,
    DeliveryStatus,
    Event,
    HandoffOutcome,
    OutboxMessage,
    OutboxStatus,
    Resident,
    RightStatus,
    StaffRole,
)
from outreach import stats
from outreach.clock import FrozenClock
from outreach.screening.model import Profile, Right, ScreeningResult
from outreach.seed import seed_demo
from outreach.services import booking, handoffs, residents, screenings, staff
from tests.booking.conftest import GRESILLES, paris, permanence

TZ = ZoneInfo("Europe/Paris")  # the settings' default (OUTREACH_TIMEZONE)

PRIME = Right(
    id="prime_activite", label="Prime d'activité", kind="national", monthly_amount=231.4, why="w", next_step="n"
)
CSS = Right(id="css", label="Complémentaire santé solidaire", kind="national", why="w", next_step="n")
CEJ = Right(id="dijon-cej", label="Contrat d'engagement jeune", kind="local", why="w", next_step="n")
_users = itertools.count(70_000)


# ---------------------------------------------------------------- helpers: the facts, through the services


def reach(
    engine: Engine,
    clock: FrozenClock,
    *,
    commune: str | None = "Dijon",
    quartier: str | None = "gresilles",
    at: dt.datetime | None = None,
) -> int:
    """A resident who consents (at `at`), then says where they live."""
    if at is not None:
        clock.set(at)
    user = next(_users)
    with UnitOfWork(engine) as uow:
        view = residents.record_consent(
            uow, clock, telegram_user_id=user, chat_id=user, accepted=True, first_name="Amina", language="fr"
        )
        if commune is not None:
            assert residents.set_place(uow, view.id, commune_name=commune, quartier_id=quartier)
    return view.id


def screen(engine: Engine, clock: FrozenClock, resident_id: int, *rights: Right, amount: float | None = None) -> None:
    if amount is not None:
        rights = tuple(r.model_copy(update={"monthly_amount": amount}) for r in rights)
    with UnitOfWork(engine) as uow:
        screenings.record(
            uow, clock, resident_id, Profile(age=30), ScreeningResult(rights=list(rights)), complex_case=False
        )


def move(engine: Engine, clock: FrozenClock, resident_id: int, right: Right, status: RightStatus) -> None:
    with UnitOfWork(engine) as uow:
        stored = screenings.set_status(uow, clock, resident_id, right.id, status)
        assert stored is not None and stored.status == status


def relay(engine: Engine, clock: FrozenClock, territory: str = "dijon") -> staff.StaffView:
    user = next(_users)
    with UnitOfWork(engine) as uow:
        invite = staff.create_invite(uow, clock, role=StaffRole.relay, territory_id=territory, first_name="Samia")
        member = staff.redeem_invite(uow, clock, invite.code, telegram_user_id=user, chat_id=user)
        assert member is not None
        return staff.set_available(uow, clock, member.id, True) or member


@pytest.fixture
def demo(engine: Engine, clock: FrozenClock) -> Engine:
    """The demo places, staff and permanences (outreach seed-demo)."""
    with UnitOfWork(engine) as uow:
        seed_demo(uow, clock)
    return engine


def figures(engine: Engine, month: str, territory: str = "dijon", quartier: str | None = None) -> dict[str, Any]:
    with Session(engine) as session:
        return stats.figures(session, territory=territory, month=month, quartier=quartier)


# ---------------------------------------------------------------- residents reached, month and place


def test_a_resident_who_consents_in_november_counts_as_reached_in_november(engine: Engine, clock: FrozenClock) -> None:
    reach(engine, clock, at=paris(2026, 11, 12, 15))
    assert figures(engine, "2026-11")["residents_reached"] == 1
    assert figures(engine, "2026-10")["residents_reached"] == 0
    assert figures(engine, "2026-12")["residents_reached"] == 0


def test_the_month_runs_from_paris_midnight_to_paris_midnight(engine: Engine, clock: FrozenClock) -> None:
    reach(engine, clock, at=paris(2026, 11, 1, 0, 10))  # 31 October 23:10 UTC: November in Paris
    reach(engine, clock, at=paris(2026, 11, 30, 23, 50))
    reach(engine, clock, at=paris(2026, 12, 1, 0, 30))  # 30 November 23:30 UTC: December in Paris
    assert figures(engine, "2026-10")["residents_reached"] == 0
    assert figures(engine, "2026-11")["residents_reached"] == 2
    assert figures(engine, "2026-12")["residents_reached"] == 1


def test_month_bounds_follow_summer_time() -> None:
    start, end = stats.month_bounds("2026-03")
    assert start == dt.datetime(2026, 2, 28, 23, tzinfo=dt.UTC)  # winter time: UTC+1
    assert end == dt.datetime(2026, 3, 31, 22, tzinfo=dt.UTC)  # summer time from 29 March: UTC+2
    assert stats.month_bounds("2026-12") == (
        dt.datetime(2026, 11, 30, 23, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC),
    )


def test_the_place_given_after_the_consent_places_the_residents_earlier_events(
    engine: Engine, clock: FrozenClock
) -> None:
    amina = reach(engine, clock, commune=None)
    with UnitOfWork(engine) as uow:
        handoffs.open_case(uow, clock, amina, source="talk_to_human")  # written before the place is known
    assert figures(engine, "2026-11")["residents_reached"] == 0  # nowhere yet
    with UnitOfWork(engine) as uow:
        residents.set_place(uow, amina, commune_name="Dijon", quartier_id="fontaine_d_ouche")
    placed = figures(engine, "2026-11", quartier="fontaine_d_ouche")
    assert placed["residents_reached"] == 1 and placed["handoffs"]["opened"] == 1
    assert figures(engine, "2026-11", territory="troyes")["residents_reached"] == 0


def test_troyes_figures_exclude_dijon(engine: Engine, clock: FrozenClock) -> None:
    dijon = reach(engine, clock, commune="Dijon", quartier="gresilles")
    troyes = reach(engine, clock, commune="Troyes", quartier="chartreux")
    reach(engine, clock, commune="Troyes", quartier=None)  # in Troyes, outside any QPV
    screen(engine, clock, dijon, PRIME)
    screen(engine, clock, troyes, CSS)
    at_troyes = figures(engine, "2026-11", territory="troyes")
    assert at_troyes["residents_reached"] == 2 and at_troyes["screenings_completed"] == 1
    assert [r["right_id"] for r in at_troyes["rights_detected"]] == ["css"]
    at_dijon = figures(engine, "2026-11", territory="dijon")
    assert at_dijon["residents_reached"] == 1
    assert [r["right_id"] for r in at_dijon["rights_detected"]] == ["prime_activite"]


def test_a_qpv_counts_only_its_residents_and_by_quartier_gives_every_qpv(engine: Engine, clock: FrozenClock) -> None:
    for _ in range(2):
        screen(engine, clock, reach(engine, clock, quartier="gresilles"), PRIME, CEJ)
    screen(engine, clock, reach(engine, clock, quartier="fontaine_d_ouche"), PRIME)
    reach(engine, clock, quartier=None)
    gresilles = figures(engine, "2026-11", quartier="gresilles")
    assert (gresilles["quartier"], gresilles["quartier_name"]) == ("gresilles", "Grésilles")
    assert gresilles["residents_reached"] == 2 and gresilles["rights_detected_total"] == 4
    assert figures(engine, "2026-11")["residents_reached"] == 4  # the territory: QPV or not
    with Session(engine) as session:
        rows = {row["quartier"]: row for row in stats.by_quartier(session, territory="dijon", month="2026-11")}
    assert set(rows) == {"gresilles", "fontaine_d_ouche", "le_mail", "belvedere", "bief_du_moulin", "quetigny_centre"}
    assert rows["gresilles"] == {
        "quartier": "gresilles",
        "name": "Grésilles",
        "reached": 2,
        "screened": 2,
        "rights_detected": 4,
        "appointments_booked": 0,
        "handoffs": 0,
    }
    assert (rows["fontaine_d_ouche"]["reached"], rows["fontaine_d_ouche"]["rights_detected"]) == (1, 1)
    assert rows["le_mail"]["reached"] == 0


# ---------------------------------------------------------------- rights


def test_rights_detected_count_a_resident_once_per_right_and_sum_yearly_amounts(
    engine: Engine, clock: FrozenClock
) -> None:
    amina, fatou = reach(engine, clock), reach(engine, clock)
    screen(engine, clock, amina, PRIME, CEJ)
    screen(engine, clock, amina, PRIME, CEJ)  # redone the same month: still one detection each
    screen(engine, clock, fatou, PRIME, amount=100.0)
    result = figures(engine, "2026-11")
    assert result["screenings_completed"] == 3
    assert result["rights_detected"] == [
        {"right_id": "prime_activite", "label": "Prime d'activité", "count": 2, "yearly_amount_eur": 3977},
        {"right_id": "dijon-cej", "label": "Contrat d'engagement jeune", "count": 1, "yearly_amount_eur": 0},
    ]
    assert result["rights_detected_total"] == 3


def test_a_right_found_again_within_30_days_is_not_a_new_detection_even_the_next_month(
    engine: Engine, clock: FrozenClock
) -> None:
    amina = reach(engine, clock, at=paris(2026, 11, 20, 10))
    screen(engine, clock, amina, PRIME)
    clock.set(paris(2026, 12, 5, 10))
    screen(engine, clock, amina, PRIME, CSS)  # the prime was found 15 days ago
    clock.set(paris(2027, 1, 10, 10))
    screen(engine, clock, amina, PRIME)  # 36 days after the last time
    found = {
        month: [(r["right_id"], r["count"]) for r in figures(engine, month)["rights_detected"]]
        for month in ("2026-11", "2026-12", "2027-01")
    }
    assert found == {"2026-11": [("prime_activite", 1)], "2026-12": [("css", 1)], "2027-01": [("prime_activite", 1)]}
    assert figures(engine, "2026-12")["screenings_completed"] == 1


def test_right_statuses_are_reported_in_the_month_they_change(engine: Engine, clock: FrozenClock) -> None:
    clock.set(paris(2026, 10, 28, 10))
    amina, fatou = reach(engine, clock), reach(engine, clock)
    screen(engine, clock, amina, PRIME, CSS)
    screen(engine, clock, fatou, PRIME)
    move(engine, clock, amina, PRIME, RightStatus.asked)  # October
    clock.set(paris(2026, 11, 3, 10))
    move(engine, clock, amina, PRIME, RightStatus.opened)
    move(engine, clock, amina, CSS, RightStatus.failed)
    move(engine, clock, fatou, PRIME, RightStatus.asked)
    move(engine, clock, fatou, PRIME, RightStatus.refused)
    assert figures(engine, "2026-10")["rights_reported"] == {"asked": 1, "opened": 0, "failed": 0, "refused": 0}
    assert figures(engine, "2026-11")["rights_reported"] == {"asked": 1, "opened": 1, "failed": 1, "refused": 1}


def test_median_days_from_detection_to_claim_counts_asked_or_opened_when_asked_was_skipped(
    engine: Engine, clock: FrozenClock
) -> None:
    start = paris(2026, 11, 2, 10)
    clock.set(start)
    amina, fatou, karim, nadia = (reach(engine, clock) for _ in range(4))
    for resident in (amina, fatou, karim, nadia):
        screen(engine, clock, resident, PRIME)
    clock.set(start + dt.timedelta(days=3))
    move(engine, clock, amina, PRIME, RightStatus.asked)  # 3 days
    clock.set(start + dt.timedelta(days=5))
    move(engine, clock, karim, PRIME, RightStatus.asked)  # 5 days
    move(engine, clock, nadia, PRIME, RightStatus.failed)  # not a claim
    clock.set(start + dt.timedelta(days=9))
    move(engine, clock, amina, PRIME, RightStatus.opened)  # already claimed: not counted again
    move(engine, clock, karim, PRIME, RightStatus.refused)
    move(engine, clock, karim, PRIME, RightStatus.asked)  # asked again after a refusal: not a new claim
    clock.set(start + dt.timedelta(days=10))
    move(engine, clock, fatou, PRIME, RightStatus.opened)  # 10 days, "asked" skipped
    assert figures(engine, "2026-11")["median_days_detection_to_claim"] == 5.0
    assert figures(engine, "2026-10")["median_days_detection_to_claim"] is None


def test_an_erased_resident_is_still_counted(engine: Engine, clock: FrozenClock) -> None:
    clock.set(paris(2026, 11, 2, 10))
    amina, fatou = reach(engine, clock), reach(engine, clock)
    screen(engine, clock, amina, PRIME, CEJ)
    screen(engine, clock, fatou, PRIME)
    clock.advance(days=2)
    move(engine, clock, amina, PRIME, RightStatus.asked)
    clock.advance(days=2)
    move(engine, clock, fatou, PRIME, RightStatus.asked)
    with UnitOfWork(engine) as uow:
        residents.opt_out(uow, clock, amina)
    before = figures(engine, "2026-11")
    with UnitOfWork(engine) as uow:
        assert residents.erase(uow, clock, amina) is not None
        assert uow.session.get(Resident, amina) is None
    after = figures(engine, "2026-11")
    assert after == before
    assert after["residents_reached"] == 2 and after["rights_detected_total"] == 3
    assert after["rights_reported"]["asked"] == 2 and after["median_days_detection_to_claim"] == 3.0
    assert after["residents_opted_out"] == 1


# ---------------------------------------------------------------- appointments


def test_no_show_rate_is_no_shows_over_seen_and_no_shows(demo: Engine, clock: FrozenClock) -> None:
    perm = permanence(demo, GRESILLES, 1)  # Samia, Tuesdays 14h-17h, 30-minute slots
    people = [reach(demo, clock) for _ in range(5)]
    booked = []
    for i, resident in enumerate(people):
        with UnitOfWork(demo) as uow:
            booked.append(
                booking.book(
                    uow,
                    clock,
                    resident_id=resident,
                    permanence_id=perm.id or 0,
                    starts_at=paris(2026, 12, 1, 14) + dt.timedelta(minutes=30 * i),
                    tz=TZ,
                )
            )
    with UnitOfWork(demo) as uow:
        booking.cancel(uow, clock, appointment_id=booked[4].id or 0, by="resident", resident_id=people[4], tz=TZ)
    clock.set(paris(2026, 12, 1, 17, 30))
    marks = [AppointmentStatus.seen, AppointmentStatus.seen, AppointmentStatus.no_show, AppointmentStatus.no_show]
    for appointment, status in zip(booked, marks, strict=False):
        with UnitOfWork(demo) as uow:
            booking.mark(uow, clock, appointment_id=appointment.id or 0, status=status, tz=TZ)
    with UnitOfWork(demo) as uow:  # a wrong mark, corrected: counts once, as corrected
        booking.mark(uow, clock, appointment_id=booked[3].id or 0, status=AppointmentStatus.seen, tz=TZ)
    november, december = figures(demo, "2026-11"), figures(demo, "2026-12")
    assert (november["appointments"]["booked"], november["appointments"]["cancelled"]) == (5, 1)
    assert december["appointments"] == {
        "booked": 0,
        "seen": 3,
        "no_show": 1,
        "excused": 0,
        "cancelled": 0,
        "no_show_rate": 0.25,
    }
    assert november["appointments"]["no_show_rate"] is None
    with Session(demo) as session:
        [gresilles] = [
            r for r in stats.by_quartier(session, territory="dijon", month="2026-11") if r["quartier"] == "gresilles"
        ]
    assert gresilles["appointments_booked"] == 5


# ---------------------------------------------------------------- handoffs


def test_handoffs_count_cases_outcomes_and_the_median_wait(engine: Engine, clock: FrozenClock) -> None:
    samia = relay(engine, clock)
    clock.set(paris(2026, 11, 10, 9))
    cases = []
    for _ in range(3):
        with UnitOfWork(engine) as uow:
            cases.append(handoffs.open_case(uow, clock, reach(engine, clock), source="talk_to_human")[0])
    for case, wait in zip(cases, (10, 30, 50), strict=True):
        clock.set(paris(2026, 11, 10, 9) + dt.timedelta(minutes=wait))
        with UnitOfWork(engine) as uow:
            assert handoffs.claim(uow, clock, case.id, samia).won
    with UnitOfWork(engine) as uow:
        handoffs.close(uow, clock, cases[0].id, by="staff", staff=samia, outcome=HandoffOutcome.rendez_vous)
        handoffs.close(uow, clock, cases[1].id, by="resident")  # the staff member gives the outcome after
        handoffs.set_outcome(uow, clock, cases[1].id, samia, HandoffOutcome.oriente)
        handoffs.set_outcome(uow, clock, cases[1].id, samia, HandoffOutcome.droit_ouvert)  # corrected
    result = figures(engine, "2026-11")["handoffs"]
    assert result == {
        "opened": 3,
        "closed": 2,
        "outcomes": {"oriente": 0, "rendez_vous": 1, "droit_ouvert": 1, "dossier_en_cours": 0, "sans_suite": 0},
        "median_wait_minutes": 30.0,
    }
    assert figures(engine, "2026-11", territory="troyes")["handoffs"]["opened"] == 0


# ---------------------------------------------------------------- campaigns


def _campaign_message(
    engine: Engine, clock: FrozenClock, campaign_id: int, resident_id: int, *, sent: bool, clicked: bool = False
) -> None:
    """What outreach/campaigns/ leaves behind: a delivery and its outbox row."""
    now = clock.now()
    key = f"campaign:{campaign_id}:{resident_id}"
    with UnitOfWork(engine) as uow:
        uow.session.add(
            OutboxMessage(
                idempotency_key=key,
                chat_id=resident_id,
                resident_id=resident_id,
                kind="campaign",
                due_at=now,
                status=OutboxStatus.sent if sent else OutboxStatus.pending,
                sent_at=now if sent else None,
                created_at=now,
            )
        )
        uow.session.add(
            CampaignDelivery(
                campaign_id=campaign_id,
                resident_id=resident_id,
                status=DeliveryStatus.queued,
                outbox_key=key,
                created_at=now,
                queued_at=now,
                clicked_at=now if clicked else None,
            )
        )
        uow.commit()


def test_campaign_figures_count_messages_sent_clicks_and_opt_outs_within_a_week(
    engine: Engine, clock: FrozenClock
) -> None:
    clock.set(paris(2026, 11, 5, 10))
    people = [reach(engine, clock) for _ in range(4)]
    troyes = reach(engine, clock, commune="Troyes", quartier="chartreux")
    with UnitOfWork(engine) as uow:
        campaigns = [
            Campaign(name=f"c{i}", territory_id=t, text="Bonjour", created_at=clock.now(), started_at=clock.now())
            for i, t in enumerate(("dijon", "dijon", "troyes"))
        ]
        uow.session.add_all(campaigns)
        uow.commit()
        ids = [c.id or 0 for c in campaigns]
    _campaign_message(engine, clock, ids[0], people[0], sent=True, clicked=True)
    _campaign_message(engine, clock, ids[0], people[1], sent=True)
    _campaign_message(engine, clock, ids[0], people[2], sent=False)  # not sent yet
    _campaign_message(engine, clock, ids[2], troyes, sent=True)
    clock.advance(days=3)
    with UnitOfWork(engine) as uow:
        residents.opt_out(uow, clock, people[1])  # 3 days after a campaign message
        residents.opt_out(uow, clock, people[3])  # never got one
    clock.set(paris(2026, 11, 20, 10))
    _campaign_message(engine, clock, ids[1], people[2], sent=False)
    clock.advance(days=8)
    with UnitOfWork(engine) as uow:
        residents.opt_out(uow, clock, people[0])  # 23 days after: not the campaign's
    result = figures(engine, "2026-11")
    assert result["campaigns"] == {"campaigns_sent": 1, "messages_sent": 2, "clicks": 1, "opt_outs": 1}
    assert result["residents_opted_out"] == 3
    assert figures(engine, "2026-11", territory="troyes")["campaigns"]["messages_sent"] == 1
    assert figures(engine, "2026-11", quartier="fontaine_d_ouche")["campaigns"]["messages_sent"] == 0
    assert figures(engine, "2026-12")["campaigns"]["messages_sent"] == 0


# ---------------------------------------------------------------- series, shape and errors


def test_the_monthly_series_gives_each_month_oldest_first(engine: Engine, clock: FrozenClock) -> None:
    reach(engine, clock, at=paris(2026, 9, 10, 10))
    for day in (3, 30):
        screen(engine, clock, reach(engine, clock, at=paris(2026, 10, day, 10)), PRIME, CEJ)
    clock.set(paris(2026, 11, 4, 10))
    resident = reach(engine, clock)
    screen(engine, clock, resident, PRIME)
    move(engine, clock, resident, PRIME, RightStatus.opened)
    with Session(engine) as session:
        series = stats.monthly_series(session, territory="dijon", months=4, end_month="2026-11")
    assert series == [
        {"month": "2026-08", "reached": 0, "screened": 0, "rights_detected": 0, "opened": 0},
        {"month": "2026-09", "reached": 1, "screened": 0, "rights_detected": 0, "opened": 0},
        {"month": "2026-10", "reached": 2, "screened": 2, "rights_detected": 4, "opened": 0},
        {"month": "2026-11", "reached": 1, "screened": 1, "rights_detected": 1, "opened": 1},
    ]
    with Session(engine) as session:
        assert stats.monthly_series(session, territory="dijon", months=1, end_month="2027-01")[0]["month"] == "2027-01"


def test_the_figures_are_one_json_object_with_every_definition(engine: Engine, clock: FrozenClock) -> None:
    screen(engine, clock, reach(engine, clock), PRIME)
    result = json.loads(json.dumps(figures(engine, "2026-11")))
    assert {
        "territory",
        "quartier",
        "month",
        "residents_reached",
        "screenings_completed",
        "rights_detected",
        "rights_detected_total",
        "rights_reported",
        "appointments",
        "handoffs",
        "median_days_detection_to_claim",
        "campaigns",
    } <= set(result)
    assert result["territory"] == "dijon" and result["month"] == "2026-11" and result["quartier"] is None
    assert result["period"] == {"from": "2026-11-01T00:00:00+01:00", "to": "2026-12-01T00:00:00+01:00"}


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-3", "0000-01", "mars", ""])
def test_a_bad_month_is_a_stats_error(engine: Engine, month: str) -> None:
    with Session(engine) as session, pytest.raises(stats.StatsError, match="YYYY-MM"):
        stats.figures(session, territory="dijon", month=month)


def test_an_unknown_territory_or_a_qpv_of_another_territory_is_a_stats_error(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(stats.StatsError, match="unknown territory 'lyon'"):
            stats.figures(session, territory="lyon", month="2026-11")
        with pytest.raises(stats.StatsError, match="unknown quartier 'chartreux'"):
            stats.figures(session, territory="dijon", month="2026-11", quartier="chartreux")
        with pytest.raises(stats.StatsError, match="months"):
            stats.monthly_series(session, territory="dijon", months=0, end_month="2026-11")


def test_the_writers_keep_what_statistics_need_after_an_erasure(engine: Engine, clock: FrozenClock) -> None:
    resident = reach(engine, clock)
    screen(engine, clock, resident, PRIME)
    clock.advance(days=2)
    move(engine, clock, resident, PRIME, RightStatus.asked)
    with UnitOfWork(engine) as uow:
        events = {e.kind: e for e in uow.session.exec(select(Event)).all()}
    assert all(e.territory_id == "dijon" and e.quartier_id == "gresilles" for e in events.values())
    assert events["screening_completed"].data["detected"] == [
        {"id": "prime_activite", "label": "Prime d'activité", "monthly_amount": 231.4, "repeat": False}
    ]
    status = events["right_status"].data
    assert (status["status"], status["from"], status["label"], status["claim"]) == (
        "asked",
        "to_claim",
        "Prime d'activité",
        True,
    )
    assert status["days_since_detection"] == 2.0
    assert dt.datetime.fromisoformat(status["detected_at"]) == clock.now() - dt.timedelta(days=2)
