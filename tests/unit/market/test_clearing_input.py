"""What clearing rests on: a PoD's capacity in a real-time session is its max flexibility
less what the day-ahead session awarded it (MARKET_RULES.md "Time", RT netting)."""

from __future__ import annotations

from types import SimpleNamespace

from market.domain.submissions import PodView
from market.store.clearing_input import remaining_capacity

POD = PodView(pod_id="P1", aggregator_id="A", primary_substation="PS", mv_feeder="F",
              secondary_substation="S", up_p_kw=5.0, down_p_kw=3.0, up_q_kvar=0.0,
              down_q_kvar=0.0)


def _offer(**fields: object) -> SimpleNamespace:
    base = {"pod_id": "P1", "direction": "up", "quantity_type": "P", "block": None,
            "steps": [{"mtu": 40, "quantity": 5.0, "price_eur_per_mwh": 1.0},
                      {"mtu": 41, "quantity": 5.0, "price_eur_per_mwh": 1.0}]}
    return SimpleNamespace(**{**base, **fields})


def test_rt_capacity_nets_day_ahead_awards() -> None:
    day_ahead = {("P1", "up", "P", 40): 3.5, ("P1", "down", "P", 41): 3.0}
    capacity = remaining_capacity([_offer()], {"P1": POD}, day_ahead)
    # 5 kW upward less 3.5 kW awarded in DA for MTU 40; MTU 41 had only a downward award.
    assert capacity == {("P1", "up", "P", 40): 1.5, ("P1", "up", "P", 41): 5.0}


def test_capacity_never_negative_and_zero_for_an_unregistered_pod() -> None:
    over = remaining_capacity([_offer()], {"P1": POD}, {("P1", "up", "P", 40): 9.0})
    assert over[("P1", "up", "P", 40)] == 0.0
    gone = remaining_capacity([_offer()], {"P1": PodView(**{**POD.__dict__, "active": False})}, {})
    assert set(gone.values()) == {0.0}
    assert set(remaining_capacity([_offer()], {}, {}).values()) == {0.0}


def test_a_block_is_bounded_in_every_mtu_of_its_window() -> None:
    block = _offer(steps=[], block={"first_mtu": 10, "last_mtu": 12})
    assert sorted(k[3] for k in remaining_capacity([block], {"P1": POD}, {})) == [10, 11, 12]
