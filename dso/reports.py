"""The DSO's end-of-day forecast reliability report (KPI_IT_02, KPI_IT_03) from the
shared customer database's readings: ``dso.domain.reliability`` on what it reads."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from dso.domain.forecast import learn_profiles
from dso.domain.reliability import LEAD_MTUS, ReliabilityReport, forecast_reliability
from dso.state import HISTORY
from dso.store import queries as dso_queries
from ledger.settings import Settings
from market.domain.calendar import MTU, local_midnight
from market.store import queries


def reliability_report(conn: Connection, settings: Settings, day: date) -> ReliabilityReport:
    """KPI_IT_02 and KPI_IT_03 of ``day``, profiles learned from the weeks before it."""
    zone = ZoneInfo(settings.time_zone)
    start = local_midnight(day, zone)
    end = local_midnight(day + timedelta(days=1), zone)
    readings = dso_queries.readings_between(conn, start - LEAD_MTUS * MTU, end)
    pods = {p for values in readings.values() for p in values}
    history = dso_queries.reading_history(conn, pods, start - HISTORY, start)
    substations = {v.pod_id: (v.secondary_substation, v.pom())
                   for v in queries.get_pod_views(conn, pods).values()}
    return forecast_reliability(learn_profiles(history, zone), day, zone, readings,
                                substations)
