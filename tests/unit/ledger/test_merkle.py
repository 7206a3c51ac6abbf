"""Merkle trees: RFC 9162's shape, inclusion proofs, and what a tampered proof does.

The oracle is RFC 9162 section 2.1.1 written as recursion, independent of the iterative
code under test; hand-computed small trees pin the prefixes (FR_MP_BC_1).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import keccak256
from ledger.merkle import inclusion_path, leaf_hash, merkle_root, node_hash, root_from_path


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 2.1.1, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return keccak256(b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:]))


def _reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1, recursively."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return [*_reference_path(index, leaves[:k]), _reference_root(leaves[k:])]
    return [*_reference_path(index - k, leaves[k:]), _reference_root(leaves[:k])]


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_fr_mp_bc_1_leaf_and_node_are_domain_separated() -> None:
    data = b"event"
    assert leaf_hash(data) == keccak256(b"\x00event")
    assert node_hash(b"a" * 32, b"b" * 32) == keccak256(b"\x01" + b"a" * 32 + b"b" * 32)
    # An inner node's preimage never hashes like a leaf of the same bytes.
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) != leaf_hash(left + right)


def test_three_leaves_by_hand() -> None:
    a, b, c = _leaves(3)
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert inclusion_path([a, b, c], 2) == [node_hash(a, b)]
    assert inclusion_path([a, b, c], 0) == [b, c]


def test_single_leaf_is_its_own_root() -> None:
    (a,) = _leaves(1)
    assert merkle_root([a]) == a
    assert inclusion_path([a], 0) == []
    assert root_from_path(a, 0, 1, []) == a


def test_empty_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        merkle_root([])


@given(st.integers(min_value=1, max_value=70), st.data())
def test_matches_rfc_9162_reference(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    root = merkle_root(leaves)
    assert root == _reference_root(leaves)
    path = inclusion_path(leaves, index)
    assert path == _reference_path(index, leaves)
    assert root_from_path(leaves[index], index, n, path) == root


@given(st.integers(min_value=2, max_value=40), st.data())
def test_fr_mp_bc_2_tampered_proofs_do_not_reach_the_root(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    root = merkle_root(leaves)
    path = inclusion_path(leaves, index)

    forged_leaf = leaf_hash(b"forged")
    assert root_from_path(forged_leaf, index, n, path) != root
    other = (index + 1) % n
    # The same leaf cannot be claimed at another index with the same path (a path of the
    # wrong length for that index is refused outright, which is also a failure).
    with contextlib.suppress(ValueError):
        assert root_from_path(leaves[index], other, n, path) != root
    if path:
        flipped = [bytes(32), *path[1:]]
        assert root_from_path(leaves[index], index, n, flipped) != root


def test_path_of_wrong_length_is_refused() -> None:
    leaves = _leaves(5)
    path = inclusion_path(leaves, 1)
    with pytest.raises(ValueError, match="shorter"):
        root_from_path(leaves[1], 1, 5, path[:-1])
    with pytest.raises(ValueError, match="longer"):
        root_from_path(leaves[1], 1, 5, [*path, bytes(32)])
    with pytest.raises(ValueError, match="outside"):
        root_from_path(leaves[1], 5, 5, path)
    with pytest.raises(IndexError):
        inclusion_path(leaves, 5)
