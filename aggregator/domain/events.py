"""Events of the PoD registry (Platone flow 0: an aggregator registers its customers' PoDs)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic

Identifier = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


class GridLocation(BaseModel):
    """Where a PoD sits: secondary substation → MV feeder → primary substation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary_substation: str = Identifier
    mv_feeder: str = Identifier
    secondary_substation: str = Identifier


class MaxFlexibility(BaseModel):
    """A PoD's flexibility limits (MARKET_RULES.md "Participants and places").

    "up" lowers the PoD's net withdrawal, "down" raises it; P in kW, Q in kVAr.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    up_p_kw: float = Field(ge=0)
    down_p_kw: float = Field(ge=0)
    up_q_kvar: float = Field(ge=0)
    down_q_kvar: float = Field(ge=0)


FlexibilityType = Literal["continuous", "discrete"]


@event_type("PodRegistered", topic=Topic.REGISTRY, key="pod_id")
class PodRegistered(EventPayload):
    """An aggregator registered a customer's point of delivery."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    customer_id: str = Identifier
    location: GridLocation
    max_flexibility: MaxFlexibility
    flexibility_type: FlexibilityType = "continuous"
    settlement_mechanism_id: str | None = None


@event_type("PodUpdated", topic=Topic.REGISTRY, key="pod_id")
class PodUpdated(EventPayload):
    """The aggregator changed a PoD's flexibility limits or type."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    max_flexibility: MaxFlexibility
    flexibility_type: FlexibilityType


@event_type("PodUnregistered", topic=Topic.REGISTRY, key="pod_id")
class PodUnregistered(EventPayload):
    """The aggregator withdrew a PoD from the market; its history stays."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    reason: str = Field(min_length=1, max_length=500)


class SetpointSlot(BaseModel):
    """One quarter-hour of a setpoint: the power the PoD is to hold at its connection point
    (baseline ± awarded flexibility), kW and kVAr, withdrawal positive."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    mtu: int = Field(ge=0, le=99)  # of the delivery day
    p_kw: float = Field(ge=-1e6, le=1e6)
    q_kvar: float = Field(ge=-1e6, le=1e6)


@event_type("SetpointIssued", topic=Topic.SETPOINTS, key="pod_id")
class SetpointIssued(EventPayload):
    """The aggregator's activation of one PoD for a 4-hour window (Platone flow 6,
    FR_AP_A_3; the DSO relays it to the PoD's light node, FR_DTP_SCO_1)."""

    activation_id: str = Identifier
    pod_id: str = Identifier
    aggregator_id: str = Identifier
    session_id: str = Field(min_length=1, max_length=40,
                            pattern=r"^(DA|RT)-\d{4}-\d{2}-\d{2}(-[0-5])?$")
    slots: tuple[SetpointSlot, ...] = Field(min_length=1, max_length=20)


class BaselineSlot(BaseModel):
    """One quarter-hour of a baseline: what the PoD would exchange with the grid without
    any flexibility called (Platone L365), kW and kVAr, withdrawal positive."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    mtu: int = Field(ge=0, le=99)
    p_kw: float = Field(ge=-1e6, le=1e6)
    q_kvar: float = Field(ge=-1e6, le=1e6)


BaselineMethod = Literal["uploaded", "typical_profile", "high_x_of_y"]


@event_type("BaselineUploaded", topic=Topic.REGISTRY, key="pod_id")
class BaselineUploaded(EventPayload):
    """The aggregator's baseline of one PoD for one delivery day (FR_AP_PR_2), the basis
    of settlement; a later upload for the same day replaces it, which the shared customer
    database allows only for days not yet delivered. ``slots`` cover every MTU of the day
    (92, 96 or 100), in order."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    delivery_day: date
    method: BaselineMethod
    slots: tuple[BaselineSlot, ...] = Field(min_length=92, max_length=100)


class CostStep(BaseModel):
    """Up to ``share`` of the available flexibility (cumulative, 0–1) at this price."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    share: float = Field(gt=0, le=1)
    price_eur_per_mwh: float = Field(ge=0, le=1e6)


@event_type("PodOfferTermsSet", topic=Topic.REGISTRY, key="pod_id")
class PodOfferTermsSet(EventPayload):
    """How the aggregator offers a PoD at each session's scheduled submission (FR_AP_MI&O_2:
    the operator flags the PoDs to offer): whether it is enabled, the share of its max
    flexibility available, the directions and quantity types, and its cost curve."""

    pod_id: str = Identifier
    aggregator_id: str = Identifier
    enabled: bool
    availability: float = Field(1.0, ge=0, le=1)
    directions: tuple[Literal["up", "down"], ...] = Field(("up",), min_length=1, max_length=2)
    quantity_types: tuple[Literal["P", "Q"], ...] = Field(("P",), min_length=1, max_length=2)
    cost_curve: tuple[CostStep, ...] = Field(min_length=1, max_length=10)
