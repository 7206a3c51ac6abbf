"""State estimation (Platone A.3.1 grid state estimation, pandapower WLS): with only the
forecast as pseudo-measurements the estimate is the forecast's power flow; metered PoDs
move it where they are; its deviations seed the 4-hour forecast, fading back."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from dso.domain.estimation import (
    estimate_state,
    fading_changes,
    forecast_withdrawal,
    pod_deviations,
)
from dso.domain.grid import Grid, load_grid
from dso.domain.powerflow import PowerFlow, reference_runpp
from dso.domain.validation import MtuScenario

SCENARIO = MtuScenario(load_scale=0.9, sgen_scale=0.3)


@cache
def grid(name: str) -> Grid:
    return load_grid(name)


@pytest.mark.parametrize("name", ["cigre_mv", "case33bw"])
def test_with_pseudo_measurements_only_the_estimate_is_the_forecast(name: str) -> None:
    g = grid(name)
    estimate = estimate_state(g, SCENARIO, {})
    assert estimate.converged and estimate.measured_buses == 0
    truth = reference_runpp(g, {}, SCENARIO.load_scale, SCENARIO.sgen_scale)
    vm = {b.bus: b.vm_pu for b in estimate.buses}
    for bus, expected in truth.res_bus.vm_pu.items():
        assert vm[int(bus)] == pytest.approx(float(expected), abs=1e-6)


def test_metered_deviation_is_trusted_over_the_forecast() -> None:
    """IEEE 33-bus: the PoDs at bus 32 withdraw 0.5 MW more than forecast. The estimate
    puts (nearly) all of it there, and its voltage matches a power flow that has it."""
    g = grid("case33bw")
    extra = complex(0.5, 0.1)
    estimate = estimate_state(g, MtuScenario(1.0, 0.0), {32: extra})
    assert estimate.converged and estimate.measured_buses == 1
    at = next(b for b in estimate.buses if b.bus == 32)
    forecast = forecast_withdrawal(g, MtuScenario(1.0, 0.0))[32]
    assert at.measured
    assert at.p_mw == pytest.approx(forecast.real + 0.5, abs=0.03)
    truth = reference_runpp(g, {32: -extra}, 1.0, 0.0)
    assert at.vm_pu == pytest.approx(float(truth.res_bus.vm_pu[32]), abs=2e-3)
    # Much lower than the forecast alone would say.
    alone = PowerFlow(g).solve(PowerFlow(g).specified(1.0, 0.0))
    assert at.vm_pu < alone.vm_pu[32] - 0.01


def test_pod_deviations_add_up_per_bus_and_skip_pods_off_the_grid() -> None:
    deviations = pod_deviations(
        {"A": 5, "B": 5, "C": 7},
        readings={"A": 0.010 + 0.002j, "B": 0.004 + 0j, "C": 0.003 + 0j, "X": 1.0 + 0j},
        expected={"A": 0.006 + 0.001j, "B": 0.005 + 0j})
    assert deviations[5] == pytest.approx(0.003 + 0.001j)
    assert deviations[7] == 0  # no forecast for C: its reading only confirms the bus
    assert set(deviations) == {5, 7}


def test_the_deviation_fades_back_to_the_profile_with_its_half_life() -> None:
    changes = fading_changes({5: 0.2 + 0.0j}, {m: m - 10.0 for m in range(10, 19)},
                             half_life_mtus=4.0)
    assert changes[10][5] == pytest.approx(-0.2)  # an extra withdrawal: less injection
    assert changes[14][5] == pytest.approx(-0.1)
    assert changes[18][5] == pytest.approx(-0.05)
    assert np.isclose(abs(changes[12][5]), 0.2 / np.sqrt(2))
