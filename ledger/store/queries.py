"""Read-model queries of the ledger: events by id, anchored batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.envelope import Event
from ledger.store.models import AnchorBatchRow, EventRow


def get_event(conn: Connection, event_id: str) -> EventRow | None:
    """The projected event with ``event_id``, if any."""
    return conn.execute(select(EventRow).where(EventRow.event_id == event_id)).first()


def event_of_row(row: Any) -> Event:
    """The envelope a row of ``events`` stores, as it would be published.

    Built without re-checking its hash: a row altered in SQL must still come out, so
    that the proof an auditor checks fails on it.
    """
    return Event.model_construct(
        event_id=row.event_id, type=row.type, version=row.version, occurred_at=utc(row.occurred_at),
        actor=row.actor, key=row.key, payload=row.payload, hash=row.hash)


def utc(moment: datetime) -> datetime:
    """A stored time as aware UTC: SQLite gives times back naive (all are UTC), PostgreSQL
    in its session's time zone."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def find_batch(conn: Connection, topic: str, partition: int, offset: int) -> Any | None:
    """The anchored batch covering ``offset`` of the partition, if it is anchored yet.

    The newest one: after a move to a new chain (``chain rewind``) the old chain's rows
    stay, and the offsets are anchored again.
    """
    return conn.execute(
        select(AnchorBatchRow)
        .where(AnchorBatchRow.topic == topic, AnchorBatchRow.partition == partition,
               AnchorBatchRow.first_offset <= offset, AnchorBatchRow.last_offset >= offset)
        .order_by(AnchorBatchRow.anchored_at.desc()).limit(1)
    ).first()


def list_batches(conn: Connection, *, topic: str | None, partition: int | None, limit: int,
                 offset: int) -> tuple[int, list[Any]]:
    """A page of anchored batches, newest first, with the total that match."""
    query = select(AnchorBatchRow)
    if topic is not None:
        query = query.where(AnchorBatchRow.topic == topic)
    if partition is not None:
        query = query.where(AnchorBatchRow.partition == partition)
    total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = conn.execute(
        query.order_by(AnchorBatchRow.block_number.desc(), AnchorBatchRow.topic,
                       AnchorBatchRow.partition, AnchorBatchRow.first_offset.desc())
        .limit(limit).offset(offset)
    ).all()
    return total, rows
