"""Canonical JSON (RFC 8785, JCS) and keccak-256: the bytes every event hash is taken over.

The hash must be reproducible by an auditor in any language, so the encoding is the
published standard rather than ``json.dumps`` with options: RFC 8785 fixes key order
(UTF-16 code units), number formatting (ECMAScript shortest round-trip) and escaping.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785
from eth_hash.auto import keccak as _keccak

_MAX_SAFE_INT = 2**53 - 1


class _NeedsReference(Exception):
    """The value has a feature where json.dumps and RFC 8785 may disagree."""


def _plain(value: Any) -> Any:
    """``value`` with integral floats as ints, if ``json.dumps`` then writes it as JCS would.

    Where they agree: keys without characters beyond the BMP (code-point order is then
    UTF-16 order); integers within ±(2**53 − 1); floats that are integral and safe, or
    whose magnitude is in [1e-4, 1e16), where Python's repr and ECMAScript both print the
    shortest round-trip digits without an exponent. Strings escape identically.
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise _NeedsReference
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NeedsReference
        if value.is_integer():
            if abs(value) <= _MAX_SAFE_INT:
                return int(value)
            raise _NeedsReference
        if 1e-4 <= abs(value) < 1e16:
            return value
        raise _NeedsReference
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or (not key.isascii() and max(key) > "\uffff"):
                raise _NeedsReference
            out[key] = _plain(item)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise _NeedsReference


def canonical_json(value: Any) -> bytes:
    """Encode a JSON value canonically (RFC 8785).

    Common values take a fast path through the C ``json`` encoder; anything else goes
    through the reference implementation (``rfc8785``). Both give identical bytes.

    Args:
        value: JSON data: dict, list, str, int, float (finite), bool or None.

    Returns:
        The UTF-8 bytes of the canonical form.

    Raises:
        ValueError: for non-finite floats, integers beyond IEEE-754 double precision,
            or values that are not JSON.
    """
    try:
        return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    except (_NeedsReference, UnicodeEncodeError):
        pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonical JSON: {exc}") from None


def canonical_json_reference(value: Any) -> bytes:
    """RFC 8785 through the reference implementation only (for tests and auditors)."""
    return rfc8785.dumps(value)


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (not NIST SHA3-256): 32 bytes."""
    return _keccak(data)


def keccak_hex(data: bytes) -> str:
    """Keccak-256 as a 0x-prefixed lowercase hex string."""
    return "0x" + keccak256(data).hex()
