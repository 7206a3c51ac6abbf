"""The grid's state now, as the DSO platform reads it: the latest certified readings,
each metered PoD's deviation from its typical profile, and the WLS estimate on top of the
forecast (``dso.domain.estimation``). Used by ``GET /v1/dso/state`` and to seed the
forecast of real-time sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from dso.domain.estimation import StateEstimate, estimate_state, pod_deviations
from dso.domain.forecast import ForecastError, forecast_window, learn_profiles
from dso.domain.grid import Grid, UnknownGridPoint
from dso.domain.scenario import day_scenarios
from dso.domain.validation import MtuScenario
from dso.store import queries as dso_queries
from ledger.settings import Settings
from market.domain.calendar import delivery_mtus
from market.store import queries

# A reading older than this does not describe the present.
FRESH = timedelta(minutes=30)
# Typical profiles are learned from this much history.
HISTORY = timedelta(weeks=8)


def mtu_of(at: datetime, zone: ZoneInfo) -> tuple[datetime, int]:
    """The delivery day's MTU that contains ``at``: (its start, its index)."""
    day = at.astimezone(zone).date()
    for m in delivery_mtus(day, zone):
        if m.start <= at < m.end:
            return m.start, m.index
    raise AssertionError("every instant is in an MTU of its local day")  # pragma: no cover


@dataclass(frozen=True)
class CurrentState:
    """The estimate at an instant, with the MTU it is in, that MTU's forecast and how many
    PoDs' readings it rests on."""

    estimate: StateEstimate
    mtu: int
    scenario: MtuScenario
    metered_pods: int


def current_state(conn: Connection, settings: Settings, grid: Grid,
                  at: datetime) -> CurrentState:
    """The grid's estimated state at ``at``."""
    zone = ZoneInfo(settings.time_zone)
    start, index = mtu_of(at, zone)
    scenario = day_scenarios(start.astimezone(zone).date(), zone,
                             load_scale=settings.dso_load_scale,
                             sgen_scale=settings.dso_sgen_scale)[index]
    readings = dso_queries.latest_readings(conn, at - FRESH, at)
    bus_of: dict[str, int] = {}
    for pod in queries.get_pod_views(conn, readings).values():
        try:
            bus_of[pod.pod_id] = grid.locate(pod.primary_substation, pod.mv_feeder,
                                             pod.secondary_substation)
        except UnknownGridPoint:
            continue
    metered = {p: r for p, r in readings.items() if p in bus_of}
    # History up to the fresh readings, not including them: they are what is compared.
    book = learn_profiles(dso_queries.reading_history(conn, metered, at - HISTORY,
                                                      at - FRESH), zone)
    expected: dict[str, complex] = {}
    for pod, (interval, _, _) in metered.items():
        try:
            p_kw, q_kvar = forecast_window(book, [pod], interval, 1, zone=zone)[pod][0]
        except ForecastError:
            continue  # no history yet: the reading only confirms the forecast
        expected[pod] = complex(p_kw, q_kvar) / 1000.0
    observed = {p: complex(r[1], r[2]) / 1000.0 for p, r in metered.items()}
    estimate = estimate_state(grid, scenario, pod_deviations(bus_of, observed, expected))
    return CurrentState(estimate, index, scenario, len(metered))
