"""The offer builder of the Aggregator Platform: one offer per enabled PoD, direction and
quantity type for a session, its available flexibility split into price steps by the PoD's
cost curve (Platone FR_AP_MI&O_2; D3.3 A.2 "aggregated price curves").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aggregator.domain.baselines import AggregatorError, make_event, pattern_safe_id
from aggregator.domain.events import BaselineUploaded, FlexibilityType
from market.domain.calendar import SessionSlot
from market.domain.events import Direction, FlexOfferSubmitted, PriceStep, QuantityType
from market.domain.submissions import PodView, player_service_id

DIRECTIONS: tuple[Direction, ...] = ("up", "down")
QUANTITY_TYPES: tuple[QuantityType, ...] = ("P", "Q")
# FlexOfferSubmitted holds at most 1000 price steps and a day at most 100 MTUs.
MAX_CURVE_STEPS = 10
MAX_PRICE_EUR_PER_MWH = 1e6  # market.domain.events.Price
# Shares this close to 1 count as 1: a curve typed as thirds must still end at 1.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CostCurve:
    """What a PoD's flexibility costs, as price steps (Platone A.2: "a series of price steps
    relating a certain quantity of power … with its relative price"; its cost has variable
    and fixed factors, folded in here by the aggregator).

    Attributes:
        steps: ``(cumulative share, price €/MWh)``: up to the share (0 < share ≤ 1) of the
            PoD's available flexibility, each kW (kVAr) costs that price. Shares strictly
            increase and end at 1; prices do not decrease (the cheap part of the
            flexibility is offered first); at most ``MAX_CURVE_STEPS`` steps.

    Raises:
        AggregatorError: ``COST_CURVE`` (field ``steps`` or ``steps.<i>``) on a curve that
            breaks these rules.
    """

    steps: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.steps or len(self.steps) > MAX_CURVE_STEPS:
            raise AggregatorError(f"a cost curve has 1..{MAX_CURVE_STEPS} steps, not "
                                  f"{len(self.steps)}", code="COST_CURVE", field="steps")
        previous_share, previous_price = 0.0, 0.0
        for i, step in enumerate(self.steps):
            if len(step) != 2:
                raise AggregatorError(f"step {i} must be (share, price), not {step!r}",
                                      code="COST_CURVE", field=f"steps.{i}")
            share, price = step
            if not (math.isfinite(share) and previous_share < share <= 1 + SHARE_TOLERANCE):
                raise AggregatorError(f"step {i}: share {share!r} must be above "
                                      f"{previous_share:g} and at most 1", code="COST_CURVE",
                                      field=f"steps.{i}")
            if not (math.isfinite(price) and previous_price <= price
                    <= MAX_PRICE_EUR_PER_MWH):
                raise AggregatorError(f"step {i}: price {price!r} €/MWh must be within "
                                      f"{previous_price:g}..{MAX_PRICE_EUR_PER_MWH:g}",
                                      code="COST_CURVE", field=f"steps.{i}")
            previous_share, previous_price = share, price
        if previous_share < 1 - SHARE_TOLERANCE:
            raise AggregatorError(f"the last share is {previous_share:g}; a cost curve "
                                  "prices all the available flexibility, ending at 1",
                                  code="COST_CURVE", field="steps")

    @classmethod
    def flat(cls, price_eur_per_mwh: float) -> CostCurve:
        """One price for all the flexibility, €/MWh (€/MVArh)."""
        return cls(((1.0, price_eur_per_mwh),))

    def split(self, available: float) -> list[tuple[float, float]]:
        """``available`` kW (kVAr) as ``(quantity, price €/MWh)`` steps, zero steps dropped.

        Step i holds (share_i − share_{i−1}) · available; the last cumulative quantity is
        ``available`` itself, so the steps never sum above the PoD's limit by round-off.
        """
        result: list[tuple[float, float]] = []
        done = 0.0
        for i, (share, price) in enumerate(self.steps):
            cumulative = available if i == len(self.steps) - 1 else share * available
            if cumulative - done > 0:
                result.append((cumulative - done, price))
            done = cumulative
        return result


def offer_id(session_id: str, pod_id: str, direction: str, quantity_type: str) -> str:
    """The deterministic id of a PoD's offer in a session: a scheduled re-submission of the
    same offer has the same id (``OFR-DA-2026-06-10-POD-1-up-P``; the PoD id is hashed
    when the whole would pass the identifier's 100 characters)."""
    return pattern_safe_id(f"OFR-{session_id}", pod_id, f"-{direction}-{quantity_type}")


def _check_kind(direction: str, quantity_type: str) -> None:
    if direction not in DIRECTIONS:
        raise AggregatorError(f"direction must be one of {DIRECTIONS}, not {direction!r}",
                              code="OFFER_KIND", field="direction")
    if quantity_type not in QUANTITY_TYPES:
        raise AggregatorError(f"quantity type must be one of {QUANTITY_TYPES}, not "
                              f"{quantity_type!r}", code="OFFER_KIND", field="quantity_type")


def build_offer(pod: PodView, baseline: BaselineUploaded, session: SessionSlot,
                cost_curve: CostCurve, *, direction: Direction, quantity_type: QuantityType,
                zone: ZoneInfo, availability: float = 1.0,
                flexibility_type: FlexibilityType = "continuous") -> FlexOfferSubmitted | None:
    """A PoD's offer for one session, direction and quantity type (FR_AP_MI&O_2, Platone
    A.2 "flexibility offer for each contracted [PoD] according to the available
    flexibility").

    Every MTU the session delivers gets the same available quantity, the PoD's declared max
    flexibility for the direction and type times ``availability``, split into price steps
    by ``cost_curve``. The declared limits are the customer's flexibility, so the baseline
    does not cap them (an "up" offer may exceed the baseline withdrawal, e.g. by
    generation); the baseline is required because it is the basis the offer's delivery is
    settled on (MARKET_RULES.md "Settlement").

    Args:
        pod: the registered PoD (its limits in kW / kVAr).
        baseline: the PoD's baseline for the session's delivery day.
        session: the session offered into (day-ahead or a real-time window).
        cost_curve: the PoD's prices.
        direction: ``"up"`` (less withdrawal) or ``"down"``.
        quantity_type: ``"P"`` (kW) or ``"Q"`` (kVAr).
        zone: the market's time zone (for the player service id).
        availability: the share of the max flexibility the customer makes available,
            0..1 (the customer app's "make flexibility available", Platone A.2).
        flexibility_type: the PoD's registered type; ``"continuous"`` makes the offer
            divisible, ``"discrete"`` all-or-nothing per step (``PodView`` does not carry
            it, ``PodRegistered`` / ``PodUpdated`` do).

    Returns:
        The offer, id ``offer_id(...)``, or None when nothing is available (a zero limit
        or zero availability).

    Raises:
        AggregatorError: ``POD_INACTIVE`` (field ``pod``) for an unregistered PoD;
            ``BASELINE_MISMATCH`` (``baseline``) for another PoD's or day's baseline;
            ``AVAILABILITY`` (``availability``) outside 0..1; ``OFFER_KIND`` on an unknown
            direction or quantity type; ``OFFER_INVALID`` on a value the event refuses.
    """
    _check_kind(direction, quantity_type)
    if not pod.active:
        raise AggregatorError(f"PoD {pod.pod_id} is unregistered", code="POD_INACTIVE",
                              field="pod")
    if baseline.pod_id != pod.pod_id or baseline.delivery_day != session.delivery_day:
        raise AggregatorError(
            f"the baseline is PoD {baseline.pod_id}'s for {baseline.delivery_day}; the offer "
            f"is PoD {pod.pod_id}'s for {session.delivery_day}", code="BASELINE_MISMATCH",
            field="baseline")
    if not (math.isfinite(availability) and 0 <= availability <= 1):
        raise AggregatorError(f"availability must be within 0..1, not {availability!r}",
                              code="AVAILABILITY", field="availability")
    available = pod.limit(direction, quantity_type) * availability
    if not available > 0:
        return None
    split = cost_curve.split(available)
    steps = [make_event(PriceStep, code="OFFER_INVALID", mtu=mtu, quantity=quantity,
                        price_eur_per_mwh=price)
             for mtu in range(session.first_mtu, session.first_mtu + session.mtu_count)
             for quantity, price in split]
    return make_event(
        FlexOfferSubmitted, code="OFFER_INVALID",
        offer_id=offer_id(session.session_id, pod.pod_id, direction, quantity_type),
        session_id=session.session_id, aggregator_id=pod.aggregator_id, pod_id=pod.pod_id,
        quantity_type=quantity_type, direction=direction,
        divisible=flexibility_type == "continuous", steps=tuple(steps),
        player_service_id=player_service_id(pod.aggregator_id, pod.pod_id, session, zone))


def build_portfolio_offers(pods: Iterable[PodView],
                           baselines: Mapping[str, BaselineUploaded], session: SessionSlot,
                           cost_curves: Mapping[str, CostCurve], zone: ZoneInfo, *,
                           directions: Sequence[Direction] = ("up", "down"),
                           quantity_types: Sequence[QuantityType] = ("P",),
                           enabled: Collection[str] | None = None,
                           availability: Mapping[str, float] | None = None,
                           flexibility_types: Mapping[str, FlexibilityType] | None = None,
                           ) -> list[FlexOfferSubmitted]:
    """The offers the aggregator posts at the scheduled time for a session (FR_AP_MI&O_2
    steps 1–3: the operator flags the enabled PoDs, then all their offers go at once).

    A PoD is offered when it is registered (``active``), enabled, has a baseline for the
    session's delivery day and a cost curve; the others are left out, since a PoD without
    a baseline cannot be settled and one without a cost curve has no price.

    Args:
        pods: the aggregator's PoDs.
        baselines: the latest baseline per PoD id.
        session: the session offered into.
        cost_curves: the cost curve per PoD id.
        zone: the market's time zone.
        directions: which directions to offer, each once.
        quantity_types: which quantity types to offer, each once.
        enabled: the PoD ids the operator flagged (None: every PoD).
        availability: per PoD id, the share 0..1 the customer made available (default 1).
        flexibility_types: per PoD id, its registered type (default ``"continuous"``).

    Returns:
        The offers, by PoD id, then in the order of ``directions`` and ``quantity_types``;
        no offer where nothing is available.

    Raises:
        AggregatorError: as ``build_offer``.
    """
    for direction in directions:
        for quantity_type in quantity_types:
            _check_kind(direction, quantity_type)
    availability = availability or {}
    flexibility_types = flexibility_types or {}
    offers: list[FlexOfferSubmitted] = []
    for pod in sorted(pods, key=lambda p: p.pod_id):
        pod_id = pod.pod_id
        baseline, curve = baselines.get(pod_id), cost_curves.get(pod_id)
        if (not pod.active or (enabled is not None and pod_id not in enabled)
                or baseline is None or baseline.delivery_day != session.delivery_day
                or curve is None):
            continue
        for direction in dict.fromkeys(directions):
            for quantity_type in dict.fromkeys(quantity_types):
                offer = build_offer(pod, baseline, session, curve, direction=direction,
                                    quantity_type=quantity_type, zone=zone,
                                    availability=availability.get(pod_id, 1.0),
                                    flexibility_type=flexibility_types.get(pod_id,
                                                                           "continuous"))
                if offer is not None:
                    offers.append(offer)
    return offers
