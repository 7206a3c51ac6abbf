"""Edge models of the shared customer database's routes; value types are the events'."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.domain.events import (
    BaselineSlot,
    FlexibilityType,
    GridLocation,
    Identifier,
    MaxFlexibility,
)
from ledger.http import StoredTime


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PodCreate(_Input):
    """An aggregator registers a customer's PoD (FR_SCD_CA_1, flow 0)."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    customer_id: str = Identifier
    location: GridLocation
    max_flexibility: MaxFlexibility
    flexibility_type: FlexibilityType = "continuous"
    settlement_mechanism_id: str | None = Field(None, min_length=1, max_length=100,
                                                pattern=r"^[A-Za-z0-9._:-]+$")


class PodChange(_Input):
    """New flexibility limits or type of a registered PoD."""

    aggregator_id: str = Identifier
    max_flexibility: MaxFlexibility
    flexibility_type: FlexibilityType


class PodUnregistration(_Input):
    aggregator_id: str = Identifier
    reason: str = Field(min_length=1, max_length=500)


class LightNodeEnrolment(_Input):
    """The light node installed at the PoD: its Ethereum-style address (either case)."""

    aggregator_id: str = Identifier
    node_address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")


class BaselineUpload(_Input):
    """A PoD's baseline for one delivery day: every MTU of the day, in order."""

    aggregator_id: str = Identifier
    slots: list[BaselineSlot] = Field(min_length=92, max_length=100)


class BaselineComputation(_Input):
    """Compute the baseline from the PoD's certified readings instead of uploading it."""

    aggregator_id: str = Identifier
    method: Literal["high_x_of_y", "typical_profile"]
    x: int = Field(5, ge=1, le=60)
    y: int = Field(10, ge=1, le=90)


class BaselinePublic(BaseModel):
    pod_id: str
    delivery_day: str
    aggregator_id: str
    method: str
    slots: list[BaselineSlot]
    uploaded_at: StoredTime


class QuarterHourPublic(BaseModel):
    """One quarter-hour of a PoD: certified, published as missing, or not yet either."""

    pod_id: str
    interval_start: StoredTime
    status: Literal["certified", "missing", "pending"]
    p_kw: float | None = None
    q_kvar: float | None = None
    energy_kwh: float | None = None
    node_address: str | None = None
    event_id: str | None = None


class RejectionPublic(BaseModel):
    pod_id: str
    code: str
    reason: str
    source: str
    interval_start: StoredTime | None
    node_address: str | None
    rejected_at: StoredTime


class PodReadings(BaseModel):
    """A PoD's readings over a period (flow 1A, on demand) and the packets refused."""

    pod_id: str
    readings: list[QuarterHourPublic]
    rejections: list[RejectionPublic]


class QuarterHourPacket(BaseModel):
    """What the aggregator gets every 15 minutes (FR_SCD_PD_3, flow 1): each of its PoDs
    with a light node, for one quarter-hour, even when nothing arrived."""

    aggregator_id: str
    interval_start: StoredTime
    pods: list[QuarterHourPublic]


class SetpointPublic(BaseModel):
    activation_id: str
    pod_id: str
    session_id: str
    slots: list[dict[str, float]]
    issued_at: StoredTime
    relayed_at: StoredTime | None
    sent_by_dso_at: StoredTime | None
    received_by_node_at: StoredTime | None
    received_by_device_at: StoredTime | None


class SetpointPage(BaseModel):
    items: list[SetpointPublic]
