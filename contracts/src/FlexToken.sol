// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FlexToken
/// @notice The settlement token of the flexibility market: 1 FLEX unit is 1 euro cent
///         (2 decimals). Tokens come into existence only when a system operator funds its
///         account (`fund`); settlement only transfers them. There is no other mint path and
///         no burn, so `totalSupply() == totalFunded` holds at all times.
/// @dev Each funding carries an off-chain id (e.g. the hash of the bank transfer or of the
///      funding event on Kafka) that can be recorded once only, so replaying a funding event
///      can never mint twice.
contract FlexToken is ERC20, AccessControl {
    /// @notice Role allowed to record fundings (the market platform on behalf of operators).
    bytes32 public constant FUNDING_ROLE = keccak256("FUNDING_ROLE");

    /// @notice Sum of all recorded fundings, in cents; always equal to `totalSupply()`.
    uint256 public totalFunded;

    /// @notice Whether a funding id was already recorded.
    mapping(bytes32 fundingId => bool) public funded;

    /// @notice `amountCents` were minted to `operator` for the funding `fundingId`.
    event Funded(address indexed operator, uint256 amountCents, bytes32 indexed fundingId);

    /// @notice The funding id was recorded before: a replay, refused.
    error FundingAlreadyRecorded(bytes32 fundingId);
    /// @notice A funding of zero cents, refused (it would only burn a funding id).
    error ZeroAmount();

    /// @param admin Account holding DEFAULT_ADMIN_ROLE, which grants FUNDING_ROLE.
    constructor(address admin) ERC20("Flexmarket Token", "FLEX") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Two decimals: one token unit is one euro cent.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @notice Mint `amountCents` to `operator` for the funding `fundingId`, once per id.
    function fund(address operator, uint256 amountCents, bytes32 fundingId)
        external
        onlyRole(FUNDING_ROLE)
    {
        if (amountCents == 0) revert ZeroAmount();
        if (funded[fundingId]) revert FundingAlreadyRecorded(fundingId);
        funded[fundingId] = true;
        totalFunded += amountCents;
        _mint(operator, amountCents);
        emit Funded(operator, amountCents, fundingId);
    }
}
