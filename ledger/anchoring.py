"""What gets anchored: a leaf per Kafka record, and batches cut from each partition's backlog.

Pure rules, no Kafka and no chain: the anchor processor feeds records in and hands the
batches to ``ledger.chain``. A batch's range starts where the chain's last one for the
partition ended (``EventAnchor`` refuses anything else), so anchored history has no gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.events import BatchAnchored
from ledger.merkle import leaf_hash, merkle_root

# The participant id under which the ledger records its own anchoring.
ANCHOR_ACTOR = "flexmarket-anchor"


def record_leaf(offset: int, value: bytes) -> bytes:
    """The Merkle leaf of the record at ``offset``: its position and its exact bytes.

    The position is in the leaf so a record cannot be proven at another offset; the
    bytes are the record's value as stored on Kafka (for an event, its canonical JSON).
    """
    return leaf_hash(offset.to_bytes(8, "big") + value)


@dataclass(frozen=True)
class Stream:
    """One Kafka topic partition, as the chain names it."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}"


@dataclass(frozen=True)
class AnchorBatch:
    """A contiguous range of one partition and the Merkle root of its records."""

    stream: Stream
    first_offset: int
    last_offset: int
    count: int
    root: bytes


class ReadPastAnchors(RuntimeError):
    """Reading began after the chain's next offset: records in between were never seen.

    Only a restart that rewinds the consumer to the chain's position recovers from it.
    """


@dataclass
class _Backlog:
    next_offset: int | None = None  # the chain's, once known
    offsets: list[int] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)


class Backlogs:
    """Records read but not yet anchored, per partition, in offset order."""

    def __init__(self) -> None:
        self._backlogs: dict[Stream, _Backlog] = {}

    def add(self, stream: Stream, offset: int, value: bytes) -> None:
        """Take one record; a record already anchored or already held is ignored.

        Raises:
            ReadPastAnchors: when ``offset`` is past the next one expected (after the last
                record held, or at the chain's position): records in between were missed.
        """
        backlog = self._backlogs.setdefault(stream, _Backlog())
        expected = backlog.offsets[-1] + 1 if backlog.offsets else backlog.next_offset
        if expected is not None and offset < expected:
            return
        if expected is not None and offset > expected:
            raise ReadPastAnchors(f"{stream}: offset {offset} arrived where {expected} was "
                                  "expected; the records in between were never read")
        backlog.offsets.append(offset)
        backlog.leaves.append(record_leaf(offset, value))

    def streams(self) -> list[Stream]:
        """Partitions with records waiting."""
        return [s for s, b in self._backlogs.items() if b.offsets]

    def known(self, stream: Stream) -> bool:
        """Whether the chain's next offset for ``stream`` is known here."""
        backlog = self._backlogs.get(stream)
        return backlog is not None and backlog.next_offset is not None

    def pending(self) -> int:
        """Records waiting in all partitions."""
        return sum(len(b.offsets) for b in self._backlogs.values())

    def largest(self) -> int:
        """Records waiting in the fullest partition."""
        return max((len(b.offsets) for b in self._backlogs.values()), default=0)

    def set_chain_position(self, stream: Stream, next_offset: int) -> None:
        """Record the chain's next offset for ``stream`` and drop what it already covers.

        Raises:
            ReadPastAnchors: when the records held start after ``next_offset`` (reading
                began past the chain's position, e.g. on a new chain).
        """
        backlog = self._backlogs.setdefault(stream, _Backlog())
        backlog.next_offset = next_offset
        keep = next((i for i, o in enumerate(backlog.offsets) if o >= next_offset),
                    len(backlog.offsets))
        del backlog.offsets[:keep], backlog.leaves[:keep]
        if backlog.offsets and backlog.offsets[0] > next_offset:
            raise ReadPastAnchors(
                f"{stream}: the chain has anchored up to offset {next_offset - 1}, but the "
                f"records read start at {backlog.offsets[0]}")

    def forget_positions(self) -> None:
        """Forget the chain's positions, to be read again (after a failed transaction)."""
        for backlog in self._backlogs.values():
            backlog.next_offset = None

    def covered(self, stream: Stream) -> int:
        """Offsets of ``stream`` below this are on chain (0 while the position is unknown)."""
        backlog = self._backlogs.get(stream)
        if backlog is None or backlog.next_offset is None:
            return 0
        return backlog.next_offset

    def cut(self, max_events: int, max_batches: int | None = None) -> list[AnchorBatch]:
        """Batches of at most ``max_events`` records over what is waiting (at most
        ``max_batches`` of them, the rest left for the next cut).

        Only partitions whose chain position is known are cut, since a batch must start
        at it. Each partition's batches are consecutive; the first starts at the chain's
        next offset, each later one right after the previous one's last offset.
        """
        batches: list[AnchorBatch] = []
        for stream, backlog in self._backlogs.items():
            if backlog.next_offset is None or not backlog.offsets:
                continue
            first = backlog.next_offset
            for start in range(0, len(backlog.offsets), max_events):
                if max_batches is not None and len(batches) >= max_batches:
                    return batches
                offsets = backlog.offsets[start:start + max_events]
                leaves = backlog.leaves[start:start + max_events]
                batches.append(AnchorBatch(stream, first, offsets[-1], len(offsets),
                                           merkle_root(leaves)))
                first = offsets[-1] + 1
        return batches

    def confirm(self, batches: Iterable[AnchorBatch]) -> None:
        """The chain took ``batches``: move each partition's position past them."""
        for batch in batches:
            self.set_chain_position(batch.stream, batch.last_offset + 1)


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch as the chain recorded it: where and when."""

    batch: AnchorBatch
    tx_hash: str
    block_number: int
    block_timestamp: int  # Unix seconds
    tx_gas_used: int | None = None  # of the whole transaction; None when read from logs


def batch_anchored_event(anchored: AnchoredBatch, chain_id: int, contract: str) -> Event:
    """The ``BatchAnchored`` event of an anchored batch, the same each time it is made.

    Its id, time and actor come from the chain, so re-announcing a batch after a crash
    yields the identical event, and consumers keep it once.
    """
    batch = anchored.batch
    at = datetime.fromtimestamp(anchored.block_timestamp, UTC)
    payload = BatchAnchored(
        topic=batch.stream.topic, partition=batch.stream.partition,
        first_offset=batch.first_offset, last_offset=batch.last_offset, count=batch.count,
        root="0x" + batch.root.hex(), chain_id=chain_id, contract=contract.lower(),
        tx_hash=anchored.tx_hash, block_number=anchored.block_number,
    )
    # One spelling of the address in both id and payload, so an event made twice is equal.
    event_id = derived_event_id(at, "BatchAnchored", str(chain_id), contract.lower(),
                                batch.stream.topic, str(batch.stream.partition),
                                str(batch.first_offset))
    return new_event(payload, actor=ANCHOR_ACTOR, occurred_at=at, event_id=event_id)
