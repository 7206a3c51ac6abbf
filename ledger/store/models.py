"""SQLAlchemy 2 tables of the read models. Disposable: a replay from offset 0 rebuilds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON,
                                                     datetime: DateTime(timezone=True)}


class EventRow(Base):
    """Every projected event, with where it sits on Kafka (topic, partition, offset)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("topic", "partition", "offset", name="uq_events_position"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200), index=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    payload: Mapped[dict[str, Any]]
    hash: Mapped[str] = mapped_column(String(66))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)


class PodRow(Base):
    """The PoD registry as the Shared Customer Database shows it (Platone flow 0)."""

    __tablename__ = "pods"

    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    primary_substation: Mapped[str] = mapped_column(String(100))
    mv_feeder: Mapped[str] = mapped_column(String(100))
    secondary_substation: Mapped[str] = mapped_column(String(100))
    up_p_kw: Mapped[float] = mapped_column(Float)
    down_p_kw: Mapped[float] = mapped_column(Float)
    up_q_kvar: Mapped[float] = mapped_column(Float)
    down_q_kvar: Mapped[float] = mapped_column(Float)
    flexibility_type: Mapped[str] = mapped_column(String(20))
    settlement_mechanism_id: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean)
    # The DSO's association (flow 0A): the PoM the PoD's TSO services are delivered at.
    pom_id: Mapped[str | None] = mapped_column(String(100), index=True)
    registered_at: Mapped[datetime]
    last_event_id: Mapped[str] = mapped_column(String(36))


class AnchorBatchRow(Base):
    """A batch anchored on chain (the ``BatchAnchored`` events): which offsets, which root."""

    __tablename__ = "anchor_batches"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_offset: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(66))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(String(42))
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    anchored_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class ProjectorOffset(Base):
    """The last offset projected per partition, written in the same transaction as the rows."""

    __tablename__ = "projector_offsets"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger)


class DeadLetterRow(Base):
    """A record the projector could not accept, with the reason; also sent to ``deadletters``."""

    __tablename__ = "dead_letters"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(2000))
    # The record's bytes exactly as received (it may not be text at all).
    raw: Mapped[bytes] = mapped_column(LargeBinary)


# The other parts' tables share this metadata: one database, one Alembic history.
from access_layer.store import models as _access_layer_models  # noqa: E402, F401
from aggregator.store import models as _aggregator_models  # noqa: E402, F401
from ledger.auth import store as _auth_store  # noqa: E402, F401
from market.store import models as _market_models  # noqa: E402, F401
