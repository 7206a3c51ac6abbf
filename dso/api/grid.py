"""``GET /v1/dso/grid``: the DSO's grid points, what an aggregator registers its PoDs
under (primary substation → MV feeder → secondary substation; Platone flow 0)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from dso.grids import grid_of
from ledger.http import errors
from market.api.deps import GridOperator, SettingsDep

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
