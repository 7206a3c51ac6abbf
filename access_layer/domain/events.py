"""Events of the access layer: certified meter readings (Platone A.4, flow 1: the light
node's signed packet, checked by the blockchain access layer)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, field_validator

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic

Identifier = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
Hex = r"^0x[0-9a-f]+$"


@event_type("MeterReadingCertified", topic=Topic.READINGS, key="pod_id")
class MeterReadingCertified(EventPayload):
    """A PoD's 15-minute reading whose signature matched the light node enrolled for it
    (MARKET_RULES.md "Activation and metering": P, Q and energy, the packet's hash, its
    ECDSA secp256k1 signature and the node's address). Withdrawal is positive."""

    pod_id: str = Identifier
    interval_start: datetime
    p_kw: float = Field(ge=-1e6, le=1e6)
    q_kvar: float = Field(ge=-1e6, le=1e6)
    energy_kwh: float = Field(ge=-1e6, le=1e6)
    node_address: str = Field(min_length=42, max_length=42, pattern=Hex)
    packet_hash: str = Field(min_length=66, max_length=66, pattern=Hex)
    signature: str = Field(min_length=132, max_length=132, pattern=Hex)

    @field_validator("interval_start")
    @classmethod
    def _on_a_quarter_hour_in_utc(cls, value: datetime) -> datetime:
        # Stored times are UTC (MARKET_RULES.md "Time"); another offset would be one more
        # spelling of the same instant, and SQLite would drop it.
        if value.utcoffset() != timedelta(0):
            raise ValueError("a reading's start is in UTC")
        if value.minute % 15 or value.second or value.microsecond:
            raise ValueError("a reading starts on a quarter-hour")
        return value
