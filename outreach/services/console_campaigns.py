"""The console's Campagnes pages as use cases, on top of outreach.campaigns (its public names only).

Like console_views: each function takes the unit of work, the clock and the staff member's StaffScope,
checks the territory on the server (NotFound for a campaign elsewhere) and returns plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.engine import UnitOfWork
from db.models import Campaign, Staff
from outreach import campaigns
from outreach.clock import Clock
from outreach.services.console_views import (
    Choice,
    NotFound,
    StaffScope,
    TerritoryPage,
    quartiers_of,
    target_territory,
    territory_page,
)

ACTIONS: dict[str, Callable[..., Campaign]] = {
    "start": campaigns.start, "pause": campaigns.pause, "resume": campaigns.resume, "cancel": campaigns.cancel,
}

SpecFor = Callable[[str], campaigns.CampaignSpec]
"""Builds the campaign from the request for the territory the staff member may target (the adapter parses)."""


def _campaign(uow: UnitOfWork, scope: StaffScope, campaign_id: int) -> Campaign:
    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None or not scope.can_see(campaign.territory_id):
        raise NotFound("Campagne introuvable sur votre territoire.")
    return campaign


@dataclass(frozen=True)
class CampaignList(TerritoryPage):
    campaigns: list[Campaign]  # newest first
    progress: dict[int, dict[str, Any]]  # campaigns.progress of each


def campaign_list(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None) -> CampaignList:
    page = territory_page(uow, scope, territory)
    found = campaigns.list_campaigns(uow.session, page.territory)
    progress = {c.id: campaigns.progress(uow.session, c.id) for c in found if c.id is not None}
    return CampaignList(page.territory, page.territories, found, progress)


@dataclass(frozen=True)
class Builder(TerritoryPage):
    quartiers: list[Choice]


def builder(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None) -> Builder:
    """What the new-campaign form offers: the territory and its QPV."""
    page = territory_page(uow, scope, territory)
    return Builder(page.territory, page.territories, quartiers_of(uow, page.territory))


def preview(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None,
            spec_for: SpecFor) -> dict[str, Any]:
    """The builder's live count and preview (campaigns.preview); spec_for's errors go through."""
    spec = spec_for(target_territory(uow, scope, territory))
    return campaigns.preview(uow.session, spec, clock.now())


def create(uow: UnitOfWork, clock: Clock, scope: StaffScope, *, territory: str | None, spec_for: SpecFor,
           start: bool) -> int:
    """A new campaign in draft, started at once when `start`; returns its id."""
    spec = spec_for(target_territory(uow, scope, territory))
    campaign = campaigns.create(uow, clock, spec, created_by=scope.staff_id)
    assert campaign.id is not None
    if start:
        campaigns.start(uow, clock, campaign.id, by=scope.staff_id)
    return campaign.id


@dataclass(frozen=True)
class CampaignDetail:
    campaign: Campaign
    progress: dict[str, Any]
    results: dict[str, Any]


def detail(uow: UnitOfWork, clock: Clock, scope: StaffScope, campaign_id: int) -> CampaignDetail:
    campaign = _campaign(uow, scope, campaign_id)
    return CampaignDetail(campaign, campaigns.progress(uow.session, campaign_id),
                          campaigns.results(uow.session, campaign_id, clock.now()))


def progress(uow: UnitOfWork, clock: Clock, scope: StaffScope, campaign_id: int) -> dict[str, Any]:
    """The live progress bar's data (campaigns.progress)."""
    _campaign(uow, scope, campaign_id)
    return campaigns.progress(uow.session, campaign_id)


def send_test(uow: UnitOfWork, clock: Clock, scope: StaffScope, campaign_id: int) -> None:
    """"M'envoyer un test": the message to the staff member's own Telegram."""
    _campaign(uow, scope, campaign_id)
    staff = uow.session.get(Staff, scope.staff_id)
    assert staff is not None
    campaigns.send_test(uow, clock, campaign_id, staff)


def act(uow: UnitOfWork, clock: Clock, scope: StaffScope, campaign_id: int, action: str) -> None:
    """start, pause, resume or cancel (NotFound for another action)."""
    if action not in ACTIONS:
        raise NotFound("Action inconnue.")
    _campaign(uow, scope, campaign_id)
    ACTIONS[action](uow, clock, campaign_id, by=scope.staff_id)
