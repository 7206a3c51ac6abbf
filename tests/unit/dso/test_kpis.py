"""Forecast-reliability KPIs on the hand-computed worked examples of the research digest
(Platone Annex C, KPI_IT_02 and KPI_IT_03) and their edge cases.

Edge-case choice (digest "Edge cases [GAP]"): a term with RL = 0, a non-finite value or no
forecast is excluded and counted in ``excluded_terms``; a measured period with no term
left is excluded and counted in ``excluded_periods``; a forecast without a measurement is
not a term. Nothing is ever scored as 0 % or ∞.
"""

from __future__ import annotations

import math

import pytest

from dso.domain.kpis import (
    KPI_IT_02_TARGET_PCT,
    KPI_IT_03_TARGET_PCT,
    ForecastReliability,
    KpiError,
    forecast_reliability,
    kpi_it_02,
    kpi_it_03,
)


def test_kpi_it_02_worked_example() -> None:
    """t1: |10−12|/10 = 0.20, |20−15|/20 = 0.25 → 0.225; t2: |8−6|/8 = 0.25;
    (0.225 + 0.25) / 2 · 100 = 23.75 %, within the 25 % target."""
    actual = {"t1": {"POD-1": 10.0, "POD-2": 20.0}, "t2": {"POD-1": 8.0}}
    forecast = {"t1": {"POD-1": 12.0, "POD-2": 15.0}, "t2": {"POD-1": 6.0}}
    kpi = kpi_it_02(actual, forecast)
    assert kpi.value_pct == pytest.approx(23.75, rel=1e-12)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (2, 3, 0, 0)
    assert KPI_IT_02_TARGET_PCT == 25.0
    assert kpi.meets(KPI_IT_02_TARGET_PCT) is True


def test_kpi_it_02_averages_periods_not_terms() -> None:
    """t1: three terms of 0.10 → 0.10; t2: one term of 0.50 → (0.10 + 0.50) / 2 = 30 %.
    Pooling the four terms would give 0.80 / 4 = 20 %."""
    actual = {1: {"A": 10.0, "B": 20.0, "C": 50.0}, 2: {"A": 8.0}}
    forecast = {1: {"A": 11.0, "B": 18.0, "C": 55.0}, 2: {"A": 4.0}}
    assert forecast_reliability(actual, forecast).value_pct == pytest.approx(30.0)


def test_kpi_it_03_worked_example() -> None:
    """One period: 20/400 = 0.05, 50/250 = 0.20, 0/100 = 0 → 0.25 / 3 · 100 = 8.33 %."""
    actual = {0: {"PS-1": 400.0, "PS-2": 250.0, "PS-3": 100.0}}
    forecast = {0: {"PS-1": 380.0, "PS-2": 300.0, "PS-3": 100.0}}
    category_of = {"PS-1": "primary", "PS-2": "primary", "PS-3": "primary"}
    result = kpi_it_03(actual, forecast, category_of)
    assert set(result) == {"primary"}
    assert result["primary"].value_pct == pytest.approx(25 / 3, rel=1e-12)
    assert result["primary"].terms == 3
    assert result["primary"].meets(KPI_IT_03_TARGET_PCT) is True
    assert KPI_IT_03_TARGET_PCT == 30.0


def test_kpi_it_03_is_computed_per_asset_category() -> None:
    """N_t counts the assets of one category: primary 0.05 and 0.20 → 12.5 %; secondary
    |50−40|/50 = 0.20 → 20 %. Mixing them would give 15 %."""
    actual = {0: {"PS-1": 400.0, "PS-2": 250.0, "SS-1": 50.0}}
    forecast = {0: {"PS-1": 380.0, "PS-2": 300.0, "SS-1": 40.0}}
    category_of = {"PS-1": "primary", "PS-2": "primary", "SS-1": "secondary",
                   "SS-9": "secondary", "MV-1": "feeder"}
    result = kpi_it_03(actual, forecast, category_of)
    assert result["primary"].value_pct == pytest.approx(12.5)
    assert result["secondary"].value_pct == pytest.approx(20.0)
    assert (result["primary"].terms, result["secondary"].terms) == (2, 1)
    # A category named but never measured is reported, unscored, not dropped.
    assert result["feeder"] == ForecastReliability(None, 0, 0, 0, 0)


def test_kpi_it_03_rejects_a_measured_asset_without_a_category() -> None:
    with pytest.raises(KpiError, match="PS-7"):
        kpi_it_03({0: {"PS-7": 10.0}}, {0: {"PS-7": 10.0}}, {"PS-1": "primary"})


def test_kpi_it_02_zero_rl_term_is_excluded_and_counted_not_scored() -> None:
    """t1 keeps POD-1 only (POD-2 has RL = 0): 0.20; t2: 0.25 → 22.5 %. Scoring the zero
    term as 0 would give 17.5 %; as ∞ the KPI would be ∞."""
    actual = {"t1": {"POD-1": 10.0, "POD-2": 0.0}, "t2": {"POD-1": 8.0}}
    forecast = {"t1": {"POD-1": 12.0, "POD-2": 3.0}, "t2": {"POD-1": 6.0}}
    kpi = kpi_it_02(actual, forecast)
    assert kpi.value_pct == pytest.approx(22.5)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (2, 2, 1, 0)


def test_kpi_it_02_period_with_only_zero_rl_is_excluded_and_counted() -> None:
    """t2 has only RL = 0: it is not a period of T, so the KPI is t1's 22.5 %."""
    actual = {"t1": {"A": 10.0, "B": 20.0}, "t2": {"A": 0.0}}
    forecast = {"t1": {"A": 12.0, "B": 15.0}, "t2": {"A": 1.0}}
    kpi = kpi_it_02(actual, forecast)
    assert kpi.value_pct == pytest.approx(22.5)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (1, 2, 1, 1)


def test_kpi_it_02_missing_forecast_is_an_excluded_term_and_forecast_only_is_ignored() -> None:
    """B measured without forecast: excluded, counted. C forecast without measurement and
    period t9 forecast only: not terms. Left: A 0.20 → 20 %."""
    actual = {"t1": {"A": 10.0, "B": 20.0}}
    forecast = {"t1": {"A": 12.0, "C": 5.0}, "t9": {"A": 1.0}}
    kpi = kpi_it_02(actual, forecast)
    assert kpi.value_pct == pytest.approx(20.0)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (1, 1, 1, 0)


def test_kpi_it_02_measured_period_absent_from_forecast_excludes_all_its_terms() -> None:
    kpi = kpi_it_02({"t1": {"A": 10.0, "B": 4.0}}, {})
    assert kpi == ForecastReliability(None, 0, 0, 2, 1)
    assert kpi.meets(KPI_IT_02_TARGET_PCT) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_kpi_it_02_non_finite_values_are_excluded_terms(bad: float) -> None:
    """A non-finite RL or FC is excluded like RL = 0; A scores 0.20 → 20 %."""
    actual = {0: {"A": 10.0, "B": bad, "C": 5.0}}
    forecast = {0: {"A": 12.0, "B": 1.0, "C": bad}}
    kpi = forecast_reliability(actual, forecast)
    assert kpi.value_pct == pytest.approx(20.0)
    assert (kpi.terms, kpi.excluded_terms) == (1, 2)


def test_no_period_at_all_gives_no_value() -> None:
    assert forecast_reliability({}, {}) == ForecastReliability(None, 0, 0, 0, 0)
    # An empty measured period has no term: excluded and counted.
    assert forecast_reliability({0: {}}, {0: {}}) == ForecastReliability(None, 0, 0, 0, 1)


def test_negative_rl_of_a_generator_uses_its_magnitude() -> None:
    """A PV PoD at −50 kW forecast at −40 kW: |(−50 + 40) / −50| = 20 %."""
    assert forecast_reliability({0: {"PV": -50.0}}, {0: {"PV": -40.0}}).value_pct == (
        pytest.approx(20.0))


def test_kpi_it_02_above_target_does_not_meet_it() -> None:
    """|10 − 14| / 10 = 40 % > 25 %."""
    kpi = kpi_it_02({0: {"A": 10.0}}, {0: {"A": 14.0}})
    assert kpi.value_pct == pytest.approx(40.0)
    assert kpi.meets(KPI_IT_02_TARGET_PCT) is False
