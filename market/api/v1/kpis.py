"""The end-of-day KPI report over REST (Platone Annex C; the CLI's ``flexmarket kpis``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ledger.auth.access import ANY
from market.api.deps import DbConnection, SettingsDep, allowed, errors
from market.kpi_report import end_of_day_report

KpiReader = allowed(dso=ANY, tso=ANY, market_admin=ANY, auditor=ANY)
router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


class KpiLinePublic(BaseModel):
    """One KPI value: for which scope (service and direction, horizon or asset
    category), its target and whether it is met, and the terms it rests on and those
    excluded because they would divide by zero."""

    kpi: str
    scope: str
    value_pct: float | None
    target_pct: float
    sense: str
    met: bool | None
    terms: int
    excluded: int


class KpiReportPublic(BaseModel):
    delivery_day: date
    lines: list[KpiLinePublic]


@router.get("/end-of-day", response_model=KpiReportPublic, responses=errors())
def get_end_of_day_report(
    conn: DbConnection, settings: SettingsDep, caller: KpiReader,
    delivery_day: Annotated[date, Query(ge=date(2000, 1, 2), le=date(2999, 12, 31))],
    customers_contacted: Annotated[int | None, Query(
        ge=0, le=10**9, description="KPI_PR_01's customers contacted (from the CRM)")] = None,
) -> KpiReportPublic:
    """The seven KPIs of Platone Annex C for one delivery day, from the read models:
    recruitment, active participation, flexibility availability and effectiveness,
    market liquidity, and the forecast reliability of customers and grid."""
    lines = end_of_day_report(conn, settings, delivery_day, customers_contacted)
    return KpiReportPublic(delivery_day=delivery_day,
                           lines=[KpiLinePublic(**line.as_dict()) for line in lines])
