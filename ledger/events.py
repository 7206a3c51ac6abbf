"""Events the ledger itself emits: the anchoring of a batch on chain."""

from __future__ import annotations

from pydantic import Field

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic

Hex32 = Field(pattern=r"^0x[0-9a-f]{64}$")


@event_type("BatchAnchored", topic=Topic.ANCHORS, key="topic")
class BatchAnchored(EventPayload):
    """A Merkle root of one partition's offset range was written to ``EventAnchor``.

    A mirror of the chain's own ``BatchAnchored`` log, so read models and the audit API
    can find an event's batch without a chain query; auditors check it against the chain.
    """

    topic: str = Field(min_length=1, max_length=200)
    partition: int = Field(ge=0)
    first_offset: int = Field(ge=0)
    last_offset: int = Field(ge=0)
    count: int = Field(ge=1)
    root: str = Hex32
    chain_id: int = Field(ge=1)
    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    tx_hash: str = Hex32
    block_number: int = Field(ge=0)
