"""State estimation of the DSO's grid from the latest meter readings (Platone A.3.1 "grid
state estimation", run with pandapower's weighted-least-squares estimator).

What the DSO measures is thin: its substation's busbar voltage, and the quarter-hour
readings of the PoDs in the market. Every other bus gets a pseudo-measurement, its
forecast, with a wide standard deviation; a bus with no load or generator a virtual one
(exactly zero). A bus with metered PoDs is measured as its forecast corrected by how far
those PoDs are from theirs (``deviations``): the network's load at a bus stands for all
its customers, and the readings say how the metered ones differ from what was expected.

The estimate seeds the 4-hour forecast: each bus's deviation from its forecast fades
back to the profile with a half-life (``fading_changes``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandapower as pp
from pandapower.estimation import estimate

from dso.domain.grid import Grid
from dso.domain.validation import MtuScenario

# Standard deviations, as a share of the measured value (at least 10 kW or kVAr).
PSEUDO_SHARE = 0.3  # a forecast of customers nobody meters: Platone's typical profiles
METERED_SHARE = 0.05  # a bus whose PoDs' readings correct the forecast
SLACK_VOLTAGE_STD_PU = 0.002  # the substation's busbar transducer
_FLOOR_MW = 0.01


@dataclass(frozen=True)
class BusState:
    bus: int
    vm_pu: float
    p_mw: float  # withdrawal (load positive), as pandapower's results
    q_mvar: float
    measured: bool  # metered PoDs behind it, not only a pseudo-measurement


@dataclass(frozen=True)
class StateEstimate:
    """The estimated operating point; ``converged`` False means no estimate (the buses
    are then empty, never a guess)."""

    grid: str
    converged: bool
    iterations: int
    buses: tuple[BusState, ...]
    measured_buses: int
    pseudo_buses: int

    def deviation_mva(self, forecast: Mapping[int, complex]) -> dict[int, complex]:
        """Each measured bus's estimated withdrawal less its forecast (MW + j MVAr)."""
        return {b.bus: complex(b.p_mw, b.q_mvar) - forecast.get(b.bus, 0j)
                for b in self.buses if b.measured}


def forecast_withdrawal(grid: Grid, scenario: MtuScenario) -> dict[int, complex]:
    """Per bus, the scenario's net withdrawal (loads less generators, MW + j MVAr)."""
    net = grid.net
    out: dict[int, complex] = {}
    for table, sign, scale in ((net.load, 1.0, scenario.load_scale),
                               (net.sgen, -1.0, scenario.sgen_scale)):
        active = table[table.in_service]
        for bus, p, q, s in zip(active.bus, active.p_mw, active.q_mvar, active.scaling,
                                strict=True):
            out[int(bus)] = out.get(int(bus), 0j) + sign * scale * s * complex(p, q)
    for bus, s in scenario.changes.items():  # changes are injections
        out[bus] = out.get(bus, 0j) - s
    return out


def estimate_state(grid: Grid, scenario: MtuScenario,
                   deviations: Mapping[int, complex]) -> StateEstimate:
    """The grid's state from the forecast of this MTU and the metered deviations.

    Args:
        grid: the DSO's grid.
        scenario: the forecast of the MTU being estimated.
        deviations: per bus with metered PoDs, how much more they withdraw than forecast
            (MW + j MVAr; negative: less).

    Returns:
        The estimate, with every bus's voltage and withdrawal.
    """
    net = grid.net
    forecast = forecast_withdrawal(grid, scenario)
    served = set(forecast)
    slack_buses = set(int(b) for b in net.ext_grid.bus[net.ext_grid.in_service])
    for slack in slack_buses:
        vm = float(net.ext_grid.vm_pu[net.ext_grid.bus == slack].iloc[0])
        pp.create_measurement(net, "v", "bus", vm, SLACK_VOLTAGE_STD_PU, element=slack)
    measured = pseudo = 0
    for bus in (int(b) for b in net.bus.index[net.bus.in_service]):
        if bus in slack_buses:
            continue
        value = forecast.get(bus, 0j) + deviations.get(bus, 0j)
        if bus not in served and bus not in deviations:
            share, floor = 1e-6, 1e-6  # a bus with nothing connected: exactly zero
        else:
            share = METERED_SHARE if bus in deviations else PSEUDO_SHARE
            floor = _FLOOR_MW
            measured += bus in deviations
            pseudo += bus not in deviations
        for kind, v in (("p", value.real), ("q", value.imag)):
            pp.create_measurement(net, kind, "bus", v, max(share * abs(v), floor * share),
                                  element=bus)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = estimate(net, algorithm="wls", init="flat", maximum_iterations=20)
    converged = bool(answer and answer.get("success"))
    buses: tuple[BusState, ...] = ()
    if converged:
        res = net.res_bus_est
        buses = tuple(BusState(int(b), float(res.vm_pu[b]), float(res.p_mw[b]),
                               float(res.q_mvar[b]), int(b) in deviations)
                      for b in res.index if math.isfinite(float(res.vm_pu[b])))
    return StateEstimate(grid=grid.name, converged=converged,
                         iterations=int(answer.get("num_iterations", 0)) if answer else 0,
                         buses=buses, measured_buses=measured, pseudo_buses=pseudo)


def fading_changes(deviation: Mapping[int, complex], elapsed_mtus: Mapping[int, float],
                   half_life_mtus: float = 4.0) -> dict[int, dict[int, complex]]:
    """The estimate's deviations as injection changes per MTU, fading with a half-life
    (the 4-hour horizon: the latest state first, then back to the profile).

    Args:
        deviation: per bus, the estimated withdrawal less the forecast (MW + j MVAr).
        elapsed_mtus: per MTU to forecast, how many MTUs after the estimate it starts.
        half_life_mtus: after this many MTUs half the deviation is left.

    Returns:
        Per MTU, per bus, the change of injection (MW + j MVAr): an extra withdrawal is
        a negative injection.
    """
    out: dict[int, dict[int, complex]] = {}
    for m, elapsed in elapsed_mtus.items():
        weight = 0.5 ** (max(0.0, elapsed) / half_life_mtus)
        out[m] = {bus: -weight * d for bus, d in deviation.items() if abs(d) > 0}
    return out


def pod_deviations(bus_of: Mapping[str, int], readings: Mapping[str, complex],
                   expected: Mapping[str, complex]) -> dict[int, complex]:
    """Per bus, what its metered PoDs withdraw beyond their forecast (MW + j MVAr).

    Args:
        bus_of: each PoD's bus.
        readings: each metered PoD's latest reading, MW + j MVAr withdrawn.
        expected: each PoD's forecast for that interval; a PoD without one counts as
            forecast exactly (its reading then confirms the bus, changing nothing).
    """
    out: dict[int, complex] = {}
    for pod, reading in readings.items():
        bus = bus_of.get(pod)
        if bus is None:
            continue
        out[bus] = out.get(bus, 0j) + reading - expected.get(pod, reading)
    return {bus: d for bus, d in out.items() if np.isfinite(d)}
