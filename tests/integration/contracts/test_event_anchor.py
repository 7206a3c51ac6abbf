"""EventAnchor (Platone FR_MP_BC_1): Merkle roots of Kafka batches, contiguous per partition."""

from __future__ import annotations

import pytest
from eth_abi import encode
from web3 import Web3

from contracts.errors import DecodedError
from tests.integration.contracts.harness import ZERO32, Chain, args, events

pytestmark = pytest.mark.integration

ANCHORER_ROLE = Web3.keccak(text="ANCHORER_ROLE")
TOPIC = "offers"
UINT64_MAX = 2**64 - 1


def root(n: int) -> bytes:
    return Web3.keccak(text=f"root-{n}")


def stream_id(topic: str, partition: int) -> bytes:
    """keccak256(abi.encode(topic, partition)), computed independently of the contract."""
    return Web3.keccak(encode(["string", "uint32"], [topic, partition]))


def anchor(chain: Chain, first: int, last: int, count: int | None = None, *,
           topic: str = TOPIC, partition: int = 0, r: bytes | None = None):
    """The contract call anchoring ``first..last`` (count defaults to the full range)."""
    count = last - first + 1 if count is None else count
    return chain.anchor.functions.anchor(topic, partition, first, last, count,
                                         root(first) if r is None else r)


def batch(first: int, last: int, count: int | None = None, *, topic: str = TOPIC,
          partition: int = 0) -> tuple:
    count = last - first + 1 if count is None else count
    return (topic, partition, first, last, count, root(first))


def test_fr_mp_bc_1_first_batch_anchors_root_and_emits(chain: Chain) -> None:
    receipt = chain.transact(anchor(chain, 0, 99, partition=3))

    (log,) = events(chain.anchor.events.BatchAnchored(), receipt)
    assert args(log) == {
        "stream": stream_id(TOPIC, 3), "topic": TOPIC, "partition": 3, "firstOffset": 0,
        "lastOffset": 99, "count": 100, "root": root(0),
    }
    view = chain.anchor.functions
    assert view.rootOf(TOPIC, 3, 0, 99, 100).call() == root(0)
    assert view.nextOffset(TOPIC, 3).call() == 100
    assert view.batchCount(TOPIC, 3).call() == 1
    assert view.lastAnchoredOffset(TOPIC, 3).call() == [True, 99]


def test_fr_mp_bc_1_first_batch_must_start_at_zero(chain: Chain) -> None:
    error = chain.revert_of(anchor(chain, 5, 9, partition=1))
    assert error == DecodedError("RangeNotContiguous", {
        "topic": TOPIC, "partition": 1, "expectedFirst": 0, "firstOffset": 5,
    })


def test_fr_mp_bc_1_contiguous_next_batch_is_anchored(chain: Chain) -> None:
    chain.transact(anchor(chain, 0, 99))
    chain.transact(anchor(chain, 100, 199))

    view = chain.anchor.functions
    assert view.rootOf(TOPIC, 0, 0, 99, 100).call() == root(0)
    assert view.rootOf(TOPIC, 0, 100, 199, 100).call() == root(100)
    assert view.nextOffset(TOPIC, 0).call() == 200
    assert view.batchCount(TOPIC, 0).call() == 2
    assert view.lastAnchoredOffset(TOPIC, 0).call() == [True, 199]


def test_fr_mp_bc_1_gap_is_refused_with_expected_offset(chain: Chain) -> None:
    chain.transact(anchor(chain, 0, 99))
    error = chain.revert_of(anchor(chain, 101, 150))
    assert error == DecodedError("RangeNotContiguous", {
        "topic": TOPIC, "partition": 0, "expectedFirst": 100, "firstOffset": 101,
    })


@pytest.mark.parametrize("first", [0, 50, 99])
def test_fr_mp_bc_1_overlap_and_replay_are_refused(chain: Chain, first: int) -> None:
    chain.transact(anchor(chain, 0, 99))
    error = chain.revert_of(anchor(chain, first, 99))
    assert error == DecodedError("RangeNotContiguous", {
        "topic": TOPIC, "partition": 0, "expectedFirst": 100, "firstOffset": first,
    })
    assert chain.anchor.functions.batchCount(TOPIC, 0).call() == 1


def test_fr_mp_bc_1_partitions_and_topics_are_independent_streams(chain: Chain) -> None:
    chain.transact(anchor(chain, 0, 9, partition=0))
    chain.transact(anchor(chain, 0, 4, partition=1))
    chain.transact(anchor(chain, 0, 0, topic="readings", partition=0))

    view = chain.anchor.functions
    assert view.nextOffset(TOPIC, 0).call() == 10
    assert view.nextOffset(TOPIC, 1).call() == 5
    assert view.nextOffset("readings", 0).call() == 1
    assert view.nextOffset("readings", 1).call() == 0


def test_fr_mp_bc_1_count_below_range_width_allows_offset_holes(chain: Chain) -> None:
    # Transaction markers and compaction leave holes: 7 records over offsets 0..9.
    chain.transact(anchor(chain, 0, 9, 7))
    assert chain.anchor.functions.rootOf(TOPIC, 0, 0, 9, 7).call() == root(0)
    assert chain.anchor.functions.nextOffset(TOPIC, 0).call() == 10


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        (0, 9, 0),  # empty batch
        (0, 9, 11),  # more records than offsets
        (5, 4, 1),  # last before first
        (0, UINT64_MAX, 1),  # no next offset could follow
    ],
    ids=["zero-count", "count-over-width", "last-before-first", "last-at-uint64-max"],
)
def test_fr_mp_bc_1_invalid_range_is_refused(chain: Chain, first: int, last: int,
                                             count: int) -> None:
    error = chain.revert_of(anchor(chain, first, last, count))
    assert error == DecodedError(
        "InvalidRange", {"firstOffset": first, "lastOffset": last, "count": count}
    )


def test_fr_mp_bc_1_single_record_and_full_width_batches_are_valid(chain: Chain) -> None:
    chain.transact(anchor(chain, 0, 0, 1))
    chain.transact(anchor(chain, 1, 2**32 - 1, 2**32 - 1))  # count == width, largest count
    assert chain.anchor.functions.nextOffset(TOPIC, 0).call() == 2**32


def test_fr_mp_bc_1_zero_root_is_refused(chain: Chain) -> None:
    assert chain.revert_of(anchor(chain, 0, 9, r=ZERO32)) == DecodedError("ZeroRoot")


def test_fr_mp_bc_1_anchor_without_anchorer_role_is_refused(chain: Chain) -> None:
    stranger = chain.others[0]
    for fn in (anchor(chain, 0, 9), chain.anchor.functions.anchorMany([batch(0, 9)])):
        assert chain.revert_of(fn, sender=stranger) == DecodedError(
            "AccessControlUnauthorizedAccount",
            {"account": stranger, "neededRole": ANCHORER_ROLE},
        )
    # The admin can make it an anchorer.
    chain.transact(chain.anchor.functions.grantRole(ANCHORER_ROLE, stranger))
    chain.transact(anchor(chain, 0, 9), sender=stranger)


def test_fr_mp_bc_1_anchor_many_across_partitions_and_consecutive_batches(chain: Chain) -> None:
    batches = [
        batch(0, 9, partition=0),
        batch(0, 4, partition=1),
        batch(10, 19, 8, partition=0),  # consecutive with the first, in the same tx
        batch(0, 0, topic="readings", partition=2),
    ]
    receipt = chain.transact(chain.anchor.functions.anchorMany(batches))

    logs = events(chain.anchor.events.BatchAnchored(), receipt)
    assert [
        (a["topic"], a["partition"], a["firstOffset"], a["lastOffset"], a["count"], a["root"])
        for a in map(args, logs)
    ] == batches
    assert [args(log)["stream"] for log in logs] == [
        stream_id(b[0], b[1]) for b in batches
    ]
    view = chain.anchor.functions
    assert view.nextOffset(TOPIC, 0).call() == 20
    assert view.batchCount(TOPIC, 0).call() == 2
    assert view.nextOffset(TOPIC, 1).call() == 5
    assert view.lastAnchoredOffset("readings", 2).call() == [True, 0]
    assert view.rootOf(TOPIC, 0, 10, 19, 8).call() == root(10)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (batch(11, 19, partition=0), DecodedError("RangeNotContiguous", {
            "topic": TOPIC, "partition": 0, "expectedFirst": 10, "firstOffset": 11})),
        (batch(10, 19, 0, partition=0), DecodedError("InvalidRange", {
            "firstOffset": 10, "lastOffset": 19, "count": 0})),
        ((TOPIC, 1, 5, 9, 5, ZERO32), DecodedError("ZeroRoot")),
    ],
    ids=["gap", "invalid-range", "zero-root"],
)
def test_fr_mp_bc_1_anchor_many_is_all_or_nothing(chain: Chain, bad: tuple,
                                                  expected: DecodedError) -> None:
    error = chain.revert_of(chain.anchor.functions.anchorMany([batch(0, 9), bad]))
    assert error == expected
    assert chain.anchor.functions.batchCount(TOPIC, 0).call() == 0


def test_fr_mp_bc_1_anchor_many_checks_batches_in_order(chain: Chain) -> None:
    # The second batch of partition 0 before the first: refused, though the set is contiguous.
    error = chain.revert_of(chain.anchor.functions.anchorMany([batch(10, 19), batch(0, 9)]))
    assert error.name == "RangeNotContiguous"
    assert error.args["expectedFirst"] == 0


def test_fr_mp_bc_1_anchor_many_empty_is_a_no_op(chain: Chain) -> None:
    receipt = chain.transact(chain.anchor.functions.anchorMany([]))
    assert events(chain.anchor.events.BatchAnchored(), receipt) == []


def test_fr_mp_bc_1_views_before_anything_is_anchored(chain: Chain) -> None:
    view = chain.anchor.functions
    assert view.nextOffset(TOPIC, 0).call() == 0
    assert view.batchCount(TOPIC, 0).call() == 0
    assert view.lastAnchoredOffset(TOPIC, 0).call() == [False, 0]
    assert view.rootOf(TOPIC, 0, 0, 9, 10).call() == ZERO32
    assert view.ANCHORER_ROLE().call() == ANCHORER_ROLE


def test_fr_mp_bc_1_root_of_is_zero_for_any_other_coordinates(chain: Chain) -> None:
    chain.transact(anchor(chain, 0, 9, 8, partition=2))
    view = chain.anchor.functions
    assert view.rootOf(TOPIC, 2, 0, 9, 8).call() == root(0)
    for coordinates in [
        ("readings", 2, 0, 9, 8),  # other topic
        (TOPIC, 1, 0, 9, 8),  # other partition
        (TOPIC, 2, 1, 9, 8),  # other first offset
        (TOPIC, 2, 0, 8, 8),  # other last offset
        (TOPIC, 2, 0, 9, 9),  # other count
    ]:
        assert view.rootOf(*coordinates).call() == ZERO32, coordinates


def test_fr_mp_bc_1_stream_id_matches_abi_encoding_and_event_index(chain: Chain) -> None:
    view = chain.anchor.functions
    assert view.streamId(TOPIC, 7).call() == stream_id(TOPIC, 7)
    assert view.streamId(TOPIC, 7).call() != view.streamId(TOPIC, 8).call()
    # Batches of one stream are enumerated from the logs by the indexed stream id.
    chain.transact(anchor(chain, 0, 9, partition=7))
    chain.transact(anchor(chain, 0, 9, partition=8))
    chain.transact(anchor(chain, 10, 19, partition=7))
    logs = chain.anchor.events.BatchAnchored().get_logs(
        from_block=chain.deployment.block_number,
        argument_filters={"stream": stream_id(TOPIC, 7)},
    )
    assert [(a["firstOffset"], a["lastOffset"]) for a in map(args, logs)] == [(0, 9), (10, 19)]


def test_fr_mp_bc_1_gas(chain: Chain) -> None:
    """Gas of single and multi-partition anchoring; printed in the summary, never asserted.

    Batches of 500 records on topic "offers"; "steady state" is a partition's 2nd batch.
    """
    label = "EventAnchor.anchor:"
    chain.gas(f"{label} first of partition", chain.transact(anchor(chain, 0, 499)))
    chain.gas(f"{label} steady state", chain.transact(anchor(chain, 500, 999)))
    chain.gas(f"{label} steady state, 3rd batch", chain.transact(anchor(chain, 1000, 1499)))
    long_topic = "flexmarket-demo.readings"
    chain.gas(f"EventAnchor.anchor: first of partition, {len(long_topic)}-char topic",
              chain.transact(anchor(chain, 0, 499, topic=long_topic)))
    chain.gas(f"EventAnchor.anchor: steady state, {len(long_topic)}-char topic",
              chain.transact(anchor(chain, 500, 999, topic=long_topic)))

    for n in (1, 4, 16):
        partitions = range(100 * n, 100 * n + n)  # fresh partitions for each n
        first = chain.transact(chain.anchor.functions.anchorMany(
            [batch(0, 499, partition=p) for p in partitions]))
        chain.gas(f"EventAnchor.anchorMany x{n}: first of partition", first)
        steady = chain.transact(chain.anchor.functions.anchorMany(
            [batch(500, 999, partition=p) for p in partitions]))
        chain.gas(f"EventAnchor.anchorMany x{n}: steady state", steady)
