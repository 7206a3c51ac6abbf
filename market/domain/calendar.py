"""The session calendar: market time units and the day-ahead and real-time sessions of a
delivery day, with their gate times (MARKET_RULES.md "Time"; Platone FR_MP_FS_1, FR_AP_A_3).

Delivery days and windows follow the local clock of the market's time zone (Europe/Rome by
default), so a daylight-saving day has 92 or 100 MTUs and the real-time window that holds
the clock change is an hour shorter or longer. Every instant here is UTC-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

MTU = timedelta(minutes=15)
DEFAULT_TIME_ZONE = "Europe/Rome"

# Day-ahead, local clock of the day before delivery (MARKET_RULES.md; 4 h collection,
# FR_MP_FS_1).
DA_OPENS = time(12, 0)
DA_GATE_CLOSES = time(16, 0)
DA_OUTCOME_DUE = time(18, 0)
# Real-time, relative to the start of the window delivered (2 h collection, FR_MP_FS_1;
# setpoints 15 min ahead, FR_AP_A_3).
RT_WINDOWS = 6
RT_WINDOW_HOURS = 4
RT_OPENS_BEFORE = timedelta(hours=3)
RT_GATE_CLOSES_BEFORE = timedelta(hours=1)
RT_OUTCOME_DUE_BEFORE = timedelta(minutes=30)
RT_SETPOINTS_BEFORE = timedelta(minutes=15)


# The days the calendar computes: a wider range has no market, and the years past it
# overflow the local-midnight arithmetic at the edges.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


class SessionKind(StrEnum):
    """Day-ahead or real-time."""

    DAY_AHEAD = "DA"
    REAL_TIME = "RT"


class SessionState(StrEnum):
    """Where a session is in its life, at a given instant."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Mtu:
    """One market time unit of a delivery day: its index from 0 and its UTC interval."""

    index: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SessionSlot:
    """One session of the calendar: what it delivers and when its gates are.

    ``first_mtu`` and ``mtu_count`` index the delivery day's MTUs (0 is local midnight).
    """

    session_id: str
    kind: SessionKind
    delivery_day: date
    window: int | None  # 0..5 for real-time sessions
    first_mtu: int
    mtu_count: int
    delivery_start: datetime
    delivery_end: datetime
    opens_at: datetime
    gate_closes_at: datetime
    outcome_due_at: datetime
    setpoints_at: datetime | None  # real-time only

    def state_at(self, now: datetime) -> SessionState:
        """Scheduled before it opens, open until gate closure, closed after."""
        if now < self.opens_at:
            return SessionState.SCHEDULED
        if now < self.gate_closes_at:
            return SessionState.OPEN
        return SessionState.CLOSED

    def covers(self, mtu: int) -> bool:
        """Whether MTU ``mtu`` of the delivery day is delivered by this session."""
        return self.first_mtu <= mtu < self.first_mtu + self.mtu_count


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` on the local clock, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def delivery_mtus(day: date, zone: ZoneInfo) -> list[Mtu]:
    """Every MTU of delivery day ``day``: 96, or 92 / 100 on daylight-saving days."""
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    count = (end - start) // MTU
    return [Mtu(i, start + i * MTU, start + (i + 1) * MTU) for i in range(count)]


def session_id(kind: SessionKind, day: date, window: int | None = None) -> str:
    """A stable session id: ``DA-2026-03-29`` or ``RT-2026-03-29-3``."""
    return f"{kind}-{day.isoformat()}" + ("" if window is None else f"-{window}")


def day_sessions(day: date, zone: ZoneInfo | None = None) -> list[SessionSlot]:
    """The day-ahead session and the six real-time sessions of delivery day ``day``."""
    return list(_day_sessions(day, zone or ZoneInfo(DEFAULT_TIME_ZONE)))


# Every API call on a session looks its day up: computed once per day and zone.
@lru_cache(maxsize=1024)
def _day_sessions(day: date, zone: ZoneInfo) -> tuple[SessionSlot, ...]:
    mtus = delivery_mtus(day, zone)
    eve = day - timedelta(days=1)

    def at(local: time) -> datetime:
        return datetime.combine(eve, local, tzinfo=zone).astimezone(UTC)

    slots = [SessionSlot(
        session_id=session_id(SessionKind.DAY_AHEAD, day), kind=SessionKind.DAY_AHEAD,
        delivery_day=day, window=None, first_mtu=0, mtu_count=len(mtus),
        delivery_start=mtus[0].start, delivery_end=mtus[-1].end,
        opens_at=at(DA_OPENS), gate_closes_at=at(DA_GATE_CLOSES),
        outcome_due_at=at(DA_OUTCOME_DUE), setpoints_at=None,
    )]
    for window in range(RT_WINDOWS):
        start = _window_edge(day, window, zone)
        end = _window_edge(day, window + 1, zone)
        first = (start - mtus[0].start) // MTU
        slots.append(SessionSlot(
            session_id=session_id(SessionKind.REAL_TIME, day, window),
            kind=SessionKind.REAL_TIME, delivery_day=day, window=window, first_mtu=first,
            mtu_count=(end - start) // MTU, delivery_start=start, delivery_end=end,
            opens_at=start - RT_OPENS_BEFORE, gate_closes_at=start - RT_GATE_CLOSES_BEFORE,
            outcome_due_at=start - RT_OUTCOME_DUE_BEFORE,
            setpoints_at=start - RT_SETPOINTS_BEFORE,
        ))
    return tuple(slots)


def _window_edge(day: date, window: int, zone: ZoneInfo) -> datetime:
    """Where real-time window ``window`` starts (window 6: the next local midnight)."""
    if window == RT_WINDOWS:
        return local_midnight(day + timedelta(days=1), zone)
    local = datetime.combine(day, time(RT_WINDOW_HOURS * window), tzinfo=zone)
    return local.astimezone(UTC)


def find_session(session_id_: str, zone: ZoneInfo | None = None) -> SessionSlot | None:
    """The calendar's session with this id (``DA-2026-03-29``, ``RT-2026-03-29-3``), if any."""
    parts = session_id_.split("-")
    if len(parts) not in (4, 5) or parts[0] not in ("DA", "RT"):
        return None
    try:
        day = date(int(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        return None
    return next((s for s in day_sessions(day, zone) if s.session_id == session_id_), None)
