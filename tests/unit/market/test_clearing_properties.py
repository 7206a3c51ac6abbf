"""Properties of the engines on random small problems (Platone FR_MP_FS_3, MARKET_RULES.md
"Clearing"): every answer is feasible, NSGA-II's choice is the exact optimum, merit order
never beats the exact reference, and a realistic session clears within bounds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.domain.clearing.feasibility import check_feasible
from market.domain.clearing.instances import realistic_problem
from market.domain.clearing.merit_order import MeritOrder
from market.domain.clearing.milp import Milp
from market.domain.clearing.nsga2 import Nsga2
from market.domain.clearing.problem import (
    Bid,
    ClearingProblem,
    FlexibleBlock,
    Need,
    Objectives,
    Step,
)

MTUS = (10, 11)
PODS = ("P1", "P2", "P3", "P4")
QUANTITIES = st.sampled_from([1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0])
PRICES = st.sampled_from([50.0, 80.0, 100.0, 120.0, 150.0, 200.0, 300.0])


@st.composite
def problems(draw: st.DrawFn) -> ClearingProblem:
    """A few requests (DSO and TSO, sharing PoDs), a few bids with all-or-nothing steps,
    PoD capacities, reliabilities and sometimes a flexible block, over two MTUs."""
    needs = []
    for k in range(draw(st.integers(1, 3))):
        role = draw(st.sampled_from(["DSO", "TSO"]))
        mtus = draw(st.lists(st.sampled_from(MTUS), min_size=1, max_size=2, unique=True))
        needs.append(Need(
            request_id=f"R{k}", requester_id=f"{role}-1", role=role,
            direction=draw(st.sampled_from(["up", "up", "up", "down"])), quantity_type="P",
            eligible_pods=frozenset(draw(st.lists(st.sampled_from(PODS), min_size=1,
                                                  max_size=4, unique=True))),
            quantities={m: draw(QUANTITIES) for m in mtus},
            max_price_eur_per_mwh=draw(st.sampled_from([None, None, 150.0, 250.0]))))
    bids = []
    for o in range(draw(st.integers(1, 5))):
        steps = tuple(Step(draw(st.sampled_from(MTUS)), draw(QUANTITIES), draw(PRICES))
                      for _ in range(draw(st.integers(1, 3))))
        bids.append(Bid(offer_id=f"O{o}", aggregator_id="AGG-1",
                        pod_id=draw(st.sampled_from(PODS)),
                        direction=draw(st.sampled_from(["up", "up", "up", "down"])),
                        quantity_type="P", steps=steps, divisible=draw(st.booleans())))
    blocks = []
    if draw(st.integers(0, 3)) == 0:
        blocks.append(FlexibleBlock(
            offer_id="B0", aggregator_id="AGG-2", pod_id=draw(st.sampled_from(PODS)),
            direction="up", quantity_type="P", energy=draw(st.sampled_from([0.5, 1.0, 2.0])),
            max_power=draw(st.sampled_from([2.0, 4.0, 6.0])), first_mtu=10, last_mtu=11,
            price_eur_per_mwh=draw(PRICES)))
    capacity = {(pod, d, "P", m): draw(st.sampled_from([0.0, 2.0, 5.0, 8.0]))
                for pod in draw(st.lists(st.sampled_from(PODS), max_size=2, unique=True))
                for d in ("up", "down") for m in MTUS}
    reliability = {pod: draw(st.sampled_from([0.7, 0.9, 1.0])) for pod in PODS}
    return ClearingProblem("DA-PROP", tuple(needs), tuple(bids), tuple(blocks),
                           pod_capacity=capacity, reliability=reliability)  # type: ignore[arg-type]


def _rank(o: Objectives) -> tuple[float, float, float]:
    """The lexicographic goal: DSO served, then all served, then cost."""
    return (o.unserved_dso, o.unserved, o.cost_eur)


def _not_better(a: Objectives, b: Objectives) -> bool:
    """``a`` is not lexicographically better than ``b`` (up to round-off)."""
    for x, y in zip(_rank(a), _rank(b), strict=True):
        if abs(x - y) > 1e-6 * max(1.0, abs(x), abs(y)):
            return x > y
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_fr_mp_fs_3_engines_feasible_nsga2_exact_merit_order_bounded(
        problem: ClearingProblem) -> None:
    exact = Milp(mip_rel_gap=0.0).clear(problem)
    chosen = Nsga2(population=16, generations=20, seed=3).clear(problem)
    merit = MeritOrder().clear(problem)
    for result in (exact, chosen, merit):
        check_feasible(problem, result.awards)
    # NSGA-II's choice is the optimum: same unserved DSO and total, same cost.
    o, m = chosen.objectives, exact.objectives
    assert o.unserved_dso == pytest.approx(m.unserved_dso, abs=1e-6)
    assert o.unserved == pytest.approx(m.unserved, abs=1e-6)
    assert o.cost_eur == pytest.approx(m.cost_eur, rel=1e-6, abs=1e-9)
    # Merit order never beats the exact reference.
    assert _not_better(merit.objectives, exact.objectives)
    # The chosen point heads the front, whose points none dominates.
    assert chosen.pareto_front[0] == chosen.objectives
    assert len(chosen.pareto_front) <= 20


def test_a_realistic_session_clears_feasibly_and_near_the_optimum() -> None:
    """100 offers over 96 MTUs (bench/clearing.py's smallest size): NSGA-II serves at
    least as much as merit order and stays near the MILP (regression bounds)."""
    problem = realistic_problem(100, seed=1)
    exact = Milp().clear(problem)
    chosen = Nsga2().clear(problem)
    merit = MeritOrder().clear(problem)
    assert chosen.objectives.unserved <= merit.objectives.unserved + 1e-6
    assert _not_better(merit.objectives, exact.objectives)
    assert _not_better(chosen.objectives, exact.objectives)
    assert chosen.objectives.unserved <= exact.objectives.unserved + 1.0  # kW·MTU
    assert chosen.objectives.cost_eur <= exact.objectives.cost_eur * 1.01
