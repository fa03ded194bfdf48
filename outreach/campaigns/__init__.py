"""Outreach campaigns ("aller-vers" messages to a segment of residents), through the outbox.

A coordinator writes a campaign (audience filters, a text with {prenom} {quartier} {droit}, up to three
buttons, a schedule), then starts it; the pump queues its messages into the outbox, a few seconds ahead.

- `spec`: the campaign as written (YAML, the console's form), its validation, the text and buttons;
- `audience`: the SQL of the audience filters and of the residents always left out, the preview;
- `sending`: the life cycle (start, pause, resume, cancel), the pump feeding the outbox, the guard;
- `results`: counts by outcome, button clicks, screenings and bookings within 7 days.

`python -m outreach.campaign_sender` runs the pump and the outbox dispatcher
without PTB, built by outreach/bootstrap.py like the service's own jobs.
"""

from outreach.campaigns.audience import (
    audience_count,
    audience_query,
    latest_rights,
    preview,
    render_text,
    sample_resident,
    snapshot,
)
from outreach.campaigns.results import OUTCOMES, RESULTS_WINDOW, progress, record_click, results
from outreach.campaigns.sending import (
    CANCELLED_REASON,
    CAP_PERIOD,
    EXPIRY,
    GONE_REASON,
    KIND,
    KIND_TEST,
    PAUSED_REASON,
    WEEK,
    PumpOptions,
    add_job,
    cancel,
    create,
    get,
    guard,
    list_campaigns,
    next_weekly_run,
    pause,
    pump,
    resume,
    send_test,
    start,
)
from outreach.campaigns.spec import (
    BUTTONS,
    MAX_RATE,
    NEUTRAL,
    PLACEHOLDERS,
    Audience,
    CampaignError,
    CampaignSpec,
    Schedule,
    button_rows,
    callback_data,
    explain,
    fill,
    parse_callback,
    spec_of,
)

__all__ = [
    "BUTTONS",
    "CANCELLED_REASON",
    "CAP_PERIOD",
    "EXPIRY",
    "GONE_REASON",
    "KIND",
    "KIND_TEST",
    "MAX_RATE",
    "NEUTRAL",
    "OUTCOMES",
    "PAUSED_REASON",
    "PLACEHOLDERS",
    "RESULTS_WINDOW",
    "WEEK",
    "Audience",
    "CampaignError",
    "CampaignSpec",
    "PumpOptions",
    "Schedule",
    "add_job",
    "audience_count",
    "audience_query",
    "button_rows",
    "callback_data",
    "cancel",
    "create",
    "explain",
    "fill",
    "get",
    "guard",
    "latest_rights",
    "list_campaigns",
    "next_weekly_run",
    "parse_callback",
    "pause",
    "preview",
    "progress",
    "pump",
    "record_click",
    "render_text",
    "results",
    "resume",
    "sample_resident",
    "send_test",
    "snapshot",
    "spec_of",
    "start",
]
