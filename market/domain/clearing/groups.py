"""The clearing problem as arrays of eligible (offer unit, need) pairs, split into groups
that can be cleared independently (notes/milp-pitfalls.md: per group is much faster).

Words used by every engine:

- a *need slot* is one request in one MTU (kW or kVAr requested);
- an *offer slot* is one bid step, or one MTU of a flexible block's window (bounded by the
  block's max power, and with the block's other MTUs by its energy);
- a *pair* is an offer slot eligible for a need slot (MARKET_RULES.md "Clearing": same
  direction and quantity type, same MTU, the offer's PoD eligible, price within the
  request's maximum). Offer slots eligible for nothing are dropped: they cannot matter.

Two need slots are in the same group when a pair of each shares an offer slot, a PoD's
capacity or a block's energy; groups are therefore sets of MTUs of one direction and
quantity type (a block joins the MTUs of its window), or finer. Every objective and every
lexicographic goal is a sum over groups, so clearing per group and adding up is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from market.domain.clearing.feasibility import within
from market.domain.clearing.problem import (
    MTU_HOURS,
    QUANTITY_TOLERANCE,
    Bid,
    ClearingProblem,
    FlexibleBlock,
    Need,
)

UNBOUNDED = float("inf")


@dataclass(eq=False)
class Group:
    """The pairs of one group, indexed locally: capacity 0 and energy 0 are the
    "unbounded" entries, so the decoder never branches on a missing limit.

    Pairs are ordered by need slot then price (segments of a genome are then one
    request's choices). ``merit`` is each pair's rank in merit order.
    """

    index: int
    pairs: np.ndarray  # global pair id per local pair
    slot: np.ndarray  # local offer slot per pair
    need: np.ndarray  # local need slot per pair
    cap: np.ndarray  # local PoD capacity per pair (0: unbounded)
    energy: np.ndarray  # local block energy per pair (0: not a block)
    aon: np.ndarray  # bool: all-or-nothing step
    price: np.ndarray  # €/MWh
    risk: np.ndarray  # 1 − reliability of the PoD
    dso: np.ndarray  # bool: the need is a DSO request's
    merit: np.ndarray  # rank in merit order (0 first)
    slot_qty: np.ndarray  # kW per local offer slot
    need_qty: np.ndarray  # kW per local need slot
    need_dso: np.ndarray  # bool per local need slot
    cap_qty: np.ndarray  # kW per local capacity, [0] = inf
    energy_qty: np.ndarray  # kW·MTU per local block energy, [0] = inf
    slots_global: np.ndarray  # global offer slot per local one
    needs_global: np.ndarray  # global need slot per local one
    mtus: tuple[int, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.pairs)

    @cached_property
    def lists(self) -> tuple[list, ...]:
        """The decoder's inputs as Python lists (indexing a list is far faster than a
        numpy array in a pure-Python loop)."""
        return (self.slot.tolist(), self.need.tolist(), self.cap.tolist(),
                self.energy.tolist(), self.aon.tolist(),
                (self.price * (MTU_HOURS / 1000)).tolist(), self.risk.tolist(),
                self.slot_qty.tolist(), self.need_qty.tolist(), self.cap_qty.tolist(),
                self.energy_qty.tolist(), self.need_dso.tolist())

    @cached_property
    def simple(self) -> bool:
        """One need slot and no all-or-nothing step: the limits then nest (offer slot in
        PoD capacity in the need), so taking pairs by any linear weighting of price and
        risk is optimal for it (greedy on a laminar family)."""
        return len(self.need_qty) == 1 and not bool(self.aon.any())


@dataclass(eq=False)
class Flat:
    """``problem`` as arrays over need slots, offer slots and eligible pairs, with its
    groups. Needs are ordered DSO first then by request id; offers bids then blocks, each
    by offer id (merit-order ties and determinism rest on these orders)."""

    problem: ClearingProblem
    needs: tuple[Need, ...]
    offers: tuple[Bid | FlexibleBlock, ...]
    ns_need: np.ndarray  # need index per need slot
    ns_mtu: np.ndarray
    ns_qty: np.ndarray  # kW
    ns_dso: np.ndarray
    os_offer: np.ndarray  # offer index per offer slot
    os_step: np.ndarray  # bid step index, -1 for a block's MTU
    os_mtu: np.ndarray
    os_qty: np.ndarray  # step quantity or block max power, kW
    os_price: np.ndarray  # €/MWh
    os_aon: np.ndarray
    os_risk: np.ndarray
    pair_slot: np.ndarray
    pair_need: np.ndarray
    groups: tuple[Group, ...]

    @property
    def pairs(self) -> int:
        return len(self.pair_slot)


def _needs_in_order(problem: ClearingProblem) -> tuple[Need, ...]:
    return tuple(sorted(problem.needs, key=lambda n: (n.role != "DSO", n.request_id)))


class _SlotBuilder:
    """Collects offer slots as parallel lists, then arrays."""

    def __init__(self) -> None:
        self.offer: list[int] = []
        self.step: list[int] = []
        self.mtu: list[int] = []
        self.qty: list[float] = []
        self.price: list[float] = []
        self.aon: list[bool] = []
        self.pod: list[int] = []
        self.dq: list[int] = []
        self.energy: list[int] = []

    def add(self, offer: int, step: int, mtu: int, qty: float, price: float, aon: bool,
            pod: int, dq: int, energy: int) -> None:
        self.offer.append(offer)
        self.step.append(step)
        self.mtu.append(mtu)
        self.qty.append(qty)
        self.price.append(price)
        self.aon.append(aon)
        self.pod.append(pod)
        self.dq.append(dq)
        self.energy.append(energy)


def flatten(problem: ClearingProblem) -> Flat:
    """``problem`` as eligible pairs, split into groups.

    Args:
        problem: the session's needs, offers, PoD capacities (kW, kVAr) and reliabilities.

    Returns:
        The arrays every engine works on; pairs that can never be awarded (a PoD with no
        capacity left, an all-or-nothing step larger than the need or the capacity) are
        left out.
    """
    needs = _needs_in_order(problem)
    dq_code: dict[tuple[str, str], int] = {}
    for n in needs:
        dq_code.setdefault((n.direction, n.quantity_type), len(dq_code))

    # Need slots.
    ns_need, ns_mtu, ns_qty = [], [], []
    need_first_slot: list[int] = []
    need_mtus: list[np.ndarray] = []
    for k, n in enumerate(needs):
        need_first_slot.append(len(ns_need))
        mtus = sorted(m for m, q in n.quantities.items() if q > QUANTITY_TOLERANCE)
        need_mtus.append(np.asarray(mtus, dtype=np.int64))
        for m in mtus:
            ns_need.append(k)
            ns_mtu.append(m)
            ns_qty.append(float(n.quantities[m]))
    ns_dso = np.asarray([needs[k].role == "DSO" for k in ns_need], dtype=bool)

    # What an offer slot must have to be eligible for some need (a cheap first filter).
    relevant_pods: dict[int, set[str]] = {}
    relevant_mtus: dict[int, set[int]] = {}
    top_price: dict[int, float] = {}
    for k, n in enumerate(needs):
        if len(need_mtus[k]) == 0:
            continue
        dq = dq_code[n.direction, n.quantity_type]
        relevant_pods.setdefault(dq, set()).update(n.eligible_pods)
        relevant_mtus.setdefault(dq, set()).update(need_mtus[k].tolist())
        cap = UNBOUNDED if n.max_price_eur_per_mwh is None else n.max_price_eur_per_mwh
        top_price[dq] = max(top_price.get(dq, -UNBOUNDED), cap)

    pod_code: dict[str, int] = {}
    offers: list[Bid | FlexibleBlock] = [*sorted(problem.bids, key=lambda b: b.offer_id),
                                         *sorted(problem.blocks, key=lambda b: b.offer_id)]
    slots = _SlotBuilder()
    energy_qty: list[float] = []
    for oi, offer in enumerate(offers):
        dq = dq_code.get((offer.direction, offer.quantity_type))
        if dq is None or dq not in relevant_pods or offer.pod_id not in relevant_pods[dq]:
            continue
        pod = pod_code.setdefault(offer.pod_id, len(pod_code))
        mtus, price_cap = relevant_mtus[dq], top_price[dq] + 1e-9
        if isinstance(offer, Bid):
            aon = not offer.divisible
            for si, s in enumerate(offer.steps):
                if (s.mtu in mtus and s.quantity > QUANTITY_TOLERANCE
                        and s.price_eur_per_mwh <= price_cap):
                    slots.add(oi, si, s.mtu, s.quantity, s.price_eur_per_mwh, aon, pod, dq, -1)
        elif (offer.energy > QUANTITY_TOLERANCE and offer.max_power > QUANTITY_TOLERANCE
              and offer.price_eur_per_mwh <= price_cap):
            window = [m for m in range(offer.first_mtu, offer.last_mtu + 1) if m in mtus]
            if window:
                e = len(energy_qty)
                energy_qty.append(offer.energy / MTU_HOURS)
                for m in window:
                    slots.add(oi, -1, m, offer.max_power, offer.price_eur_per_mwh, False,
                              pod, dq, e)

    os_offer = np.asarray(slots.offer, dtype=np.int64)
    os_step = np.asarray(slots.step, dtype=np.int64)
    os_mtu = np.asarray(slots.mtu, dtype=np.int64)
    os_qty = np.asarray(slots.qty, dtype=float)
    os_price = np.asarray(slots.price, dtype=float)
    os_aon = np.asarray(slots.aon, dtype=bool)
    os_pod = np.asarray(slots.pod, dtype=np.int64)
    os_dq = np.asarray(slots.dq, dtype=np.int64)
    os_energy = np.asarray(slots.energy, dtype=np.int64)
    pods = list(pod_code)
    reliability = np.asarray([problem.reliability_of(p) for p in pods], dtype=float)
    os_risk = (1.0 - reliability[os_pod]) if len(pods) else np.zeros(0)

    # Eligible pairs, one need at a time (vectorised over offer slots).
    pair_slot_parts, pair_need_parts = [], []
    for k, n in enumerate(needs):
        if len(need_mtus[k]) == 0 or not len(os_offer):
            continue
        eligible = np.asarray([pod_code[p] for p in n.eligible_pods if p in pod_code],
                              dtype=np.int64)
        if not len(eligible):
            continue
        mask = (os_dq == dq_code[n.direction, n.quantity_type]) & np.isin(os_pod, eligible)
        mask &= np.isin(os_mtu, need_mtus[k])
        if n.max_price_eur_per_mwh is not None:
            mask &= os_price <= n.max_price_eur_per_mwh + 1e-9
        chosen = np.flatnonzero(mask)
        pair_slot_parts.append(chosen)
        pair_need_parts.append(need_first_slot[k]
                               + np.searchsorted(need_mtus[k], os_mtu[chosen]))
    pair_slot = (np.concatenate(pair_slot_parts) if pair_slot_parts
                 else np.zeros(0, dtype=np.int64))
    pair_need = (np.concatenate(pair_need_parts) if pair_need_parts
                 else np.zeros(0, dtype=np.int64))

    # PoD capacities of the offer slots that have pairs (index 0: unbounded).
    os_cap = np.zeros(len(os_offer), dtype=np.int64)
    cap_qty: list[float] = [UNBOUNDED]
    cap_index: dict[tuple[str, str, str, int], int] = {}
    if problem.pod_capacity:
        for s in np.unique(pair_slot).tolist():
            offer = offers[os_offer[s]]
            key = (offer.pod_id, offer.direction, offer.quantity_type, int(os_mtu[s]))
            c = cap_index.get(key)
            if c is None:
                limit = problem.pod_capacity.get(key)  # type: ignore[arg-type]
                if limit is None:
                    continue
                c = cap_index[key] = len(cap_qty)
                cap_qty.append(max(0.0, float(limit)))
            os_cap[s] = c
    cap_arr = np.asarray(cap_qty, dtype=float)
    energy_arr = np.asarray([UNBOUNDED, *energy_qty], dtype=float)
    os_energy1 = os_energy + 1  # local convention: 0 means "not a block"

    # Pairs that can never carry anything.
    keep = cap_arr[os_cap[pair_slot]] > QUANTITY_TOLERANCE
    aon_pairs = np.flatnonzero(keep & os_aon[pair_slot])
    ns_qty_arr = np.asarray(ns_qty, dtype=float)
    for p in aon_pairs.tolist():
        s = pair_slot[p]
        q = os_qty[s]
        if not (within(q, ns_qty_arr[pair_need[p]]) and within(q, cap_arr[os_cap[s]])):
            keep[p] = False
    pair_slot, pair_need = pair_slot[keep], pair_need[keep]

    groups = _groups(pair_slot, pair_need, os_cap, os_energy1, len(ns_qty),
                     ns_mtu=np.asarray(ns_mtu, dtype=np.int64), ns_qty=ns_qty_arr,
                     ns_dso=ns_dso,
                     os_offer=os_offer, os_step=os_step, os_qty=os_qty, os_price=os_price,
                     os_aon=os_aon, os_risk=os_risk, cap_arr=cap_arr, energy_arr=energy_arr)
    return Flat(problem=problem, needs=needs, offers=tuple(offers),
                ns_need=np.asarray(ns_need, dtype=np.int64),
                ns_mtu=np.asarray(ns_mtu, dtype=np.int64), ns_qty=ns_qty_arr, ns_dso=ns_dso,
                os_offer=os_offer, os_step=os_step, os_mtu=os_mtu, os_qty=os_qty,
                os_price=os_price, os_aon=os_aon, os_risk=os_risk, pair_slot=pair_slot,
                pair_need=pair_need, groups=groups)


def _edges(resource: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining the need slots of consecutive pairs that share ``resource`` (> 0)."""
    order = np.argsort(resource, kind="stable")
    r, n = resource[order], need[order]
    same = (r[1:] == r[:-1]) & (r[1:] > 0)
    return n[:-1][same], n[1:][same]


def _local(values: np.ndarray, keep_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """``values`` renumbered 0.. in order of value; with ``keep_zero`` 0 stays 0 (the
    unbounded entry). Returns (the distinct values, the local numbers)."""
    if keep_zero:
        distinct, inverse = np.unique(np.concatenate(([0], values)), return_inverse=True)
        return distinct, inverse[1:]
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, inverse


def _groups(pair_slot: np.ndarray, pair_need: np.ndarray, os_cap: np.ndarray,
            os_energy1: np.ndarray, n_need_slots: int, *, ns_mtu: np.ndarray,
            ns_qty: np.ndarray, ns_dso: np.ndarray,
            os_offer: np.ndarray, os_step: np.ndarray, os_qty: np.ndarray,
            os_price: np.ndarray, os_aon: np.ndarray, os_risk: np.ndarray,
            cap_arr: np.ndarray, energy_arr: np.ndarray) -> tuple[Group, ...]:
    if not len(pair_slot):
        return ()
    pair_cap, pair_energy = os_cap[pair_slot], os_energy1[pair_slot]
    heads, tails = [], []
    for resource in (pair_slot + 1, pair_cap, pair_energy):
        a, b = _edges(resource, pair_need)
        heads.append(a)
        tails.append(b)
    head, tail = np.concatenate(heads), np.concatenate(tails)
    graph = coo_array((np.ones(len(head)), (head, tail)), shape=(n_need_slots, n_need_slots))
    _, label = connected_components(graph, directed=False)

    # Merit order over all pairs: need slot (DSO first, by request, by MTU), price, higher
    # reliability, offer id, step (MARKET_RULES.md "Clearing"; the brief's tie-breaks).
    merit_order = np.lexsort((os_step[pair_slot], os_offer[pair_slot], os_risk[pair_slot],
                              os_price[pair_slot], pair_need))
    merit_rank = np.empty(len(pair_slot), dtype=np.int64)
    merit_rank[merit_order] = np.arange(len(pair_slot))

    pair_group = label[pair_need]
    # Groups numbered by their first need slot; pairs within in merit order (by need
    # slot, then price), so a group's local pair index is its merit rank.
    by_group = np.lexsort((merit_rank, pair_group))
    bounds = np.flatnonzero(np.diff(pair_group[by_group])) + 1
    chunks = np.split(by_group, bounds)
    chunks.sort(key=lambda c: int(pair_need[c].min()))
    groups = []
    for gi, pairs in enumerate(chunks):
        slots_global, slot = _local(pair_slot[pairs], keep_zero=False)
        needs_global, need = _local(pair_need[pairs], keep_zero=False)
        caps_global, cap = _local(pair_cap[pairs], keep_zero=True)
        energies_global, energy = _local(pair_energy[pairs], keep_zero=True)
        groups.append(Group(
            index=gi, pairs=pairs, slot=slot, need=need, cap=cap, energy=energy,
            aon=os_aon[pair_slot[pairs]], price=os_price[pair_slot[pairs]],
            risk=os_risk[pair_slot[pairs]], dso=ns_dso[pair_need[pairs]],
            merit=np.arange(len(pairs)),
            slot_qty=os_qty[slots_global], need_qty=ns_qty[needs_global],
            need_dso=ns_dso[needs_global], cap_qty=cap_arr[caps_global],
            energy_qty=energy_arr[energies_global], slots_global=slots_global,
            needs_global=needs_global, mtus=tuple(sorted(set(ns_mtu[needs_global].tolist())))))
    return tuple(groups)
