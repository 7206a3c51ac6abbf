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
///      can never mint twice. Settlement transfers are made by the market platform
///      (SETTLER_ROLE) between participants' wallets, as in Platone, where the market
///      assigns the tokens and updates the customers' wallets itself (FR_MP_SET_5); each
///      carries a settlement id that can be used once only, so a replayed settlement can
///      never pay twice.
contract FlexToken is ERC20, AccessControl {
    /// @notice Role allowed to record fundings (the market platform on behalf of operators).
    bytes32 public constant FUNDING_ROLE = keccak256("FUNDING_ROLE");
    /// @notice Role allowed to move tokens between wallets for settlements.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    /// @notice One settlement transfer: `amountCents` from `payer` to `payee`.
    struct Payment {
        bytes32 settlementId;
        address payer;
        address payee;
        uint256 amountCents;
    }

    /// @notice Sum of all recorded fundings, in cents; always equal to `totalSupply()`.
    uint256 public totalFunded;

    /// @notice Whether a funding id was already recorded.
    mapping(bytes32 fundingId => bool) public funded;

    /// @notice Whether a settlement id was already paid.
    mapping(bytes32 settlementId => bool) public settled;

    /// @notice `amountCents` were minted to `operator` for the funding `fundingId`.
    event Funded(address indexed operator, uint256 amountCents, bytes32 indexed fundingId);

    /// @notice `amountCents` moved from `payer` to `payee` for the settlement `settlementId`.
    event Settled(
        bytes32 indexed settlementId, address indexed payer, address indexed payee,
        uint256 amountCents
    );

    /// @notice The funding id was recorded before: a replay, refused.
    error FundingAlreadyRecorded(bytes32 fundingId);
    /// @notice The settlement id was paid before: a replay, refused.
    error SettlementAlreadyPaid(bytes32 settlementId);
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

    /// @notice Pay each of `payments`, in order, each settlement id once only; the whole
    ///         call reverts if any id was paid before or any payer's balance falls short.
    function settleMany(Payment[] calldata payments) external onlyRole(SETTLER_ROLE) {
        for (uint256 i = 0; i < payments.length; i++) {
            Payment calldata p = payments[i];
            if (p.amountCents == 0) revert ZeroAmount();
            if (settled[p.settlementId]) revert SettlementAlreadyPaid(p.settlementId);
            settled[p.settlementId] = true;
            _transfer(p.payer, p.payee, p.amountCents);
            emit Settled(p.settlementId, p.payer, p.payee, p.amountCents);
        }
    }
}
