"""An event's inclusion proof, and checking it without trusting whoever served it.

``check_proof`` uses only the proof's own contents and the published rules (canonical
JSON, keccak-256, the leaf and tree shape of ``ledger.anchoring`` and ``ledger.merkle``);
comparing the root with the chain is the caller's second step (``ledger.audit.verify``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.anchoring import record_leaf
from ledger.canonical import canonical_json
from ledger.envelope import parse_event
from ledger.errors import InvalidEvent
from ledger.events import Hex32
from ledger.merkle import root_from_path


class Position(BaseModel):
    """Where a record sits on Kafka."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class BatchPublic(BaseModel):
    """An anchored batch: its range, its root and the transaction that anchored it."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int = Field(ge=0)
    first_offset: int = Field(ge=0)
    last_offset: int = Field(ge=0)
    count: int = Field(ge=1)
    root: str = Hex32
    chain_id: int
    contract: str
    tx_hash: str = Hex32
    block_number: int
    anchored_at: str


class BatchPage(BaseModel):
    """A page of anchored batches, newest first, and how many there are in all."""

    count: int
    items: list[BatchPublic]


class EventProof(BaseModel):
    """Everything needed to show an event was anchored: the event, its leaf, its path."""

    model_config = ConfigDict(frozen=True)

    event: dict[str, Any]
    position: Position
    leaf: str = Hex32
    leaf_index: int = Field(ge=0)
    path: list[str]
    batch: BatchPublic


class ProofInvalid(Exception):
    """The proof does not hold; the message says which step failed."""


def check_proof(proof: EventProof) -> bytes:
    """Check a proof's internal consistency and return the root it leads to.

    Raises:
        ProofInvalid: the event's hash does not match its content, the leaf is not the
            event's at its position, the position is outside the batch, or the path does
            not lead to the batch's root.
    """
    try:
        event_bytes = canonical_json(proof.event)
        parse_event(event_bytes)
    except (InvalidEvent, ValueError) as exc:
        raise ProofInvalid(f"the event does not hold up on its own: {exc}") from None
    position, batch = proof.position, proof.batch
    if (position.topic, position.partition) != (batch.topic, batch.partition) or not (
            batch.first_offset <= position.offset <= batch.last_offset):
        raise ProofInvalid(f"position {position.topic}/{position.partition}@{position.offset} "
                           f"is outside the batch {batch.topic}/{batch.partition} "
                           f"{batch.first_offset}..{batch.last_offset}")
    if batch.count != batch.last_offset - batch.first_offset + 1:
        # Our partitions have no holes (no transactional producers write to them), so a
        # batch holds one record per offset of its range.
        raise ProofInvalid(f"the batch's count {batch.count} is not the length of its range "
                           f"{batch.first_offset}..{batch.last_offset}")
    leaf = record_leaf(position.offset, event_bytes)
    if "0x" + leaf.hex() != proof.leaf:
        raise ProofInvalid("the leaf is not the hash of this event at this position")
    try:
        root = root_from_path(leaf, proof.leaf_index, batch.count,
                              [bytes.fromhex(h.removeprefix("0x")) for h in proof.path])
    except ValueError as exc:
        raise ProofInvalid(f"the path does not fit the batch: {exc}") from None
    if "0x" + root.hex() != batch.root:
        raise ProofInvalid("the path leads to another root than the batch's")
    return root
