"""inbox_update: Telegram updates kept until handled (replayed after a crash of the service), ids remembered a
while (an update delivered twice is handled once)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

import db.types

revision: str = "0013"
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'inbox_update',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('received_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('payload', JSON, nullable=True),
        sa.Column('done_at', db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('update_id'),
    )
    op.create_index(op.f('ix_inbox_update_received_at'), 'inbox_update', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_inbox_update_received_at'), table_name='inbox_update')
    op.drop_table('inbox_update')
