"""meter readings: certified 15-minute readings per PoD (shared customer database)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:20:59.254263
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meter_readings',
    sa.Column('pod_id', sa.String(length=100), nullable=False),
    sa.Column('interval_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('p_kw', sa.Float(), nullable=False),
    sa.Column('q_kvar', sa.Float(), nullable=False),
    sa.Column('energy_kwh', sa.Float(), nullable=False),
    sa.Column('node_address', sa.String(length=42), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('pod_id', 'interval_start')
    )
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_readings_interval_start'), ['interval_start'],
                                 unique=False)



def downgrade() -> None:
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_readings_interval_start'))

    op.drop_table('meter_readings')
