"""Realistic synthetic clearing problems for benchmarks and tests: a distribution grid of
primary substations and feeders, PoDs with household and commercial flexibility, offers
over parts of the day, DSO congestion requests at feeders and TSO requests at a primary
substation (Platone's DSO/TSO market, MARKET_RULES.md "Clearing").

Deterministic for a seed. Sizes are set so that some MTUs are scarce (less offered than
requested) and others are not.
"""

from __future__ import annotations

import numpy as np

from market.domain.clearing.problem import (
    Bid,
    ClearingProblem,
    Direction,
    FlexibleBlock,
    Need,
    Step,
)

MTUS = 96
EVENING = (68, 84)  # 17:00–21:00: the DSO's congestion hours (upward flexibility)
NOON = (44, 56)  # 11:00–14:00: PV back-feed (downward flexibility)
TSO_HOURS = (72, 80)  # 18:00–20:00: the TSO's balancing need


def realistic_problem(offers: int, *, seed: int = 0, session_id: str = "DA-BENCH",
                      aon_share: float = 0.15, block_share: float = 0.03,
                      rt_netting: bool = True) -> ClearingProblem:
    """A session with about ``offers`` offers over 96 MTUs.

    Args:
        offers: the number of offers (bids and flexible blocks).
        seed: the random seed.
        session_id: the session's id.
        aon_share: the share of bids that are all-or-nothing per step.
        block_share: the share of offers that are flexible blocks.
        rt_netting: whether some PoDs' capacity is reduced by earlier (DA) awards.

    Returns:
        A problem with PoD capacities (kW) for every offered PoD, direction and MTU, and a
        reliability per PoD.
    """
    rng = np.random.default_rng(seed)
    n_ps = max(1, round(offers ** 0.25 / 1.5))
    feeders_per_ps = 5
    n_pods = max(4, int(offers / 1.6))
    ps_of_feeder = np.repeat(np.arange(n_ps), feeders_per_ps)
    feeder_of_pod = rng.integers(len(ps_of_feeder), size=n_pods)
    commercial = rng.random(n_pods) < 0.1
    max_up = np.where(commercial, rng.uniform(40, 300, n_pods), rng.uniform(3, 12, n_pods))
    max_down = max_up * rng.uniform(0.3, 0.8, n_pods)
    reliability = np.clip(rng.beta(9, 1.2, n_pods), 0.5, 1.0)
    pod_ids = [f"POD-{i:06d}" for i in range(n_pods)]

    bids: list[Bid] = []
    blocks: list[FlexibleBlock] = []
    for o in range(offers):
        pod = int(rng.integers(n_pods))
        direction: Direction = "up" if rng.random() < 0.7 else "down"
        limit = float(max_up[pod] if direction == "up" else max_down[pod])
        centre = EVENING if direction == "up" else NOON
        length = int(rng.integers(16, 49))
        start = int(np.clip(rng.normal((centre[0] + centre[1]) / 2 - length / 2, 10), 0,
                            MTUS - length))
        base_price = float(rng.uniform(50, 250))
        offer_id, aggregator = f"OF-{o:06d}", f"AGG-{pod % 7 + 1}"
        if rng.random() < block_share:
            window = int(rng.integers(8, 33))
            first = int(np.clip(centre[0] + rng.integers(-4, 8), 0, MTUS - window))
            power = limit * float(rng.uniform(0.5, 1.0))
            blocks.append(FlexibleBlock(
                offer_id=offer_id, aggregator_id=aggregator, pod_id=pod_ids[pod],
                direction=direction, quantity_type="P",
                energy=round(power * 0.25 * window * float(rng.uniform(0.2, 0.5)), 3),
                max_power=round(power, 3), first_mtu=first, last_mtu=first + window - 1,
                price_eur_per_mwh=round(base_price * 0.9, 2)))
            continue
        steps: list[Step] = []
        share = float(rng.uniform(0.4, 0.9))
        for mtu in range(start, start + length):
            k = int(rng.integers(1, 4))
            cut = np.sort(rng.random(k))
            parts = np.diff(np.r_[0.0, cut]) / cut[-1] * limit * share
            price = base_price
            for q in parts:
                steps.append(Step(mtu, round(float(q), 3), round(min(price, 400.0), 2)))
                price += float(rng.uniform(10, 60))
        bids.append(Bid(offer_id=offer_id, aggregator_id=aggregator, pod_id=pod_ids[pod],
                        direction=direction, quantity_type="P", steps=tuple(steps),
                        divisible=bool(rng.random() >= aon_share)))

    # Capacity: each PoD's max flexibility in every MTU it is offered in, less what an
    # earlier session awarded some of them (RT netting).
    capacity: dict[tuple[str, Direction, str, int], float] = {}
    offered = np.zeros((2, len(ps_of_feeder), MTUS))  # direction, feeder, MTU: kW
    for offer in [*bids, *blocks]:
        pod = int(offer.pod_id[4:])
        d = 0 if offer.direction == "up" else 1
        limit = float(max_up[pod] if d == 0 else max_down[pod])
        if rt_netting and pod % 5 == 0:
            limit *= 0.5
        mtus = ([s.mtu for s in offer.steps] if isinstance(offer, Bid)
                else range(offer.first_mtu, offer.last_mtu + 1))
        for mtu in set(mtus):
            key = (offer.pod_id, offer.direction, "P", mtu)
            if key not in capacity:
                capacity[key] = round(limit, 3)
                offered[d, feeder_of_pod[pod], mtu] += limit * 0.6

    needs: list[Need] = []
    pods_of_feeder = [frozenset(pod_ids[i] for i in np.flatnonzero(feeder_of_pod == f))
                      for f in range(len(ps_of_feeder))]
    for f, pods in enumerate(pods_of_feeder):
        for d, (direction, (first, last)) in enumerate((("up", EVENING), ("down", NOON))):
            if rng.random() > (0.7 if direction == "up" else 0.4):
                continue
            # A congestion profile peaking mid-window; the peak asks more than is offered.
            scarcity = float(rng.uniform(0.5, 1.6))
            quantities = {}
            for mtu in range(first, last):
                shape = 1 - abs((mtu - (first + last) / 2) / ((last - first) / 2)) * 0.6
                q = offered[d, f, mtu] * scarcity * shape
                if q > 0.5:
                    quantities[mtu] = round(q, 3)
            if quantities:
                needs.append(Need(
                    request_id=f"REQ-DSO-{f:03d}-{direction}", requester_id="DSO-1",
                    role="DSO", direction=direction, quantity_type="P",  # type: ignore[arg-type]
                    eligible_pods=pods, quantities=quantities,
                    max_price_eur_per_mwh=(350.0 if rng.random() < 0.5 else None)))
    for ps in range(n_ps):
        feeders = np.flatnonzero(ps_of_feeder == ps)
        pods = frozenset().union(*(pods_of_feeder[f] for f in feeders))
        quantities = {}
        for mtu in range(*TSO_HOURS):
            q = float(offered[0, feeders, mtu].sum()) * float(rng.uniform(0.15, 0.5))
            if q > 0.5:
                quantities[mtu] = round(q, 3)
        if quantities:
            needs.append(Need(request_id=f"REQ-TSO-{ps:02d}", requester_id="TSO-1",
                              role="TSO", direction="up", quantity_type="P",
                              eligible_pods=pods, quantities=quantities,
                              max_price_eur_per_mwh=300.0))
    return ClearingProblem(
        session_id=session_id, needs=tuple(needs), bids=tuple(bids), blocks=tuple(blocks),
        pod_capacity=capacity,  # type: ignore[arg-type]
        reliability={pod_ids[i]: round(float(reliability[i]), 4) for i in range(n_pods)})
