"""The API's edge models: what clients send (``…Create``) and what they get (``…Public``,
``…Page``). Value types are the events' own, so a submission and its event cannot drift."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.http import StoredTime
from market.domain.events import (
    BlockTerms,
    Direction,
    GridPoint,
    Identifier,
    MarketType,
    MtuQuantity,
    ParticipantId,
    PriceStep,
    QuantityType,
    Role,
    Service,
    ValidatedAward,
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FlexRequestCreate(_Input):
    """A system operator's flexibility request (MARKET_RULES.md "Requests and offers")."""

    requester_id: str = ParticipantId
    role: Role
    market_type: MarketType
    service: Service
    quantity_type: QuantityType
    direction: Direction
    location: GridPoint
    eligible_pods: list[str] = Field(default_factory=list, max_length=10_000)
    quantities: list[MtuQuantity] = Field(min_length=1, max_length=100)
    max_price_eur_per_mwh: float | None = Field(None, ge=0, le=1e6)


class FlexOfferCreate(_Input):
    """An aggregator's offer for one PoD: price steps per MTU (each divisible or
    all-or-nothing), or one flexible block."""

    aggregator_id: str = ParticipantId
    pod_id: str = Identifier  # as the event's: a PoD id the catalog accepts
    market_type: MarketType
    quantity_type: QuantityType
    direction: Direction
    divisible: bool = True
    steps: list[PriceStep] = Field(default_factory=list, max_length=1000)
    block: BlockTerms | None = None


class RequestWithdrawal(_Input):
    requester_id: str = ParticipantId


class OfferWithdrawal(_Input):
    aggregator_id: str = ParticipantId


class SubmissionAccepted(BaseModel):
    """The answer to every write: the event it became. ``code`` is ``ALREADY_ACCEPTED``
    (status 200) when the same ``Idempotency-Key`` was seen before."""

    code: Literal["ACCEPTED", "ALREADY_ACCEPTED"]
    event_id: str
    session_id: str | None = Field(None, description="the session, for requests and offers")
    id: str = Field(description="what the event is about: the request's or offer's id, "
                    "the PoD, the mechanism or the operator")
    player_service_id: str | None = None


class OutcomeRefs(BaseModel):
    market: str | None = None
    technical: str | None = None
    validated: str | None = None


class SessionPublic(BaseModel):
    session_id: str
    market_type: MarketType
    delivery_day: date
    window: int | None
    first_mtu: int
    mtu_count: int
    delivery_start: datetime
    delivery_end: datetime
    opens_at: datetime
    gate_closes_at: datetime
    outcome_due_at: datetime
    setpoints_at: datetime | None
    state: Literal["scheduled", "open", "closed"]
    outcomes: OutcomeRefs


class SessionPage(BaseModel):
    items: list[SessionPublic]
    count: int


class FlexRequestPublic(BaseModel):
    request_id: str
    session_id: str
    requester_id: str
    role: Role
    service: Service
    quantity_type: QuantityType
    direction: Direction
    location: GridPoint
    eligible_pods: list[str]
    quantities: list[MtuQuantity]
    max_price_eur_per_mwh: float | None
    player_service_id: str
    withdrawn: bool
    submitted_at: StoredTime
    event_id: str


class FlexRequestPage(BaseModel):
    items: list[FlexRequestPublic]
    total: int


class FlexOfferPublic(BaseModel):
    offer_id: str
    session_id: str
    aggregator_id: str
    pod_id: str
    quantity_type: QuantityType
    direction: Direction
    divisible: bool
    steps: list[PriceStep]
    block: BlockTerms | None
    player_service_id: str
    withdrawn: bool
    submitted_at: StoredTime
    event_id: str


class FlexOfferPage(BaseModel):
    items: list[FlexOfferPublic]
    total: int


class PodPublic(BaseModel):
    pod_id: str
    aggregator_id: str
    primary_substation: str
    mv_feeder: str
    secondary_substation: str
    up_p_kw: float
    down_p_kw: float
    up_q_kvar: float
    down_q_kvar: float
    flexibility_type: str
    settlement_mechanism_id: str | None
    active: bool
    registered_at: StoredTime


class PodPage(BaseModel):
    items: list[PodPublic]
    total: int


class OutcomePublic(BaseModel):
    """A published outcome: the event's payload as it is on the log."""

    event_id: str
    session_id: str
    stage: Literal["market", "technical", "validated"]
    market_outcome_event_id: str
    published_at: StoredTime
    payload: dict[str, Any]


class ParticipantResultsPublic(BaseModel):
    """The validated outcome as one participant sees it (FR_MP_FS_5 step 4)."""

    session_id: str
    participant_id: str
    validated_outcome_event_id: str
    awards: list[ValidatedAward]
    total_value_cents: int
