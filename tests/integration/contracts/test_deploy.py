"""deploy_contracts and contract(): what the platform relies on after a deployment; and the
revert decoding every caller of the contracts uses."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import ContractPanicError

from contracts.artifacts import load_artifact
from contracts.deploy import CONTRACT_NAMES, contract, deploy_contracts
from contracts.errors import (
    DecodedError,
    UnknownErrorSelectorError,
    decode_error_data,
    decode_revert,
)
from tests.integration.contracts.harness import Chain

pytestmark = pytest.mark.integration

ROLES = {
    "FlexToken": ["FUNDING_ROLE", "SETTLER_ROLE"],
    "EventAnchor": ["ANCHORER_ROLE"],
    "SettlementRegistry": ["REGISTRAR_ROLE", "SETTLER_ROLE"],
}


def test_deployment_has_checksum_addresses_code_and_chain_id(chain: Chain) -> None:
    deployment = chain.deployment
    assert deployment.chain_id == chain.w3.eth.chain_id
    assert sorted(deployment.addresses) == sorted(CONTRACT_NAMES)
    for name, address in deployment.addresses.items():
        assert Web3.is_checksum_address(address)
        # Exactly the committed runtime code is on chain (no immutables in these contracts).
        assert chain.w3.eth.get_code(address).to_0x_hex() == load_artifact(name).deployed_bytecode
    assert 0 < deployment.block_number <= chain.w3.eth.block_number
    if chain.name == "anvil":
        assert deployment.chain_id == 31337


def test_admin_holds_admin_and_every_operational_role(chain: Chain) -> None:
    for name, roles in ROLES.items():
        deployed = contract(chain.w3, name, chain.deployment.addresses[name])
        admin_role = deployed.functions.DEFAULT_ADMIN_ROLE().call()
        assert deployed.functions.hasRole(admin_role, chain.admin).call()
        for role in roles:
            role_id = Web3.keccak(text=role)
            assert getattr(deployed.functions, role)().call() == role_id
            assert deployed.functions.hasRole(role_id, chain.admin).call()
            assert not deployed.functions.hasRole(role_id, chain.others[0]).call()


def test_a_second_deployment_gets_new_addresses_and_a_later_block(chain: Chain) -> None:
    again = deploy_contracts(chain.w3, chain.others[0].lower())
    assert again.block_number > chain.deployment.block_number
    assert set(again.addresses.values()).isdisjoint(chain.deployment.addresses.values())
    token = contract(chain.w3, "FlexToken", again.addresses["FlexToken"])
    assert token.functions.hasRole(Web3.keccak(text="FUNDING_ROLE"), chain.others[0]).call()
    assert not token.functions.hasRole(Web3.keccak(text="FUNDING_ROLE"), chain.admin).call()


def test_decoding_rejects_an_unknown_selector() -> None:
    with pytest.raises(UnknownErrorSelectorError, match="0xdeadbeef"):
        decode_error_data("0xdeadbeef")


def test_decoding_a_panic() -> None:
    data = "0x4e487b71" + f"{0x11:064x}"
    assert decode_revert(ContractPanicError("overflow", data=data)) == DecodedError(
        "Panic", {"code": 0x11}
    )
