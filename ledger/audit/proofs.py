"""Serving proofs: an event from the read models, its batch's leaves from the Kafka log.

The leaves come from Kafka, not SQL, so a row altered in SQL spoils only its own proof,
never those of its neighbours; the event itself comes from SQL, so such a row's proof fails
when an auditor checks it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from sqlalchemy import Engine

from ledger.anchoring import record_leaf
from ledger.audit.proof import BatchPage, BatchPublic, EventProof, Position
from ledger.envelope import format_time
from ledger.errors import Conflict, NotFound, Rejected
from ledger.kafka_log import read_range
from ledger.merkle import inclusion_path
from ledger.settings import Settings
from ledger.store.queries import event_of_row, find_batch, get_event, list_batches, utc

CACHED_BATCHES = 64  # anchored batches never change, so their leaves can be kept


class ProofService:
    """Builds inclusion proofs and lists anchored batches."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._leaves: OrderedDict[tuple[str, int, int], tuple[list[int], list[bytes]]] = (
            OrderedDict())
        self._lock = threading.Lock()

    def proof(self, event_id: str) -> EventProof:
        """The inclusion proof of one event.

        Raises:
            Rejected: ``INVALID_EVENT_ID`` when ``event_id`` is not a UUID.
            NotFound: ``EVENT_NOT_FOUND``.
            Conflict: ``EVENT_NOT_YET_ANCHORED`` while its batch is still open.
        """
        try:
            event_id = str(UUID(event_id))
        except ValueError:
            raise Rejected(f"{event_id!r} is not a UUID", code="INVALID_EVENT_ID",
                           field="event_id") from None
        with self.engine.connect() as conn:
            row = get_event(conn, event_id)
            if row is None:
                raise NotFound(f"no event {event_id}", code="EVENT_NOT_FOUND", field="event_id")
            batch = find_batch(conn, row.topic, row.partition, row.offset)
        if batch is None:
            raise Conflict(f"event {event_id} is not anchored yet; ask again shortly",
                           code="EVENT_NOT_YET_ANCHORED", field="event_id")
        event = event_of_row(row)
        offsets, leaves = self._batch_leaves(batch)
        if row.offset not in offsets:
            raise Conflict(f"the Kafka log has no record at {row.topic}/{row.partition}@"
                           f"{row.offset}", code="RECORD_NOT_IN_LOG", field="event_id")
        index = offsets.index(row.offset)
        return EventProof(
            event=event.to_json_dict(),
            position=Position(topic=row.topic, partition=row.partition, offset=row.offset),
            leaf="0x" + record_leaf(row.offset, event.to_bytes()).hex(),
            leaf_index=index,
            path=["0x" + h.hex() for h in inclusion_path(leaves, index)],
            batch=batch_public(batch),
        )

    def batches(self, *, topic: str | None, partition: int | None, limit: int,
                offset: int) -> BatchPage:
        """A page of anchored batches, newest first."""
        with self.engine.connect() as conn:
            total, rows = list_batches(conn, topic=topic, partition=partition, limit=limit,
                                       offset=offset)
        return BatchPage(count=total, items=[batch_public(r) for r in rows])

    def _batch_leaves(self, batch: Any) -> tuple[list[int], list[bytes]]:
        key = (batch.topic, batch.partition, batch.first_offset)
        with self._lock:  # FastAPI runs these handlers on a thread pool
            if key in self._leaves:
                self._leaves.move_to_end(key)
                return self._leaves[key]
        records = read_range(self.settings, *key, batch.last_offset)
        found = ([r.offset for r in records],
                 [record_leaf(r.offset, r.value or b"") for r in records])
        with self._lock:
            self._leaves[key] = found
            if len(self._leaves) > CACHED_BATCHES:
                self._leaves.popitem(last=False)
        return found


def batch_public(row: Any) -> BatchPublic:
    """A row of ``anchor_batches`` as the API shows it."""
    return BatchPublic(
        topic=row.topic, partition=row.partition, first_offset=row.first_offset,
        last_offset=row.last_offset, count=row.count, root=row.root, chain_id=row.chain_id,
        contract=row.contract, tx_hash=row.tx_hash, block_number=row.block_number,
        anchored_at=format_time(utc(row.anchored_at)),
    )
