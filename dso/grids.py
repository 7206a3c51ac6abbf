"""The DSO's grid, its power flow and its limits as the settings make them. The grid and
power flow are built once per process: pandapower takes about a second to build a grid,
and every processor and API read of a worker shares it."""

from __future__ import annotations

from functools import cache

from dso.domain.grid import Grid, load_grid
from dso.domain.powerflow import Limits, PowerFlow
from ledger.settings import Settings


@cache
def grid_of(name: str) -> Grid:
    """The grid ``FLEXMARKET_DSO_GRID`` names (never changed: power flows copy it)."""
    return load_grid(name)


@cache
def power_flow_of(name: str) -> PowerFlow:
    return PowerFlow(grid_of(name))


def limits_of(settings: Settings) -> Limits:
    """The operating limits ``FLEXMARKET_DSO_V_MIN_PU`` / ``_V_MAX_PU`` /
    ``_MAX_LOADING_PCT`` set."""
    return Limits(v_min_pu=settings.dso_v_min_pu, v_max_pu=settings.dso_v_max_pu,
                  max_loading_pct=settings.dso_max_loading_pct)
