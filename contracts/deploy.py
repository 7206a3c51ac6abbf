"""Deploy the three contracts from their committed artifacts and give the operator its roles.

The platform deploys exactly the reviewed bytecode in ``contracts/artifacts`` (no compiler
at run time). On a laptop one unlocked account (eth-tester's or anvil's first) is both the
admin and the platform operator, so it receives every operational role; on a shared chain
the admin would grant them to separate accounts instead. Transactions go through
``eth_sendTransaction`` from that unlocked account: no private key is handled here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from contracts.artifacts import load_artifact

#: Deployment order; each takes the admin as its only constructor argument.
CONTRACT_NAMES = ("FlexToken", "EventAnchor", "SettlementRegistry")

#: The operational roles granted to the admin, per contract (the names of the role constants).
OPERATOR_ROLES: dict[str, tuple[str, ...]] = {
    "FlexToken": ("FUNDING_ROLE", "SETTLER_ROLE"),
    "EventAnchor": ("ANCHORER_ROLE",),
    "SettlementRegistry": ("REGISTRAR_ROLE", "SETTLER_ROLE"),
}


class DeploymentError(RuntimeError):
    """A deployment transaction failed or created no contract."""


@dataclass(frozen=True)
class Deployment:
    """Where the contracts live on one chain.

    ``block_number`` is the block of the last receipt of the deployment (the role grants
    included): from the next block on, the contracts are usable, and scanning their logs
    from ``block_number`` misses none of the market's events.
    """

    chain_id: int
    addresses: dict[str, str] = field(hash=False)
    block_number: int


def contract(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object of ``name`` (its committed ABI) at ``address``."""
    return w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(name).abi
    )


def _receipt(w3: Web3, tx_hash: HexBytes, what: str) -> Any:
    """Wait for the receipt of ``tx_hash`` and fail loudly on a revert."""
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise DeploymentError(
            f"{what} failed: transaction {tx_hash.to_0x_hex()} in block {receipt['blockNumber']}"
        )
    return receipt


def deploy_contracts(w3: Web3, admin: str) -> Deployment:
    """Deploy FlexToken, EventAnchor and SettlementRegistry with ``admin`` as their admin.

    ``admin`` gets DEFAULT_ADMIN_ROLE (constructor) and every operational role
    (FUNDING_ROLE and SETTLER_ROLE of FlexToken, ANCHORER_ROLE, REGISTRAR_ROLE and SETTLER_ROLE
    of SettlementRegistry), since on a laptop the
    platform operator's single unlocked account does all of it. Waits for each receipt,
    so the returned deployment is usable at once.
    """
    admin = Web3.to_checksum_address(admin)
    tx = {"from": admin}
    addresses: dict[str, str] = {}
    last_block = 0
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = _receipt(w3, factory.constructor(admin).transact(tx), f"deploying {name}")
        if not receipt["contractAddress"]:
            raise DeploymentError(f"deploying {name} created no contract")
        addresses[name] = Web3.to_checksum_address(receipt["contractAddress"])
        last_block = receipt["blockNumber"]

    for name, roles in OPERATOR_ROLES.items():
        deployed = contract(w3, name, addresses[name])
        for role in roles:
            role_id = getattr(deployed.functions, role)().call()
            receipt = _receipt(
                w3, deployed.functions.grantRole(role_id, admin).transact(tx),
                f"granting {role} on {name}",
            )
            last_block = receipt["blockNumber"]

    return Deployment(chain_id=w3.eth.chain_id, addresses=addresses, block_number=last_block)
