"""Technical validation rules (MARKET_RULES.md "Technical validation"; Platone
FR_DTP_ATV_2): all awards pass when nothing is violated; awards that cause or worsen a
violation are cut, TSO before DSO, lowest value first, only as far as needed; a power flow
that does not converge is reported and passes nothing. Results are checked by an
independent pandapower ``runpp`` with the accepted quantities applied."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from dso.domain.grid import Grid, load_grid
from dso.domain.powerflow import Limits, PowerFlow, reference_runpp
from dso.domain.validation import AwardToCheck, MtuScenario, ValidationResult, validate

PEAK = MtuScenario(load_scale=1.0, sgen_scale=0.0)
# CIGRE MV's transformer is at 101 % with its rated load and no sun; at 80 % nothing is
# violated.
LIGHT = MtuScenario(load_scale=0.8, sgen_scale=0.0)


@cache
def setup(name: str) -> tuple[Grid, PowerFlow]:
    g = load_grid(name)
    return g, PowerFlow(g)


def award(award_id: str, bus: int | None, quantity: float, *, role: str = "DSO",
          direction: str = "up", value_cents: int = 100, mtu: int = 70,
          quantity_type: str = "P") -> AwardToCheck:
    return AwardToCheck(award_id=award_id, request_id=f"R-{award_id}", offer_id=f"O-{award_id}",
                        pod_id=f"POD-{award_id}", mtu=mtu, quantity=quantity,
                        direction=direction, quantity_type=quantity_type,  # type: ignore[arg-type]
                        role=role, value_cents=value_cents, bus=bus)  # type: ignore[arg-type]


def accepted(result: ValidationResult) -> dict[str, tuple[str, float]]:
    return {v.award_id: (v.status, v.accepted_quantity) for v in result.verdicts}


def applied(awards: list[AwardToCheck], result: ValidationResult) -> dict[int, complex]:
    quantity = {v.award_id: v.accepted_quantity for v in result.verdicts}
    changes: dict[int, complex] = {}
    for a in awards:
        assert a.bus is not None
        changes[a.bus] = changes.get(a.bus, 0) + a.injection_mva(quantity[a.award_id])
    return changes


def test_fr_dtp_atv_2_with_no_violation_every_award_is_accepted() -> None:
    _, pf = setup("cigre_mv")
    awards = [award("A1", 5, 40.0), award("A2", 13, 25.0, role="TSO"),
              award("A3", 8, 10.0, direction="down", quantity_type="Q")]
    result = validate(pf, awards, lambda mtu: LIGHT)
    assert accepted(result) == {"A1": ("accepted", 40.0), "A2": ("accepted", 25.0),
                                "A3": ("accepted", 10.0)}
    assert all(v.reason is None for v in result.verdicts)
    assert result.violations_without_awards == 0 and result.violations_caused == 0
    assert result.non_converged_mtus == ()


def test_fr_dtp_atv_2_an_overloading_award_is_curtailed_tso_first_lowest_value_first() -> None:
    """CIGRE MV at 80 % of its rated load: feeder 1's first lines carry ~78 %, about
    1 MW of headroom. Three "down" awards of 800 kW (more withdrawal) at bus 11 would
    overload them: the TSO's goes first, then the DSO's of lower value; the DSO award of
    higher value is kept whole."""
    g, pf = setup("cigre_mv")
    awards = [award("DSO-HIGH", 11, 800.0, value_cents=900, direction="down"),
              award("DSO-LOW", 11, 800.0, value_cents=100, direction="down"),
              award("TSO", 11, 800.0, role="TSO", value_cents=5000, direction="down")]
    result = validate(pf, awards, lambda mtu: LIGHT)
    verdicts = accepted(result)
    assert verdicts["TSO"] == ("rejected", 0.0)
    assert verdicts["DSO-HIGH"] == ("accepted", 800.0)
    status, kept = verdicts["DSO-LOW"]
    assert status == "partially_accepted" and 0 < kept < 800.0
    reason = next(v.reason for v in result.verdicts if v.award_id == "TSO")
    assert reason is not None and "line overload" in reason
    # An independent power flow with what was accepted: no line or transformer over 100 %,
    # and not much under it either (cut only as far as needed).
    check = reference_runpp(g, applied(awards, result), load_scale=0.8, sgen_scale=0.0)
    worst = max(check.res_line.loading_percent.max(), check.res_trafo.loading_percent.max())
    assert 97.0 < worst <= 100.0 + 1e-6


def test_fr_dtp_atv_2_an_award_causing_undervoltage_is_cut() -> None:
    """IEEE 33-bus bottoms out at 0.913 pu at bus 17; 600 kW more withdrawal there would
    take it below 0.90. An award raising the voltage (up) is kept."""
    g, pf = setup("case33bw")
    awards = [award("DOWN", 17, 600.0, direction="down"), award("UP", 30, 100.0)]
    result = validate(pf, awards, lambda mtu: PEAK)
    verdicts = accepted(result)
    assert verdicts["UP"] == ("accepted", 100.0)
    assert verdicts["DOWN"][0] == "partially_accepted"
    check = reference_runpp(g, applied(awards, result))
    assert 0.90 - 1e-6 <= check.res_bus.vm_pu.min() < 0.902


def test_a_violation_of_the_grid_itself_is_not_blamed_on_awards_that_ease_it() -> None:
    """With 0.92 pu as the limit, IEEE 33-bus violates at peak without any award; an award
    easing it (more injection, up) is accepted although the violation remains."""
    _, pf = setup("case33bw")
    result = validate(pf, [award("UP", 17, 50.0)], lambda mtu: PEAK, Limits(v_min_pu=0.92))
    assert accepted(result) == {"UP": ("accepted", 50.0)}
    assert result.violations_without_awards > 0 and result.violations_caused == 0


def test_a_power_flow_that_does_not_converge_passes_nothing() -> None:
    _, pf = setup("case33bw")
    awards = [award("A1", 17, 10.0, mtu=3), award("A2", 17, 10.0, mtu=4)]
    result = validate(pf, awards, lambda mtu: MtuScenario(load_scale=30.0 if mtu == 3 else 1.0))
    assert result.non_converged_mtus == (3,)
    verdicts = {v.award_id: v for v in result.verdicts}
    assert verdicts["A1"].status == "rejected"
    assert verdicts["A1"].reason is not None and "did not converge" in verdicts["A1"].reason
    assert verdicts["A2"].status == "accepted"


def test_an_award_to_a_pod_off_the_grid_is_rejected() -> None:
    _, pf = setup("cigre_mv")
    result = validate(pf, [award("OFF", None, 5.0), award("ON", 5, 5.0)], lambda mtu: LIGHT)
    verdicts = {v.award_id: v for v in result.verdicts}
    assert verdicts["OFF"].status == "rejected"
    assert verdicts["OFF"].reason == "PoD POD-OFF is not on the DSO's grid"
    assert verdicts["ON"].status == "accepted"


@pytest.mark.parametrize("quantity_type", ["P", "Q"])
def test_injection_follows_direction_and_quantity_type(quantity_type: str) -> None:
    up = award("U", 5, 1000.0, quantity_type=quantity_type)
    down = replace(up, direction="down")
    expected = complex(1.0, 0.0) if quantity_type == "P" else complex(0.0, 1.0)
    assert up.injection_mva(1000.0) == expected
    assert down.injection_mva(1000.0) == -expected
    assert np.isclose(abs(up.injection_mva(500.0)), 0.5)
