"""Settlement rules (MARKET_RULES.md "Settlement", FR_MP_SET_4/5) on hand-computed days.

The reference PoD is awarded 10 kW "up" in MTUs 40 and 41 at 100 €/MWh: 25 cents per MTU,
5 kWh in all; its baseline is 20 kW.
"""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from market.domain.events import SettlementMechanismCreated
from market.domain.settlement import (
    PodAccount,
    SettledAward,
    SettlementRules,
    Transfer,
    plan_transfers,
    settle_pod,
    settlement_id,
    transfers_of,
)

DAY = date(2026, 12, 2)
ACCOUNT = PodAccount("AGG-1", "CUST-1", "MECH-1")
RULES = SettlementRules(band=0.30, penalty_eur_per_mwh=100.0)
BASELINE = {m: (20.0, 5.0) for m in range(96)}


def _award(mtu: int, quantity: float = 10.0, requester: str = "DSO-1",
           direction: str = "up", qtype: str = "P", cents: int = 25) -> SettledAward:
    return SettledAward(request_id=f"REQ-{requester}", requester_id=requester,
                        aggregator_id="AGG-1", pod_id="POD-1", mtu=mtu, direction=direction,
                        quantity_type=qtype, quantity=quantity, value_cents=cents)


def _mechanism(share: float = 0.0, reward: float = 0.0, passed: float = 0.0):
    return SettlementMechanismCreated(mechanism_id="MECH-1", aggregator_id="AGG-1",
                                      revenue_share_pct=share, reward_cents_per_kwh=reward,
                                      penalty_pass_through_pct=passed)


def _settle(measured_kw: float | None, mechanism=None, awards=None):
    measured = {} if measured_kw is None else {m: (measured_kw, 5.0) for m in (40, 41)}
    return settle_pod(DAY, "POD-1", ACCOUNT, awards or [_award(40), _award(41)], BASELINE,
                      measured, mechanism, RULES)


def test_fr_mp_set_4_sixty_percent_delivery_is_penalised() -> None:
    """Delivered 6 of 10 kW (60 %, outside ±30 %): paid for 6 kW, 30 cents; penalised on
    the 2 kWh deviation at 100 €/MWh, 20 cents."""
    outcome = _settle(14.0)
    (line,) = outcome.requesters
    assert line.effectiveness == 0.6
    assert line.penalised
    assert (line.payment_cents, line.penalty_cents) == (30, 20)
    assert [t.amount_cents for t in transfers_of(outcome)] == [10]


def test_fr_mp_set_4_eighty_percent_delivery_is_not_penalised() -> None:
    """Delivered 8 of 10 kW (80 %, inside the band): paid 40 cents, no penalty."""
    outcome = _settle(12.0)
    (line,) = outcome.requesters
    assert line.effectiveness == 0.8
    assert not line.penalised
    assert (line.payment_cents, line.penalty_cents) == (40, 0)


def test_penalty_larger_than_payment_makes_the_aggregator_pay_the_operator() -> None:
    """Delivered nothing: no payment, 50 cents of penalty on 5 kWh, paid by the
    aggregator to the operator."""
    outcome = _settle(20.0)
    (transfer,) = transfers_of(outcome)
    assert (transfer.kind, transfer.payer_id, transfer.payee_id, transfer.amount_cents) == (
        "penalty", "AGG-1", "DSO-1", 50)


def test_a_missing_reading_proves_no_delivery() -> None:
    outcome = _settle(None)
    assert all(m.measured is None and m.delivered == 0.0 for m in outcome.mtus)
    assert outcome.requesters[0].effectiveness == 0.0


def test_payment_is_capped_at_the_award_but_over_delivery_counts_for_effectiveness() -> None:
    """Delivered 15 of 10 kW: 150 %, paid only the award's 50 cents, penalised on the
    2.5 kWh excess (25 cents)."""
    (line,) = _settle(5.0).requesters
    assert line.effectiveness == 1.5
    assert (line.payment_cents, line.penalty_cents) == (50, 25)


def test_down_flexibility_is_measured_minus_baseline() -> None:
    awards = [_award(40, direction="down"), _award(41, direction="down")]
    (line,) = _settle(28.0, awards=awards).requesters
    assert line.effectiveness == 0.8
    assert line.payment_cents == 40


def test_delivery_is_shared_pro_rata_between_operators() -> None:
    """DSO 6 kW and TSO 4 kW in one MTU, 5 kW delivered: each is served half."""
    awards = [_award(40, 6.0, "DSO-1", cents=60), _award(40, 4.0, "TSO-1", cents=40)]
    outcome = settle_pod(DAY, "POD-1", ACCOUNT, awards, BASELINE, {40: (15.0, 5.0)}, None,
                         RULES)
    by = {r.requester_id: r for r in outcome.requesters}
    assert (by["DSO-1"].payment_cents, by["TSO-1"].payment_cents) == (30, 20)
    assert by["DSO-1"].delivered_energy == 0.75 and by["TSO-1"].delivered_energy == 0.5


def test_fr_mp_set_5_customer_reward_follows_the_mechanism() -> None:
    """At 80 %: 50 % of 40 cents, plus 2 cents per kWh of the 4 kWh delivered = 28."""
    outcome = _settle(12.0, _mechanism(share=50, reward=2))
    assert outcome.customer_cents == 28
    kinds = [(t.kind, t.payer_id, t.payee_id, t.amount_cents) for t in transfers_of(outcome)]
    assert kinds == [("payment", "DSO-1", "AGG-1", 40),
                     ("customer_reward", "AGG-1", "CUST-1", 28)]


def test_passed_on_penalties_never_make_the_customer_pay() -> None:
    """At 0 %: no revenue, all of the 50-cent penalty passed on: the customer gets 0."""
    assert _settle(20.0, _mechanism(share=50, passed=100)).customer_cents == 0


def test_settlement_ids_are_stable_and_distinct() -> None:
    first = settlement_id("", DAY, "POD-1", "payment", "DSO-1", "AGG-1")
    assert first == settlement_id("", DAY, "POD-1", "payment", "DSO-1", "AGG-1")
    assert first != settlement_id("", DAY, "POD-2", "payment", "DSO-1", "AGG-1")
    assert first != settlement_id("", date(2026, 12, 3), "POD-1", "payment", "DSO-1", "AGG-1")
    assert first != settlement_id("demo-1.", DAY, "POD-1", "payment", "DSO-1", "AGG-1")
    assert len(first) == 66 and first.startswith("0x")


def test_plan_pays_operators_before_aggregators_pass_money_on() -> None:
    """The aggregator starts empty: the customer is paid from the operator's payment."""
    payment = Transfer("0x" + "1" * 64, DAY, "POD-1", "payment", "DSO-1", "AGG-1", 40)
    reward = Transfer("0x" + "2" * 64, DAY, "POD-1", "customer_reward", "AGG-1", "CUST-1", 28)
    plan = plan_transfers([reward, payment], {"DSO-1": 100})
    assert plan.payable == [payment, reward] and plan.outstanding == []
    short = plan_transfers([reward, payment], {"DSO-1": 10})
    assert short.payable == [] and short.outstanding == [payment, reward]


PARTIES = ["DSO-1", "TSO-1", "AGG-1", "AGG-2", "CUST-1", "CUST-2"]


@given(st.lists(st.tuples(st.sampled_from(["payment", "penalty", "customer_reward"]),
                          st.sampled_from(PARTIES), st.sampled_from(PARTIES),
                          st.integers(1, 500)), max_size=30),
       st.dictionaries(st.sampled_from(PARTIES), st.integers(0, 2000)))
def test_conservation_a_plan_never_overdraws_and_keeps_the_total(transfers, balances) -> None:
    """Whatever the transfers, applying the plan keeps every balance ≥ 0 and their sum."""
    items = [Transfer(f"0x{i:064x}", DAY, "POD-1", kind, payer, payee, amount)  # type: ignore[arg-type]
             for i, (kind, payer, payee, amount) in enumerate(transfers)]
    plan = plan_transfers(items, balances)
    after = dict(balances)
    for t in plan.payable:
        after[t.payer_id] = after.get(t.payer_id, 0) - t.amount_cents
        assert after[t.payer_id] >= 0
        after[t.payee_id] = after.get(t.payee_id, 0) + t.amount_cents
    assert sum(after.values()) == sum(balances.values())
    assert sorted(plan.payable + plan.outstanding, key=lambda t: t.settlement_id) == items
