"""The forecast-reliability KPIs the DSO reports: mean absolute percentage error of its
customer and grid forecasts against measurements (Platone D3.3 Annex C, KPI_IT_02 and
KPI_IT_03).

A term whose measurement is 0 (or whose values are not finite) has no percentage error:
it is excluded and counted, never scored as 0 % or ∞ (research digest, "Edge cases").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

# Error ceilings, %: lower is better (Platone Annex C).
KPI_IT_02_TARGET_PCT = 25.0
KPI_IT_03_TARGET_PCT = 30.0

Readings = Mapping[Hashable, Mapping[str, float]]
"""Per period (an MTU index, a UTC instant…), per item (PoD or asset id), P in kW or Q in
kVAr; actual and forecast use the same unit."""


class KpiError(Exception):
    """A KPI that cannot be computed from the inputs given (e.g. an asset without a
    category)."""


@dataclass(frozen=True)
class ForecastReliability:
    """A forecast-reliability KPI and what it rests on.

    Attributes:
        value_pct: (1/T) Σ_t (1/N_t) Σ_i |(RL − FC) / RL| · 100, in %; None when no period
            has a term.
        periods: T, the periods scored.
        terms: Σ_t N_t, the (item, period) terms scored.
        excluded_terms: measured terms left out: RL = 0, a non-finite RL or FC, or no
            forecast for the measured item.
        excluded_periods: measured periods left out because none of their terms could be
            scored.
    """

    value_pct: float | None
    periods: int
    terms: int
    excluded_terms: int
    excluded_periods: int

    def meets(self, target_pct: float) -> bool | None:
        """Whether the error is within the ceiling ``target_pct`` (%); None if unscored."""
        return None if self.value_pct is None else self.value_pct <= target_pct


def forecast_reliability(actual: Readings, forecast: Readings) -> ForecastReliability:
    """The mean over periods of the per-period mean absolute percentage error (Platone
    Annex C, the formula shared by KPI_IT_02 and KPI_IT_03):

        (1/T) Σ_t (1/N_t) Σ_{i=1..N_t} |(RL_{i,t} − FC_{i,t}) / RL_{i,t}| · 100

    The measurements set the terms: each measured (item, period) is scored against its
    forecast. A term with RL = 0, a non-finite RL or FC, or no forecast is excluded and
    counted (leaving out a missing forecast silently would flatter the KPI). A measured
    period with no term left is excluded and counted. Forecasts without a measurement are
    not terms: nothing can score them (the horizon usually runs past the last reading).

    Args:
        actual: measured values RL, per period, per item (kW, kVAr or kVA).
        forecast: forecast values FC in the same unit, per period, per item.

    Returns:
        The KPI in % with its counts; ``value_pct`` is None when no period is scored.
    """
    def error(rl: float, fc: float) -> float | None:
        return abs((rl - fc) / rl) if rl != 0 else None

    mean = mean_of_period_means(actual, forecast, error)
    return ForecastReliability(value_pct=mean.value_pct, periods=mean.periods,
                               terms=mean.terms, excluded_terms=mean.excluded_terms,
                               excluded_periods=mean.excluded_periods)


@dataclass(frozen=True)
class PeriodMean:
    """(1/T) Σ_t (1/N_t) Σ_i term(i, t) · 100 and the terms and periods it left out."""

    value_pct: float | None
    periods: int
    terms: int
    excluded_terms: int
    excluded_periods: int


def mean_of_period_means(reference: Readings, other: Readings,
                         term: Callable[[float, float], float | None]) -> PeriodMean:
    """The Annex C shape shared by KPI_IT_02/03 and KPI_PR_04: per period the mean of
    ``term(reference, other)`` over the reference's items, then the mean over periods, %.

    The reference sets the terms. An item missing from ``other``, a non-finite value, or
    a term that is None (it would divide by zero) is excluded and counted; a period
    without a term left is excluded and counted, never scored as 0.
    """
    per_period: list[float] = []
    terms = excluded_terms = excluded_periods = 0
    for period, reference_t in reference.items():
        other_t = other.get(period, {})
        scored: list[float] = []
        for item, ref in reference_t.items():
            value = other_t.get(item)
            result = (None if value is None or not (math.isfinite(ref) and math.isfinite(value))
                      else term(ref, value))
            if result is None:
                excluded_terms += 1
                continue
            scored.append(result)
        if not scored:
            excluded_periods += 1
            continue
        terms += len(scored)
        per_period.append(math.fsum(scored) / len(scored))
    value_pct = math.fsum(per_period) / len(per_period) * 100 if per_period else None
    return PeriodMean(value_pct, len(per_period), terms, excluded_terms, excluded_periods)


def kpi_it_02(actual: Readings, forecast: Readings) -> ForecastReliability:
    """KPI_IT_02 Forecast Reliability, customer profile (Platone Annex C).

    FC_Next24h (or FC_Next4h) = (1/T) Σ_t (1/N_t) Σ_{i=1..N_t} |(RL_profile_{i,t} −
    FC_profile_{i,t}) / RL_profile_{i,t}| · 100, N_t the customers measured in period t.
    Computed once per horizon (day-ahead and next 4 hours) with that horizon's forecasts.
    Target: ≤ 25 % (``KPI_IT_02_TARGET_PCT``).

    Args:
        actual: smart-meter values per period, per PoD (kW or kVAr), from the SCD.
        forecast: the DSOTP forecasting tool's values, same keys and unit.

    Returns:
        The KPI in %, with the counts of ``forecast_reliability``.
    """
    return forecast_reliability(actual, forecast)


def kpi_it_03(actual: Readings, forecast: Readings,
              category_of: Mapping[str, str]) -> dict[str, ForecastReliability]:
    """KPI_IT_03 Forecast Reliability, grid profile, per asset category (Platone Annex C).

    Power_Flow_FC_Next24h (or _Next4h) = (1/T) Σ_t (1/N_t) Σ_i |(RL_Power_Flow_{i,t} −
    FC_Power_Flow_{i,t}) / RL_Power_Flow_{i,t}| · 100, N_t the assets of one category
    (e.g. Primary Substation nodes, Secondary Substation nodes) measured in period t.
    Target: ≤ 30 % (``KPI_IT_03_TARGET_PCT``).

    Args:
        actual: SCADA field-sensor values per period, per asset (kW or kVA).
        forecast: the DSOTP's power-flow forecast, same keys and unit.
        category_of: the category of every asset; each category named here gets a result.

    Returns:
        Per category, the KPI in % with its counts (``value_pct`` None for a category with
        no scored period).

    Raises:
        KpiError: if a measured asset has no category (a KPI per category cannot place it).
    """
    split: dict[str, dict[Hashable, dict[str, float]]] = {
        category: {} for category in category_of.values()}
    for period, measured in actual.items():
        for asset, value in measured.items():
            category = category_of.get(asset)
            if category is None:
                raise KpiError(f"asset {asset!r} measured in period {period!r} has no "
                               "category")
            split[category].setdefault(period, {})[asset] = value
    return {category: forecast_reliability(
                readings,
                {period: {asset: value for asset, value in forecast.get(period, {}).items()
                          if category_of.get(asset) == category}
                 for period in readings})
            for category, readings in split.items()}
