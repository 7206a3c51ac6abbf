"""The plain-Python check every engine's answer passes: each broken rule is caught and
named (MARKET_RULES.md "Clearing", notes/milp-pitfalls.md), and the objectives of a hand
example."""

from __future__ import annotations

from dataclasses import replace

import pytest

from market.domain.clearing.errors import ClearingError, InfeasibleSolution
from market.domain.clearing.feasibility import check_feasible, objectives_of, unserved_of
from market.domain.clearing.problem import (
    Award,
    Bid,
    ClearingProblem,
    FlexibleBlock,
    Need,
    Step,
    Unserved,
)

NEED_DSO = Need(request_id="R1", requester_id="DSO-1", role="DSO", direction="up",
                quantity_type="P", eligible_pods=frozenset({"P1", "P2", "P9"}),
                quantities={10: 10.0, 11: 6.0}, max_price_eur_per_mwh=300.0)
NEED_TSO = Need(request_id="R2", requester_id="TSO-1", role="TSO", direction="up",
                quantity_type="P", eligible_pods=frozenset({"P1", "P2"}),
                quantities={10: 4.0})
BID_DIVISIBLE = Bid(offer_id="O1", aggregator_id="AGG-1", pod_id="P1", direction="up",
                    quantity_type="P", steps=(Step(10, 6.0, 100.0), Step(10, 4.0, 150.0),
                                              Step(11, 6.0, 100.0)))
BID_AON = Bid(offer_id="O2", aggregator_id="AGG-2", pod_id="P2", direction="up",
              quantity_type="P", steps=(Step(10, 4.0, 120.0),), divisible=False)
BLOCK = FlexibleBlock(offer_id="B1", aggregator_id="AGG-3", pod_id="P9", direction="up",
                      quantity_type="P", energy=1.0, max_power=3.0, first_mtu=10,
                      last_mtu=11, price_eur_per_mwh=90.0)
PROBLEM = ClearingProblem(
    session_id="DA-TEST", needs=(NEED_DSO, NEED_TSO), bids=(BID_DIVISIBLE, BID_AON),
    blocks=(BLOCK,), pod_capacity={("P1", "up", "P", 10): 9.0},
    reliability={"P1": 0.9, "P2": 0.8}, default_reliability=0.5)


def award(request: str, offer: str, mtu: int, quantity: float, price: float,
          step: int | None) -> Award:
    requester = {"R1": NEED_DSO.requester_id, "R2": NEED_TSO.requester_id}.get(request, "X")
    pods = {"O1": ("AGG-1", "P1"), "O2": ("AGG-2", "P2"), "B1": ("AGG-3", "P9")}.get(
        offer, ("AGG-1", "P1"))
    return Award(request_id=request, requester_id=requester, offer_id=offer,
                 aggregator_id=pods[0], pod_id=pods[1], mtu=mtu, quantity=quantity,
                 bid_price_eur_per_mwh=price, price_eur_per_mwh=price, step=step)


# A feasible solution: R1 gets 6 + 1 kW from P1 (within its 9 kW) and 3 kW from the block
# in MTU 10, 5 + 1 kW in MTU 11; the all-or-nothing step goes whole to R2; the block gives
# 3 + 1 = 4 kW·MTU = 1 kWh, its energy.
GOOD = (award("R1", "O1", 10, 6.0, 100.0, 0), award("R1", "O1", 10, 1.0, 150.0, 1),
        award("R2", "O2", 10, 4.0, 120.0, None), award("R1", "B1", 10, 3.0, 90.0, None),
        award("R1", "O1", 11, 5.0, 100.0, 2), award("R1", "B1", 11, 1.0, 90.0, None))


def test_a_feasible_solution_passes() -> None:
    check_feasible(PROBLEM, GOOD)
    check_feasible(PROBLEM, ())


@pytest.mark.parametrize(("awards", "message"), [
    ((award("R1", "O1", 10, 0.0, 100.0, 0),), "not positive"),
    ((award("R9", "O1", 10, 1.0, 100.0, 0),), "no such request"),
    ((award("R1", "O9", 10, 1.0, 100.0, 0),), "no such offer"),
    ((replace(award("R1", "O1", 10, 1.0, 100.0, 0), pod_id="P2"),), "PoD differ"),
    ((award("R2", "B1", 10, 1.0, 90.0, None),), "P9 is not eligible"),
    ((award("R2", "O1", 11, 1.0, 100.0, 2),), "asks nothing in that MTU"),
    ((award("R1", "O1", 10, 1.0, 99.0, 0),), "bid price"),
    ((award("R1", "O1", 11, 1.0, 100.0, 0),), "is in MTU 11, the step is in MTU 10"),
    ((award("R1", "O1", 10, 6.5, 100.0, 0),), "awarded 6.5, it offers 6.0"),
    ((award("R1", "O2", 10, 2.0, 120.0, None), award("R2", "O2", 10, 2.0, 120.0, None)),
     "all-or-nothing step 0 of O2 .* split"),
    ((award("R1", "O2", 10, 3.0, 120.0, None),), "split"),
    ((award("R2", "O1", 10, 4.0, 100.0, 0), award("R2", "O2", 10, 4.0, 120.0, None)),
     "R2 in MTU 10 over-served"),
    ((award("R1", "O1", 10, 6.0, 100.0, 0), award("R1", "O1", 10, 4.0, 150.0, 1)),
     "PoD P1 up P in MTU 10 awarded 10.0, its capacity is 9.0"),
    ((award("R1", "B1", 10, 3.5, 90.0, None),), "max power"),
    ((award("R1", "B1", 10, 3.0, 90.0, None), award("R1", "B1", 11, 2.0, 90.0, None)),
     "block B1 awarded 1.25 in energy"),
    ((award("R1", "B1", 10, 1.0, 90.0, 0),), "has no steps"),
])
def test_fr_mp_fs_3_each_broken_rule_is_caught_and_named(
        awards: tuple[Award, ...], message: str) -> None:
    with pytest.raises(InfeasibleSolution, match=message):
        check_feasible(PROBLEM, awards)


def test_above_the_max_price_is_caught() -> None:
    pricey = replace(PROBLEM, bids=(replace(BID_AON, steps=(Step(10, 4.0, 301.0),)),))
    with pytest.raises(InfeasibleSolution, match="above the request's maximum"):
        check_feasible(pricey, (award("R1", "O2", 10, 4.0, 301.0, None),))


def test_a_step_is_found_by_mtu_and_price_when_not_named() -> None:
    check_feasible(PROBLEM, (award("R1", "O1", 10, 1.0, 150.0, None),))


def test_infeasible_solution_is_a_clearing_error() -> None:
    assert issubclass(InfeasibleSolution, ClearingError)


def test_objectives_and_unserved_of_a_hand_example() -> None:
    objectives = objectives_of(PROBLEM, GOOD)
    # cost: Σ q · 0.25 h · bid price / 1000 (€)
    cost = (6 * 100 + 1 * 150 + 4 * 120 + 3 * 90 + 5 * 100 + 1 * 90) * 0.25 / 1000
    assert objectives.cost_eur == pytest.approx(cost)
    # risk: Σ q · (1 − reliability): P1 0.9, P2 0.8, P9 the default 0.5
    assert objectives.risk == pytest.approx((6 + 1 + 5) * 0.1 + 4 * 0.2 + (3 + 1) * 0.5)
    assert (objectives.unserved, objectives.unserved_dso) == (0.0, 0.0)
    assert unserved_of(PROBLEM, GOOD) == ()
    # Only the first two awards: R1 lacks 3 kW in MTU 10 and 6 in MTU 11, R2 4 kW.
    short = objectives_of(PROBLEM, GOOD[:2])
    assert (short.unserved, short.unserved_dso) == (13.0, 9.0)
    assert unserved_of(PROBLEM, GOOD[:2]) == (
        Unserved("R1", 10, 3.0), Unserved("R1", 11, 6.0), Unserved("R2", 10, 4.0))
