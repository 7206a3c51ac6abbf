"""Merkle trees over event batches: RFC 9162 (Certificate Transparency v2) shape, keccak-256.

The shape is the published one so an auditor can check a proof with any CT library's
algorithm: a leaf is ``H(0x00 ‖ data)``, an inner node ``H(0x01 ‖ left ‖ right)`` (the
prefixes keep a leaf from ever passing for a node, the second-preimage attack on
unprefixed trees), and a tree of n leaves splits at the largest power of two below n,
so no leaf is duplicated to fill a level (Bitcoin's CVE-2012-2459).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.canonical import keccak256

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf's data, domain-separated from inner nodes."""
    return keccak256(LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node from its children's hashes."""
    return keccak256(NODE_PREFIX + left + right)


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root of the tree over ``leaves`` (leaf hashes, in order).

    Built bottom-up, carrying a level's odd last node up unchanged: that gives exactly
    RFC 9162's split-at-a-power-of-two tree without recursion.

    Raises:
        ValueError: for an empty batch (anchoring never needs the empty tree).
    """
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        level = _parents(level)
    return level[0]


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes from leaf ``index`` up to the root (RFC 9162 inclusion proof).

    Raises:
        IndexError: when ``index`` is not a leaf of the tree.
    """
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level, index = _parents(level), index // 2
    return path


def _parents(level: list[bytes]) -> list[bytes]:
    """The next level up: pairs hashed, an odd last node carried up unchanged."""
    parents = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def root_from_path(leaf: bytes, index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """The root a leaf and its inclusion path lead to (RFC 9162 section 2.1.3.2).

    Raises:
        ValueError: when the path cannot belong to a tree of ``tree_size`` leaves at
            ``index`` (too long, too short, or the index is outside the tree).
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    fn, sn, node = index, tree_size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("inclusion path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("inclusion path is shorter than the tree is deep")
    return node
