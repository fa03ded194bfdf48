"""stats indexes: events by territory or QPV, kind and time (outreach/stats.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The figures of a month filter events by place, kind and time: one index for a territory, one for a QPV.
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_territory_kind_at', ['territory_id', 'kind', 'at'], unique=False)
        batch_op.create_index('ix_event_quartier_kind_at', ['quartier_id', 'kind', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_quartier_kind_at')
        batch_op.drop_index('ix_event_territory_kind_at')
