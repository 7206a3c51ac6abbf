"""What the shared customer database publishes on its own clock (FR_SCD_PD_3, FR_SCD_PDA):
a missing reading for every quarter-hour of an enrolled PoD that no certified reading
covered in time, and the daily bundle once a delivery day's metering is complete."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from access_layer.domain.events import MeterReadingMissing
from market.domain.calendar import MTU, local_midnight


def quarter_floor(at: datetime) -> datetime:
    """The start of the UTC quarter-hour holding ``at``."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def missing_readings(nodes: Mapping[str, tuple[str, datetime]], since: datetime,
                     until: datetime, published: Collection[tuple[str, datetime]],
                     ) -> list[MeterReadingMissing]:
    """The quarter-hours starting in ``[since, until)`` of each PoD's enrolled node that
    have neither a certified reading nor a missing one published.

    Args:
        nodes: per PoD, its node's address and when it was enrolled (quarter-hours that
            began before the enrolment are not expected from it).
        since: the first quarter-hour to check (UTC, on a quarter-hour).
        until: the end of the last one: quarter-hours must end at or before it.
        published: (PoD, start) pairs already certified or published as missing.
    """
    done = set(published)
    missing = []
    for pod_id, (address, enrolled_at) in sorted(nodes.items()):
        start = max(since, _ceil_quarter(enrolled_at))
        while start + MTU <= until:
            if (pod_id, start) not in done:
                missing.append(MeterReadingMissing(pod_id=pod_id, interval_start=start,
                                                   node_address=address))
            start += MTU
    return missing


def days_to_close(first_day: date, last_closed: date | None, now: datetime,
                  grace: timedelta, zone: ZoneInfo) -> list[date]:
    """Delivery days whose metering can be closed at ``now``: every day after the last
    closed one (from ``first_day``) that ended, on the local clock, ``grace`` ago."""
    day = first_day if last_closed is None else max(first_day, last_closed + timedelta(days=1))
    days = []
    while local_midnight(day + timedelta(days=1), zone) + grace <= now:
        days.append(day)
        day += timedelta(days=1)
    return days


def _ceil_quarter(at: datetime) -> datetime:
    floor = quarter_floor(at)
    return floor if floor == at.astimezone(UTC) else floor + MTU
