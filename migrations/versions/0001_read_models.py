"""read models: events, pods, projector offsets, dead letters

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 02:31:28.314401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dead_letters',
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('topic', 'partition', 'offset')
    )
    op.create_table('events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('hash', sa.String(length=66), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    sa.UniqueConstraint('topic', 'partition', 'offset', name='uq_events_position')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_type'), ['type'], unique=False)

    op.create_table('pods',
    sa.Column('pod_id', sa.String(length=100), nullable=False),
    sa.Column('aggregator_id', sa.String(length=100), nullable=False),
    sa.Column('customer_id', sa.String(length=100), nullable=False),
    sa.Column('primary_substation', sa.String(length=100), nullable=False),
    sa.Column('mv_feeder', sa.String(length=100), nullable=False),
    sa.Column('secondary_substation', sa.String(length=100), nullable=False),
    sa.Column('up_p_kw', sa.Float(), nullable=False),
    sa.Column('down_p_kw', sa.Float(), nullable=False),
    sa.Column('up_q_kvar', sa.Float(), nullable=False),
    sa.Column('down_q_kvar', sa.Float(), nullable=False),
    sa.Column('flexibility_type', sa.String(length=20), nullable=False),
    sa.Column('settlement_mechanism_id', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('pod_id')
    )
    with op.batch_alter_table('pods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pods_aggregator_id'), ['aggregator_id'], unique=False)

    op.create_table('projector_offsets',
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('topic', 'partition')
    )


def downgrade() -> None:
    op.drop_table('projector_offsets')
    with op.batch_alter_table('pods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pods_aggregator_id'))

    op.drop_table('pods')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_type'))
        batch_op.drop_index(batch_op.f('ix_events_key'))
        batch_op.drop_index(batch_op.f('ix_events_actor'))

    op.drop_table('events')
    op.drop_table('dead_letters')
