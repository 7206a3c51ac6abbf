"""py-solc-x 2.0.5 driving solc-js through deploy/solc/solc, as the contracts build does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import solcx
import solcx.wrapper
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption

from deploy.stack.node_tools import NODE_DIR, Solc, solc_binary, solc_version

pytestmark = pytest.mark.integration

TOKEN = """\
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract FlexToken is ERC20 {
    constructor() ERC20("Flex", "FLX") {
        _mint(msg.sender, 1000 ether);
    }
}
"""
ERC20_NAME = "@openzeppelin/contracts/token/ERC20/ERC20.sol"


def _input(sources: dict[str, str]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


@pytest.fixture(scope="module")
def shim() -> Path:
    return solc_binary()


def _pinned_solc() -> str:
    return json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["solc"]


def test_compiles_openzeppelin_erc20(shim: Path) -> None:
    out = solcx.compile_standard(_input({"FlexToken.sol": TOKEN}), solc_binary=shim)

    bytecode = out["contracts"]["FlexToken.sol"]["FlexToken"]["evm"]["bytecode"]["object"]
    assert len(bytecode) > 1000
    # Imports keep their npm-style source names (no node_modules/ remapping).
    assert ERC20_NAME in out["sources"]
    assert not [e for e in out.get("errors", []) if e["severity"] == "error"]


def test_version_is_parsed_by_solcx(shim: Path) -> None:
    assert solcx.wrapper.get_solc_version(shim) == Version(_pinned_solc())
    with_hash = solcx.wrapper.get_solc_version(shim, with_commit_hash=True)
    assert with_hash.local and with_hash.local.startswith("commit.")
    assert solc_version().startswith(_pinned_solc() + "+commit.")
    status = Solc().status()
    assert status.running and _pinned_solc() in status.detail


def test_syntax_error_comes_back_as_result_json(shim: Path) -> None:
    broken = _input({"Broken.sol": "pragma solidity ^0.8.24;\ncontract B { function f( }\n"})

    proc = subprocess.run(
        [shim, "--standard-json"], input=json.dumps(broken), capture_output=True,
        text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    errors = json.loads(proc.stdout)["errors"]
    assert [e["type"] for e in errors] == ["ParserError"]

    # py-solc-x parses that JSON and raises with the structured errors attached.
    with pytest.raises(SolcError) as caught:
        solcx.compile_standard(broken, solc_binary=shim)
    assert caught.value.error_dict and caught.value.error_dict[0]["type"] == "ParserError"


def test_base_path_resolves_local_imports(shim: Path, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Fee.sol").write_text(
        "// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.24;\n"
        "library Fee { function bps() internal pure returns (uint256) { return 25; } }\n"
    )
    main = (
        "// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.24;\n"
        'import {Fee} from "lib/Fee.sol";\n'
        "contract UsesFee { function fee() external pure returns (uint256) "
        "{ return Fee.bps(); } }\n"
    )
    out = solcx.compile_standard(
        _input({"UsesFee.sol": main}), base_path=tmp_path, allow_paths=tmp_path,
        solc_binary=shim,
    )
    assert "lib/Fee.sol" in out["sources"]
    assert out["contracts"]["UsesFee.sol"]["UsesFee"]["evm"]["bytecode"]["object"]


def test_unknown_flag_fails_like_solc(shim: Path, tmp_path: Path) -> None:
    proc = subprocess.run([shim, "--combined-json", "abi"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("unrecognised option '--combined-json'")
    with pytest.raises(UnknownOption):
        solcx.compile_standard(
            _input({"FlexToken.sol": TOKEN}), output_dir=str(tmp_path), solc_binary=shim
        )
