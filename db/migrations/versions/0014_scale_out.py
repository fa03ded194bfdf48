"""scale-out: inbox_update.chat_id (a chat's updates handled in order across workers), job_lease (a job on one
worker at a time)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 20:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0014"
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_update') as batch:
        batch.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
    op.create_index('ix_inbox_update_chat_pending', 'inbox_update', ['chat_id', 'update_id'], unique=False)
    op.create_table(
        'job_lease',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('holder', sa.String(length=128), nullable=False),
        sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('job_lease')
    op.drop_index('ix_inbox_update_chat_pending', table_name='inbox_update')
    with op.batch_alter_table('inbox_update') as batch:
        batch.drop_column('chat_id')
