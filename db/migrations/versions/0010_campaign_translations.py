"""campaign.translations: the coordinator's text in other languages, optional

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision: str = "0010"
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')


def upgrade() -> None:
    # {"en": "…", "ar": "…"}: sent to residents who speak that language; the French text to everyone else.
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', JSON, nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('translations')
