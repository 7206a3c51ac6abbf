"""Events of the Market Platform: sessions, flexibility requests and offers, and outcomes
(Platone flows 2, 3 and 5; ARCHITECTURE.md "Event catalog").

Requests and offers share one shape (MARKET_RULES.md "Requests and offers"): per-MTU
quantities in kW (P) or kVAr (Q), prices in €/MWh (€/MVArh), MTUs indexed from 0 within
the delivery day. Money is integer euro cents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic

# Participants name Kafka topics (``results.<participant>``), which allow no colon.
ParticipantId = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
Identifier = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
SessionId = Field(min_length=1, max_length=40, pattern=r"^(DA|RT)-\d{4}-\d{2}-\d{2}(-[0-5])?$")
Quantity = Field(gt=0, le=1e9)  # kW or kVAr
Price = Field(ge=0, le=1e6)  # €/MWh or €/MVArh
MtuIndex = Field(ge=0, le=99)  # a delivery day has 92, 96 or 100 MTUs
RESULTS_TOPIC = "results"

Direction = Literal["up", "down"]
QuantityType = Literal["P", "Q"]
MarketType = Literal["DA", "RT"]
Role = Literal["DSO", "TSO"]
Service = Literal["congestion", "voltage"]
GridPointKind = Literal["primary_substation", "mv_feeder", "secondary_substation", "pom"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class MtuQuantity(_Value):
    mtu: int = MtuIndex
    quantity: float = Quantity


class PriceStep(_Value):
    """A quantity at a price in one MTU; an offer may have several steps per MTU."""

    mtu: int = MtuIndex
    quantity: float = Quantity
    price_eur_per_mwh: float = Price


class BlockTerms(_Value):
    """A flexible block (Platone "Flexible Block offer"): energy deliverable at up to
    ``max_power`` in any MTUs of ``[first_mtu, last_mtu]``; the clearing picks them."""

    energy: float = Quantity  # kWh or kVArh
    max_power: float = Quantity  # kW or kVAr
    first_mtu: int = MtuIndex
    last_mtu: int = MtuIndex
    price_eur_per_mwh: float = Price


class GridPoint(_Value):
    """Where a request applies: a grid point of the DSO, or a PoM for the TSO."""

    kind: GridPointKind
    id: str = Identifier


@event_type("SessionOpened", topic=Topic.SESSIONS, key="session_id")
class SessionOpened(EventPayload):
    """A session's collection window opened (FR_MP_I_1 step 4)."""

    session_id: str = SessionId
    market_type: MarketType
    delivery_day: date
    first_mtu: int = MtuIndex
    mtu_count: int = Field(ge=1, le=100)
    opens_at: datetime
    gate_closes_at: datetime


@event_type("SessionClosed", topic=Topic.SESSIONS, key="session_id")
class SessionClosed(EventPayload):
    """Gate closure: no more requests or offers; clearing starts (FR_MP_FS_1 step 4)."""

    session_id: str = SessionId
    market_type: MarketType
    delivery_day: date
    gate_closes_at: datetime


@event_type("FlexRequestSubmitted", topic=Topic.REQUESTS, key="session_id")
class FlexRequestSubmitted(EventPayload):
    """A system operator asks for flexibility in a session (FR_MP_FS_1 step 1).

    A DSO request names a grid point and the PoDs under it that may serve it; a TSO
    request names a PoM and is served by any PoD under it.
    """

    request_id: str = Identifier
    session_id: str = SessionId
    requester_id: str = ParticipantId
    role: Role
    service: Service
    quantity_type: QuantityType
    direction: Direction
    location: GridPoint
    eligible_pods: tuple[str, ...] = Field(default=(), max_length=10_000)
    quantities: tuple[MtuQuantity, ...] = Field(min_length=1, max_length=100)
    max_price_eur_per_mwh: float | None = Field(None, ge=0, le=1e6)
    player_service_id: str = Field(min_length=1, max_length=300)


@event_type("FlexRequestWithdrawn", topic=Topic.REQUESTS, key="session_id")
class FlexRequestWithdrawn(EventPayload):
    request_id: str = Identifier
    session_id: str = SessionId
    requester_id: str = ParticipantId


@event_type("FlexOfferSubmitted", topic=Topic.OFFERS, key="session_id")
class FlexOfferSubmitted(EventPayload):
    """An aggregator offers a PoD's flexibility (FR_MP_FS_1 step 2): price steps per MTU,
    divisible or all-or-nothing per step, or a flexible block."""

    offer_id: str = Identifier
    session_id: str = SessionId
    aggregator_id: str = ParticipantId
    pod_id: str = Identifier
    quantity_type: QuantityType
    direction: Direction
    divisible: bool = True
    steps: tuple[PriceStep, ...] = Field(default=(), max_length=1000)
    block: BlockTerms | None = None
    player_service_id: str = Field(min_length=1, max_length=300)


@event_type("FlexOfferWithdrawn", topic=Topic.OFFERS, key="session_id")
class FlexOfferWithdrawn(EventPayload):
    offer_id: str = Identifier
    session_id: str = SessionId
    aggregator_id: str = ParticipantId


KEPT_XML_CHARS = 512 * 1024  # a received UFTP message, in canonical XML


class _UftpMessageReceived(EventPayload):
    """A USEF/UFTP message the market took (docs/uftp.md), as received, in canonical XML.

    A UFTP message says more than the request or offer it became can hold: who addressed
    whom, its ids, sequences and origins, its expiry, its PTUs as laid out and its prices
    as spelt; and a FlexOrder must repeat an offer's PTUs exactly as offered. So the
    message itself is kept beside its submission, on the same topic and key: exporting it
    gives back what was received, and the log shows what each participant said in UFTP.
    """

    session_id: str = SessionId
    message_id: str = Field(pattern=r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
    sender_id: str = ParticipantId
    xml: str = Field(min_length=1, max_length=KEPT_XML_CHARS)


@event_type("UftpFlexOfferReceived", topic=Topic.OFFERS, key="session_id")
class UftpFlexOfferReceived(_UftpMessageReceived):
    """The FlexOffer that offer ``offer_id`` was submitted as."""

    offer_id: str = Identifier


@event_type("UftpFlexRequestReceived", topic=Topic.REQUESTS, key="session_id")
class UftpFlexRequestReceived(_UftpMessageReceived):
    """The FlexRequest that request ``request_id`` was submitted as."""

    request_id: str = Identifier


class AwardLine(_Value):
    """A quantity of one offer given to one request in one MTU, and what it is worth.

    ``award_id`` tells apart two price steps of one offer awarded to one request in the
    same MTU; verdicts of the technical validation name it.
    """

    award_id: str = Identifier
    request_id: str = Identifier
    requester_id: str = ParticipantId
    offer_id: str = Identifier
    aggregator_id: str = ParticipantId
    pod_id: str = Identifier
    mtu: int = MtuIndex
    quantity: float = Field(ge=0, le=1e9)
    bid_price_eur_per_mwh: float = Price
    price_eur_per_mwh: float = Price
    value_cents: int = Field(ge=0)


class UnservedLine(_Value):
    request_id: str = Identifier
    mtu: int = MtuIndex
    quantity: float = Field(ge=0, le=1e9)


class ObjectiveValues(_Value):
    """One point of the objective space, all minimised (MARKET_RULES.md "Clearing")."""

    cost_eur: float
    unserved: float
    risk: float
    unserved_dso: float


@event_type("MarketCleared", topic=Topic.OUTCOMES, key="session_id")
class MarketCleared(EventPayload):
    """The market outcome of a session (FR_MP_FS_3 step 4), before technical validation.

    It names what the clearing rested on (the requests and offers considered, the engine,
    its version and seed) so anyone can clear the session again and compare.
    """

    outcome_id: str = Identifier
    session_id: str = SessionId
    market_type: MarketType
    engine: str = Field(min_length=1, max_length=50)
    engine_version: str = Field(min_length=1, max_length=50)
    pricing: Literal["pay_as_bid", "pay_as_clear"]
    seed: int | None = None
    request_ids: tuple[str, ...]
    offer_ids: tuple[str, ...]
    awards: tuple[AwardLine, ...]
    unserved: tuple[UnservedLine, ...]
    objectives: ObjectiveValues
    pareto_front: tuple[ObjectiveValues, ...]
    statistics: dict[str, float | int | str]


class ValidatedAward(AwardLine):
    """An award after technical validation: what the DSO let through, and why not more."""

    awarded_quantity: float = Field(ge=0, le=1e9)
    status: Literal["accepted", "partially_accepted", "rejected"]
    reason: str | None = Field(None, max_length=500)


@event_type("ValidatedOutcomePublished", topic=Topic.OUTCOMES, key="session_id")
class ValidatedOutcomePublished(EventPayload):
    """Final clearing (FR_MP_FS_5 step 3): the market outcome cut to what the technical
    validation accepted; ``quantity`` and ``value_cents`` of each award are the accepted ones."""

    outcome_id: str = Identifier
    session_id: str = SessionId
    market_type: MarketType
    market_outcome_event_id: str = Identifier
    validation_event_id: str = Identifier
    awards: tuple[ValidatedAward, ...]
    total_value_cents: int = Field(ge=0)


# Not a catalog topic of its own: a copy for delivery, neither projected nor anchored;
# the fact it copies, ValidatedOutcomePublished, is both.
@event_type("ParticipantResultsPublished", topic=RESULTS_TOPIC, key="session_id",
            topic_field="participant_id")
class ParticipantResultsPublished(EventPayload):
    """The validated outcome as one participant may see it (FR_MP_FS_5 steps 4–5): only
    the awards it requested or provided, on its own topic ``results.<participant>``."""

    session_id: str = SessionId
    participant_id: str = ParticipantId
    validated_outcome_event_id: str = Identifier
    awards: tuple[ValidatedAward, ...]
    total_value_cents: int = Field(ge=0)


@event_type("SettlementMechanismCreated", topic=Topic.REGISTRY, key="mechanism_id")
class SettlementMechanismCreated(EventPayload):
    """An aggregator's remuneration of its customers (FR_MP_SET_1), applied to every PoD
    registered with this id: a share of what the PoD earned, a fixed reward per kWh
    (kVArh) delivered, and the share of penalties passed on. A customer is never charged:
    what it would owe beyond its reward is the aggregator's."""

    mechanism_id: str = Identifier
    aggregator_id: str = ParticipantId
    revenue_share_pct: float = Field(ge=0, le=100)
    reward_cents_per_kwh: float = Field(ge=0, le=10_000)
    penalty_pass_through_pct: float = Field(ge=0, le=100)
    terms: str = Field(default="", max_length=2000)


@event_type("OperatorFunded", topic=Topic.SETTLEMENTS, key="operator_id")
class OperatorFunded(EventPayload):
    """A system operator paid money in: as many tokens (euro cents) are minted to its
    wallet, once per ``funding_id`` (FlexToken ``fund``)."""

    funding_id: str = Identifier
    operator_id: str = ParticipantId
    amount_cents: int = Field(ge=1, le=10**15)
    reference: str = Field(default="", max_length=300)


class MtuDelivery(_Value):
    """What a PoD delivered in one MTU against what it was awarded (MARKET_RULES.md
    "Settlement"): delivered = baseline − measured for "up", the opposite for "down"; a
    missing reading proves nothing, so its delivery counts as 0."""

    mtu: int = MtuIndex
    direction: Direction
    quantity_type: QuantityType
    awarded: float = Field(ge=0, le=1e9)  # kW or kVAr
    baseline: float
    measured: float | None
    delivered: float


class RequesterSettlement(_Value):
    """One system operator's side of a PoD's day, for one quantity type: energy in kWh
    (kVArh), money in cents. ``effectiveness`` is the PoD's delivered over awarded energy
    for the day (None when nothing was awarded)."""

    requester_id: str = ParticipantId
    quantity_type: QuantityType
    awarded_energy: float = Field(ge=0)
    delivered_energy: float
    effectiveness: float | None
    penalised: bool
    awarded_value_cents: int = Field(ge=0)
    payment_cents: int = Field(ge=0)
    penalty_cents: int = Field(ge=0)


@event_type("PodSettled", topic=Topic.SETTLEMENTS, key="delivery_day")
class PodSettled(EventPayload):
    """The settlement outcome of one PoD for one delivery day (FR_MP_SET_4): per MTU what
    was awarded and delivered, per system operator the payment and penalty, and what the
    customer receives under the PoD's mechanism."""

    settlement_id: str = Identifier
    delivery_day: date
    pod_id: str = Identifier
    aggregator_id: str = ParticipantId
    customer_id: str = Identifier
    mechanism_id: str | None = None
    mtus: tuple[MtuDelivery, ...] = Field(max_length=800)
    requesters: tuple[RequesterSettlement, ...] = Field(max_length=100)
    customer_cents: int = Field(ge=0)


TransferKind = Literal["payment", "penalty", "customer_reward"]


@event_type("TokensTransferred", topic=Topic.SETTLEMENTS, key="delivery_day")
class TokensTransferred(EventPayload):
    """FlexTokens (euro cents) moved on chain for a settlement (FR_MP_SET_5); the chain
    refuses the same ``settlement_id`` twice."""

    settlement_id: str = Field(min_length=66, max_length=66, pattern=r"^0x[0-9a-f]{64}$")
    delivery_day: date
    pod_id: str = Identifier
    kind: TransferKind
    payer_id: str = Identifier
    payee_id: str = Identifier
    amount_cents: int = Field(ge=1)
    tx_hash: str = Field(min_length=66, max_length=66, pattern=r"^0x[0-9a-f]{64}$")
    block_number: int = Field(ge=0)


@event_type("DeliveryDaySettled", topic=Topic.SETTLEMENTS, key="delivery_day")
class DeliveryDaySettled(EventPayload):
    """A settlement run of a delivery day ended: what was settled and paid, and what is
    outstanding because a payer's wallet could not cover it (paid by a later run)."""

    delivery_day: date
    run: int = Field(ge=1)
    pods: int = Field(ge=0)
    transfers: int = Field(ge=0)
    paid_cents: int = Field(ge=0)
    outstanding_cents: int = Field(ge=0)
    outstanding: tuple[str, ...] = Field(default=(), max_length=100_000)
