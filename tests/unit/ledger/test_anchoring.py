"""Anchoring rules: a record's leaf, the per-partition backlogs batches are cut from, and the
``BatchAnchored`` event that announces a batch.

Oracles are independent of the code under test: leaves are keccak-256 written out here,
roots come from ``ledger.merkle`` over those leaves (FR_MP_BC_1).
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.anchoring import (
    ANCHOR_ACTOR,
    AnchorBatch,
    AnchoredBatch,
    Backlogs,
    ReadPastAnchors,
    Stream,
    batch_anchored_event,
    record_leaf,
)
from ledger.canonical import keccak256
from ledger.catalog import typed_payload
from ledger.envelope import parse_event
from ledger.events import BatchAnchored
from ledger.merkle import merkle_root

REGISTRY = Stream("registry", 0)
OTHER = Stream("registry", 1)


def _value(offset: int) -> bytes:
    """The bytes of the record at ``offset``: distinct per offset, fixed across deliveries."""
    return f'{{"record":{offset}}}'.encode()


def _leaf(offset: int, value: bytes) -> bytes:
    """The leaf as the chain's auditors compute it: H(0x00 ‖ offset (8 bytes BE) ‖ value)."""
    return keccak256(b"\x00" + offset.to_bytes(8, "big") + value)


def _root(first: int, last: int) -> bytes:
    return merkle_root([_leaf(o, _value(o)) for o in range(first, last + 1)])


def _add(backlogs: Backlogs, stream: Stream, offsets: range | list[int]) -> None:
    for offset in offsets:
        backlogs.add(stream, offset, _value(offset))


def _spans(batches: list[AnchorBatch]) -> list[tuple[Stream, int, int, int]]:
    return [(b.stream, b.first_offset, b.last_offset, b.count) for b in batches]


# record_leaf ---------------------------------------------------------------------------------


def test_fr_mp_bc_1_record_leaf_binds_the_offset_and_the_exact_bytes() -> None:
    """A leaf commits to where the record sits and to its bytes, so neither can be swapped."""
    value = b'{"a":1}'
    assert record_leaf(5, value) == keccak256(b"\x00" + bytes(7) + b"\x05" + value)
    assert record_leaf(5, value) != record_leaf(6, value)
    assert record_leaf(5, value) != record_leaf(5, b'{"a":2}')
    assert record_leaf(2**64 - 1, b"") == keccak256(b"\x00" + b"\xff" * 8)


@given(st.integers(min_value=0, max_value=2**64 - 1), st.binary(max_size=64))
def test_record_leaf_matches_the_written_out_formula(offset: int, value: bytes) -> None:
    """The leaf shape auditors rely on holds for any offset and any bytes (dead letters too)."""
    assert record_leaf(offset, value) == _leaf(offset, value)


# Backlogs: cutting --------------------------------------------------------------------------


def test_fr_mp_bc_1_cut_starts_at_the_chain_position_in_batches_of_at_most_n() -> None:
    """Batches start at the chain's next offset, follow each other and hash their records."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(10))
    backlogs.set_chain_position(REGISTRY, 3)

    batches = backlogs.cut(3)

    assert _spans(batches) == [(REGISTRY, 3, 5, 3), (REGISTRY, 6, 8, 3), (REGISTRY, 9, 9, 1)]
    assert [b.root for b in batches] == [_root(3, 5), _root(6, 8), _root(9, 9)]


def test_cut_stops_at_the_most_batches_one_transaction_may_carry() -> None:
    """A long backlog (after an outage) goes out over several transactions, in order."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(10))
    _add(backlogs, OTHER, range(4))
    backlogs.set_chain_position(REGISTRY, 0)
    backlogs.set_chain_position(OTHER, 0)

    first = backlogs.cut(3, max_batches=3)
    assert _spans(first) == [(REGISTRY, 0, 2, 3), (REGISTRY, 3, 5, 3), (REGISTRY, 6, 8, 3)]
    backlogs.confirm(first)
    assert _spans(backlogs.cut(3, max_batches=3)) == [
        (REGISTRY, 9, 9, 1), (OTHER, 0, 2, 3), (OTHER, 3, 3, 1)]


def test_cut_does_not_consume_the_backlog() -> None:
    """Cutting is a proposal: until ``confirm`` the same batches come out again."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(4))
    assert backlogs.cut(10) == backlogs.cut(10)
    assert backlogs.pending() == 4


def test_cut_skips_partitions_whose_position_is_unknown() -> None:
    """A batch must start at the chain's position, so without it nothing can be cut."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(3))
    assert backlogs.cut(10) == []
    assert backlogs.streams() == [REGISTRY]
    assert not backlogs.known(REGISTRY)


def test_cut_of_an_empty_known_partition_is_empty() -> None:
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 7)
    assert backlogs.cut(5) == []
    assert backlogs.known(REGISTRY)
    assert backlogs.streams() == []


def test_records_below_the_chain_position_are_dropped() -> None:
    """Records the chain already covers are never anchored twice, whichever comes first."""
    position_first = Backlogs()
    position_first.set_chain_position(REGISTRY, 5)
    _add(position_first, REGISTRY, range(2, 8))

    records_first = Backlogs()
    _add(records_first, REGISTRY, range(2, 8))
    records_first.set_chain_position(REGISTRY, 5)

    for backlogs in (position_first, records_first):
        assert backlogs.pending() == 3
        assert _spans(backlogs.cut(10)) == [(REGISTRY, 5, 7, 3)]
        assert backlogs.cut(10)[0].root == _root(5, 7)


def test_position_past_everything_held_empties_the_backlog() -> None:
    """Another writer anchored further: what we hold is covered, and later copies too."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(3))
    backlogs.set_chain_position(REGISTRY, 10)
    assert backlogs.pending() == 0
    _add(backlogs, REGISTRY, range(3, 10))  # still covered by the chain
    assert backlogs.pending() == 0
    _add(backlogs, REGISTRY, [10])
    assert _spans(backlogs.cut(5)) == [(REGISTRY, 10, 10, 1)]


def test_redelivered_records_are_ignored() -> None:
    """A record at or below one already held is a redelivery: the first copy stays."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(4))
    backlogs.add(REGISTRY, 2, b"another value at 2")
    backlogs.add(REGISTRY, 3, b"another value at 3")
    backlogs.add(REGISTRY, 0, b"another value at 0")

    assert backlogs.pending() == 4
    (batch,) = backlogs.cut(10)
    assert (batch.first_offset, batch.last_offset, batch.count) == (0, 3, 4)
    assert batch.root == _root(0, 3)


def test_confirm_moves_the_position_and_empties_the_backlog() -> None:
    """Once the chain has a batch its records are let go; the next batch starts after it."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(5))

    backlogs.confirm(backlogs.cut(2))

    assert backlogs.pending() == 0
    assert backlogs.covered(REGISTRY) == 5
    assert backlogs.cut(2) == []
    _add(backlogs, REGISTRY, range(3, 7))  # 3 and 4 again: a redelivery after a rebalance
    assert _spans(backlogs.cut(10)) == [(REGISTRY, 5, 6, 2)]


def test_confirm_of_part_of_the_batches_keeps_the_rest() -> None:
    """Confirming the first batch only leaves the later ones, still starting right after it."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(5))
    first, *_ = backlogs.cut(2)

    backlogs.confirm([first])

    assert backlogs.covered(REGISTRY) == 2
    assert backlogs.pending() == 3
    assert _spans(backlogs.cut(2)) == [(REGISTRY, 2, 3, 2), (REGISTRY, 4, 4, 1)]


def test_forget_positions_makes_streams_unknown_again() -> None:
    """After a failed transaction every position is re-read from the chain before cutting."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 2)
    _add(backlogs, REGISTRY, range(2, 6))

    backlogs.forget_positions()

    assert not backlogs.known(REGISTRY)
    assert backlogs.covered(REGISTRY) == 0
    assert backlogs.cut(10) == []
    assert backlogs.pending() == 4  # records are kept, only the position is forgotten
    backlogs.set_chain_position(REGISTRY, 4)  # the failed transaction was mined after all
    assert _spans(backlogs.cut(10)) == [(REGISTRY, 4, 5, 2)]


def test_covered_is_zero_until_the_position_is_known() -> None:
    """Nothing is acknowledged to Kafka before the chain's position is known."""
    backlogs = Backlogs()
    assert backlogs.covered(REGISTRY) == 0
    _add(backlogs, REGISTRY, range(3))
    assert backlogs.covered(REGISTRY) == 0
    backlogs.set_chain_position(REGISTRY, 2)
    assert backlogs.covered(REGISTRY) == 2


def test_pending_and_largest() -> None:
    """Counters the processor uses to decide when a batch is due and to report lag."""
    backlogs = Backlogs()
    assert (backlogs.pending(), backlogs.largest()) == (0, 0)
    _add(backlogs, REGISTRY, range(4, 9))
    _add(backlogs, OTHER, range(0, 2))
    assert backlogs.pending() == 7
    assert backlogs.largest() == 5
    assert set(backlogs.streams()) == {REGISTRY, OTHER}


def test_streams_are_independent() -> None:
    """Each partition has its own position, records and batches."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(0, 6))
    _add(backlogs, OTHER, range(0, 6))
    backlogs.set_chain_position(REGISTRY, 4)
    backlogs.set_chain_position(OTHER, 1)

    batches = backlogs.cut(3)
    assert sorted(_spans(batches), key=str) == sorted(
        [(REGISTRY, 4, 5, 2), (OTHER, 1, 3, 3), (OTHER, 4, 5, 2)], key=str)
    # The same offsets hash the same in both partitions: a leaf does not name its partition.
    assert next(b for b in batches if b.stream == REGISTRY).root == _root(4, 5)

    backlogs.confirm([b for b in batches if b.stream == OTHER])
    assert backlogs.covered(OTHER) == 6
    assert backlogs.covered(REGISTRY) == 4
    assert _spans(backlogs.cut(3)) == [(REGISTRY, 4, 5, 2)]
    backlogs.forget_positions()
    assert not backlogs.known(REGISTRY)
    assert not backlogs.known(OTHER)


# Backlogs: reading past the chain -------------------------------------------------------------


def test_read_past_anchors_when_the_position_is_known_first() -> None:
    """Reading that begins after the chain's position has skipped unanchored records."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 5)
    with pytest.raises(ReadPastAnchors, match=r"registry/0: offset 6 arrived where 5 was"):
        backlogs.add(REGISTRY, 6, _value(6))


def test_read_past_anchors_when_the_record_comes_first() -> None:
    """The same gap is caught when the chain's position is learnt after the first record."""
    backlogs = Backlogs()
    backlogs.add(REGISTRY, 6, _value(6))
    with pytest.raises(ReadPastAnchors, match=r"anchored up to offset 4, but the records read "
                       r"start at 6"):
        backlogs.set_chain_position(REGISTRY, 5)


def test_a_hole_between_records_read_is_refused() -> None:
    """Our partitions have no holes, so a missing offset means records were skipped; a batch
    over it would claim records its tree does not hold."""
    backlogs = Backlogs()
    _add(backlogs, REGISTRY, range(3))
    with pytest.raises(ReadPastAnchors, match=r"offset 4 arrived where 3 was expected"):
        backlogs.add(REGISTRY, 4, _value(4))


def test_a_chain_reset_under_a_running_reader_is_refused() -> None:
    """Positions forgotten after a failed transaction, and the chain now says 0 (a new
    chain): the records held cannot start a batch at 0."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(5))
    backlogs.confirm(backlogs.cut(10))
    backlogs.forget_positions()
    _add(backlogs, REGISTRY, range(5, 8))
    with pytest.raises(ReadPastAnchors):
        backlogs.set_chain_position(REGISTRY, 0)


@pytest.mark.parametrize("first_read", [0, 4, 5])
@pytest.mark.parametrize("position_first", [True, False])
def test_reading_from_at_or_before_the_position_is_fine(first_read: int,
                                                        position_first: bool) -> None:
    """Reading that starts at or before the chain's next offset has seen every record."""
    backlogs = Backlogs()
    if position_first:
        backlogs.set_chain_position(REGISTRY, 5)
    _add(backlogs, REGISTRY, range(first_read, 8))
    if not position_first:
        backlogs.set_chain_position(REGISTRY, 5)
    backlogs.confirm(backlogs.cut(100))
    backlogs.forget_positions()
    backlogs.set_chain_position(REGISTRY, 8)  # later positions are past the read start too
    assert backlogs.covered(REGISTRY) == 8


def test_read_past_anchors_is_per_partition() -> None:
    """One partition read from the start does not excuse another read from too far on."""
    backlogs = Backlogs()
    backlogs.set_chain_position(REGISTRY, 0)
    _add(backlogs, REGISTRY, range(3))
    _add(backlogs, OTHER, [9])
    backlogs.set_chain_position(REGISTRY, 3)
    with pytest.raises(ReadPastAnchors, match="registry/1"):
        backlogs.set_chain_position(OTHER, 2)


# Backlogs: the property ---------------------------------------------------------------------


@given(st.data())
def test_fr_mp_bc_1_batches_cover_the_partition_contiguously(data: st.DataObject) -> None:
    """However records arrive (in pieces, redelivered, before or after the chain's position is
    known, with a confirmed cut in between), the batches cover exactly the offsets from the
    chain's position to the last record, one after another, each hashing exactly its records.
    """
    position = data.draw(st.integers(min_value=0, max_value=12), label="position")
    start = data.draw(st.integers(min_value=0, max_value=position), label="start")
    end = data.draw(st.integers(min_value=start, max_value=position + 25), label="end")
    max_events = data.draw(st.integers(min_value=1, max_value=7), label="max_events")
    # Deliveries: contiguous reads, each resuming at or before where the last one stopped.
    arrivals: list[int] = []
    resume, seen = start, start - 1
    while seen < end:
        stop = data.draw(st.integers(min_value=seen + 1, max_value=end))
        arrivals += range(resume, stop + 1)
        seen = stop
        resume = data.draw(st.integers(min_value=0, max_value=seen + 1))
    learn_at = data.draw(st.integers(min_value=0, max_value=len(arrivals)), label="learn_at")
    confirm_at = data.draw(st.none() | st.integers(min_value=learn_at, max_value=len(arrivals)),
                           label="confirm_at")

    backlogs = Backlogs()
    batches: list[AnchorBatch] = []
    for i in range(len(arrivals) + 1):
        if i == learn_at:
            backlogs.set_chain_position(REGISTRY, position)
        if i == confirm_at:
            confirmed = backlogs.cut(max_events)
            backlogs.confirm(confirmed)
            batches += confirmed
        if i < len(arrivals):
            backlogs.add(REGISTRY, arrivals[i], _value(arrivals[i]))
    batches += backlogs.cut(max_events)

    if end < position:
        assert batches == []
        return
    assert batches[0].first_offset == position
    assert batches[-1].last_offset == end
    for before, after in itertools.pairwise(batches):
        assert after.first_offset == before.last_offset + 1
    for batch in batches:
        assert batch.stream == REGISTRY
        assert 1 <= batch.count == batch.last_offset - batch.first_offset + 1 <= max_events
        assert batch.root == _root(batch.first_offset, batch.last_offset)


# batch_anchored_event -----------------------------------------------------------------------

BLOCK_TIMESTAMP = 1_748_852_100  # 2025-06-02T08:15:00Z
CHAIN_ID = 31337
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ANCHORED = AnchoredBatch(
    batch=AnchorBatch(REGISTRY, 10, 13, 4, bytes(range(32))),
    tx_hash="0x" + "ab" * 32, block_number=77, block_timestamp=BLOCK_TIMESTAMP,
    tx_gas_used=51_234)


def test_batch_anchored_event_is_the_same_each_time() -> None:
    """A batch re-announced after a crash (read back from the logs, without the gas) must be
    byte for byte the same event, so consumers that keep one event per id see it once."""
    first = batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT)
    again = batch_anchored_event(dataclasses.replace(ANCHORED, tx_gas_used=None), CHAIN_ID,
                                 CONTRACT)
    assert again.to_bytes() == first.to_bytes()
    assert again.event_id == first.event_id
    assert again.hash == first.hash


def test_batch_anchored_event_id_is_a_uuid7_of_the_block_time() -> None:
    """The id's 48-bit time prefix is the block's timestamp in ms, as UUIDv7 requires."""
    event = batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT)
    assert event.event_id.version == 7
    assert event.event_id.variant == uuid.RFC_4122
    assert event.event_id.int >> 80 == BLOCK_TIMESTAMP * 1000
    assert event.occurred_at == datetime(2025, 6, 2, 8, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("change", [
    {"first_offset": 11, "count": 3},
    {"stream": Stream("registry", 1)},
    {"stream": Stream("offers", 0)},
])
def test_batch_anchored_event_id_differs_per_batch(change: dict[str, object]) -> None:
    """Two batches anchored in the same block must not share an id, or one would be lost."""
    other = dataclasses.replace(ANCHORED, batch=dataclasses.replace(ANCHORED.batch, **change))
    assert (batch_anchored_event(other, CHAIN_ID, CONTRACT).event_id
            != batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT).event_id)


def test_batch_anchored_event_id_differs_per_chain() -> None:
    """The same coordinates anchored on another chain are another fact."""
    assert (batch_anchored_event(ANCHORED, CHAIN_ID + 1, CONTRACT).event_id
            != batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT).event_id)


def test_batch_anchored_event_payload() -> None:
    """The payload mirrors the chain's log; the event is valid for the catalog and the topic."""
    event = batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT)

    assert event.type == "BatchAnchored"
    assert event.version == 1
    assert event.actor == ANCHOR_ACTOR
    assert event.key == "registry"
    assert event.payload == {
        "topic": "registry", "partition": 0, "first_offset": 10, "last_offset": 13,
        "count": 4, "root": "0x" + bytes(range(32)).hex(), "chain_id": CHAIN_ID,
        "contract": CONTRACT.lower(), "tx_hash": "0x" + "ab" * 32, "block_number": 77,
    }
    assert parse_event(event.to_bytes()) == event
    # One spelling of the address: an event re-made from another spelling is the same event.
    assert batch_anchored_event(ANCHORED, CHAIN_ID, CONTRACT.upper().replace("0X", "0x")) == event
    assert isinstance(typed_payload(event), BatchAnchored)
