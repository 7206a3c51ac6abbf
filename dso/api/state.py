"""``GET /v1/dso/state``: the DSO's estimate of its grid now (Platone A.3.1 grid state
estimation), from the latest certified readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from dso.grids import grid_of
from dso.state import current_state
from ledger.http import errors
from market.api.deps import ClockDep, DbConnection, GridOperator, SettingsDep

router = APIRouter(prefix="/v1/dso", tags=["dso"])
# The calendar's range (as the sessions' reads): beyond it no delivery day is computed.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


class BusStatePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    bus: int
    grid_point: str | None  # the secondary substation at the bus, if it is one
    vm_pu: float
    p_mw: float  # withdrawal, load positive
    q_mvar: float
    measured: bool  # metered PoDs behind it; otherwise a pseudo-measurement (forecast)


class GridStatePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    grid: str
    at: datetime
    mtu: int
    converged: bool
    iterations: int
    metered_pods: int
    measured_buses: int
    pseudo_buses: int
    buses: list[BusStatePublic]


@router.get("/state", response_model=GridStatePublic, responses=errors())
def get_state(conn: DbConnection, settings: SettingsDep, clock: ClockDep, caller: GridOperator,
              at: Annotated[AwareDatetime | None, Query(
                  description="the instant to estimate (default: now on the market clock)",
                  ge=EARLIEST, le=LATEST)] = None) -> GridStatePublic:
    """The grid's estimated voltages and withdrawals per bus at ``at``."""
    grid = grid_of(settings.dso_grid)
    moment = at or clock.now()
    state = current_state(conn, settings, grid, moment)
    estimate = state.estimate
    names = {b: p.point_id for p in grid.of_kind("secondary_substation") for b in p.buses}
    return GridStatePublic(
        grid=estimate.grid, at=moment, mtu=state.mtu, converged=estimate.converged,
        iterations=estimate.iterations, metered_pods=state.metered_pods,
        measured_buses=estimate.measured_buses, pseudo_buses=estimate.pseudo_buses,
        buses=[BusStatePublic(bus=b.bus, grid_point=names.get(b.bus), vm_pu=b.vm_pu,
                              p_mw=b.p_mw, q_mvar=b.q_mvar, measured=b.measured)
               for b in estimate.buses])
