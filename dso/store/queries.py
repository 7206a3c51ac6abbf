"""What the DSO reads: certified meter readings from the shared customer database, and
what it has already posted to a session."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select

from access_layer.store.models import MeterReadingRow
from dso.domain.forecast import Sample
from ledger.store.models import EventRow
from ledger.store.queries import utc
from market.store import queries


def latest_readings(conn: Connection, since: datetime, until: datetime
                    ) -> dict[str, tuple[datetime, float, float]]:
    """Each PoD's newest reading starting in [``since``, ``until``]: (start, kW, kVAr)."""
    newest = (select(MeterReadingRow.pod_id, func.max(MeterReadingRow.interval_start)
                     .label("start"))
              .where(MeterReadingRow.interval_start >= since,
                     MeterReadingRow.interval_start <= until)
              .group_by(MeterReadingRow.pod_id).subquery())
    rows = conn.execute(select(MeterReadingRow).join(
        newest, (MeterReadingRow.pod_id == newest.c.pod_id)
        & (MeterReadingRow.interval_start == newest.c.start)))
    return {r.pod_id: (utc(r.interval_start), r.p_kw, r.q_kvar) for r in rows}


def reading_history(conn: Connection, pod_ids: Iterable[str], since: datetime,
                    before: datetime) -> list[Sample]:
    """The readings of ``pod_ids`` starting in [``since``, ``before``), as forecast samples."""
    ids = sorted(set(pod_ids))
    samples: list[Sample] = []
    for start in range(0, len(ids), 5000):
        rows = conn.execute(select(MeterReadingRow).where(
            MeterReadingRow.pod_id.in_(ids[start:start + 5000]),
            MeterReadingRow.interval_start >= since, MeterReadingRow.interval_start < before))
        samples += [Sample(r.pod_id, utc(r.interval_start), r.p_kw, r.q_kvar) for r in rows]
    return samples


def readings_between(conn: Connection, since: datetime, until: datetime
                     ) -> dict[datetime, dict[str, float]]:
    """Per quarter-hour start in [``since``, ``until``), each metered PoD's kW."""
    rows = conn.execute(select(MeterReadingRow.interval_start, MeterReadingRow.pod_id,
                               MeterReadingRow.p_kw).where(
        MeterReadingRow.interval_start >= since, MeterReadingRow.interval_start < until))
    out: dict[datetime, dict[str, float]] = {}
    for start, pod, p_kw in rows:
        out.setdefault(utc(start), {})[pod] = p_kw
    return out


def dso_posted(conn: Connection, session_id: str, dso_id: str) -> bool:
    """Whether the DSO already posted alerts or requests for the session."""
    alerts = conn.scalar(select(func.count()).select_from(EventRow).where(
        EventRow.type == "GridAlertRaised", EventRow.key == session_id))
    _, requests = queries.list_requests(conn, session_id=session_id, requester_id=dso_id,
                                        limit=1)
    return bool(alerts) or bool(requests)
