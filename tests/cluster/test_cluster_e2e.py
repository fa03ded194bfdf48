"""The whole topology of issue 16 on this machine: `outreach cluster up --workers 3 --rasa 2` (PostgreSQL, Redis,
nginx, supervisord) in sandbox mode, the emulator delivering to nginx's webhook. 200 residents chat, one is in
the middle of the screening form, one is choosing a slot, a campaign of 2,000 residents is sending; then a worker
and a Rasa replica are killed with SIGKILL. Every message is answered, the form goes on where it was, the
campaign reaches everyone at most 30 messages a second overall, nothing is sent twice beyond the sends in flight
at the kill, and a worker's metrics show the turns it served and the outbox's lag."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from db.models import HandoffStatus
from outreach import texts
from outreach.clock import SystemClock
from sandbox.client import EmulatorClient
from sandbox.drills import OUTBOX_CONCURRENCY, ClusterService, kill_drill, running_cluster
from tests.conftest import postgres_database
from tests.e2e.test_handoff import Team, ask_for_someone, card_of

pytestmark = [pytest.mark.rasa, pytest.mark.faults, pytest.mark.postgres]

RESIDENTS = 200
CAMPAIGN = 2000
PACE = 20.0  # seconds between a resident's messages at most (they wait for each answer): people chatting, not a flood


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterService]:
    with postgres_database() as url, running_cluster(tmp_path_factory.mktemp("cluster"), url) as running:
        yield running


def _max_per_second(times: list[float]) -> int:
    times.sort()
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _metrics(cluster: ClusterService, worker: int) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{cluster.layout.console_port(worker)}/metrics")).text


def _value(metrics: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(name))


async def test_a_worker_and_a_rasa_replica_killed_while_200_residents_chat_and_a_campaign_sends(
    cluster: ClusterService, tmp_path: Path
) -> None:
    processes = set(cluster.line["processes"])
    assert {"worker-1", "worker-2", "worker-3", "rasa-1", "rasa-2", "actions-1", "actions-2"} <= processes
    async with httpx.AsyncClient() as http:
        for worker in (1, 2, 3):
            assert (await http.get(f"http://127.0.0.1:{cluster.layout.console_port(worker)}/pret")).status_code == 200
    async with EmulatorClient(cluster.url) as telegram:
        report = await kill_drill(
            cluster,
            telegram,
            ("worker-2", "rasa-1"),
            first_id=1_000_000,
            talkers=RESIDENTS,
            campaign_size=CAMPAIGN,
            within=300,
            pace=PACE,
        )
        campaign_chats = set(range(1_200_000, 1_200_000 + CAMPAIGN))
        events = (await telegram.request("GET", "/control/events", params={"after": 0, "timeout": 0}))["events"]
    campaign_times = [
        e["time"] for e in events if e["from_bot"] and e["type"] == "message" and e["chat_id"] in campaign_chats
    ]
    report["campaign"]["max_per_second"] = _max_per_second(campaign_times)
    scraped = await _metrics(cluster, 1)
    report["worker_1_metrics"] = {
        "turns": _value(scraped, "outreach_turn_seconds_count"),
        "outbox_lag_seconds": _value(scraped, "outreach_outbox_lag_seconds"),
    }
    (tmp_path / "report.json").write_text(json.dumps(report, indent=1))
    print("\n" + json.dumps(report, ensure_ascii=False, indent=1))
    _assert_recovered(report)


def _assert_recovered(report: dict[str, Any]) -> None:
    assert report["restart"]["ok"], report
    talk = report["conversations"]
    assert talk["residents"] == RESIDENTS
    assert talk["lost"] == 0 and talk["answered"] == talk["sent"], report  # the killed worker's too: swept
    assert talk["duplicated"] <= talk["in_flight_at_fault"], report  # answered twice: only what was in flight
    assert talk["all_answered_again"]["ok"], report
    assert report["screening_form"]["ok"], report  # each question after the kills is the expected one
    assert report["booking"]["ok"] and report["booking"]["appointments"] == 1, report
    campaign = report["campaign"]
    assert campaign["audience"] == CAMPAIGN and campaign["missed"] == 0, report
    assert campaign["duplicated"] <= OUTBOX_CONCURRENCY, report  # sends in flight in the killed worker
    assert campaign["max_per_second"] <= 30, report
    assert report["worker_1_metrics"]["turns"] > 0, report


async def test_five_relays_press_at_once_and_one_wins_whichever_workers_get_the_presses(
    cluster: ClusterService,
) -> None:
    async with EmulatorClient(cluster.url) as telegram:
        team = Team(SimpleNamespace(engine=cluster.engine), SystemClock(), telegram)  # type: ignore[arg-type]
        names = ["Samia", "Yannick", "Léa", "Hugo", "Nora"]
        relays = [await team.member(2_000_001 + i, name, "dijon") for i, name in enumerate(names)]
        amina = await team.resident(2_000_000, "Amina")
        await ask_for_someone(amina)
        cards = [await card_of(relay) for relay in relays]
        await asyncio.gather(*(r.press(texts.CARD_TAKE, message=c) for r, c in zip(relays, cards, strict=True)))
        edited = [
            (await r.wait_for(lambda m: m.edited and ("Pris par" in m.text or "Vous avez pris" in m.text))).text
            for r in relays
        ]
    assert sum(text.startswith("Vous avez pris") for text in edited) == 1, edited
    [case] = team.cases()
    assert case.status == HandoffStatus.claimed
