"""The committed build artifacts (``<Contract>.json``, written by ``python -m contracts.build``).

This folder is a package so the JSON files ship as package data next to this module (the
project's package-data rule takes ``*.json`` of every package): the platform deploys the
reviewed, committed bytecode and never needs the compiler, Node.js or OpenZeppelin sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACT_DIR = Path(__file__).resolve().parent


class ArtifactNotFoundError(FileNotFoundError):
    """No committed artifact for a contract name."""


@dataclass(frozen=True)
class Artifact:
    """A compiled contract as committed: what deploying and calling it need."""

    name: str
    source_name: str
    abi: list[dict[str, Any]] = field(hash=False)
    bytecode: str
    deployed_bytecode: str
    compiler: str
    settings: dict[str, Any] = field(hash=False)


def artifact_file(name: str) -> Path:
    """The JSON file of contract ``name`` (which may not exist)."""
    return ARTIFACT_DIR / f"{name}.json"


def available() -> list[str]:
    """Names of the contracts with a committed artifact, sorted."""
    return sorted(path.stem for path in ARTIFACT_DIR.glob("*.json"))


def load_artifact(name: str) -> Artifact:
    """Read the committed artifact of contract ``name`` (e.g. ``"EventAnchor"``).

    Raises ``ArtifactNotFoundError`` naming the file when there is none: run
    ``python -m contracts.build`` after adding a contract.
    """
    path = artifact_file(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactNotFoundError(
            f"no artifact for contract {name!r}: {path} is missing (available: "
            f"{', '.join(available()) or 'none'}); run `python -m contracts.build`"
        ) from None
    return Artifact(
        name=data["contractName"],
        source_name=data["sourceName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler=data["compiler"],
        settings=data["settings"],
    )
