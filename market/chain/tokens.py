"""FlexToken on chain: fundings, settlement transfers and balances.

The transfers of a settlement run go in ``settleMany`` transactions; the contract refuses
a settlement id it has paid before (``SettlementAlreadyPaid``), which is what makes a
replayed settlement pay nobody twice, whatever the processor remembers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from contracts.deploy import contract
from contracts.errors import decode_revert
from ledger.canonical import keccak256
from ledger.chain import ChainError, open_chain
from ledger.settings import Settings
from market.domain.settlement import Transfer
from market.domain.wallets import wallet_address


class AlreadyPaid(ChainError):
    """A transfer of the batch was paid before (by an earlier run)."""


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block_number: int


def funding_key(funding_id: str) -> bytes:
    """The bytes32 the chain records a funding under."""
    return keccak256(b"flexmarket-funding\x1f" + funding_id.encode())


class TokenLedger:
    """The FlexToken of the configured chain, written by the market's operator account."""

    def __init__(self, w3: Web3, address: str, from_block: int = 0,
                 namespace: str = "") -> None:
        self.w3 = w3
        self.namespace = namespace  # of the wallets (see ``wallet_address``)
        self.token: Contract = contract(w3, "FlexToken", address)
        self.sender = w3.eth.accounts[0]
        self.from_block = from_block  # the deployment's block: no log of ours is older

    @classmethod
    def open(cls, settings: Settings) -> TokenLedger:
        """The token of the configured chain.

        Raises:
            ChainError: the chain does not answer or has no deployment.
        """
        w3, deployment = open_chain(settings)
        return cls(w3, deployment.addresses["FlexToken"], deployment.block_number,
                   settings.topic_prefix)

    def wallet(self, participant_id: str) -> str:
        """The address of ``participant_id``'s wallet in this deployment."""
        return wallet_address(participant_id, self.namespace)

    def balance(self, participant_id: str) -> int:
        """``participant_id``'s balance, cents."""
        return int(self.token.functions.balanceOf(self.wallet(participant_id)).call())

    def balances(self, participant_ids: Iterable[str]) -> dict[str, int]:
        return {p: self.balance(p) for p in sorted(set(participant_ids))}

    def total_supply(self) -> int:
        return int(self.token.functions.totalSupply().call())

    def total_funded(self) -> int:
        return int(self.token.functions.totalFunded().call())

    def is_paid(self, settlement_id: str) -> bool:
        return bool(self.token.functions.settled(bytes.fromhex(settlement_id[2:])).call())

    def fund(self, operator_id: str, amount_cents: int, funding_id: str) -> Receipt | None:
        """Mint ``amount_cents`` to the operator's wallet once per ``funding_id``; None
        when that funding was recorded before."""
        key = funding_key(funding_id)
        if self.token.functions.funded(key).call():
            return None
        tx = self.token.functions.fund(self.wallet(operator_id), amount_cents,
                                       key).transact({"from": self.sender})
        return self._receipt(tx, "funding")

    def settle(self, transfers: Sequence[Transfer]) -> Receipt:
        """Pay ``transfers`` in one transaction.

        Raises:
            AlreadyPaid: one of them was paid before; nothing of this batch was paid.
            ChainError: another revert (a balance that fell short).
        """
        payments = [(bytes.fromhex(t.settlement_id[2:]), self.wallet(t.payer_id),
                     self.wallet(t.payee_id), t.amount_cents) for t in transfers]
        try:
            tx = self.token.functions.settleMany(payments).transact({"from": self.sender})
        except ContractLogicError as exc:
            reason = decode_revert(exc)
            if reason.name == "SettlementAlreadyPaid":
                raise AlreadyPaid(str(reason)) from None
            raise ChainError(f"settlement reverted: {reason}") from None
        return self._receipt(tx, "settlement")

    def receipt_of(self, settlement_id: str) -> Receipt:
        """Where the chain paid ``settlement_id`` (its ``Settled`` log).

        Raises:
            ChainError: it was never paid.
        """
        logs = self.token.events.Settled().get_logs(
            from_block=self.from_block,
            argument_filters={"settlementId": bytes.fromhex(settlement_id[2:])})
        if not logs:
            raise ChainError(f"settlement {settlement_id} was never paid")
        return Receipt("0x" + bytes(logs[0]["transactionHash"]).hex(),
                       int(logs[0]["blockNumber"]))

    def block_time(self, block_number: int) -> datetime:
        """When block ``block_number`` was made (UTC): the time of the facts it holds."""
        return datetime.fromtimestamp(int(self.w3.eth.get_block(block_number)["timestamp"]), UTC)

    def _receipt(self, tx: bytes, what: str) -> Receipt:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=60)
        if receipt["status"] != 1:
            raise ChainError(f"{what} transaction {tx.hex()} reverted")
        return Receipt("0x" + bytes(receipt["transactionHash"]).hex(),
                       int(receipt["blockNumber"]))
