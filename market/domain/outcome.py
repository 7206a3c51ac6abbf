"""From a clearing engine's result to the market outcome event (FR_MP_FS_3 step 4)."""

from __future__ import annotations

from market.domain.calendar import SessionSlot
from market.domain.clearing.problem import ClearingResult, Objectives
from market.domain.events import AwardLine, MarketCleared, ObjectiveValues, UnservedLine
from market.domain.money import value_cents


def _objectives(o: Objectives) -> ObjectiveValues:
    return ObjectiveValues(cost_eur=o.cost_eur, unserved=o.unserved, risk=o.risk,
                           unserved_dso=o.unserved_dso)


def market_outcome(slot: SessionSlot, result: ClearingResult, request_ids: list[str],
                   offer_ids: list[str]) -> MarketCleared:
    """The market outcome of ``slot``: awards with their value, what stayed unserved, the
    Pareto front, and what the result rested on."""
    return MarketCleared(
        outcome_id=f"MO-{slot.session_id}", session_id=slot.session_id,
        market_type=slot.kind.value, engine=result.engine,
        engine_version=result.engine_version, pricing=result.pricing, seed=result.seed,
        request_ids=tuple(sorted(request_ids)), offer_ids=tuple(sorted(offer_ids)),
        awards=tuple(AwardLine(
            award_id=f"AW-{i}", request_id=a.request_id, requester_id=a.requester_id,
            offer_id=a.offer_id, aggregator_id=a.aggregator_id, pod_id=a.pod_id, mtu=a.mtu,
            quantity=a.quantity,
            bid_price_eur_per_mwh=a.bid_price_eur_per_mwh,
            price_eur_per_mwh=a.price_eur_per_mwh,
            value_cents=value_cents(a.quantity, a.price_eur_per_mwh))
            for i, a in enumerate(result.awards, start=1)),
        unserved=tuple(UnservedLine(request_id=u.request_id, mtu=u.mtu, quantity=u.quantity)
                       for u in result.unserved),
        objectives=_objectives(result.objectives),
        pareto_front=tuple(_objectives(p) for p in result.pareto_front),
        statistics=dict(result.statistics))
