"""resident.consent_asked_version: a newer consent text was shown to a resident who accepted an older one

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # resident.consent_version (since 0001) is the version of the consent text the resident accepted. When the
    # text changes (outreach/texts.py CONSENT_VERSION), a resident who accepted an older one is asked again at
    # their next message: this column says which version was shown to them, so that the whole text comes once
    # and a short reminder after. Cleared when they answer.
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_asked_version', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('consent_asked_version')
