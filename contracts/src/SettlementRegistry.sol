// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title SettlementRegistry
/// @notice Settlement mechanisms created by aggregators and listed per aggregator (Platone
///         FR_MP_SET_1 and FR_MP_SET_2), and a record of every settlement id, so that a
///         replayed settlement can never pay twice.
/// @dev `termsHash` is not checked against `terms`: the terms may be a document, a URI or a
///      short text, and the hash is of whatever canonical form the platform signs off-chain.
///      Mechanism ids are global and first come, first served, so creating one is gated:
///      were any address allowed to create mechanisms for itself, anyone could watch the
///      mempool and claim, for itself, the id meant for a real aggregator. Only aggregators
///      the market has enrolled (AGGREGATOR_ROLE, granted by the admin) own mechanisms.
contract SettlementRegistry is AccessControl {
    /// @notice An aggregator enrolled by the market: the only kind of account that owns
    ///         mechanisms, and that may create its own. Granted (and revoked) by the admin
    ///         (DEFAULT_ADMIN_ROLE) when the market enrols (or removes) the aggregator;
    ///         revoking it stops new mechanisms but leaves the existing ones in place.
    bytes32 public constant AGGREGATOR_ROLE = keccak256("AGGREGATOR_ROLE");
    /// @notice The market platform, creating mechanisms on behalf of enrolled aggregators.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice The settlement process, recording settled outcomes.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    /// @notice A settlement mechanism; `aggregator` is never zero for an existing one.
    struct Mechanism {
        address aggregator;
        bytes32 termsHash;
        uint64 createdAt;
        string terms;
    }

    struct Settlement {
        bytes32 mechanismId;
        bytes32 outcomeHash;
        bool recorded;
    }

    mapping(bytes32 mechanismId => Mechanism) private _mechanisms;
    mapping(address aggregator => bytes32[] mechanismIds) private _mechanismsOf;
    mapping(bytes32 settlementId => Settlement) private _settlements;

    /// @notice `aggregator` (or a registrar for it) created the mechanism `mechanismId`.
    event MechanismCreated(
        bytes32 indexed mechanismId, address indexed aggregator, bytes32 termsHash
    );
    /// @notice The settlement `settlementId` under `mechanismId` was recorded.
    event SettlementRecorded(
        bytes32 indexed settlementId, bytes32 indexed mechanismId, bytes32 outcomeHash
    );

    /// @notice Only the enrolled aggregator itself or a registrar may create its mechanisms.
    error NotAggregatorOrRegistrar(address caller, address aggregator);
    /// @notice `aggregator` does not hold AGGREGATOR_ROLE: mechanisms belong to enrolled
    ///         aggregators only, whoever creates them.
    error NotAnAggregator(address aggregator);
    /// @notice A mechanism with this id exists already.
    error MechanismExists(bytes32 mechanismId);
    /// @notice No mechanism with this id.
    error UnknownMechanism(bytes32 mechanismId);
    /// @notice The settlement id was recorded before: a replay, refused.
    error SettlementAlreadyRecorded(bytes32 settlementId);
    /// @notice The zero address is not an aggregator.
    error ZeroAddress();

    /// @param admin Account holding DEFAULT_ADMIN_ROLE, which grants the other roles.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice FR_MP_SET_1: create a settlement mechanism for `aggregator`, by the aggregator
    ///         itself or by a registrar acting for it.
    /// @dev The caller must be `aggregator` holding AGGREGATOR_ROLE, or hold REGISTRAR_ROLE
    ///      (else `NotAggregatorOrRegistrar`), so an unenrolled address cannot front-run an
    ///      aggregator's mechanism id by creating it for itself. `aggregator` must hold
    ///      AGGREGATOR_ROLE even when a registrar creates for it (else `NotAnAggregator`):
    ///      a mechanism always belongs to an enrolled aggregator.
    function createMechanism(
        address aggregator,
        bytes32 mechanismId,
        bytes32 termsHash,
        string calldata terms
    ) external {
        if (aggregator == address(0)) revert ZeroAddress();
        bool enrolled = hasRole(AGGREGATOR_ROLE, aggregator);
        if (!(msg.sender == aggregator && enrolled) && !hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert NotAggregatorOrRegistrar(msg.sender, aggregator);
        }
        if (!enrolled) revert NotAnAggregator(aggregator);
        Mechanism storage m = _mechanisms[mechanismId];
        if (m.aggregator != address(0)) revert MechanismExists(mechanismId);
        m.aggregator = aggregator;
        m.termsHash = termsHash;
        m.createdAt = uint64(block.timestamp);
        m.terms = terms;
        _mechanismsOf[aggregator].push(mechanismId);
        emit MechanismCreated(mechanismId, aggregator, termsHash);
    }

    /// @notice The mechanism `mechanismId`; reverts `UnknownMechanism` if there is none.
    function mechanism(bytes32 mechanismId) external view returns (Mechanism memory) {
        Mechanism storage m = _mechanisms[mechanismId];
        if (m.aggregator == address(0)) revert UnknownMechanism(mechanismId);
        return m;
    }

    /// @notice FR_MP_SET_2: the mechanism ids of `aggregator`, in creation order.
    function mechanismsOf(address aggregator) external view returns (bytes32[] memory) {
        return _mechanismsOf[aggregator];
    }

    /// @notice Record that `settlementId` was settled under `mechanismId` with the outcome
    ///         `outcomeHash`; each settlement id once only.
    function recordSettlement(bytes32 settlementId, bytes32 mechanismId, bytes32 outcomeHash)
        external
        onlyRole(SETTLER_ROLE)
    {
        Settlement storage s = _settlements[settlementId];
        if (s.recorded) revert SettlementAlreadyRecorded(settlementId);
        if (_mechanisms[mechanismId].aggregator == address(0)) {
            revert UnknownMechanism(mechanismId);
        }
        s.mechanismId = mechanismId;
        s.outcomeHash = outcomeHash;
        s.recorded = true;
        emit SettlementRecorded(settlementId, mechanismId, outcomeHash);
    }

    /// @notice Whether `settlementId` was recorded.
    function isSettled(bytes32 settlementId) external view returns (bool) {
        return _settlements[settlementId].recorded;
    }

    /// @notice Mechanism and outcome hash of `settlementId`; both zero if never recorded
    ///         (check `isSettled`).
    function settlementOf(bytes32 settlementId)
        external
        view
        returns (bytes32 mechanismId, bytes32 outcomeHash)
    {
        Settlement storage s = _settlements[settlementId];
        return (s.mechanismId, s.outcomeHash);
    }
}
