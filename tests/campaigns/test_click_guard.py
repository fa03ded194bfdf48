"""Finding 7 of the trust review: a campaign click was recorded on a delivery whose message was never sent
(a forged button "k:<delivery>:book" pressed before the send, or for a resident capped or excluded)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import DeliveryStatus
from outreach import campaigns
from outreach.clock import FrozenClock
from tests.campaigns.conftest import OPTIONS, create, deliveries, drive, resident


async def test_a_click_counts_only_on_a_message_that_was_sent(engine: Engine, clock: FrozenClock) -> None:
    amina, bilal = resident(engine, clock, first_name="Amina"), resident(engine, clock, first_name="Bilal")
    campaign_id = create(engine, clock)
    ids = {rid: d.id for rid, d in deliveries(engine, campaign_id).items()}
    with UnitOfWork(engine) as uow:  # in the audience, nothing given to the outbox yet
        assert not campaigns.record_click(uow, clock, delivery_id=ids[amina], button="book", resident_id=amina)
    campaigns.pump(engine, clock, OPTIONS)  # queued in the outbox, not sent yet
    queued = deliveries(engine, campaign_id)
    assert queued[amina].status == DeliveryStatus.queued
    with UnitOfWork(engine) as uow:
        assert not campaigns.record_click(uow, clock, delivery_id=ids[amina], button="book", resident_id=amina)
    await drive(engine, clock)  # sent
    with UnitOfWork(engine) as uow:
        assert campaigns.record_click(uow, clock, delivery_id=ids[amina], button="book", resident_id=amina)
        assert not campaigns.record_click(uow, clock, delivery_id=ids[bilal], button="book", resident_id=amina)
    clicked = deliveries(engine, campaign_id)
    assert clicked[amina].clicked_button == "book" and clicked[bilal].clicked_at is None
