"""Events of the access layer: certified meter readings (Platone A.4, flow 1: the light
node's signed packet, checked by the blockchain access layer)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field, field_validator

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic

Identifier = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
Hex = r"^0x[0-9a-f]+$"


def quarter_hour_in_utc(value: datetime) -> datetime:
    """``value`` if it is a quarter-hour in UTC.

    Stored times are UTC (MARKET_RULES.md "Time"); another offset would be one more
    spelling of the same instant, and SQLite would drop it.

    Raises:
        ValueError: another offset, or not on a quarter-hour.
    """
    if value.utcoffset() != timedelta(0):
        raise ValueError("a reading's start is in UTC")
    if value.minute % 15 or value.second or value.microsecond:
        raise ValueError("a reading starts on a quarter-hour")
    return value


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
        return quarter_hour_in_utc(value)


Address = Field(min_length=42, max_length=42, pattern=r"^0x[0-9a-f]{40}$")
RejectionCode = Literal[
    "MALFORMED_PACKET",  # not a packet of the light-node format (fields, types, times)
    "HASH_MISMATCH",  # the packet's hash is not the hash of its data
    "BAD_SIGNATURE",  # the signature does not recover to the address the packet names
    "NODE_NOT_ENROLLED",  # no light node is enrolled for the PoD
    "NOT_THE_ENROLLED_NODE",  # validly signed, but by another node than the PoD's
    "ALREADY_CERTIFIED",  # the PoD's quarter-hour was certified before: a replay
]


@event_type("LightNodeEnrolled", topic=Topic.REGISTRY, key="pod_id")
class LightNodeEnrolled(EventPayload):
    """The light node whose key signs a PoD's readings from now on (Platone A.4 "Identity
    Layer"): its Ethereum-style address, lower-case hex. Enrolling another node for the
    PoD replaces the previous one."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    node_address: str = Address


@event_type("MeterReadingRejected", topic=Topic.READINGS, key="pod_id")
class MeterReadingRejected(EventPayload):
    """A light-node packet the blockchain access layer refused, with the reason; never
    dropped silently (MARKET_RULES.md "Activation and metering"). What the packet claimed
    is kept as far as it could be read; ``source`` is where it arrived
    (``<topic>/<partition>/<offset>``)."""

    pod_id: str = Identifier
    code: RejectionCode
    reason: str = Field(min_length=1, max_length=500)
    source: str = Field(min_length=1, max_length=300)
    interval_start: datetime | None = None
    node_address: str | None = Field(None, max_length=42)
    packet_hash: str | None = Field(None, max_length=66)


@event_type("MeterReadingMissing", topic=Topic.READINGS, key="pod_id")
class MeterReadingMissing(EventPayload):
    """No certified reading of an enrolled PoD arrived for a quarter-hour in time: the
    shared customer database publishes the gap as missing, never as zero (FR_SCD_PD_3)."""

    pod_id: str = Identifier
    interval_start: datetime
    node_address: str = Address

    @field_validator("interval_start")
    @classmethod
    def _on_a_quarter_hour_in_utc(cls, value: datetime) -> datetime:
        return quarter_hour_in_utc(value)


@event_type("SetpointAcknowledged", topic=Topic.SETPOINTS, key="pod_id")
class SetpointAcknowledged(EventPayload):
    """A light node's signed acknowledgement of a relayed setpoint, with Platone's three
    times (Table 19 ``Status``): sent by the DSO, received by the light node, received by
    the customer's device; non-decreasing."""

    activation_id: str = Identifier
    pod_id: str = Identifier
    node_address: str = Address
    sent_by_dso_at: datetime
    received_by_node_at: datetime
    received_by_device_at: datetime
    packet_hash: str = Field(min_length=66, max_length=66, pattern=Hex)
    signature: str = Field(min_length=132, max_length=132, pattern=Hex)


@event_type("MeteringDayClosed", topic=Topic.READINGS, key="delivery_day")
class MeteringDayClosed(EventPayload):
    """The shared customer database's daily bundle for settlement (FR_SCD_PDA_1/2, flow
    8): the delivery day's metering is complete, every expected quarter-hour of every
    enrolled PoD either certified or published as missing."""

    delivery_day: date
    pods: int = Field(ge=0)
    certified: int = Field(ge=0)
    missing: int = Field(ge=0)
    rejected: int = Field(ge=0)
