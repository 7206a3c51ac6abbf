"""Compile ``contracts/src/*.sol`` with solc-js through py-solc-x and write the artifacts.

One standard-JSON call compiles every source, so the three contracts share one compiler run
and one set of OpenZeppelin sources. Sources are passed as content under the stable names
``contracts/src/<File>.sol`` (never absolute paths), and imports resolve under
``deploy/node/node_modules`` only, so the bytecode, whose metadata hash covers source names
and contents, is the same in every checkout. ``tests/integration/contracts`` checks that a
fresh compile reproduces the committed artifacts byte for byte.

    python -m contracts.build      # rewrite contracts/artifacts/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import solcx

from deploy.stack.node_tools import NODE_MODULES, solc_binary, solc_version

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = PACKAGE_DIR / "src"
ARTIFACT_DIR = PACKAGE_DIR / "artifacts"
SOURCE_PREFIX = "contracts/src/"

#: The deployable contracts, one artifact each (their sources may define helpers too).
CONTRACTS = ("FlexToken", "EventAnchor", "SettlementRegistry")

#: Cancun: OpenZeppelin 5 uses its opcodes (mcopy, transient storage), anvil and py-evm
#: (prague by default) both run it.
SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 200},
}


class BuildError(RuntimeError):
    """The compiler output lacks a contract we deploy, or disagrees with itself."""


def sources() -> dict[str, str]:
    """Every ``contracts/src/*.sol``, by its stable source name, sorted."""
    return {
        SOURCE_PREFIX + path.name: path.read_text(encoding="utf-8")
        for path in sorted(SOURCE_DIR.glob("*.sol"))
    }


def standard_input() -> dict[str, Any]:
    """The standard-JSON input of the build (sources as content, fixed settings)."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources().items()},
        "settings": {
            **SETTINGS,
            "metadata": {"bytecodeHash": "ipfs"},
            "outputSelection": {
                "*": {
                    "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]
                }
            },
        },
    }


def report_diagnostics(output: dict[str, Any]) -> None:
    """Print warnings and infos to stderr: they must stay visible (errors already raised)."""
    for diagnostic in output.get("errors", []):
        if diagnostic.get("severity") != "error":
            message = diagnostic.get("formattedMessage") or diagnostic.get("message", "")
            print(f"solc {diagnostic['severity']}: {message.rstrip()}", file=sys.stderr)


def compile_contracts() -> dict[str, dict[str, Any]]:
    """Compile all sources once; return each deployable contract's artifact, by name.

    Raises ``solcx.exceptions.SolcError`` on a compile error, ``BuildError`` if a contract
    is missing from the output. Writes nothing.
    """
    binary = solc_binary()
    version = solc_version()
    # base_path: imports ("@openzeppelin/...") resolve under node_modules whatever the cwd.
    output = solcx.compile_standard(standard_input(), solc_binary=binary, base_path=NODE_MODULES)
    report_diagnostics(output)

    artifacts: dict[str, dict[str, Any]] = {}
    for name in CONTRACTS:
        source_name = f"{SOURCE_PREFIX}{name}.sol"
        try:
            compiled = output["contracts"][source_name][name]
        except KeyError as exc:
            raise BuildError(f"{name} not in the compiler output for {source_name}") from exc
        built_with = json.loads(compiled["metadata"])["compiler"]["version"]
        if built_with != version:
            raise BuildError(f"solc --version says {version}, {name}'s metadata {built_with}")
        artifacts[name] = {
            "contractName": name,
            "sourceName": source_name,
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            "compiler": version,
            "settings": SETTINGS,
        }
    return artifacts


def serialize(artifact: dict[str, Any]) -> str:
    """The committed form of an artifact: sorted keys, indent 2, trailing newline."""
    return json.dumps(artifact, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def artifact_path(name: str) -> Path:
    """Where the committed artifact of contract ``name`` lives."""
    return ARTIFACT_DIR / f"{name}.json"


def write_artifacts() -> list[Path]:
    """Compile and (re)write ``contracts/artifacts/<Contract>.json``; return the paths."""
    ARTIFACT_DIR.mkdir(exist_ok=True)
    written = []
    for name, artifact in compile_contracts().items():
        path = artifact_path(name)
        path.write_text(serialize(artifact), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    """Entry point of ``python -m contracts.build``: one line per artifact written."""
    for path in write_artifacts():
        artifact = json.loads(path.read_text(encoding="utf-8"))
        size = (len(artifact["deployedBytecode"]) - 2) // 2
        print(f"{path.relative_to(PACKAGE_DIR.parent)}  {artifact['compiler']}  "
              f"{size} bytes deployed")


if __name__ == "__main__":
    main()
