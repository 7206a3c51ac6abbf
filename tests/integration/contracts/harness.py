"""The objects the contract tests work with: a chain backend, and a ``Chain`` with the
deployed contracts and the helpers every test uses (fixtures are in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent, ContractFunction
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from contracts.deploy import Deployment
from contracts.errors import DecodedError, decode_revert

ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class Backend:
    """A chain and how to snapshot it and go back to a snapshot."""

    name: str
    w3: Web3
    snapshot: Callable[[], Any]
    revert: Callable[[Any], None]


@dataclass
class Chain:
    """What a contract test needs: a chain, its accounts and the deployed contracts."""

    backend: Backend
    w3: Web3
    admin: str
    others: list[str]
    deployment: Deployment
    token: Contract
    anchor: Contract
    registry: Contract
    gas_rows: list[tuple[str, str, int]] = field(repr=False)

    @property
    def name(self) -> str:
        """The backend's name: ``eth-tester`` or ``anvil``."""
        return self.backend.name

    def transact(self, fn: ContractFunction, sender: str | None = None) -> TxReceipt:
        """Send ``fn`` from ``sender`` (default: admin), wait, and require success."""
        tx_hash = fn.transact({"from": sender or self.admin})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"{fn.fn_name} reverted: {receipt}"
        return receipt

    def revert_of(self, fn: ContractFunction, sender: str | None = None) -> DecodedError:
        """Send ``fn`` expecting a revert; the custom error it reverted with, decoded.

        The transaction is refused at gas estimation, exactly as a client sees it; the same
        call through ``eth_call`` must give the same error.
        """
        with pytest.raises(ContractLogicError) as caught:
            fn.transact({"from": sender or self.admin})
        error = decode_revert(caught.value)
        with pytest.raises(ContractLogicError) as called:
            fn.call({"from": sender or self.admin})
        assert decode_revert(called.value) == error
        return error

    def call_error(self, fn: ContractFunction) -> DecodedError:
        """Call the view ``fn`` expecting a revert; the custom error, decoded."""
        with pytest.raises(ContractLogicError) as caught:
            fn.call({"from": self.admin})
        return decode_revert(caught.value)

    def gas(self, label: str, receipt: TxReceipt) -> int:
        """Record the gas used by ``receipt`` under ``label`` (printed at the end)."""
        used = int(receipt["gasUsed"])
        self.gas_rows.append((self.name, label, used))
        print(f"gas [{self.name}] {label}: {used}")
        return used


def events(event: ContractEvent, receipt: TxReceipt) -> list[EventData]:
    """The logs of ``event`` in ``receipt`` (other events' logs skipped silently)."""
    return list(event.process_receipt(receipt, errors=DISCARD))


def args(log: EventData) -> dict[str, Any]:
    """A log's arguments as a plain dict."""
    return dict(log["args"])
