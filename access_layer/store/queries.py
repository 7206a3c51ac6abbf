"""Read-model queries of the shared customer database (SQL stays here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from access_layer.store.models import (
    LightNodeRow,
    MeteringDayRow,
    MeterReadingRow,
    MissingReadingRow,
    RejectedPacketRow,
    SetpointRow,
)
from aggregator.store.models import BaselineRow
from ledger.store.models import PodRow
from ledger.store.queries import utc


def get_light_node(conn: Connection, pod_id: str) -> Any | None:
    return conn.execute(select(LightNodeRow).where(LightNodeRow.pod_id == pod_id)).first()


def enrolled_nodes(conn: Connection, pod_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """The light node enrolled for each PoD (of ``pod_ids``, or all)."""
    query = select(LightNodeRow)
    if pod_ids is not None:
        query = query.where(LightNodeRow.pod_id.in_(list(pod_ids)))
    return {r.pod_id: r for r in conn.execute(query)}


def certification_ids(conn: Connection, keys: Iterable[tuple[str, datetime]]) -> dict[
        tuple[str, datetime], str]:
    """The event id certifying each (PoD, quarter-hour) of ``keys`` that is certified."""
    by_pod: dict[str, set[datetime]] = {}
    for pod, start in keys:
        by_pod.setdefault(pod, set()).add(start)
    found: dict[tuple[str, datetime], str] = {}
    pods = sorted(by_pod)
    for i in range(0, len(pods), 500):
        chunk = pods[i:i + 500]
        starts = sorted({s for p in chunk for s in by_pod[p]})
        rows = conn.execute(select(MeterReadingRow.pod_id, MeterReadingRow.interval_start,
                                   MeterReadingRow.event_id).where(
            MeterReadingRow.pod_id.in_(chunk), MeterReadingRow.interval_start.in_(starts)))
        for pod, start, event_id in rows:
            if utc(start) in by_pod[pod]:
                found[(pod, utc(start))] = event_id
    return found


def readings_between(conn: Connection, pod_id: str, start: datetime, end: datetime) -> list[Any]:
    return list(conn.execute(select(MeterReadingRow).where(
        MeterReadingRow.pod_id == pod_id, MeterReadingRow.interval_start >= start,
        MeterReadingRow.interval_start < end).order_by(MeterReadingRow.interval_start)))


def missing_between(conn: Connection, pod_id: str, start: datetime, end: datetime) -> list[Any]:
    return list(conn.execute(select(MissingReadingRow).where(
        MissingReadingRow.pod_id == pod_id, MissingReadingRow.interval_start >= start,
        MissingReadingRow.interval_start < end).order_by(MissingReadingRow.interval_start)))


def rejections_between(conn: Connection, pod_id: str, start: datetime,
                       end: datetime) -> list[Any]:
    """Packets refused for the PoD that claimed a quarter-hour in [start, end)."""
    return list(conn.execute(select(RejectedPacketRow).where(
        RejectedPacketRow.pod_id == pod_id, RejectedPacketRow.interval_start >= start,
        RejectedPacketRow.interval_start < end).order_by(RejectedPacketRow.rejected_at)))


def readings_at(conn: Connection, pod_ids: list[str], start: datetime) -> tuple[dict[str, Any],
                                                                                  dict[str, Any]]:
    """Certified and missing readings of ``pod_ids`` for the quarter-hour at ``start``."""
    certified = {r.pod_id: r for r in conn.execute(select(MeterReadingRow).where(
        MeterReadingRow.pod_id.in_(pod_ids), MeterReadingRow.interval_start == start))}
    missing = {r.pod_id: r for r in conn.execute(select(MissingReadingRow).where(
        MissingReadingRow.pod_id.in_(pod_ids), MissingReadingRow.interval_start == start))}
    return certified, missing


def pods_of(conn: Connection, aggregator_id: str) -> list[Any]:
    return list(conn.execute(select(PodRow).where(PodRow.aggregator_id == aggregator_id,
                                                  PodRow.active).order_by(PodRow.pod_id)))


def get_baseline(conn: Connection, pod_id: str, day: date) -> Any | None:
    return conn.execute(select(BaselineRow).where(BaselineRow.pod_id == pod_id,
                                                  BaselineRow.delivery_day == day)).first()


def setpoints_of(conn: Connection, pod_id: str, session_ids: list[str]) -> list[Any]:
    return list(conn.execute(select(SetpointRow).where(
        SetpointRow.pod_id == pod_id, SetpointRow.session_id.in_(session_ids))
        .order_by(SetpointRow.session_id)))


def activated_sessions(conn: Connection, pod_id: str) -> set[str]:
    """Sessions in which the PoD was issued a setpoint."""
    return set(conn.scalars(select(SetpointRow.session_id).where(SetpointRow.pod_id == pod_id)))


def day_counts(conn: Connection, start: datetime, end: datetime) -> tuple[int, int, int]:
    """Certified, missing and rejected readings of quarter-hours in [start, end)."""
    def count(model: Any, column: Any) -> int:
        return int(conn.scalar(select(func.count()).select_from(model).where(
            column >= start, column < end)) or 0)
    return (count(MeterReadingRow, MeterReadingRow.interval_start),
            count(MissingReadingRow, MissingReadingRow.interval_start),
            count(RejectedPacketRow, RejectedPacketRow.interval_start))


def published_between(conn: Connection, start: datetime, end: datetime) -> set[
        tuple[str, datetime]]:
    """(PoD, quarter-hour) pairs in [start, end) certified or published as missing."""
    found: set[tuple[str, datetime]] = set()
    for model in (MeterReadingRow, MissingReadingRow):
        rows = conn.execute(select(model.pod_id, model.interval_start).where(
            model.interval_start >= start, model.interval_start < end))
        found.update((p, utc(s)) for p, s in rows)
    return found


def last_closed_day(conn: Connection) -> date | None:
    return conn.scalar(select(func.max(MeteringDayRow.delivery_day)))
