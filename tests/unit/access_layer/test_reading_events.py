"""A certified reading's event (MARKET_RULES.md "Activation and metering"): a quarter-hour
in UTC, hex signature fields of their lengths; anything else is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from access_layer.domain.events import MeterReadingCertified

START = datetime(2026, 6, 10, 16, 45, tzinfo=UTC)


def reading(**overrides: Any) -> MeterReadingCertified:
    fields: dict[str, Any] = {
        "pod_id": "POD-1", "interval_start": START, "p_kw": 2.0, "q_kvar": 0.2,
        "energy_kwh": 0.5, "node_address": "0x" + "ab" * 20, "packet_hash": "0x" + "cd" * 32,
        "signature": "0x" + "ef" * 65}
    return MeterReadingCertified(**{**fields, **overrides})


def test_a_reading_on_a_quarter_hour_in_utc_is_accepted() -> None:
    assert reading().interval_start == START


@pytest.mark.parametrize(("overrides", "field"), [
    ({"interval_start": START.astimezone(timezone(timedelta(hours=2)))}, "interval_start"),
    ({"interval_start": START + timedelta(minutes=5)}, "interval_start"),
    ({"interval_start": START.replace(tzinfo=None)}, "interval_start"),
    ({"node_address": "0x" + "AB" * 20}, "node_address"),
    ({"signature": "0x" + "ef" * 64}, "signature"),
    ({"p_kw": float("nan")}, "p_kw"),
])
def test_a_malformed_reading_is_refused_naming_the_field(overrides: dict[str, Any],
                                                         field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        reading(**overrides)
    assert caught.value.errors()[0]["loc"] == (field,)
