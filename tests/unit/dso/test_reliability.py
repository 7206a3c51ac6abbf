"""Forecast reliability of a delivery day (Platone Annex C KPI_IT_02 and KPI_IT_03, both
horizons of A.3), against a hand-computed oracle: two PoDs whose typical profile is a flat
2 kW draw 2.5 kW all day."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from dso.domain.forecast import Sample, learn_profiles
from dso.domain.reliability import forecast_reliability
from market.domain.calendar import delivery_mtus

ZONE = ZoneInfo("Europe/Rome")
DAY = date(2026, 6, 10)  # a Wednesday
PODS = {"A": ("SS-5", "PS-1"), "B": ("SS-5", "PS-1")}


def _history(kw: float) -> list[Sample]:
    """The two previous Wednesdays, every quarter-hour, at ``kw``."""
    return [Sample(pod, m.start, kw, 0.0) for weeks in (1, 2)
            for m in delivery_mtus(DAY - timedelta(weeks=weeks), ZONE) for pod in PODS]


def _readings(kw: float, zero_at: int | None = None) -> dict:  # type: ignore[type-arg]
    mtus = delivery_mtus(DAY - timedelta(days=1), ZONE)[-16:] + delivery_mtus(DAY, ZONE)
    return {m.start: {pod: (0.0 if (pod == "A" and k - 16 == zero_at) else kw)
                      for pod in PODS} for k, m in enumerate(mtus)}


def test_kpi_it_02_and_kpi_it_03_day_ahead_and_4_hours() -> None:
    book = learn_profiles(_history(2.0), ZONE)
    report = forecast_reliability(book, DAY, ZONE, _readings(2.5), PODS)
    # Next day: the profile, 2 kW against 2.5: |2.5 − 2| / 2.5 = 20 % in every term.
    day_ahead = report.kpi_it_02["next_24h"]
    assert day_ahead.value_pct == pytest.approx(20.0)
    assert (day_ahead.periods, day_ahead.terms) == (96, 192)
    # Next 4 hours: from the reading 16 quarter-hours before (2.5 against a 2 kW profile),
    # the deviation fades with a 4-MTU half-life: FC = 2 + 0.5 · 2^(−16/4).
    fc = 2.0 + 0.5 * 2 ** (-16 / 4)
    assert report.kpi_it_02["next_4h"].value_pct == pytest.approx(100 * (2.5 - fc) / 2.5)
    # The grid's assets: both PoDs under SS-5 and PS-1, 5 kW against 4 kW, 20 %.
    for kind in ("secondary_substation", "primary_substation"):
        assert report.kpi_it_03["next_24h"][kind].value_pct == pytest.approx(20.0)
        assert report.kpi_it_03["next_24h"][kind].terms == 96


def test_a_zero_reading_is_excluded_and_counted_never_scored() -> None:
    book = learn_profiles(_history(2.0), ZONE)
    report = forecast_reliability(book, DAY, ZONE, _readings(2.5, zero_at=40), PODS)
    day_ahead = report.kpi_it_02["next_24h"]
    assert day_ahead.excluded_terms == 1 and day_ahead.terms == 191
    assert day_ahead.value_pct == pytest.approx(20.0)


def test_pods_without_history_have_no_forecast_and_are_counted() -> None:
    report = forecast_reliability(learn_profiles([], ZONE), DAY, ZONE, _readings(2.5), PODS)
    assert report.kpi_it_02["next_24h"].value_pct is None
    assert report.kpi_it_02["next_24h"].excluded_terms == 192
