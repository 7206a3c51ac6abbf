"""What a clearing engine is given and what it gives back (MARKET_RULES.md "Clearing").

Plain frozen values, independent of events and storage: the clearing processor builds a
``ClearingProblem`` from a session's requests, offers and the PoD registry, and every
engine (``CLEARERS``) answers with a ``ClearingResult``. Quantities are kW for active
power (P) and kVAr for reactive power (Q), per MTU; prices are €/MWh (or €/MVArh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["up", "down"]
QuantityType = Literal["P", "Q"]
Role = Literal["DSO", "TSO"]
PricingRule = Literal["pay_as_bid", "pay_as_clear"]

MTU_HOURS = 0.25
# Quantities below this (kW or kVAr) are treated as zero: solver round-off, not flexibility.
QUANTITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Need:
    """A flexibility request: what one system operator wants, per MTU.

    ``eligible_pods`` is resolved by the caller: a DSO request's own list, or every PoD
    under a TSO request's PoM. An offer priced above ``max_price_eur_per_mwh`` is not
    eligible for it.
    """

    request_id: str
    requester_id: str
    role: Role
    direction: Direction
    quantity_type: QuantityType
    eligible_pods: frozenset[str]
    quantities: Mapping[int, float]  # MTU index -> kW or kVAr
    max_price_eur_per_mwh: float | None = None


@dataclass(frozen=True)
class Step:
    """One price step of an offer: a quantity at a price in one MTU."""

    mtu: int
    quantity: float
    price_eur_per_mwh: float


@dataclass(frozen=True)
class Bid:
    """An offer for fixed MTUs: price steps, divisible or all-or-nothing per step."""

    offer_id: str
    aggregator_id: str
    pod_id: str
    direction: Direction
    quantity_type: QuantityType
    steps: tuple[Step, ...]
    divisible: bool = True


@dataclass(frozen=True)
class FlexibleBlock:
    """An energy amount with a power limit, deliverable in any MTUs of a window (Platone
    "Flexible Block offer"): the clearing chooses the MTUs. Always divisible.
    """

    offer_id: str
    aggregator_id: str
    pod_id: str
    direction: Direction
    quantity_type: QuantityType
    energy: float  # kWh or kVArh
    max_power: float  # kW or kVAr in any one MTU
    first_mtu: int
    last_mtu: int
    price_eur_per_mwh: float


@dataclass(frozen=True)
class ClearingProblem:
    """One session's requests and offers, with the PoDs' remaining capacity.

    ``pod_capacity`` bounds what all offers of a PoD together may be awarded in one MTU,
    per direction and quantity type: the PoD's max flexibility, less what the day-ahead
    session already awarded it (RT netting). A PoD absent from it is not bounded beyond
    its offers. ``reliability`` is each PoD's delivery record in [0, 1]; an absent PoD
    has ``default_reliability``.
    """

    session_id: str
    needs: tuple[Need, ...]
    bids: tuple[Bid, ...] = ()
    blocks: tuple[FlexibleBlock, ...] = ()
    pod_capacity: Mapping[tuple[str, Direction, QuantityType, int], float] = field(
        default_factory=dict)
    reliability: Mapping[str, float] = field(default_factory=dict)
    default_reliability: float = 0.95

    def reliability_of(self, pod_id: str) -> float:
        return self.reliability.get(pod_id, self.default_reliability)


@dataclass(frozen=True)
class Award:
    """A quantity of one offer given to one request in one MTU.

    ``bid_price`` is the offer's own price; ``price`` is what the pricing rule makes the
    requester pay per MWh (equal under pay-as-bid). ``quantity`` is kW (kVAr) in ``mtu``.
    """

    request_id: str
    requester_id: str
    offer_id: str
    aggregator_id: str
    pod_id: str
    mtu: int
    quantity: float
    bid_price_eur_per_mwh: float
    price_eur_per_mwh: float
    # Which of the bid's steps (index into ``Bid.steps``); None for a flexible block. A bid
    # may hold several steps in one MTU, so the feasibility check needs it.
    step: int | None = None


@dataclass(frozen=True)
class Objectives:
    """The three objectives of NSGA-II, all minimised (MARKET_RULES.md "Clearing").

    ``cost_eur`` is the procurement cost at bid prices; ``unserved`` sums the requested
    quantity left unserved over requests and MTUs (kW·MTU, kVAr·MTU); ``risk`` is
    Σ quantity·(1 − reliability) over awards. ``unserved_dso`` is the DSO share of
    ``unserved``, which the choice policy ranks first (DSO priority, Platone A.1).
    """

    cost_eur: float
    unserved: float
    risk: float
    unserved_dso: float


@dataclass(frozen=True)
class Unserved:
    request_id: str
    mtu: int
    quantity: float


@dataclass(frozen=True)
class ClearingResult:
    """An engine's answer: the chosen solution, the front it was chosen from, and how.

    ``pareto_front`` holds the objective values of each non-dominated point found (the
    chosen one among them); exact engines return their one optimum. ``statistics`` are
    the engine's own counters (seconds, evaluations, generations, groups, …).
    """

    engine: str
    engine_version: str
    pricing: PricingRule
    awards: tuple[Award, ...]
    unserved: tuple[Unserved, ...]
    objectives: Objectives
    pareto_front: tuple[Objectives, ...]
    statistics: Mapping[str, float | int | str]
    seed: int | None = None
