"""outbox priority lane: outbox_message.priority, claimed first through (status, priority, due_at)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows of the priority lane (relayed messages, handoff cards, coordinator alerts) are claimed before the
    # others and not held by quiet hours; existing rows are ordinary ones.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_outbox_status_priority_due', ['status', 'priority', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_priority_due')
        batch_op.drop_column('priority')
