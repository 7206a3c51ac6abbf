"""The grid picture's pure parts: how close a solution is to its limits, and a solution
before and after awards (the dashboard's grid view and the demo report's voltages)."""

from __future__ import annotations

import numpy as np
import pytest

from dso.domain.powerflow import FlowResult, Limits
from dso.domain.validation import MtuScenario, injection_mva
from dso.grids import power_flow_of
from dso.picture import before_and_after, severity


def _result(vm: list[float], line: list[float], trafo: list[float]) -> FlowResult:
    return FlowResult(converged=True, iterations=3, vm_pu=np.array(vm),
                      line_loading_pct=np.array(line), trafo_loading_pct=np.array(trafo),
                      V=np.array(vm, dtype=complex), max_mismatch_pu=0.0)


def test_severity_is_one_at_each_limit_and_takes_the_worst() -> None:
    limits = Limits(v_min_pu=0.90, v_max_pu=1.10, max_loading_pct=100.0)
    assert severity(_result([1.0, 0.90], [50.0], [40.0]), limits) == pytest.approx(1.0)
    assert severity(_result([1.0, 1.10], [50.0], [40.0]), limits) == pytest.approx(1.0)
    assert severity(_result([1.0, 0.95], [120.0], [40.0]), limits) == 1.2
    assert severity(_result([1.0, 0.85], [10.0], [10.0]), limits) == pytest.approx(1.5)


def test_an_upward_award_raises_the_voltage_where_it_is_delivered() -> None:
    pf = power_flow_of("cigre_mv")
    bus = int(pf.buses[-2])
    before, after = before_and_after(pf, MtuScenario(load_scale=1.3), {
        bus: injection_mva("up", "P", 500.0)})
    position = list(pf.buses).index(bus)
    assert before.converged and after.converged
    assert after.vm_pu[position] > before.vm_pu[position]
    unchanged, again = before_and_after(pf, MtuScenario(load_scale=1.3), {})
    assert np.allclose(unchanged.vm_pu, again.vm_pu)
    assert np.allclose(unchanged.vm_pu, before.vm_pu)


def test_a_solution_that_did_not_converge_is_never_the_worst() -> None:
    diverged = FlowResult(converged=False, iterations=20, vm_pu=np.array([np.nan]),
                          line_loading_pct=np.array([np.inf]), trafo_loading_pct=np.array([]),
                          V=np.array([np.nan], dtype=complex), max_mismatch_pu=np.inf)
    assert severity(diverged, Limits()) == float("-inf")
    assert max([diverged, _result([0.95], [10.0], [10.0])],
               key=lambda r: severity(r, Limits())).converged
