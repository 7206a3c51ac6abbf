"""The PoD registry as the market sees it (read only here; aggregators register PoDs
through the Shared Customer Database, Platone flow 0)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger.auth.access import ANY, OWN
from ledger.errors import NotFound
from market.api.deps import DbConnection, PodReader, allowed, errors, require_pod_reader
from market.api.v1.schemas import PodPage, PodPublic
from market.store import queries

router = APIRouter(prefix="/v1/pods", tags=["pods"])
PodLister = allowed(aggregator=OWN, dso=ANY, market_admin=ANY)


@router.get("", response_model=PodPage, responses=errors())
def list_pods(
    conn: DbConnection, caller: PodLister,
    aggregator_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> PodPage:
    """Registered PoDs by id; filter by aggregator (an aggregator sees its own only)."""
    total, rows = queries.list_pods(conn, aggregator_id=caller.own_filter(
        aggregator_id, field="aggregator_id"), limit=limit,
                                    offset=offset)
    return PodPage(items=[PodPublic.model_validate(r, from_attributes=True) for r in rows],
                   total=total)


@router.get("/{pod_id}", response_model=PodPublic, responses=errors(404))
def get_pod(pod_id: Annotated[str, Path(min_length=1, max_length=100)],
            conn: DbConnection, caller: PodReader) -> PodPublic:
    """One PoD: its aggregator, grid location and max flexibility."""
    row = queries.get_pod(conn, pod_id)
    require_pod_reader(caller, row)
    if row is None:
        raise NotFound(f"no PoD {pod_id}", code="UNKNOWN_POD", field="pod_id")
    return PodPublic.model_validate(row, from_attributes=True)
