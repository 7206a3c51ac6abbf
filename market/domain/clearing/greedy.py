"""The greedy decoder: walk a group's pairs in a given order and give each what still
fits. Merit order is this walk in price order; NSGA-II's genomes are orders to walk in.

Whatever the order, the result is feasible by construction (MARKET_RULES.md "Clearing"):
a pair gets min(what its offer slot has left, what its need still lacks, what its PoD's
capacity has left, what its block's energy has left); an all-or-nothing step goes whole
to the first need it fits in (need and capacity), or to none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from market.domain.clearing.groups import Group
from market.domain.clearing.problem import QUANTITY_TOLERANCE

# An all-or-nothing step "fits" what is left up to float round-off only, so repeated fits
# never add up to more than the check's tolerance.
FIT_SLACK = 1e-9


class Decoded(NamedTuple):
    """A group's solution: objective values, (local pair, kW) allocations and what each
    need slot still lacks (kW)."""

    cost_eur: float
    unserved: float  # kW·MTU
    risk: float  # kW·MTU
    unserved_dso: float  # kW·MTU
    allocations: list[tuple[int, float]]
    need_left: list[float]


def decode(group: Group, order: Iterable[int]) -> Decoded:
    """Allocate ``group`` greedily, pairs taken in ``order`` (local pair indices).

    Args:
        group: the pairs and their limits.
        order: local pair indices; each pair at most once, any subset.

    Returns:
        The objectives of the allocation and the allocation itself.
    """
    (p_slot, p_need, p_cap, p_energy, p_aon, p_cost, p_risk, slot_qty, need_qty, cap_qty,
     energy_qty, need_dso) = group.lists
    slot_left, need_left = slot_qty[:], need_qty[:]
    cap_left, energy_left = cap_qty[:], energy_qty[:]
    tol = QUANTITY_TOLERANCE
    open_needs = len(need_left)
    cost = risk = 0.0
    allocations: list[tuple[int, float]] = []
    for i in order:
        n = p_need[i]
        rn = need_left[n]
        if rn <= tol:
            continue
        s = p_slot[i]
        q = slot_left[s]
        if q <= tol:
            continue
        c = p_cap[i]
        rc = cap_left[c]
        if p_aon[i]:
            # Untouched by construction: an all-or-nothing slot is only ever taken whole.
            if q > rn + FIT_SLACK * (rn + 1.0) or q > rc + FIT_SLACK * (rc + 1.0):
                continue
        else:
            if rn < q:
                q = rn
            if rc < q:
                q = rc
            e = p_energy[i]
            re = energy_left[e]
            if re < q:
                q = re
            if q <= tol:
                continue
            energy_left[e] = re - q
        slot_left[s] -= q
        cap_left[c] = rc - q
        rn -= q
        need_left[n] = rn
        cost += q * p_cost[i]
        risk += q * p_risk[i]
        allocations.append((i, q))
        if rn <= tol:
            open_needs -= 1
            if not open_needs:
                break
    unserved = unserved_dso = 0.0
    for n, r in enumerate(need_left):
        if r > tol:
            unserved += r
            if need_dso[n]:
                unserved_dso += r
    return Decoded(cost, unserved, risk, unserved_dso, allocations, need_left)
