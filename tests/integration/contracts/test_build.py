"""The committed artifacts are what a fresh compile produces, and their ABIs are the contract.

No chain here: these compile with solc-js (through py-solc-x) and read the artifacts.
"""

from __future__ import annotations

import pytest
from eth_utils import abi_to_signature

from contracts.artifacts import ArtifactNotFoundError, load_artifact
from contracts.build import (
    CONTRACTS,
    SETTINGS,
    artifact_path,
    compile_contracts,
    report_diagnostics,
    serialize,
)
from deploy.stack.node_tools import solc_version

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict]:
    return compile_contracts()


def test_fresh_compile_reproduces_committed_artifacts_byte_for_byte(fresh: dict) -> None:
    assert sorted(fresh) == sorted(CONTRACTS)
    for name, artifact in fresh.items():
        committed = artifact_path(name).read_text(encoding="utf-8")
        assert serialize(artifact) == committed, (
            f"{artifact_path(name)} is stale: run `python -m contracts.build` and commit it"
        )


def test_artifacts_name_compiler_and_settings(fresh: dict) -> None:
    version = solc_version()
    for name in CONTRACTS:
        artifact = load_artifact(name)
        assert artifact.name == name
        assert artifact.source_name == f"contracts/src/{name}.sol"
        assert artifact.compiler == version
        assert artifact.settings == SETTINGS == {
            "evmVersion": "cancun", "optimizer": {"enabled": True, "runs": 200},
        }
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 1000
        # The runtime code is the tail end of the creation code's payload.
        assert artifact.deployed_bytecode[2:] in artifact.bytecode


def test_compiler_warnings_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    report_diagnostics({"errors": [
        {"severity": "warning", "formattedMessage": "Warning: Unused local variable.\n"},
        {"severity": "info", "message": "Some info"},
    ]})
    assert capsys.readouterr().err.splitlines() == [
        "solc warning: Warning: Unused local variable.", "solc info: Some info",
    ]


def test_missing_artifact_names_the_file() -> None:
    with pytest.raises(ArtifactNotFoundError, match=r"NoSuchContract\.json.*contracts\.build"):
        load_artifact("NoSuchContract")


def _signatures(name: str, kind: str) -> set[str]:
    return {abi_to_signature(e) for e in load_artifact(name).abi if e["type"] == kind}


BATCH = "(string,uint32,uint64,uint64,uint32,bytes32)"


def test_fr_mp_bc_1_event_anchor_abi_is_exactly_what_callers_use() -> None:
    functions = _signatures("EventAnchor", "function")
    assert {
        "anchor(string,uint32,uint64,uint64,uint32,bytes32)",
        f"anchorMany({BATCH}[])",
        "rootOf(string,uint32,uint64,uint64,uint32)",
        "nextOffset(string,uint32)",
        "lastAnchoredOffset(string,uint32)",
        "batchCount(string,uint32)",
        "streamId(string,uint32)",
        "ANCHORER_ROLE()",
    } <= functions
    assert _signatures("EventAnchor", "event") >= {
        "BatchAnchored(bytes32,string,uint32,uint64,uint64,uint32,bytes32)"
    }
    assert _signatures("EventAnchor", "error") >= {
        "RangeNotContiguous(string,uint32,uint64,uint64)",
        "InvalidRange(uint64,uint64,uint32)",
        "ZeroRoot()",
    }
    anchored = next(e for e in load_artifact("EventAnchor").abi
                    if e.get("name") == "BatchAnchored")
    assert [i["indexed"] for i in anchored["inputs"]] == [True] + [False] * 6
    last = next(e for e in load_artifact("EventAnchor").abi
                if e.get("name") == "lastAnchoredOffset")
    assert [(o["name"], o["type"]) for o in last["outputs"]] == [
        ("anchored", "bool"), ("offset", "uint64")
    ]


def test_flex_token_abi() -> None:
    assert _signatures("FlexToken", "function") >= {
        "fund(address,uint256,bytes32)", "totalFunded()", "funded(bytes32)", "FUNDING_ROLE()",
        "decimals()", "transfer(address,uint256)", "grantRole(bytes32,address)",
    }
    assert "Funded(address,uint256,bytes32)" in _signatures("FlexToken", "event")
    assert _signatures("FlexToken", "error") >= {
        "FundingAlreadyRecorded(bytes32)", "ZeroAmount()",
        "AccessControlUnauthorizedAccount(address,bytes32)",
    }
    # No mint or burn path besides fund.
    assert not {s for s in _signatures("FlexToken", "function")
                if s.startswith(("mint", "burn"))}


def test_fr_mp_set_1_settlement_registry_abi() -> None:
    assert _signatures("SettlementRegistry", "function") >= {
        "createMechanism(address,bytes32,bytes32,string)",
        "mechanism(bytes32)",
        "mechanismsOf(address)",
        "recordSettlement(bytes32,bytes32,bytes32)",
        "isSettled(bytes32)",
        "settlementOf(bytes32)",
        "REGISTRAR_ROLE()",
        "SETTLER_ROLE()",
    }
    assert _signatures("SettlementRegistry", "event") >= {
        "MechanismCreated(bytes32,address,bytes32)",
        "SettlementRecorded(bytes32,bytes32,bytes32)",
    }
    assert _signatures("SettlementRegistry", "error") >= {
        "NotAggregatorOrRegistrar(address,address)", "MechanismExists(bytes32)",
        "UnknownMechanism(bytes32)", "SettlementAlreadyRecorded(bytes32)", "ZeroAddress()",
    }
    mechanism = next(e for e in load_artifact("SettlementRegistry").abi
                     if e.get("name") == "mechanism")
    assert mechanism["outputs"][0]["components"] == [
        {"internalType": "address", "name": "aggregator", "type": "address"},
        {"internalType": "bytes32", "name": "termsHash", "type": "bytes32"},
        {"internalType": "uint64", "name": "createdAt", "type": "uint64"},
        {"internalType": "string", "name": "terms", "type": "string"},
    ]
