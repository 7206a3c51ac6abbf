"""``GET /v1/dso/grid``: the DSO's grid points, what an aggregator registers its PoDs
under (primary substation → MV feeder → secondary substation; Platone flow 0); and
``GET /v1/dso/sessions/{id}/grid-picture``: the grid's voltages and loadings in one MTU of
a session, before and after its awards (``dso.picture``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from dso.grids import grid_of, limits_of, power_flow_of
from dso.picture import PictureDiverged, session_picture
from ledger.errors import Conflict, NotFound
from ledger.http import errors
from market.api.deps import DbConnection, GridOperator, Session, SettingsDep

router = APIRouter(prefix="/v1/dso", tags=["dso"])


class GridPointPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    point_id: str
    kind: Literal["primary_substation", "mv_feeder", "secondary_substation"]
    parent: str | None
    buses: int


class GridPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    grid: str
    points: list[GridPointPublic]


@router.get("/grid", response_model=GridPublic, responses=errors())
def get_grid(settings: SettingsDep, caller: GridOperator) -> GridPublic:
    """Every grid point of the DSO's grid, primary substations first."""
    grid = grid_of(settings.dso_grid)
    order = {"primary_substation": 0, "mv_feeder": 1, "secondary_substation": 2}
    points = sorted(grid.points.values(), key=lambda p: (order[p.kind], p.point_id))
    return GridPublic(grid=grid.name, points=[
        GridPointPublic(point_id=p.point_id, kind=p.kind, parent=p.parent,
                        buses=len(p.buses)) for p in points])


class BusPicturePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    bus: int
    name: str
    x: float
    y: float
    vm_before_pu: float
    vm_after_pu: float


class BranchPicturePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["line", "trafo"]
    index: int
    from_bus: int
    to_bus: int
    loading_before_pct: float
    loading_after_pct: float


class GridPicturePublic(BaseModel):
    """One MTU of a session on the grid: each bus's voltage and each branch's loading on
    the forecast alone (before) and with the session's validated awards (after)."""

    model_config = ConfigDict(frozen=True)

    grid: str
    session_id: str
    mtu: int
    v_min_pu: float
    v_max_pu: float
    max_loading_pct: float
    buses: list[BusPicturePublic]
    branches: list[BranchPicturePublic]


@router.get("/sessions/{session_id}/grid-picture", response_model=GridPicturePublic,
            responses=errors(404, 409))
def get_grid_picture(session: Session, conn: DbConnection, settings: SettingsDep,
                     caller: GridOperator,
                     mtu: Annotated[int | None, Query(
                         ge=0, le=99, description="an MTU the session delivers (default: "
                         "the one whose forecast is closest to a limit)")] = None,
                     ) -> GridPicturePublic:
    """Voltages and loadings of one MTU of the session, before and after its awards."""
    try:
        picture = session_picture(conn, settings, power_flow_of(settings.dso_grid),
                                  limits_of(settings), session.session_id, mtu)
    except PictureDiverged as exc:
        raise Conflict(str(exc), code="POWER_FLOW_DIVERGED", field="mtu") from None
    if picture is None:
        raise NotFound(f"session {session.session_id} does not deliver MTU {mtu}",
                       code="MTU_NOT_IN_SESSION", field="mtu")
    limits = picture.limits
    return GridPicturePublic(
        grid=picture.grid, session_id=picture.session_id, mtu=picture.mtu,
        v_min_pu=limits.v_min_pu, v_max_pu=limits.v_max_pu,
        max_loading_pct=limits.max_loading_pct,
        buses=[BusPicturePublic(**vars(b)) for b in picture.buses],
        branches=[BranchPicturePublic(**vars(b)) for b in picture.branches])
