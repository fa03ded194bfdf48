"""`outreach campaign ...`: the command-line twin of the console's Campagnes page (filled by outreach/campaigns.py)."""

from __future__ import annotations

import typer

campaign_app = typer.Typer(help="Outreach campaigns: create, start, pause, resume, cancel, status.", no_args_is_help=True)
