"""From an engine's allocation over pairs to a checked ``ClearingResult``: awards, the
pricing rule, what stayed unserved and the objectives (MARKET_RULES.md "Clearing")."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from market.domain.clearing.errors import ClearingError
from market.domain.clearing.feasibility import check_feasible, objectives_of, unserved_of
from market.domain.clearing.groups import Flat
from market.domain.clearing.pricing import PRICING_RULES, apply_pricing
from market.domain.clearing.problem import (
    QUANTITY_TOLERANCE,
    Award,
    ClearingResult,
    Objectives,
    PricingRule,
)


def require_pricing(rule: str) -> None:
    """Fail before solving, not after, on an unknown pricing rule."""
    if rule not in PRICING_RULES:
        raise ClearingError(f"unknown pricing rule {rule!r}; known: {', '.join(PRICING_RULES)}")


def award_key(a: Award) -> tuple[str, int, str, int]:
    """The order of awards in a result: request, MTU, offer, step (a block's first)."""
    return (a.request_id, a.mtu, a.offer_id, -1 if a.step is None else a.step)


def awards_of(flat: Flat, allocations: Iterable[tuple[int, float]]) -> list[Award]:
    """One award per (global pair, kW) allocation above ``QUANTITY_TOLERANCE``, priced at
    its bid price."""
    awards = []
    for pair, quantity in allocations:
        if quantity <= QUANTITY_TOLERANCE:
            continue
        slot, need_slot = int(flat.pair_slot[pair]), int(flat.pair_need[pair])
        need = flat.needs[int(flat.ns_need[need_slot])]
        offer = flat.offers[int(flat.os_offer[slot])]
        step = int(flat.os_step[slot])
        price = float(flat.os_price[slot])
        awards.append(Award(
            request_id=need.request_id, requester_id=need.requester_id,
            offer_id=offer.offer_id, aggregator_id=offer.aggregator_id, pod_id=offer.pod_id,
            mtu=int(flat.ns_mtu[need_slot]), quantity=float(quantity),
            bid_price_eur_per_mwh=price, price_eur_per_mwh=price,
            step=None if step < 0 else step))
    return awards


def finish(flat: Flat, awards: list[Award], *, engine: str, version: str,
           pricing: PricingRule, statistics: Mapping[str, float | int | str],
           started: float, pareto_front: tuple[Objectives, ...] = (),
           seed: int | None = None) -> ClearingResult:
    """The engine's result for ``awards``, after checking them in plain Python.

    ``statistics`` gets ``seconds``: wall time since ``started`` (``time.perf_counter``),
    the check included.

    Raises:
        InfeasibleSolution: the awards break a clearing rule (an engine bug or a solver
            answer not to be trusted: notes/milp-pitfalls.md).
    """
    check_feasible(flat.problem, awards)
    ordered = sorted(awards, key=award_key)
    objectives = objectives_of(flat.problem, ordered)
    return ClearingResult(
        engine=engine, engine_version=version, pricing=pricing,
        awards=apply_pricing(ordered, pricing), unserved=unserved_of(flat.problem, ordered),
        objectives=objectives, pareto_front=pareto_front or (objectives,),
        statistics={"seconds": round(time.perf_counter() - started, 6), **statistics},
        seed=seed)
