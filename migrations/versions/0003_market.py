"""market read models: requests, offers, outcomes, awards; API idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:16:53.255791
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('awards',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('requester_id', sa.String(length=100), nullable=False),
    sa.Column('offer_id', sa.String(length=100), nullable=False),
    sa.Column('aggregator_id', sa.String(length=100), nullable=False),
    sa.Column('pod_id', sa.String(length=100), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('price_eur_per_mwh', sa.Float(), nullable=False),
    sa.Column('value_cents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'line')
    )
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awards_aggregator_id'), ['aggregator_id'])
        batch_op.create_index(batch_op.f('ix_awards_pod_id'), ['pod_id'])
        batch_op.create_index(batch_op.f('ix_awards_requester_id'), ['requester_id'])
        batch_op.create_index(batch_op.f('ix_awards_session_id'), ['session_id'])

    op.create_table('flex_offers',
    sa.Column('offer_id', sa.String(length=100), nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('aggregator_id', sa.String(length=100), nullable=False),
    sa.Column('pod_id', sa.String(length=100), nullable=False),
    sa.Column('quantity_type', sa.String(length=1), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('divisible', sa.Boolean(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('block', sa.JSON(), nullable=True),
    sa.Column('player_service_id', sa.String(length=300), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('offer_id')
    )
    with op.batch_alter_table('flex_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flex_offers_aggregator_id'), ['aggregator_id'])
        batch_op.create_index(batch_op.f('ix_flex_offers_pod_id'), ['pod_id'])
        batch_op.create_index(batch_op.f('ix_flex_offers_session_id'), ['session_id'])

    op.create_table('flex_requests',
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('requester_id', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=3), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('quantity_type', sa.String(length=1), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('location_kind', sa.String(length=30), nullable=False),
    sa.Column('location_id', sa.String(length=100), nullable=False),
    sa.Column('eligible_pods', sa.JSON(), nullable=False),
    sa.Column('quantities', sa.JSON(), nullable=False),
    sa.Column('max_price_eur_per_mwh', sa.Float(), nullable=True),
    sa.Column('player_service_id', sa.String(length=300), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('flex_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flex_requests_requester_id'), ['requester_id'])
        batch_op.create_index(batch_op.f('ix_flex_requests_session_id'), ['session_id'])

    op.create_table('idempotency_keys',
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=66), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('actor', 'key')
    )
    op.create_table('outcomes',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('market_outcome_event_id', sa.String(length=36), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcomes_market_outcome_event_id'),
                              ['market_outcome_event_id'])
        batch_op.create_index(batch_op.f('ix_outcomes_session_id'), ['session_id'])



def downgrade() -> None:
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcomes_session_id'))
        batch_op.drop_index(batch_op.f('ix_outcomes_market_outcome_event_id'))

    op.drop_table('outcomes')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('flex_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flex_requests_session_id'))
        batch_op.drop_index(batch_op.f('ix_flex_requests_requester_id'))

    op.drop_table('flex_requests')
    with op.batch_alter_table('flex_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flex_offers_session_id'))
        batch_op.drop_index(batch_op.f('ix_flex_offers_pod_id'))
        batch_op.drop_index(batch_op.f('ix_flex_offers_aggregator_id'))

    op.drop_table('flex_offers')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awards_session_id'))
        batch_op.drop_index(batch_op.f('ix_awards_requester_id'))
        batch_op.drop_index(batch_op.f('ix_awards_pod_id'))
        batch_op.drop_index(batch_op.f('ix_awards_aggregator_id'))

    op.drop_table('awards')
