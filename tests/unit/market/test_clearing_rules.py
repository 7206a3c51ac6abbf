"""The clearing rules on hand-computed examples, for every engine (MARKET_RULES.md
"Clearing", Platone FR_MP_FS_3): DSO priority, eligibility, all-or-nothing steps, never
over-serving, PoD capacity, flexible blocks, pricing, determinism and the registry."""

from __future__ import annotations

import pytest

from market.domain.clearing.errors import ClearingError
from market.domain.clearing.feasibility import check_feasible
from market.domain.clearing.instances import realistic_problem
from market.domain.clearing.pricing import apply_pricing
from market.domain.clearing.problem import (
    Award,
    Bid,
    ClearingProblem,
    ClearingResult,
    FlexibleBlock,
    Need,
    Step,
)
from market.domain.clearing.registry import CLEARERS, get_clearer

ENGINES = ("merit_order", "milp", "nsga2")
EXACT = ("milp", "nsga2")  # engines that must find the optimum of these small examples


def make_need(request_id: str = "R-DSO", *, role: str = "DSO", pods: tuple[str, ...] = ("P1",),
              quantities: dict[int, float] | None = None, direction: str = "up",
              quantity_type: str = "P", max_price: float | None = None) -> Need:
    return Need(request_id=request_id, requester_id=f"{role}-1", role=role,  # type: ignore[arg-type]
                direction=direction, quantity_type=quantity_type,  # type: ignore[arg-type]
                eligible_pods=frozenset(pods), quantities=quantities or {10: 10.0},
                max_price_eur_per_mwh=max_price)


def make_bid(offer_id: str = "O1", *, pod: str = "P1",
             steps: tuple[tuple[int, float, float], ...] = ((10, 10.0, 100.0),),
             divisible: bool = True, direction: str = "up", quantity_type: str = "P") -> Bid:
    return Bid(offer_id=offer_id, aggregator_id="AGG-1", pod_id=pod,
               direction=direction, quantity_type=quantity_type,  # type: ignore[arg-type]
               steps=tuple(Step(m, q, p) for m, q, p in steps), divisible=divisible)


def make_block(offer_id: str = "B1", *, pod: str = "P9", energy: float = 2.0,
               max_power: float = 4.0, first_mtu: int = 10, last_mtu: int = 12,
               price: float = 100.0) -> FlexibleBlock:
    return FlexibleBlock(offer_id=offer_id, aggregator_id="AGG-2", pod_id=pod,
                         direction="up", quantity_type="P", energy=energy,
                         max_power=max_power, first_mtu=first_mtu, last_mtu=last_mtu,
                         price_eur_per_mwh=price)


def clear(engine: str, needs: tuple[Need, ...], bids: tuple[Bid, ...] = (),
          blocks: tuple[FlexibleBlock, ...] = (), **fields: object) -> ClearingResult:
    problem = ClearingProblem("DA-TEST", needs, bids, blocks, **fields)  # type: ignore[arg-type]
    result = get_clearer(engine).clear(problem)
    check_feasible(problem, result.awards)
    return result


def given(result: ClearingResult) -> dict[tuple[str, str, int], float]:
    """(request, offer, MTU) → kW awarded."""
    totals: dict[tuple[str, str, int], float] = {}
    for a in result.awards:
        key = (a.request_id, a.offer_id, a.mtu)
        totals[key] = totals.get(key, 0.0) + a.quantity
    return {k: round(v, 6) for k, v in totals.items()}


# -- DSO priority --------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_fr_mp_fs_3_an_offer_both_want_goes_to_the_dso(engine: str) -> None:
    """One 10 kW offer, a DSO and a TSO request for 10 kW each: the DSO gets it all."""
    result = clear(engine, (make_need("R-TSO", role="TSO"), make_need("R-DSO")),
                   (make_bid(),))
    assert given(result) == {("R-DSO", "O1", 10): 10.0}
    assert (result.objectives.unserved, result.objectives.unserved_dso) == (10.0, 0.0)


@pytest.mark.parametrize("engine", EXACT)
def test_fr_mp_fs_3_the_dso_takes_only_what_the_tso_cannot_replace(engine: str) -> None:
    """DSO wants 10 kW from P1 (50 €/MWh) or P2 (100 €/MWh); the TSO wants 5 kW and may use
    only P1. Serving both in full: DSO 5 from P1 + 5 from P2, TSO 5 from P1 — cost
    (5·50 + 5·100 + 5·50) · 0.25 / 1000 = 0.25 €."""
    result = clear(engine, (make_need(pods=("P1", "P2")),
                            make_need("R-TSO", role="TSO", quantities={10: 5.0})),
                   (make_bid("O1", pod="P1", steps=((10, 10.0, 50.0),)),
                    make_bid("O2", pod="P2", steps=((10, 10.0, 100.0),))))
    assert given(result) == {("R-DSO", "O1", 10): 5.0, ("R-DSO", "O2", 10): 5.0,
                             ("R-TSO", "O1", 10): 5.0}
    assert result.objectives.cost_eur == pytest.approx(0.25)


# -- eligibility ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("offer", [
    make_bid(direction="down"),
    make_bid(quantity_type="Q"),
    make_bid(steps=((11, 10.0, 100.0),)),
    make_bid(pod="P2"),
    make_bid(steps=((10, 10.0, 350.01),)),
], ids=["direction", "quantity-type", "mtu", "pod-not-eligible", "above-max-price"])
def test_fr_mp_fs_3_an_ineligible_offer_is_not_awarded(engine: str, offer: Bid) -> None:
    result = clear(engine, (make_need(max_price=350.0),), (offer,))
    assert result.awards == ()
    assert result.objectives.unserved == 10.0


@pytest.mark.parametrize("engine", ENGINES)
def test_an_offer_at_the_max_price_is_eligible(engine: str) -> None:
    result = clear(engine, (make_need(max_price=350.0),), (make_bid(steps=((10, 4.0, 350.0),)),))
    assert given(result) == {("R-DSO", "O1", 10): 4.0}


# -- quantities ----------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_an_all_or_nothing_step_is_never_split(engine: str) -> None:
    """An 8 kW all-or-nothing step, two requests of 5 kW: it fits neither whole."""
    needs = (make_need(quantities={10: 5.0}),
             make_need("R-DSO-2", quantities={10: 5.0}))
    result = clear(engine, needs, (make_bid(steps=((10, 8.0, 100.0),), divisible=False),))
    assert result.awards == ()
    assert result.objectives.unserved == 10.0


@pytest.mark.parametrize("engine", ENGINES)
def test_an_all_or_nothing_step_goes_whole_where_it_fits(engine: str) -> None:
    needs = (make_need(quantities={10: 5.0}), make_need("R-DSO-2", quantities={10: 8.0}))
    result = clear(engine, needs, (make_bid(steps=((10, 8.0, 100.0),), divisible=False),))
    assert given(result) == {("R-DSO-2", "O1", 10): 8.0}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_divisible_step_is_split_between_requests(engine: str) -> None:
    needs = (make_need(quantities={10: 6.0}), make_need("R-DSO-2", quantities={10: 4.0}))
    result = clear(engine, needs, (make_bid(),))
    assert given(result) == {("R-DSO", "O1", 10): 6.0, ("R-DSO-2", "O1", 10): 4.0}


@pytest.mark.parametrize("engine", ENGINES)
def test_never_over_serve_and_cheapest_first(engine: str) -> None:
    """7 kW wanted, 10 kW at 100 and 10 kW at 50 €/MWh: 7 kW of the cheaper."""
    result = clear(engine, (make_need(pods=("P1", "P2"), quantities={10: 7.0}),),
                   (make_bid("O1", pod="P1"), make_bid("O2", pod="P2", steps=((10, 10.0, 50.0),))))
    assert given(result) == {("R-DSO", "O2", 10): 7.0}
    assert result.objectives.cost_eur == pytest.approx(7 * 0.25 * 50 / 1000)


@pytest.mark.parametrize("engine", ENGINES)
def test_rt_netting_pod_capacity_bounds_all_its_offers(engine: str) -> None:
    """P1 may give 6 kW in MTU 10, of which DA awarded 3: its two 10 kW bids together get
    3 kW; the rest comes from P2."""
    result = clear(engine, (make_need(pods=("P1", "P2"), quantities={10: 12.0}),),
                   (make_bid("O1", steps=((10, 10.0, 50.0),)),
                    make_bid("O2", steps=((10, 10.0, 60.0),)),
                    make_bid("O3", pod="P2", steps=((10, 10.0, 200.0),))),
                   pod_capacity={("P1", "up", "P", 10): 6.0 - 3.0})
    assert given(result) == {("R-DSO", "O1", 10): 3.0, ("R-DSO", "O3", 10): 9.0}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_flexible_block_respects_energy_and_power(engine: str) -> None:
    """2 kWh at 4 kW at most: 8 kW·MTU over the window, 4 kW in any MTU."""
    need = make_need(pods=("P9",), quantities={10: 6.0, 11: 6.0, 12: 6.0})
    result = clear(engine, (need,), blocks=(make_block(),))
    per_mtu = [a.quantity for a in result.awards]
    assert max(per_mtu) <= 4.0 + 1e-9
    assert sum(per_mtu) == pytest.approx(8.0)
    assert result.objectives.unserved == pytest.approx(18.0 - 8.0)


@pytest.mark.parametrize("engine", EXACT)
def test_a_flexible_block_goes_where_it_saves_most(engine: str) -> None:
    """Block at 100 €/MWh for two of MTUs 10–12; the bids cost 150, 300 and 250 €/MWh: the
    block serves MTUs 11 and 12, the bid MTU 10 (merit order would spend it on 10, 11)."""
    need = make_need(pods=("P1", "P9"), quantities={10: 4.0, 11: 4.0, 12: 4.0})
    bids = (make_bid(steps=((10, 4.0, 150.0), (11, 4.0, 300.0), (12, 4.0, 250.0))),)
    result = clear(engine, (need,), bids, (make_block(),))
    assert given(result) == {("R-DSO", "O1", 10): 4.0, ("R-DSO", "B1", 11): 4.0,
                             ("R-DSO", "B1", 12): 4.0}
    assert result.objectives.cost_eur == pytest.approx(4 * 0.25 * (150 + 100 + 100) / 1000)


def test_merit_order_spends_a_block_in_request_order() -> None:
    need = make_need(pods=("P1", "P9"), quantities={10: 4.0, 11: 4.0, 12: 4.0})
    bids = (make_bid(steps=((10, 4.0, 150.0), (11, 4.0, 300.0), (12, 4.0, 250.0))),)
    result = clear("merit_order", (need,), bids, (make_block(),))
    assert given(result) == {("R-DSO", "B1", 10): 4.0, ("R-DSO", "B1", 11): 4.0,
                             ("R-DSO", "O1", 12): 4.0}


@pytest.mark.parametrize("engine", EXACT)
def test_a_large_all_or_nothing_step_taken_first_serves_more(engine: str) -> None:
    """10 kW wanted: divisible 3 kW at 50, all-or-nothing 9 kW at 100, divisible 1 kW at
    200 €/MWh. Cheapest first serves 3 + 1 = 4 kW; the optimum is the step whole and 1 kW
    of the cheapest."""
    result = clear(engine, (make_need(pods=("P1", "P2", "P3")),),
                   (make_bid("O1", pod="P1", steps=((10, 3.0, 50.0),)),
                    make_bid("O2", pod="P2", steps=((10, 9.0, 100.0),), divisible=False),
                    make_bid("O3", pod="P3", steps=((10, 1.0, 200.0),))))
    assert given(result) == {("R-DSO", "O2", 10): 9.0, ("R-DSO", "O1", 10): 1.0}


# -- pricing -------------------------------------------------------------------------------

def _award(offer: str, quantity: float, price: float, request: str = "R1") -> Award:
    return Award(request_id=request, requester_id="DSO-1", offer_id=offer,
                 aggregator_id="AGG-1", pod_id="P1", mtu=10, quantity=quantity,
                 bid_price_eur_per_mwh=price, price_eur_per_mwh=0.0, step=0)


def test_pay_as_bid_and_pay_as_clear() -> None:
    awards = (_award("O1", 4.0, 100.0), _award("O2", 2.0, 200.0), _award("O3", 5.0, 80.0, "R2"))
    assert [a.price_eur_per_mwh for a in apply_pricing(awards, "pay_as_bid")] == [
        100.0, 200.0, 80.0]
    # R1 in MTU 10 pays its highest accepted price for both awards; R2 its own.
    assert [a.price_eur_per_mwh for a in apply_pricing(awards, "pay_as_clear")] == [
        200.0, 200.0, 80.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_pay_as_clear_leaves_the_cost_objective_at_bid_prices(engine: str) -> None:
    problem = ClearingProblem("DA-TEST", (make_need(pods=("P1", "P2")),),
                              (make_bid("O1", pod="P1", steps=((10, 4.0, 100.0),)),
                               make_bid("O2", pod="P2", steps=((10, 6.0, 200.0),))))
    result = get_clearer(engine).clear(problem, pricing="pay_as_clear")
    assert {a.offer_id: a.price_eur_per_mwh for a in result.awards} == {"O1": 200.0,
                                                                        "O2": 200.0}
    assert {a.offer_id: a.bid_price_eur_per_mwh for a in result.awards} == {"O1": 100.0,
                                                                            "O2": 200.0}
    assert result.objectives.cost_eur == pytest.approx((4 * 100 + 6 * 200) * 0.25 / 1000)
    assert result.pricing == "pay_as_clear"


def test_an_unknown_pricing_rule_fails_before_clearing() -> None:
    with pytest.raises(ClearingError, match="pay_as_bid"):
        get_clearer("merit_order").clear(ClearingProblem("S", (make_need(),)),
                                         pricing="auction")  # type: ignore[arg-type]


# -- registry, results, determinism --------------------------------------------------------

def test_get_clearer_rejects_an_unknown_engine_naming_the_known_ones() -> None:
    with pytest.raises(ClearingError, match="nsga2, milp, merit_order"):
        get_clearer("nope")


def test_get_clearer_rejects_unknown_options() -> None:
    with pytest.raises(ClearingError, match="nsga2"):
        get_clearer("nsga2", populaton=10)
    with pytest.raises(ClearingError, match="choice"):
        get_clearer("nsga2", choice="cheapest")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_result_records_engine_version_and_seed(engine: str) -> None:
    result = clear(engine, (make_need(),), (make_bid(),))
    assert (result.engine, result.engine_version) == (engine, CLEARERS[engine].version)
    assert result.seed == (1 if engine == "nsga2" else None)
    assert result.statistics["seconds"] >= 0
    assert result.pareto_front[0] == result.objectives


@pytest.mark.parametrize("engine", ENGINES)
def test_nothing_to_clear(engine: str) -> None:
    result = clear(engine, (make_need(),))
    assert (result.awards, result.objectives.unserved) == ((), 10.0)
    assert result.unserved[0].quantity == 10.0


def test_nsga2_same_seed_same_awards_whatever_the_offer_order() -> None:
    problem = realistic_problem(60, seed=5)
    shuffled = ClearingProblem(problem.session_id, problem.needs[::-1], problem.bids[::-1],
                               problem.blocks[::-1], problem.pod_capacity, problem.reliability)
    first = get_clearer("nsga2", seed=7, generations=10).clear(problem)
    again = get_clearer("nsga2", seed=7, generations=10).clear(shuffled)
    assert first.awards == again.awards
    assert first.pareto_front == again.pareto_front


def test_awards_are_sorted_by_request_mtu_offer() -> None:
    result = get_clearer("merit_order").clear(realistic_problem(60, seed=5))
    keys = [(a.request_id, a.mtu, a.offer_id) for a in result.awards]
    assert keys == sorted(keys)


def test_nsga2_least_cost_choice_takes_the_cheapest_point() -> None:
    """Two ways to serve: AON 9 kW at 100 + 1 kW (served 10) or 3 + 1 kW cheaper (served
    4). least_unserved takes the first, least_cost the cheaper second."""
    problem = ClearingProblem("S", (make_need(pods=("P1", "P2", "P3")),), (
        make_bid("O1", pod="P1", steps=((10, 3.0, 50.0),)),
        make_bid("O2", pod="P2", steps=((10, 9.0, 100.0),), divisible=False),
        make_bid("O3", pod="P3", steps=((10, 1.0, 200.0),))))
    served = get_clearer("nsga2").clear(problem)
    cheap = get_clearer("nsga2", choice="least_cost").clear(problem)
    assert served.objectives.unserved == 0.0
    assert cheap.objectives.cost_eur < served.objectives.cost_eur
    assert cheap.objectives.unserved > 0.0
    # The default choice's front keeps the cheaper trade-off too.
    assert any(p.cost_eur < served.objectives.cost_eur for p in served.pareto_front)
