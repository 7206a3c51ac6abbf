"""The grid as the DSO saw it for one session: bus voltages and branch loadings in the
session's worst MTU, before and after what it awarded (the dashboard's grid view and the
demo report's before-and-after plot).

"Worst" is the MTU whose forecast without awards comes closest to (or goes furthest past)
a limit, so the picture shows the problem the session was there to solve. The forecast is
the one technical validation used, taken at gate closure: for a real-time session that
includes the state estimated then, which a later look cannot reproduce more exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from dso.domain.powerflow import FlowResult, Limits, PowerFlow
from dso.domain.validation import MtuScenario, injection_mva
from dso.forecasting import pods_on_grid, session_scenarios
from ledger.settings import Settings
from market.domain.calendar import find_session
from market.store import queries


@dataclass(frozen=True)
class BusPicture:
    bus: int
    name: str
    x: float
    y: float
    vm_before_pu: float
    vm_after_pu: float


@dataclass(frozen=True)
class BranchPicture:
    kind: Literal["line", "trafo"]
    index: int
    from_bus: int
    to_bus: int
    loading_before_pct: float
    loading_after_pct: float


@dataclass(frozen=True)
class GridPicture:
    grid: str
    session_id: str
    mtu: int
    limits: Limits
    buses: tuple[BusPicture, ...]
    branches: tuple[BranchPicture, ...]


class PictureDiverged(Exception):
    """The power flow of the MTU asked for does not converge: there is nothing to draw."""


def severity(result: FlowResult, limits: Limits) -> float:
    """How close a solution is to its limits: 1.0 at a limit, above 1 past it; a
    solution that did not converge is never the one to draw (-inf)."""
    if not result.converged:
        return float("-inf")
    loading = max([*result.line_loading_pct, *result.trafo_loading_pct, 0.0])
    low = (1.0 - float(np.min(result.vm_pu))) / (1.0 - limits.v_min_pu)
    high = (float(np.max(result.vm_pu)) - 1.0) / (limits.v_max_pu - 1.0)
    return max(loading / limits.max_loading_pct, low, high)


def before_and_after(pf: PowerFlow, scenario: MtuScenario,
                     awarded: dict[int, complex]) -> tuple[FlowResult, FlowResult]:
    """One MTU solved on its forecast, and again with ``awarded`` injections (MW + j MVAr
    per bus) added."""
    base = pf.specified(scenario.load_scale, scenario.sgen_scale, pf.injection(scenario.changes))
    before = pf.solve(base)
    return before, pf.solve(base + pf.injection(awarded), before.V)


def session_picture(conn: Connection, settings: Settings, pf: PowerFlow, limits: Limits,
                    session_id: str, mtu: int | None = None) -> GridPicture | None:
    """The picture of ``session_id`` (its worst MTU unless ``mtu`` is given), or None for a
    session not in the calendar or an MTU it does not deliver.

    Raises:
        PictureDiverged: the MTU's power flow, before or after the awards, does not
            converge (its voltages would be no numbers).
    """
    slot = find_session(session_id, ZoneInfo(settings.time_zone))
    if slot is None or (mtu is not None and not slot.covers(mtu)):
        return None
    grid = pf.grid
    scenarios = session_scenarios(conn, settings, grid, slot, slot.gate_closes_at)
    bus_of = {p.pod_id: p.bus for p in pods_on_grid(conn, grid)}
    awarded: dict[int, dict[int, complex]] = {m: {} for m in scenarios}
    for (pod, direction, quantity_type, m), quantity in queries.awarded_capacity(
            conn, session_id).items():
        if pod in bus_of and m in awarded:
            at = awarded[m]
            at[bus_of[pod]] = at.get(bus_of[pod], 0j) + injection_mva(direction, quantity_type,
                                                                       quantity)
    if mtu is None:
        mtu = max(scenarios, key=lambda m: severity(before_and_after(
            pf, scenarios[m], {})[0], limits))
    before, after = before_and_after(pf, scenarios[mtu], awarded[mtu])
    if not (before.converged and after.converged):
        raise PictureDiverged(f"the power flow of MTU {mtu} does not converge "
                              f"{'before' if not before.converged else 'after'} the awards")
    net = grid.net
    buses = tuple(
        BusPicture(bus=int(b), name=str(net.bus.at[b, "name"]), x=x, y=y,
                   vm_before_pu=round(float(before.vm_pu[i]), 5),
                   vm_after_pu=round(float(after.vm_pu[i]), 5))
        for i, b in enumerate(pf.buses) for x, y in [_coordinates(net.bus.at[b, "geo"], i)])
    branches = (*_branches("line", net.line, "from_bus", "to_bus", before.line_loading_pct,
                           after.line_loading_pct),
                *_branches("trafo", net.trafo, "hv_bus", "lv_bus", before.trafo_loading_pct,
                           after.trafo_loading_pct))
    return GridPicture(grid=grid.name, session_id=session_id, mtu=mtu,
                       limits=limits,
                       buses=buses, branches=branches)


def _branches(kind: Literal["line", "trafo"], table: pd.DataFrame, from_column: str,
              to_column: str, before: np.ndarray, after: np.ndarray) -> list[BranchPicture]:
    """Each line or transformer of ``table`` with its loading in both solutions (their
    arrays follow the table's order)."""
    return [BranchPicture(kind=kind, index=int(i), from_bus=int(table.at[i, from_column]),
                          to_bus=int(table.at[i, to_column]),
                          loading_before_pct=round(float(before[k]), 2),
                          loading_after_pct=round(float(after[k]), 2))
            for k, i in enumerate(table.index)]


def _coordinates(geo: object, position: int) -> tuple[float, float]:
    """A bus's drawing position from pandapower's GeoJSON point; a grid without geodata
    gets its buses on a circle, so it can still be drawn."""
    if isinstance(geo, str) and geo:
        x, y = json.loads(geo)["coordinates"][:2]
        return float(x), float(y)
    angle = 2 * np.pi * position / 32
    return float(np.cos(angle)), float(np.sin(angle))
