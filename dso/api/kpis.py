"""``GET /v1/dso/kpis/forecast-reliability``: how good the DSO's forecast of a delivery
day was (Platone Annex C KPI_IT_02, KPI_IT_03; targets 25 % and 30 %)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from dso.domain.kpis import KPI_IT_02_TARGET_PCT, KPI_IT_03_TARGET_PCT, ForecastReliability
from dso.reports import reliability_report
from ledger.http import errors
from market.api.deps import DbConnection, GridOperator, SettingsDep

router = APIRouter(prefix="/v1/dso/kpis", tags=["dso"])


class ReliabilityPublic(BaseModel):
    """One KPI value: the mean absolute percentage error, and what it rests on. Terms with
    a zero reading or no forecast are excluded and counted, never scored as 0."""

    model_config = ConfigDict(frozen=True)

    value_pct: float | None
    periods: int
    terms: int
    excluded_terms: int
    excluded_periods: int
    target_pct: float
    met: bool | None


class ForecastReliabilityPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivery_day: date
    kpi_it_02: dict[str, ReliabilityPublic]  # next_24h, next_4h
    kpi_it_03: dict[str, dict[str, ReliabilityPublic]]  # horizon -> asset category


def _public(k: ForecastReliability, target: float) -> ReliabilityPublic:
    return ReliabilityPublic(value_pct=k.value_pct, periods=k.periods, terms=k.terms,
                             excluded_terms=k.excluded_terms,
                             excluded_periods=k.excluded_periods, target_pct=target,
                             met=k.meets(target))


@router.get("/forecast-reliability", response_model=ForecastReliabilityPublic,
            responses=errors())
def get_forecast_reliability(
        conn: DbConnection, settings: SettingsDep, caller: GridOperator,
        delivery_day: Annotated[date, Query(description="the day to score",
                                            ge=date(2000, 1, 2), le=date(2999, 12, 31))]
) -> ForecastReliabilityPublic:
    """KPI_IT_02 (customers' profiles) and KPI_IT_03 (grid assets) of one delivery day, for
    the day-ahead and the 4-hour forecast, against the certified readings."""
    report = reliability_report(conn, settings, delivery_day)
    return ForecastReliabilityPublic(
        delivery_day=delivery_day,
        kpi_it_02={h: _public(k, KPI_IT_02_TARGET_PCT) for h, k in report.kpi_it_02.items()},
        kpi_it_03={h: {c: _public(k, KPI_IT_03_TARGET_PCT) for c, k in by_kind.items()}
                   for h, by_kind in report.kpi_it_03.items()})
