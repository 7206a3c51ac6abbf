"""The DSO's grid model and AC power flow (Platone FR_DTP_PFA_2: network topology and
electrical model; A.3.2.2: Newton–Raphson, slack at the primary substation), held to
pandapower's own ``runpp`` on the three reference grids."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from dso.domain.grid import GRIDS, Grid, UnknownGrid, UnknownGridPoint, load_grid
from dso.domain.powerflow import Limits, PowerFlow, Violation, reference_runpp


@cache
def grid(name: str) -> Grid:
    return load_grid(name)


@cache
def flow(name: str) -> PowerFlow:
    return PowerFlow(grid(name))


def test_fr_dtp_pfa_2_hierarchy_of_cigre_mv() -> None:
    """CIGRE MV: one HV/MV substation with two transformers, feeder 1 (buses 2–11) and
    feeder 2 (buses 13–14); customers at every feeder bus with a load or DER."""
    g = grid("cigre_mv")
    feeders = {p.point_id: sorted(p.buses) for p in g.of_kind("mv_feeder")}
    assert feeders == {"PS-1-F1": list(range(2, 12)), "PS-1-F2": [13, 14]}
    assert [p.point_id for p in g.of_kind("primary_substation")] == ["PS-1"]
    assert g.point("PS-1").buses >= {0, 1, 12}  # the HV busbar and both MV busbars
    assert g.point("SS-13").parent == "PS-1-F2"
    assert g.locate("PS-1", "PS-1-F2", "SS-13") == 13
    assert g.location_of("SS-13") == {"primary_substation": "PS-1", "mv_feeder": "PS-1-F2",
                                      "secondary_substation": "SS-13"}


def test_a_location_off_the_grid_or_inconsistent_is_refused() -> None:
    g = grid("cigre_mv")
    with pytest.raises(UnknownGridPoint, match="no grid point 'SS-99'"):
        g.locate("PS-1", "PS-1-F1", "SS-99")
    with pytest.raises(UnknownGridPoint, match="not under PS-1-F1"):
        g.locate("PS-1", "PS-1-F1", "SS-13")
    with pytest.raises(UnknownGrid, match="cigre_mv, case33bw, mv_oberrhein"):
        load_grid("atlantis")


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_bus_is_under_one_primary_substation(name: str) -> None:
    g = grid(name)
    substations = g.of_kind("primary_substation")
    assert substations
    covered = [b for p in substations for b in p.buses]
    assert len(covered) == len(set(covered))
    feeders = g.of_kind("mv_feeder")
    assert feeders and all(g.primary_substation_of(f.point_id) == f.parent for f in feeders)


@pytest.mark.parametrize("name", sorted(GRIDS))
@pytest.mark.parametrize(("load", "sgen"), [(1.0, 1.0), (0.6, 0.0), (1.2, 0.8)])
def test_our_newton_raphson_equals_pandapower_runpp(name: str, load: float,
                                                    sgen: float) -> None:
    """Same voltages and loadings as ``runpp`` on the same network, with loads and
    generators scaled and flexibility injected at two buses."""
    g, pf = grid(name), flow(name)
    buses = sorted(b for p in g.of_kind("secondary_substation") for b in p.buses)
    changes = {buses[0]: complex(0.2, -0.05), buses[-1]: complex(-0.1, 0.02)}
    ours = pf.solve(pf.specified(load, sgen, pf.injection(changes)))
    assert ours.converged and ours.max_mismatch_pu < 1e-8
    theirs = reference_runpp(g, changes, load, sgen)
    np.testing.assert_allclose(ours.vm_pu, theirs.res_bus.vm_pu.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(ours.line_loading_pct,
                               theirs.res_line.loading_percent.to_numpy(), atol=1e-6)
    if len(theirs.trafo):
        np.testing.assert_allclose(ours.trafo_loading_pct,
                                   theirs.res_trafo.loading_percent.to_numpy(), atol=1e-6)


def test_violations_against_configurable_limits() -> None:
    """IEEE 33-bus at rated load bottoms out at 0.9131 pu at bus 17 (Baran & Wu): within
    0.90–1.10, below a stricter 0.92."""
    pf = flow("case33bw")
    result = pf.solve(pf.specified())
    assert result.vm_pu.min() == pytest.approx(0.91309, abs=1e-5)
    assert int(pf.buses[np.argmin(result.vm_pu)]) == 17
    assert pf.violations(result, Limits()) == []
    strict = pf.violations(result, Limits(v_min_pu=0.92))
    assert strict[0].key == ("undervoltage", 17)
    assert {v.kind for v in strict} == {"undervoltage"}


def test_sensitivities_match_finite_differences() -> None:
    pf, g = flow("cigre_mv"), grid("cigre_mv")
    S = pf.specified(1.0, 0.5)
    base = pf.solve(S)
    line = g.net_index("line")[0]
    violations = [Violation("undervoltage", 11, 0.0, 0.0),
                  Violation("line_overload", line, 0.0, 0.0),
                  Violation("trafo_overload", g.net_index("trafo")[0], 0.0, 0.0)]
    h = 1e-4  # MW or MVAr
    for v in violations:
        d_p, d_q = pf.sensitivity(base, v, np.asarray([9]))
        for derivative, step in ((d_p[0], complex(h, 0)), (d_q[0], complex(0, h))):
            moved = pf.solve(S + pf.injection({9: step}))
            value = {"undervoltage": lambda r: r.vm_pu[list(pf.buses).index(11)],
                     "line_overload": lambda r: r.line_loading_pct[0],
                     "trafo_overload": lambda r: r.trafo_loading_pct[0]}[v.kind]
            assert derivative == pytest.approx((value(moved) - value(base)) / h, rel=1e-3,
                                               abs=1e-9)


def test_a_collapsing_grid_is_reported_as_not_converged() -> None:
    """Thirty times the rated load has no operating point: the solve says so."""
    pf = flow("case33bw")
    result = pf.solve(pf.specified(load_scale=30.0))
    assert not result.converged
