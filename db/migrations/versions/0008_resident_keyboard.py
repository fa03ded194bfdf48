"""resident.keyboard: the buttons of the bot's latest turn, so that a typed answer is read against them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The buttons of the latest turn (JSON: their tokens, and the channel's reusable buttons as [title, payload]);
    # NULL when that turn had none. A typed message is first matched to these buttons (outreach/options.py).
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyboard', sa.String(length=600), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('keyboard')
