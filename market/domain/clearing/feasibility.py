"""Whether a set of awards obeys the clearing rules, and what it scores (MARKET_RULES.md
"Clearing").

Plain Python on purpose: it shares no code with the engines, so it checks them rather than
repeating their mistakes. Every engine runs ``check_feasible`` on its chosen solution
before returning it (notes/milp-pitfalls.md: never trust a solver's status alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from market.domain.clearing.errors import InfeasibleSolution
from market.domain.clearing.problem import (
    MTU_HOURS,
    QUANTITY_TOLERANCE,
    Award,
    Bid,
    ClearingProblem,
    Direction,
    FlexibleBlock,
    Objectives,
    QuantityType,
    Unserved,
)

# Prices are copied, never computed, so they match up to float representation only.
PRICE_TOLERANCE = 1e-9


def within(value: float, limit: float) -> bool:
    """``value <= limit`` up to ``QUANTITY_TOLERANCE`` (kW or kVAr), relative above 1 kW.

    Solvers hold their constraints to ~1e-7 relative, so a 10 MW limit is checked to
    0.01 kW and a 5 kW one to 1e-6 kW.
    """
    return value <= limit + QUANTITY_TOLERANCE * max(1.0, abs(limit))


def _step_of(bid: Bid, award: Award) -> int:
    """The index of the bid step ``award`` draws on; by (MTU, price) when not given."""
    if award.step is not None:
        if not 0 <= award.step < len(bid.steps):
            raise InfeasibleSolution(
                f"award of {bid.offer_id} to {award.request_id} names step {award.step}, "
                f"the bid has {len(bid.steps)}")
        if bid.steps[award.step].mtu != award.mtu:
            raise InfeasibleSolution(
                f"award of {bid.offer_id} step {award.step} is in MTU {award.mtu}, "
                f"the step is in MTU {bid.steps[award.step].mtu}")
        return award.step
    matches = [i for i, s in enumerate(bid.steps) if s.mtu == award.mtu
               and abs(s.price_eur_per_mwh - award.bid_price_eur_per_mwh) <= PRICE_TOLERANCE]
    if len(matches) != 1:
        raise InfeasibleSolution(
            f"award of {bid.offer_id} in MTU {award.mtu} at {award.bid_price_eur_per_mwh} "
            f"€/MWh matches {len(matches)} steps of the bid; name the step")
    return matches[0]


def check_feasible(problem: ClearingProblem, awards: Iterable[Award]) -> None:
    """Raise unless ``awards`` obey every clearing rule of ``problem``.

    Checked (MARKET_RULES.md "Clearing", FR_MP_FS_3): each award is positive, names a
    request and an offer of the problem with their requester, aggregator and PoD, and is
    eligible (same direction and quantity type, an MTU the request asks for, the offer's
    PoD among the request's eligible PoDs, the offer's price within the request's maximum);
    per bid step the awards stay within its quantity, and an all-or-nothing step goes
    whole to exactly one request; per request and MTU nothing beyond the requested quantity;
    per (PoD, direction, quantity type, MTU) in ``pod_capacity`` the PoD's awards stay
    within it; a flexible block stays within its window, its max power in every MTU and
    its energy. Quantities are compared with ``within``.

    Args:
        problem: the session's needs, offers and PoD capacities.
        awards: the solution to check.

    Raises:
        InfeasibleSolution: naming the first rule broken, with the request, offer and MTU.
    """
    needs = {n.request_id: n for n in problem.needs}
    bids = {b.offer_id: b for b in problem.bids}
    blocks = {b.offer_id: b for b in problem.blocks}
    step_sum: dict[tuple[str, int], float] = defaultdict(float)
    step_count: dict[tuple[str, int], int] = defaultdict(int)
    need_sum: dict[tuple[str, int], float] = defaultdict(float)
    pod_sum: dict[tuple[str, Direction, QuantityType, int], float] = defaultdict(float)
    block_mtu_sum: dict[tuple[str, int], float] = defaultdict(float)
    block_sum: dict[str, float] = defaultdict(float)

    for a in awards:
        where = f"award of {a.offer_id} to {a.request_id} in MTU {a.mtu}"
        if not a.quantity > 0:
            raise InfeasibleSolution(f"{where}: quantity {a.quantity} is not positive")
        need = needs.get(a.request_id)
        if need is None:
            raise InfeasibleSolution(f"{where}: no such request in the problem")
        offer: Bid | FlexibleBlock | None = bids.get(a.offer_id) or blocks.get(a.offer_id)
        if offer is None:
            raise InfeasibleSolution(f"{where}: no such offer in the problem")
        if (a.requester_id, a.aggregator_id, a.pod_id) != (
                need.requester_id, offer.aggregator_id, offer.pod_id):
            raise InfeasibleSolution(f"{where}: requester, aggregator or PoD differ from "
                                     "the request's and the offer's")
        if (offer.direction, offer.quantity_type) != (need.direction, need.quantity_type):
            raise InfeasibleSolution(f"{where}: direction or quantity type differ")
        if offer.pod_id not in need.eligible_pods:
            raise InfeasibleSolution(f"{where}: PoD {offer.pod_id} is not eligible")
        if need.quantities.get(a.mtu, 0.0) <= QUANTITY_TOLERANCE:
            raise InfeasibleSolution(f"{where}: the request asks nothing in that MTU")
        if isinstance(offer, Bid):
            step = _step_of(offer, a)
            price = offer.steps[step].price_eur_per_mwh
            step_sum[offer.offer_id, step] += a.quantity
            step_count[offer.offer_id, step] += 1
        else:
            if a.step is not None:
                raise InfeasibleSolution(f"{where}: a flexible block has no steps")
            if not offer.first_mtu <= a.mtu <= offer.last_mtu:
                raise InfeasibleSolution(f"{where}: outside the block's window "
                                         f"{offer.first_mtu}..{offer.last_mtu}")
            price = offer.price_eur_per_mwh
            block_mtu_sum[offer.offer_id, a.mtu] += a.quantity
            block_sum[offer.offer_id] += a.quantity
        if abs(price - a.bid_price_eur_per_mwh) > PRICE_TOLERANCE:
            raise InfeasibleSolution(f"{where}: bid price {a.bid_price_eur_per_mwh} is not "
                                     f"the offer's {price} €/MWh")
        if need.max_price_eur_per_mwh is not None and price > (
                need.max_price_eur_per_mwh + PRICE_TOLERANCE):
            raise InfeasibleSolution(f"{where}: price {price} above the request's maximum "
                                     f"{need.max_price_eur_per_mwh} €/MWh")
        need_sum[a.request_id, a.mtu] += a.quantity
        pod_sum[offer.pod_id, offer.direction, offer.quantity_type, a.mtu] += a.quantity

    for (offer_id, step), total in step_sum.items():
        bid = bids[offer_id]
        quantity = bid.steps[step].quantity
        if not within(total, quantity):
            raise InfeasibleSolution(f"step {step} of {offer_id} (MTU {bid.steps[step].mtu}) "
                                     f"awarded {total}, it offers {quantity}")
        if not bid.divisible and (step_count[offer_id, step] != 1
                                  or not within(quantity, total)):
            raise InfeasibleSolution(
                f"all-or-nothing step {step} of {offer_id} (MTU {bid.steps[step].mtu}) split: "
                f"{step_count[offer_id, step]} awards totalling {total} of {quantity}")
    for (request_id, mtu), total in need_sum.items():
        requested = needs[request_id].quantities[mtu]
        if not within(total, requested):
            raise InfeasibleSolution(f"request {request_id} in MTU {mtu} over-served: "
                                     f"{total} awarded, {requested} requested")
    for key, total in pod_sum.items():
        capacity = problem.pod_capacity.get(key)
        if capacity is not None and not within(total, capacity):
            raise InfeasibleSolution(f"PoD {key[0]} {key[1]} {key[2]} in MTU {key[3]} "
                                     f"awarded {total}, its capacity is {capacity}")
    for (offer_id, mtu), total in block_mtu_sum.items():
        if not within(total, blocks[offer_id].max_power):
            raise InfeasibleSolution(f"block {offer_id} in MTU {mtu} awarded {total}, its "
                                     f"max power is {blocks[offer_id].max_power}")
    for offer_id, total in block_sum.items():
        if not within(total, blocks[offer_id].energy / MTU_HOURS):
            raise InfeasibleSolution(f"block {offer_id} awarded {total * MTU_HOURS} in "
                                     f"energy, it offers {blocks[offer_id].energy}")


def unserved_of(problem: ClearingProblem, awards: Iterable[Award]) -> tuple[Unserved, ...]:
    """What each request still lacks per MTU after ``awards`` (kW or kVAr), sorted by
    request and MTU; shortfalls within ``QUANTITY_TOLERANCE`` are left out."""
    served: dict[tuple[str, int], float] = defaultdict(float)
    for a in awards:
        served[a.request_id, a.mtu] += a.quantity
    lines = []
    for need in problem.needs:
        for mtu, requested in need.quantities.items():
            missing = requested - served.get((need.request_id, mtu), 0.0)
            if requested > QUANTITY_TOLERANCE and missing > QUANTITY_TOLERANCE:
                lines.append(Unserved(need.request_id, mtu, float(missing)))
    return tuple(sorted(lines, key=lambda u: (u.request_id, u.mtu)))


def objectives_of(problem: ClearingProblem, awards: Iterable[Award]) -> Objectives:
    """The objective values of ``awards`` (MARKET_RULES.md "Clearing").

    Cost is Σ quantity · MTU_HOURS · bid price / 1000 (€, at bid prices whatever the
    pricing rule); unserved is Σ over requests and MTUs of the shortfall (kW·MTU); risk
    is Σ quantity · (1 − reliability of the PoD) (kW·MTU); unserved_dso is the DSO
    requests' share of unserved.
    """
    awards = tuple(awards)
    cost = sum((a.quantity * MTU_HOURS * a.bid_price_eur_per_mwh / 1000 for a in awards), 0.0)
    risk = sum((a.quantity * (1.0 - problem.reliability_of(a.pod_id)) for a in awards), 0.0)
    roles = {n.request_id: n.role for n in problem.needs}
    missing = unserved_of(problem, awards)
    return Objectives(cost_eur=cost, unserved=sum((u.quantity for u in missing), 0.0),
                      risk=risk, unserved_dso=sum((u.quantity for u in missing
                                                   if roles[u.request_id] == "DSO"), 0.0))
