"""pods: the PoM the DSO associated each PoD with (Platone flow 0A)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pom_id', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_pods_pom_id'), ['pom_id'])


def downgrade() -> None:
    with op.batch_alter_table('pods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pods_pom_id'))
        batch_op.drop_column('pom_id')
