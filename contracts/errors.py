"""Decode the custom errors our contracts revert with, by name and arguments.

web3 raises ``ContractCustomError`` carrying only the raw revert data (4-byte selector and
ABI-encoded arguments). Callers need the name and arguments (the anchor processor logs a
refused batch as ``RangeNotContiguous(expectedFirst=…)``, tests assert them), so this maps selectors
back to the error definitions of the contracts' ABIs, inherited OpenZeppelin errors included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_utils import (
    abi_to_signature,
    function_signature_to_4byte_selector,
    to_bytes,
    to_checksum_address,
)
from eth_utils.abi import collapse_if_tuple
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from contracts.artifacts import available, load_artifact


@dataclass(frozen=True)
class DecodedError:
    """A revert reason: a custom error's name and its arguments by parameter name."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        inner = ", ".join(f"{key}={value!r}" for key, value in self.args.items())
        return f"{self.name}({inner})"


class UnknownErrorSelectorError(LookupError):
    """Revert data whose selector matches no error of the ABIs given."""


def error_selectors(abis: Iterable[Iterable[Mapping[str, Any]]]) -> dict[bytes, Mapping[str, Any]]:
    """Selector -> error ABI entry, over every ``"type": "error"`` entry of ``abis``."""
    selectors: dict[bytes, Mapping[str, Any]] = {}
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "error":
                signature = abi_to_signature(entry)  # type: ignore[arg-type]
                selectors[function_signature_to_4byte_selector(signature)] = entry
    return selectors


def _default_abis() -> list[list[dict[str, Any]]]:
    return [load_artifact(name).abi for name in available()]


def decode_error_data(
    data: str | bytes, abis: Iterable[Iterable[Mapping[str, Any]]] | None = None
) -> DecodedError:
    """Decode raw revert data (``0x`` + selector + arguments) against ``abis``.

    ``abis`` defaults to those of every committed artifact. Raises
    ``UnknownErrorSelectorError`` if no error there has the data's selector.
    """
    raw = to_bytes(hexstr=data) if isinstance(data, str) else bytes(data)
    entry = error_selectors(_default_abis() if abis is None else abis).get(raw[:4])
    if entry is None:
        raise UnknownErrorSelectorError(f"no error with selector 0x{raw[:4].hex()}")
    inputs = entry.get("inputs", [])
    values = decode([collapse_if_tuple(dict(i)) for i in inputs], raw[4:])
    args = {
        i["name"]: to_checksum_address(v) if i["type"] == "address" else v
        for i, v in zip(inputs, values, strict=True)
    }
    return DecodedError(entry["name"], args)


def decode_revert(
    exc: ContractLogicError, abis: Iterable[Iterable[Mapping[str, Any]]] | None = None
) -> DecodedError:
    """The reason of a revert raised by web3: a custom error, ``Panic`` or ``Error``.

    A panic becomes ``Panic(code=...)`` and a ``require`` message ``Error(message=...)``,
    so callers handle all three the same way.
    """
    data = exc.data if isinstance(exc.data, str) else None
    if isinstance(exc, ContractCustomError) and data:
        return decode_error_data(data, abis)
    if isinstance(exc, ContractPanicError) and data:
        return DecodedError("Panic", {"code": int(data[-64:], 16)})
    return DecodedError("Error", {"message": exc.message})
