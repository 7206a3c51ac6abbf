// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title EventAnchor
/// @notice Merkle roots of batches of Kafka events (Platone FR_MP_BC_1), contiguous per
///         (topic, partition) "stream": a batch must start right after the last anchored
///         offset of its stream, and the first batch of a stream at offset 0, so the
///         anchored history of every partition has no gaps and no overlaps.
/// @dev Storage is deliberately minimal, because anchoring runs continuously:
///      - one packed slot per stream, the `Cursor` (next expected offset, number of batches),
///        keyed by `streamId(topic, partition) = keccak256(abi.encode(topic, partition))`;
///      - exactly one new slot per batch: its root, keyed by
///        `keccak256(abi.encode(topic, partition, firstOffset, lastOffset, count))`.
///      Batches are NOT stored as structs nor in per-stream arrays: that would cost two to
///      four more fresh slots (20k gas each) per batch. A steady-state anchor therefore stays
///      near the floor of 21k (transaction) + 22.1k (one new slot). A batch is read back by
///      its coordinates (`rootOf`), which an auditor has from the proof under check, and the
///      batches of a stream are enumerated from the `BatchAnchored` logs (filter on the
///      indexed `stream`), whose every field `rootOf` confirms against storage.
///      Kafka offsets may have holes (compaction, transaction markers), so `count`, the
///      number of events hashed into the batch, may be smaller than the offset range.
contract EventAnchor is AccessControl {
    /// @notice Role allowed to anchor batches (the anchor processor's account).
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @notice One batch of `anchorMany`; the same fields as the arguments of `anchor`.
    struct Batch {
        string topic;
        uint32 partition;
        uint64 firstOffset;
        uint64 lastOffset;
        uint32 count;
        bytes32 root;
    }

    /// @dev One storage slot per stream.
    struct Cursor {
        uint64 nextOffset;
        uint64 batches;
    }

    mapping(bytes32 stream => Cursor) private _cursors;
    mapping(bytes32 batchKey => bytes32 root) private _roots;

    /// @notice A batch was anchored; `stream` is `streamId(topic, partition)`.
    event BatchAnchored(
        bytes32 indexed stream,
        string topic,
        uint32 partition,
        uint64 firstOffset,
        uint64 lastOffset,
        uint32 count,
        bytes32 root
    );

    /// @notice The batch does not start at the stream's next offset (`expectedFirst`): a gap
    ///         or an overlap with what is anchored already.
    error RangeNotContiguous(
        string topic, uint32 partition, uint64 expectedFirst, uint64 firstOffset
    );
    /// @notice `lastOffset < firstOffset`, `count == 0`, `count` larger than the range, or
    ///         `lastOffset == type(uint64).max` (no next offset could follow it; Kafka offsets
    ///         are signed 64-bit and never get there).
    error InvalidRange(uint64 firstOffset, uint64 lastOffset, uint32 count);
    /// @notice A zero Merkle root, refused: `rootOf` returns zero for "never anchored".
    error ZeroRoot();

    /// @param admin Account holding DEFAULT_ADMIN_ROLE, which grants ANCHORER_ROLE.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Anchor the Merkle `root` of the `count` events at offsets
    ///         `firstOffset..lastOffset` of `topic`/`partition`.
    function anchor(
        string calldata topic,
        uint32 partition,
        uint64 firstOffset,
        uint64 lastOffset,
        uint32 count,
        bytes32 root
    ) external onlyRole(ANCHORER_ROLE) {
        _anchor(topic, partition, firstOffset, lastOffset, count, root);
    }

    /// @notice Anchor several batches in one transaction, checked and applied in order: batches
    ///         of several streams, or consecutive batches of one stream. All or nothing.
    function anchorMany(Batch[] calldata batches) external onlyRole(ANCHORER_ROLE) {
        uint256 n = batches.length;
        for (uint256 i; i < n; ++i) {
            Batch calldata b = batches[i];
            _anchor(b.topic, b.partition, b.firstOffset, b.lastOffset, b.count, b.root);
        }
    }

    /// @notice The root anchored for exactly these coordinates, or zero if none was.
    function rootOf(
        string calldata topic,
        uint32 partition,
        uint64 firstOffset,
        uint64 lastOffset,
        uint32 count
    ) external view returns (bytes32) {
        return _roots[keccak256(abi.encode(topic, partition, firstOffset, lastOffset, count))];
    }

    /// @notice The offset the next batch of this stream must start at (0 before the first).
    function nextOffset(string calldata topic, uint32 partition) external view returns (uint64) {
        return _cursors[streamId(topic, partition)].nextOffset;
    }

    /// @notice The last anchored offset of this stream; `anchored` is false (and `offset` 0)
    ///         before its first batch.
    function lastAnchoredOffset(string calldata topic, uint32 partition)
        external
        view
        returns (bool anchored, uint64 offset)
    {
        Cursor memory cursor = _cursors[streamId(topic, partition)];
        if (cursor.batches == 0) return (false, 0);
        return (true, cursor.nextOffset - 1);
    }

    /// @notice The number of batches anchored for this stream.
    function batchCount(string calldata topic, uint32 partition) external view returns (uint64) {
        return _cursors[streamId(topic, partition)].batches;
    }

    /// @notice The stream key of (topic, partition), as indexed in `BatchAnchored`.
    function streamId(string calldata topic, uint32 partition) public pure returns (bytes32) {
        return keccak256(abi.encode(topic, partition));
    }

    function _anchor(
        string calldata topic,
        uint32 partition,
        uint64 firstOffset,
        uint64 lastOffset,
        uint32 count,
        bytes32 root
    ) private {
        // The batch itself first (no storage read), then its place in the stream.
        if (
            lastOffset < firstOffset || count == 0 || count - 1 > lastOffset - firstOffset
                || lastOffset == type(uint64).max
        ) revert InvalidRange(firstOffset, lastOffset, count);
        if (root == bytes32(0)) revert ZeroRoot();

        bytes32 stream = streamId(topic, partition);
        Cursor storage cursor = _cursors[stream];
        uint64 expected = cursor.nextOffset;
        if (firstOffset != expected) {
            revert RangeNotContiguous(topic, partition, expected, firstOffset);
        }
        unchecked {
            // lastOffset < type(uint64).max (checked above); batches cannot reach 2**64.
            // Field by field through a storage pointer: ~220 gas less than writing a
            // whole Cursor struct back.
            cursor.nextOffset = lastOffset + 1;
            cursor.batches += 1;
        }
        _roots[keccak256(abi.encode(topic, partition, firstOffset, lastOffset, count))] = root;
        emit BatchAnchored(stream, topic, partition, firstOffset, lastOffset, count, root);
    }
}
