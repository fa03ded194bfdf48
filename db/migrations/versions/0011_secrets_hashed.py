"""staff_invite.code → code_hash: invite codes are stored as their SHA-256, never in clear; login links
already sent through the outbox are erased from their payload

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:00:00.000000
"""
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

invites = sa.table('staff_invite', sa.column('code_hash', sa.String(64)))
outbox = sa.table('outbox_message', sa.column('kind', sa.String), sa.column('status', sa.String),
                  sa.column('payload', sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.alter_column('code', new_column_name='code_hash', existing_type=sa.String(length=32),
                              type_=sa.String(length=64), existing_nullable=False)
    connection = op.get_bind()
    for (code,) in connection.execute(sa.select(invites.c.code_hash)).all():
        digest = hashlib.sha256(code.encode()).hexdigest()
        connection.execute(invites.update().where(invites.c.code_hash == code).values(code_hash=digest))
    connection.execute(
        outbox.update()
        .where(outbox.c.kind == 'console_link', outbox.c.status.in_(['sent', 'failed', 'dropped']))
        .values(payload={"erased": True})
    )


def downgrade() -> None:
    # the codes cannot be recovered from their hashes: the invites left are unusable after a downgrade
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.alter_column('code_hash', new_column_name='code', existing_type=sa.String(length=64),
                              type_=sa.String(length=64), existing_nullable=False)
