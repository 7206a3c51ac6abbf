"""How reliable the DSO's forecast of a delivery day was (Platone Annex C: KPI_IT_02 for
customers' profiles, KPI_IT_03 for the grid's), for the two horizons of A.3: the next day
(the typical profile learned before the day) and the next 4 hours (the profile started
from the reading available 4 hours before, fading back: ``forecast.forecast_window``).

The grid's assets are measured here by the PoDs metered under them: each secondary and
primary substation's real and forecast profile is the sum over its PoDs that have both
a reading and a forecast in that MTU. SCADA feeds would replace those sums where a DSO
has them; the formula stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from dso.domain.forecast import ForecastError, ProfileBook, forecast_window
from dso.domain.kpis import ForecastReliability, kpi_it_02, kpi_it_03
from market.domain.calendar import Mtu, delivery_mtus

# A 4-hour forecast is made at the end of the latest reading's quarter-hour and covers the
# 16 after it: an MTU is scored against the forecast started from the reading 16 before.
LEAD_MTUS = 16


@dataclass(frozen=True)
class ReliabilityReport:
    delivery_day: date
    kpi_it_02: dict[str, ForecastReliability]  # horizon -> customers' profiles
    kpi_it_03: dict[str, dict[str, ForecastReliability]]  # horizon -> asset category ->


def _day_ahead(book: ProfileBook, pods: list[str], mtus: list[Mtu],
               zone: ZoneInfo) -> dict[int, dict[str, float]]:
    """Per MTU, each PoD's typical profile, where it has one (a quarter-hour without
    leaves its reading an excluded term)."""
    out: dict[int, dict[str, float]] = {}
    for t, m in enumerate(mtus):
        for pod in pods:
            try:
                out.setdefault(t, {})[pod] = float(
                    forecast_window(book, [pod], m.start, 1, zone=zone)[pod][0, 0])
            except ForecastError:
                continue
    return out


def _four_hours(book: ProfileBook, pods: list[str], mtus: list[Mtu],
                earlier: list[Mtu], readings: Mapping[object, Mapping[str, float]],
                zone: ZoneInfo) -> dict[int, dict[str, float]]:
    """Per MTU, the forecast made 4 hours before from the latest reading then."""
    timeline = [*earlier, *mtus]
    offset = len(earlier)
    out: dict[int, dict[str, float]] = {}
    for t in range(len(mtus)):
        k = offset + t - LEAD_MTUS
        if k < 0:
            continue
        base = timeline[k]
        latest = readings.get(base.start, {})
        for pod in pods:
            if pod not in latest:
                continue
            try:
                curve = forecast_window(book, [pod], base.start, LEAD_MTUS + 1, zone=zone,
                                        latest={pod: (latest[pod], 0.0)})[pod]
            except ForecastError:
                continue
            out.setdefault(t, {})[pod] = float(curve[LEAD_MTUS, 0])
    return out


def _assets(by_mtu: Mapping[int, Mapping[str, float]], both: Mapping[int, set[str]],
            asset_of: Mapping[str, tuple[str, str]]) -> dict[int, dict[str, float]]:
    """Per MTU, per substation, the sum over its PoDs counted in that MTU."""
    out: dict[int, dict[str, float]] = {}
    for t, values in by_mtu.items():
        for pod in both.get(t, set()):
            for asset in asset_of.get(pod, ()):
                out.setdefault(t, {})
                out[t][asset] = out[t].get(asset, 0.0) + values[pod]
    return out


def forecast_reliability(book: ProfileBook, day: date, zone: ZoneInfo,
                         readings: Mapping[object, Mapping[str, float]],
                         substations: Mapping[str, tuple[str, str]]) -> ReliabilityReport:
    """KPI_IT_02 and KPI_IT_03 of ``day``'s forecast against its readings.

    Args:
        book: the PoDs' typical profiles, learned from readings before ``day``.
        day: the delivery day.
        zone: the calendar's time zone.
        readings: per MTU start (UTC), each metered PoD's active power (kW), for the day
            and the 16 quarter-hours before it (the 4-hour horizon's starting points).
        substations: each PoD's (secondary substation, primary substation).

    Returns:
        Per horizon (``next_24h``, ``next_4h``), KPI_IT_02 over the PoDs and KPI_IT_03 per
        asset category (``secondary_substation``, ``primary_substation``).
    """
    mtus = delivery_mtus(day, zone)
    earlier = delivery_mtus(day.fromordinal(day.toordinal() - 1), zone)[-LEAD_MTUS:]
    actual = {t: dict(readings.get(m.start, {})) for t, m in enumerate(mtus)}
    actual = {t: v for t, v in actual.items() if v}
    pods = sorted({p for v in actual.values() for p in v})
    forecasts = {"next_24h": _day_ahead(book, pods, mtus, zone),
                 "next_4h": _four_hours(book, pods, mtus, earlier, readings, zone)}
    category = {asset: kind for ss, ps in substations.values()
                for asset, kind in ((ss, "secondary_substation"), (ps, "primary_substation"))}
    kpi02, kpi03 = {}, {}
    for horizon, forecast in forecasts.items():
        kpi02[horizon] = kpi_it_02(actual, forecast)
        both = {t: set(v) & set(forecast.get(t, {})) for t, v in actual.items()}
        kpi03[horizon] = kpi_it_03(_assets(actual, both, substations),
                                   _assets(forecast, both, substations), category)
    return ReliabilityReport(day, kpi02, kpi03)
