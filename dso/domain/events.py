"""Events of the DSO Technical Platform: the technical outcome (Platone flow 4), the
PoD–PoM association (flow 0A) and the setpoint relay (flow 6)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.domain.events import SetpointSlot
from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic
from market.domain.events import Identifier, MtuIndex, SessionId


class AwardVerdict(BaseModel):
    """The DSO's verdict on one award of a market outcome (MARKET_RULES.md "Technical
    validation"): the quantity it lets through, and why it cut the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    award_id: str = Identifier
    request_id: str = Identifier
    offer_id: str = Identifier
    mtu: int = MtuIndex
    accepted_quantity: float = Field(ge=0, le=1e9)  # kW or kVAr
    status: Literal["accepted", "partially_accepted", "rejected"]
    reason: str | None = Field(None, max_length=500)


@event_type("TechnicalValidationCompleted", topic=Topic.VALIDATIONS, key="session_id")
class TechnicalValidationCompleted(EventPayload):
    """The technical outcome of one market outcome (FR_MP_FS_5 step 1: each uniquely
    related to one market outcome). An award without a verdict is not validated: final
    clearing rejects it, since only what the DSO checked may be activated."""

    validation_id: str = Identifier
    session_id: str = SessionId
    market_outcome_event_id: str = Identifier
    verdicts: tuple[AwardVerdict, ...] = Field(max_length=1_000_000)
    # What the verdicts rest on. A power flow that did not converge is named here, and its
    # MTU's awards are rejected: it is never passed as a success.
    grid: str | None = Field(None, max_length=200)
    non_converged_mtus: tuple[int, ...] = ()
    statistics: dict[str, float | int | str] = Field(default_factory=dict)


@event_type("PodPomAssociated", topic=Topic.REGISTRY, key="pod_id")
class PodPomAssociated(EventPayload):
    """The DSO mapped a newly registered PoD to its PoM, the TSO–DSO connection point its
    TSO services are delivered at (Platone flow 0A, FR_DTP_ROF_2), and to its bus."""

    pod_id: str = Identifier
    pom_id: str = Identifier
    grid: str = Field(min_length=1, max_length=200)
    bus: int = Field(ge=0)
    registration_event_id: str = Identifier


@event_type("PodPomAssociationRefused", topic=Topic.REGISTRY, key="pod_id")
class PodPomAssociationRefused(EventPayload):
    """The DSO could not place a registered PoD on its grid: its location names no
    secondary substation there, or an inconsistent feeder or substation. Awards to it are
    rejected by technical validation until the aggregator corrects the registration."""

    pod_id: str = Identifier
    grid: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    registration_event_id: str = Identifier


@event_type("SetpointRelayed", topic=Topic.SETPOINTS, key="pod_id")
class SetpointRelayed(EventPayload):
    """The DSO forwarded an aggregator's setpoint to the PoD's light node, on the node's
    own channel (FR_DTP_SCO_1/2; Platone Table 18: PoD, activation id, 16 set-points)."""

    activation_id: str = Identifier
    pod_id: str = Identifier
    aggregator_id: str = Identifier
    light_node_channel: str = Field(min_length=1, max_length=200)
    slots: tuple[SetpointSlot, ...] = Field(min_length=1, max_length=20)
    issued_event_id: str = Identifier


@event_type("SetpointRefused", topic=Topic.SETPOINTS, key="pod_id")
class SetpointRefused(EventPayload):
    """The DSO did not relay a setpoint, and why: an unknown or withdrawn PoD, or one of
    another aggregator. A refusal is an event, never a silent drop."""

    activation_id: str = Identifier
    pod_id: str = Identifier
    aggregator_id: str = Identifier
    reason: str = Field(min_length=1, max_length=500)
    issued_event_id: str = Identifier


@event_type("GridAlertRaised", topic=Topic.REQUESTS, key="session_id")
class GridAlertRaised(EventPayload):
    """The operator alert of Platone A.3: a violation the forecast of a session's window
    shows (issue type, value, asset, the flexibility that can contribute), before the DSO
    asks the market for flexibility against it. One per asset and kind over the MTUs."""

    session_id: str = SessionId
    issue_type: Literal["voltage violation", "congestion"]
    kind: str = Field(min_length=1, max_length=40)
    asset: str = Field(min_length=1, max_length=100)
    grid_point: str = Identifier
    mtus: tuple[int, ...] = Field(min_length=1, max_length=100)
    worst_value: float  # pu for voltage, % for loading
    limit: float
    flexibility: float = Field(ge=0)  # kW or kVAr the eligible PoDs can contribute
    quantity_type: Literal["P", "Q"]
    direction: Literal["up", "down"] | None = None
