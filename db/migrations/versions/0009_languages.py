"""languages: the resident's confirmed language, the languages staff speak, the language of a case

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

import db.types

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite')

revision: str = "0009"
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # resident.language is the language the bot speaks to them (fr, en, ar, tr, pt); confirmed once they chose
    # it (then no more offers to switch). The case keeps the language the resident wrote in, supported or not
    # ("es"), so that it reaches someone who speaks it, or says that an interpreter is needed.
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_confirmed_at', db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', JSON, nullable=False, server_default='[]'))
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', JSON, nullable=False, server_default='[]'))
    with op.batch_alter_table('handoff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoff', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.drop_column('languages')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('languages')
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('language_confirmed_at')
