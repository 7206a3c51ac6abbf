"""Canonical JSON is RFC 8785 (JCS) and keccak-256 is Ethereum's: checked on published vectors."""

from __future__ import annotations

import math
import re
import struct

import pytest

from ledger.canonical import canonical_json, keccak256, keccak_hex

# RFC 8785 §3.2.2 / §3.2.3: the example input (the string written with the RFC's escapes).
RFC_EXAMPLE = {
    "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
    "literals": [None, True, False],
}
RFC_EXAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)


def _double(ieee_hex: str) -> float:
    """The IEEE-754 double with these 64 bits (big-endian hex)."""
    return struct.unpack(">d", bytes.fromhex(ieee_hex))[0]


def test_rfc8785_example_object_encodes_to_the_published_bytes() -> None:
    assert canonical_json(RFC_EXAMPLE) == RFC_EXAMPLE_OUTPUT.encode("utf-8")


def test_rfc8785_example_output_is_utf8_with_the_euro_sign_unescaped() -> None:
    # §3.2.4: the first bytes of the UTF-8 output; "€" is e2 82 ac, U+000F is \u000f.
    encoded = canonical_json(RFC_EXAMPLE)
    assert b'"string":"\xe2\x82\xac$\\u000f\\n' in encoded


@pytest.mark.parametrize(("ieee_hex", "expected"), [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_rfc8785_appendix_b_number_serialisation(ieee_hex: str, expected: str) -> None:
    assert canonical_json(_double(ieee_hex)) == expected.encode("ascii")


def test_rfc8785_sorts_keys_by_utf16_code_units_not_code_points() -> None:
    # §3.2.3: U+1F600 is the surrogate pair d83d de00, so it sorts before U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = ('{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
                '"ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",'
                '"\U0001f600":"Emoji: Grinning Face",'
                '"\ufb33":"Hebrew Letter Dalet With Dagesh"}')
    assert canonical_json(value) == expected.encode("utf-8")


def test_nested_objects_are_sorted_and_arrays_keep_their_order() -> None:
    value = {"b": [3, {"z": 1, "a": 2}, 1], "a": {"y": None, "x": "é"}}
    assert canonical_json(value) == '{"a":{"x":"é","y":null},"b":[3,{"a":2,"z":1},1]}'.encode()


def test_canonical_json_has_no_whitespace_between_tokens() -> None:
    assert canonical_json({"a": [1, 2], "b": {"c": True}}) == b'{"a":[1,2],"b":{"c":true}}'


def test_integer_and_integral_float_encode_the_same() -> None:
    assert canonical_json({"p_kw": 250}) == canonical_json({"p_kw": 250.0}) == b'{"p_kw":250}'


@pytest.mark.parametrize(("value", "expected"), [
    (-0.0, "0"),
    (1e15, "1000000000000000"),
    (2.0**53 - 1, "9007199254740991"),
    (2.0**53 + 2, "9007199254740994"),
    (9999999999999998.0, "9999999999999998"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (0.0001, "0.0001"),
    (0.00001, "0.00001"),
    (1e-7, "1e-7"),
    (0.1 + 0.2, "0.30000000000000004"),
])
def test_floats_print_as_ecmascript_number_to_string(value: float, expected: str) -> None:
    # ECMAScript prints integral values below 1e21 without a fraction or exponent, and
    # switches to exponent form below 1e-6 (Python's repr switches at 1e16 and 1e-4).
    assert canonical_json([value]) == f"[{expected}]".encode("ascii")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_float_raises_value_error(value: float) -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical_json({"payload": {"p_kw": value}})


def test_integer_beyond_ieee754_safe_range_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical_json(2**53)


def test_value_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical_json({"when": object()})


def test_keccak256_of_empty_input_is_the_ethereum_empty_hash() -> None:
    # Ethereum's keccak-256(""), not NIST SHA3-256("") (a7ffc6f8bf1ed766...).
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def test_keccak256_of_abc() -> None:
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")


def test_keccak256_returns_32_bytes() -> None:
    assert len(keccak256(b"flexmarket")) == 32


def test_keccak_hex_is_0x_and_64_lowercase_hex_digits() -> None:
    digest = keccak_hex(b"abc")
    assert digest == "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert re.fullmatch(r"0x[0-9a-f]{64}", keccak_hex(b"\xff" * 100))
