"""Inclusion proofs checked on their own: what a participant runs to verify its data
(FR_MP_BC_2) before comparing the root with the chain.

The proofs are built by hand from sealed events, leaves at chosen offsets and paths from
``ledger.merkle``, exactly as the proof service assembles them; every tampering a server
could attempt must be refused, naming the step that failed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from ledger.anchoring import record_leaf
from ledger.audit.proof import BatchPublic, EventProof, Position, ProofInvalid, check_proof
from ledger.canonical import keccak256
from ledger.envelope import Event
from ledger.merkle import inclusion_path, merkle_root
from tests.builders import EVENT_ID, make_event, make_pod_registered

TOPIC = "registry"
PARTITION = 0
FIRST = 100  # the batch's first offset: not 0, so offsets and leaf indexes differ


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _events(n: int) -> list[Event]:
    """``n`` sealed PoD registrations with distinct ids and content."""
    return [make_event(make_pod_registered(pod_id=f"POD-{i:06d}"),
                       event_id=UUID(int=EVENT_ID.int + i)) for i in range(n)]


def _leaves(events: list[Event], first: int = FIRST) -> list[bytes]:
    return [record_leaf(first + i, e.to_bytes()) for i, e in enumerate(events)]


def _proof(events: list[Event], index: int, first: int = FIRST) -> EventProof:
    """The proof of ``events[index]`` in a batch of ``events`` starting at ``first``."""
    leaves = _leaves(events, first)
    return EventProof(
        event=events[index].to_json_dict(),
        position=Position(topic=TOPIC, partition=PARTITION, offset=first + index),
        leaf=_hex(leaves[index]),
        leaf_index=index,
        path=[_hex(h) for h in inclusion_path(leaves, index)],
        batch=BatchPublic(
            topic=TOPIC, partition=PARTITION, first_offset=first,
            last_offset=first + len(events) - 1, count=len(events),
            root=_hex(merkle_root(leaves)), chain_id=31337,
            contract="0x5fbdb2315678afecb367f032d93f642f64180aa3",
            tx_hash="0x" + "ab" * 32, block_number=7,
            anchored_at="2025-06-02T08:15:01.000000Z"),
    )


def _with(proof: EventProof, **changes: Any) -> EventProof:
    """``proof`` with some fields replaced, re-validated as a served proof would be."""
    return EventProof.model_validate({**proof.model_dump(), **changes})


def _with_batch(proof: EventProof, **changes: Any) -> EventProof:
    return _with(proof, batch={**proof.batch.model_dump(), **changes})


def _with_position(proof: EventProof, **changes: Any) -> EventProof:
    return _with(proof, position={**proof.position.model_dump(), **changes})


EVENTS = _events(5)
PROOF = _proof(EVENTS, 2)


# Proofs that hold ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_fr_mp_bc_2_every_event_of_a_batch_proves_to_its_root(n: int) -> None:
    """A participant can verify any of its events, wherever it sits in the batch."""
    events = _events(n)
    root = merkle_root(_leaves(events))
    for index in range(n):
        assert check_proof(_proof(events, index)) == root


def test_fr_mp_bc_2_a_proof_survives_its_json_round_trip() -> None:
    """The auditor receives JSON from an untrusted API; it must check the same."""
    served = EventProof.model_validate_json(PROOF.model_dump_json())
    assert check_proof(served) == merkle_root(_leaves(EVENTS))


def test_the_leaf_is_the_written_out_hash_of_the_record() -> None:
    """The leaf in a proof is H(0x00 ‖ offset ‖ the event's canonical bytes), nothing else."""
    assert PROOF.leaf == _hex(keccak256(b"\x00" + (FIRST + 2).to_bytes(8, "big")
                                        + EVENTS[2].to_bytes()))


# Tampered events -----------------------------------------------------------------------------


def test_fr_mp_bc_2_modified_payload_fails_on_the_event_hash() -> None:
    """Content changed after sealing no longer matches the event's own hash."""
    event = {**PROOF.event, "payload": {**PROOF.event["payload"], "customer_id": "CUST-2"}}
    with pytest.raises(ProofInvalid, match="does not hold up on its own: hash does not match"):
        check_proof(_with(PROOF, event=event))


def test_fr_mp_bc_2_resealed_payload_fails_on_the_leaf() -> None:
    """Content changed and re-hashed is a valid event, but not the one anchored there."""
    forged = make_event(make_pod_registered(pod_id="POD-000002", customer_id="CUST-2"),
                        event_id=EVENTS[2].event_id)
    with pytest.raises(ProofInvalid, match="leaf is not the hash of this event"):
        check_proof(_with(PROOF, event=forged.to_json_dict()))


def test_fr_mp_bc_2_resealed_payload_with_its_own_leaf_fails_on_the_root() -> None:
    """Recomputing the leaf too only moves the failure up: the path leads elsewhere."""
    forged = make_event(make_pod_registered(pod_id="POD-000002", customer_id="CUST-2"),
                        event_id=EVENTS[2].event_id)
    leaf = record_leaf(FIRST + 2, forged.to_bytes())
    with pytest.raises(ProofInvalid, match="leads to another root"):
        check_proof(_with(PROOF, event=forged.to_json_dict(), leaf=_hex(leaf)))


def test_fr_mp_bc_2_another_event_of_the_batch_does_not_fit_this_proof() -> None:
    """A genuine event of the same batch cannot borrow a neighbour's position and path."""
    with pytest.raises(ProofInvalid, match="leaf is not the hash of this event"):
        check_proof(_with(PROOF, event=EVENTS[3].to_json_dict()))


# Tampered positions --------------------------------------------------------------------------


def test_fr_mp_bc_2_wrong_offset_fails_on_the_leaf() -> None:
    """The offset is in the leaf, so an event cannot be claimed at another offset."""
    with pytest.raises(ProofInvalid, match="leaf is not the hash of this event"):
        check_proof(_with_position(PROOF, offset=FIRST + 3))


def test_fr_mp_bc_2_wrong_offset_with_its_own_leaf_fails_on_the_root() -> None:
    """Recomputing the leaf for the claimed offset gives a leaf that is not in the tree."""
    leaf = record_leaf(FIRST + 3, EVENTS[2].to_bytes())
    with pytest.raises(ProofInvalid, match="leads to another root"):
        check_proof(_with(_with_position(PROOF, offset=FIRST + 3), leaf=_hex(leaf)))


@pytest.mark.parametrize("offset", [0, FIRST - 1, FIRST + 5, FIRST + 1000])
def test_fr_mp_bc_2_position_outside_the_batch_is_refused(offset: int) -> None:
    """A batch proves only the offsets it covers."""
    leaf = record_leaf(offset, EVENTS[2].to_bytes())
    with pytest.raises(ProofInvalid, match=r"is outside the batch registry/0 100\.\.104"):
        check_proof(_with(_with_position(PROOF, offset=offset), leaf=_hex(leaf)))


@pytest.mark.parametrize("where", [{"partition": 1}, {"topic": "offers"}])
def test_fr_mp_bc_2_position_in_another_partition_is_refused(where: dict[str, Any]) -> None:
    """A leaf does not name its partition, so the position and the batch must agree on it."""
    with pytest.raises(ProofInvalid, match="is outside the batch"):
        check_proof(_with_position(PROOF, **where))


# Tampered paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 3, 4])
def test_fr_mp_bc_2_wrong_leaf_index_is_refused(index: int) -> None:
    """The leaf reaches the root only from its own place in the tree."""
    with pytest.raises(ProofInvalid, match="path"):
        check_proof(_with(PROOF, leaf_index=index))


def test_fr_mp_bc_2_leaf_index_outside_the_tree_is_refused() -> None:
    with pytest.raises(ProofInvalid, match="path does not fit the batch: leaf index 5"):
        check_proof(_with(PROOF, leaf_index=5))


def test_fr_mp_bc_2_truncated_path_is_refused() -> None:
    with pytest.raises(ProofInvalid, match=r"path does not fit the batch: .* shorter"):
        check_proof(_with(PROOF, path=PROOF.path[:-1]))


def test_fr_mp_bc_2_extended_path_is_refused() -> None:
    with pytest.raises(ProofInvalid, match=r"path does not fit the batch: .* longer"):
        check_proof(_with(PROOF, path=[*PROOF.path, "0x" + "00" * 32]))


def test_fr_mp_bc_2_altered_path_hash_is_refused() -> None:
    path = ["0x" + "00" * 32, *PROOF.path[1:]]
    with pytest.raises(ProofInvalid, match="leads to another root"):
        check_proof(_with(PROOF, path=path))


def test_fr_mp_bc_2_path_that_is_not_hex_is_refused() -> None:
    """A malformed sibling is a proof failure, not a crash of the auditor's tool."""
    with pytest.raises(ProofInvalid, match="path"):
        check_proof(_with(PROOF, path=["0xnot-hex", *PROOF.path[1:]]))


# Tampered batches ----------------------------------------------------------------------------


def test_fr_mp_bc_2_altered_root_is_refused() -> None:
    with pytest.raises(ProofInvalid, match="leads to another root than the batch's"):
        check_proof(_with_batch(PROOF, root="0x" + "11" * 32))


def test_fr_mp_bc_2_altered_count_is_refused() -> None:
    """A count that changes the tree's shape makes the path unfit (5 → 6 for the last leaf);
    a check of the count against the batch's range, done first, would name the count."""
    proof = _proof(EVENTS, 4)
    with pytest.raises(ProofInvalid, match=r"path does not fit the batch|count"):
        check_proof(_with_batch(proof, count=6))


@pytest.mark.parametrize("n", [4, 5])
def test_fr_mp_bc_2_batch_coordinates_inconsistent_with_the_proof_are_refused(n: int) -> None:
    """A batch's ``count`` must be its range's length (batches have no holes): a proof whose
    count, first or last offset was altered is internally inconsistent and must not pass,
    even where the altered count happens to give the path the same shape."""
    events = _events(n)
    accepted = []
    for index in range(n):
        proof = _proof(events, index)
        alterations: list[dict[str, int]] = [
            *({"count": c} for c in range(1, 2 * n + 1) if c != n),
            {"first_offset": FIRST - 1}, {"last_offset": FIRST + n},
        ]
        for change in alterations:
            try:
                check_proof(_with_batch(proof, **change))
            except ProofInvalid:
                continue
            accepted.append((index, change))
    assert accepted == [], f"check_proof accepted (leaf index, alteration): {accepted}"
