"""The DSO's load and generation forecast: typical 15-minute profiles per PoD, month and day
type, learned from readings and projected onto a delivery day or the next four hours
(Platone D3.3 A.3 "Forecasting tool", L1613–1629; horizons "following day" and "next 4
hours", L1429).

Profiles live on the local clock of the market's time zone: a slot is ``hour * 4 +
minute // 15`` of local time, so the morning peak stays at 08:00 on both sides of a
daylight-saving change. Every instant handed in or out is tz-aware; samples are UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from market.domain.calendar import MTU, delivery_mtus

DayType = Literal["weekday", "saturday", "holiday"]
DAY_TYPES: tuple[DayType, ...] = ("weekday", "saturday", "holiday")
SLOTS_PER_DAY = 96  # quarter-hours of a 24-hour local day (Platone reference slot 15 min)
DEFAULT_HALF_LIFE_MTUS = 4.0
ROME_LATITUDE_DEG = 41.9

# When a day type has no data in any month, the closest day type of the same month stands
# in: a Saturday's load looks more like a Sunday's than like a weekday's, and vice versa.
_NEIGHBOUR_DAY_TYPES: dict[DayType, tuple[DayType, DayType]] = {
    "weekday": ("saturday", "holiday"),
    "saturday": ("holiday", "weekday"),
    "holiday": ("saturday", "weekday"),
}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
# Fixed-date national holidays (legge 260/1949 as amended by legge 54/1977, DPR 792/1985
# and legge 336/2000): (month, day).
_FIXED_HOLIDAYS = ((1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8),
                   (12, 25), (12, 26))
# 4 October (St Francis of Assisi) is a national holiday again from 2026 (approved by the
# Senate on 1 October 2025, first applied in 2026).
_ST_FRANCIS_FROM_YEAR = 2026


class ForecastError(Exception):
    """A forecast that cannot be made: a bad argument or a PoD without any usable profile.

    Args:
        message: what went wrong, for a person.
        field: the argument at fault (``mtus``, ``start``, ``latest[POD-1]``), if any.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProfileMissing(ForecastError):
    """No profile of the PoD can stand in for the slot asked, even after the fallbacks of
    ``ProfileBook.lookup``.

    Args:
        pod_id: the PoD without a usable profile.
        month: the month asked, 1..12.
        day_type: the day type asked.
        slot: the local quarter-hour asked, 0..95.
    """

    def __init__(self, pod_id: str, month: int, day_type: DayType, slot: int) -> None:
        hour, quarter = divmod(slot, 4)
        super().__init__(
            f"no load profile for PoD {pod_id!r} at {hour:02d}:{quarter * 15:02d} local: no "
            f"{day_type} sample in any month, nor a sample of any day type in "
            f"{_MONTH_NAMES[month - 1]}", field="pod_ids")
        self.pod_id = pod_id
        self.month = month
        self.day_type = day_type
        self.slot = slot


def _easter_sunday(year: int) -> date:
    """Easter Sunday of ``year`` by the anonymous Gregorian algorithm (Meeus, *Astronomical
    Algorithms*, ch. 8), valid for every Gregorian year."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def italian_holidays(year: int) -> frozenset[date]:
    """The Italian national public holidays of ``year``.

    Today's list applied to every year (it is not a historical calendar): the fixed dates,
    Easter Sunday and Easter Monday, and 4 October from 2026. Local patron-saint days (Rome's
    29 June) are not national and are left out.

    Args:
        year: a Gregorian year (1583 or later).

    Returns:
        The holidays' dates.

    Raises:
        ForecastError: if ``year`` is before the Gregorian calendar's first full year.
    """
    if year < 1583 or year > 9999:
        raise ForecastError(f"year {year} is outside 1583..9999", field="year")
    easter = _easter_sunday(year)
    days = {date(year, month, day) for month, day in _FIXED_HOLIDAYS}
    days |= {easter, easter + timedelta(days=1)}
    if year >= _ST_FRANCIS_FROM_YEAR:
        days.add(date(year, 10, 4))
    return frozenset(days)


def day_type(day: date) -> DayType:
    """Which of the three typical profiles a day follows (Platone A.3: weekday, Saturday,
    Sunday/holiday).

    Args:
        day: a local calendar day.

    Returns:
        ``"holiday"`` for a Sunday or a national holiday (a holiday on a Saturday is a
        holiday: shops and offices are closed), ``"saturday"`` for another Saturday,
        otherwise ``"weekday"``.
    """
    if day.weekday() == 6 or day in italian_holidays(day.year):
        return "holiday"
    return "saturday" if day.weekday() == 5 else "weekday"


@dataclass(frozen=True)
class Sample:
    """One reading of a PoD: mean active and reactive power over a 15-minute interval.

    Attributes:
        pod_id: the PoD measured.
        start: the interval's start, tz-aware UTC, on a quarter-hour.
        p_kw: mean active power, kW (load positive, generation negative).
        q_kvar: mean reactive power, kVAr.

    Raises:
        ForecastError: on an empty PoD id, a naive or non-UTC start, a start off the
            quarter-hour, or a non-finite power.
    """

    pod_id: str
    start: datetime
    p_kw: float
    q_kvar: float

    def __post_init__(self) -> None:
        if not self.pod_id:
            raise ForecastError("a sample needs a PoD id", field="pod_id")
        if self.start.utcoffset() != timedelta(0):
            raise ForecastError(f"sample start {self.start!r} of PoD {self.pod_id!r} must be "
                                "tz-aware UTC", field="start")
        if not _on_quarter_hour(self.start):
            raise ForecastError(f"sample start {self.start.isoformat()} of PoD "
                                f"{self.pod_id!r} is not on a quarter-hour", field="start")
        if not (math.isfinite(self.p_kw) and math.isfinite(self.q_kvar)):
            raise ForecastError(f"sample of PoD {self.pod_id!r} at {self.start.isoformat()} "
                                "has a non-finite power", field="p_kw")


@dataclass(frozen=True)
class ProfileCurve:
    """One typical day of one PoD: the mean per local quarter-hour and how many samples
    each mean rests on. A slot without a sample is ``None``, never 0 kW.

    Attributes:
        p_kw: mean active power per slot 0..95, kW, or None.
        q_kvar: mean reactive power per slot 0..95, kVAr, or None.
        samples: number of samples behind each slot.
    """

    p_kw: tuple[float | None, ...]
    q_kvar: tuple[float | None, ...]
    samples: tuple[int, ...]


@dataclass(frozen=True)
class ProfileBook:
    """The typical profiles of every PoD: up to 36 curves each (12 months × 3 day types),
    on the local clock of the zone they were learned in.

    Attributes:
        zone_key: the IANA key of the zone the slots are local to (``Europe/Rome``).
        curves: the curve of each (PoD id, month 1..12, day type) that has samples.
    """

    zone_key: str | None
    curves: Mapping[tuple[str, int, DayType], ProfileCurve]

    @property
    def pod_ids(self) -> frozenset[str]:
        """Every PoD with at least one curve."""
        return frozenset(pod for pod, _, _ in self.curves)

    def curve(self, pod_id: str, month: int, day_type_: DayType) -> ProfileCurve | None:
        """The curve learned for this PoD, month and day type, if it has samples."""
        return self.curves.get((pod_id, month, day_type_))

    def lookup(self, pod_id: str, month: int, day_type_: DayType,
               slot: int) -> tuple[float, float]:
        """The typical (P kW, Q kVAr) of a PoD in one local slot, with fallbacks.

        A slot without a sample falls back, slot by slot, in this order:

        1. the same day type in the nearest month that has that slot (months on a circle,
           so December neighbours January; at equal distance the month before wins:
           February with data in December and April takes December);
        2. another day type of the same month (Saturday and holiday stand in for each
           other before a weekday does; a weekday takes Saturday first);
        3. otherwise ``ProfileMissing``.

        Why: a PoD registered mid-year has history for only some months, and the shape of
        a day type moves less from one month to the next than between day types.

        Args:
            pod_id: the PoD.
            month: month of the local day, 1..12.
            day_type_: the day type of the local day.
            slot: local quarter-hour, 0..95.

        Returns:
            ``(p_kw, q_kvar)``.

        Raises:
            ForecastError: on a month, day type or slot out of range.
            ProfileMissing: if no fallback has a sample for the slot; names the PoD.
        """
        if not 1 <= month <= 12:
            raise ForecastError(f"month must be 1..12, not {month!r}", field="month")
        if day_type_ not in DAY_TYPES:
            raise ForecastError(f"day type must be one of {DAY_TYPES}, not {day_type_!r}",
                                field="day_type")
        if not 0 <= slot < SLOTS_PER_DAY:
            raise ForecastError(f"slot must be 0..95, not {slot!r}", field="slot")
        for candidate_month, candidate_type in _fallbacks(month, day_type_):
            found = self.curves.get((pod_id, candidate_month, candidate_type))
            if found is not None and found.samples[slot]:
                p_kw, q_kvar = found.p_kw[slot], found.q_kvar[slot]
                if p_kw is not None and q_kvar is not None:
                    return p_kw, q_kvar
        raise ProfileMissing(pod_id, month, day_type_, slot)


@lru_cache(maxsize=36)
def _fallbacks(month: int, day_type_: DayType) -> tuple[tuple[int, DayType], ...]:
    """(month, day type) in lookup order: the one asked, then ``ProfileBook.lookup``'s."""
    order: list[tuple[int, DayType]] = [(month, day_type_)]
    for distance in range(1, 7):
        for candidate in ((month - 1 - distance) % 12 + 1, (month - 1 + distance) % 12 + 1):
            if (candidate, day_type_) not in order:
                order.append((candidate, day_type_))
    order += [(month, other) for other in _NEIGHBOUR_DAY_TYPES[day_type_]]
    return tuple(order)


def _on_quarter_hour(at: datetime) -> bool:
    utc = at.astimezone(UTC)
    return utc.minute % 15 == 0 and utc.second == 0 and utc.microsecond == 0


def _local_position(at: datetime, zone: ZoneInfo) -> tuple[int, DayType, int]:
    """(month, day type, slot) of the local clock at instant ``at``."""
    local = at.astimezone(zone)
    return local.month, day_type(local.date()), local.hour * 4 + local.minute // 15


def learn_profiles(samples: Iterable[Sample], zone: ZoneInfo) -> ProfileBook:
    """Learn each PoD's typical profiles: the mean of its samples per month, day type and
    local quarter-hour (Platone A.3: 3 typical profiles for each month, slot 15 min).

    A sample goes to the local-clock slot of its start, so on the autumn change both
    passes of the repeated hour land in the same slots, and on the spring change the
    skipped hour simply gets no sample that day. Every sample counts once: the caller
    drops duplicates and corrected readings.

    Args:
        samples: readings of any PoDs, in any order.
        zone: the market's time zone, whose local clock the slots follow.

    Returns:
        The profile book; a slot without a sample stays ``None``.
    """
    sums: dict[tuple[str, int, DayType], tuple[list[float], list[float], list[int]]] = {}
    positions: dict[datetime, tuple[int, DayType, int]] = {}  # PoDs share their instants
    for sample in samples:
        position = positions.get(sample.start)
        if position is None:
            position = positions[sample.start] = _local_position(sample.start, zone)
        month, type_, slot = position
        key = (sample.pod_id, month, type_)
        if key not in sums:
            sums[key] = ([0.0] * SLOTS_PER_DAY, [0.0] * SLOTS_PER_DAY, [0] * SLOTS_PER_DAY)
        p_sum, q_sum, count = sums[key]
        p_sum[slot] += sample.p_kw
        q_sum[slot] += sample.q_kvar
        count[slot] += 1
    curves = {
        key: ProfileCurve(
            p_kw=tuple(p / n if n else None for p, n in zip(p_sum, count, strict=True)),
            q_kvar=tuple(q / n if n else None for q, n in zip(q_sum, count, strict=True)),
            samples=tuple(count))
        for key, (p_sum, q_sum, count) in sums.items()}
    return ProfileBook(zone_key=zone.key, curves=MappingProxyType(curves))


def _check_zone(book: ProfileBook, zone: ZoneInfo) -> None:
    # Slots are local: forecasting in another zone would shift every profile by hours.
    if book.zone_key != zone.key:
        raise ForecastError(f"the profiles were learned on the {book.zone_key} clock, not "
                            f"{zone.key}", field="zone")


def forecast_day(book: ProfileBook, pod_ids: Iterable[str], day: date,
                 zone: ZoneInfo) -> dict[str, np.ndarray]:
    """The "following day" forecast of each PoD: its typical profile for every MTU of a
    delivery day (Platone A.3 forecasting tool, DA horizon).

    Each MTU takes the profile of its start's local slot, with the day's month and day
    type: on the 100-MTU autumn day the repeated hour reads the same slots twice, and on
    the 92-MTU spring day the skipped hour is not forecast.

    Args:
        book: the learned profiles.
        pod_ids: the PoDs to forecast.
        day: the local delivery day.
        zone: the market's time zone (the one the book was learned in).

    Returns:
        Per PoD, an array of shape (MTUs of the day, 2): column 0 P in kW, column 1 Q in
        kVAr, row i for MTU i of ``market.domain.calendar.delivery_mtus``.

    Raises:
        ForecastError: if ``zone`` is not the book's zone.
        ProfileMissing: if a PoD has no usable profile for a slot (see
            ``ProfileBook.lookup``).
    """
    _check_zone(book, zone)
    month, type_ = day.month, day_type(day)
    slots = [_local_position(mtu.start, zone)[2] for mtu in delivery_mtus(day, zone)]
    return {pod: np.array([book.lookup(pod, month, type_, slot) for slot in slots],
                          dtype=float).reshape(len(slots), 2)
            for pod in pod_ids}


def forecast_window(book: ProfileBook, pod_ids: Iterable[str], start: datetime,
                    mtus: int = 16, *, zone: ZoneInfo,
                    latest: Mapping[str, tuple[float, float]] | None = None,
                    half_life_mtus: float = DEFAULT_HALF_LIFE_MTUS) -> dict[str, np.ndarray]:
    """The "next 4 hours" forecast of each PoD, anchored on its latest state estimate
    (Platone A.3, RT horizon: 16 quarter-hours by default).

    Quarter-hour k starts at ``start + k·15 min`` and takes the profile of its own local
    slot, month and day type (a window can cross midnight or a clock change). Where
    ``latest`` gives a PoD's estimated (P, Q) now, the forecast starts there and the
    deviation from the profile fades with a half-life, since a deviation seen now (a
    cloud, a machine left on) persists for a while and then the typical day takes over:

        value_k = profile_k + (latest − profile_0) · 0.5 ** (k / half_life_mtus)

    Args:
        book: the learned profiles.
        pod_ids: the PoDs to forecast.
        start: the first quarter-hour's start, tz-aware, on a quarter-hour.
        mtus: how many quarter-hours, ≥ 1.
        zone: the market's time zone (the one the book was learned in).
        latest: per PoD, the latest estimated (P kW, Q kVAr); PoDs left out get the
            profile alone.
        half_life_mtus: quarter-hours after which half the deviation is left, > 0.

    Returns:
        Per PoD, an array of shape (mtus, 2): column 0 P in kW, column 1 Q in kVAr.

    Raises:
        ForecastError: on a bad argument (the error's ``field`` names it) or a zone other
            than the book's.
        ProfileMissing: if a PoD has no usable profile for a slot.
    """
    if isinstance(mtus, bool) or not isinstance(mtus, int) or mtus < 1:
        raise ForecastError(f"mtus must be an integer ≥ 1, not {mtus!r}", field="mtus")
    if not half_life_mtus > 0:  # also rejects NaN
        raise ForecastError(f"half_life_mtus must be > 0, not {half_life_mtus!r}",
                            field="half_life_mtus")
    if start.utcoffset() is None:
        raise ForecastError(f"start {start!r} must be tz-aware", field="start")
    if not _on_quarter_hour(start):
        raise ForecastError(f"start {start.isoformat()} is not on a quarter-hour",
                            field="start")
    _check_zone(book, zone)
    latest = latest or {}
    for pod, value in latest.items():
        if len(value) != 2 or not all(math.isfinite(v) for v in value):
            raise ForecastError(f"latest estimate of PoD {pod!r} must be a finite (P, Q), "
                                f"not {value!r}", field=f"latest[{pod}]")
    first = start.astimezone(UTC)
    positions = [_local_position(first + k * MTU, zone) for k in range(mtus)]
    decay = 0.5 ** (np.arange(mtus, dtype=float) / half_life_mtus)
    result: dict[str, np.ndarray] = {}
    for pod in pod_ids:
        profile = np.array([book.lookup(pod, *position) for position in positions],
                           dtype=float).reshape(mtus, 2)
        if pod in latest:
            profile += np.outer(decay, np.asarray(latest[pod], dtype=float) - profile[0])
        result[pod] = profile
    return result


def solar_declination_deg(day: date) -> float:
    """The sun's declination at noon of ``day`` (Cooper 1969, δ = 23.45° · sin(360° ·
    (284 + n) / 365), n the day of the year), in degrees; within ±0.5° of the almanac."""
    n = day.timetuple().tm_yday
    return 23.45 * math.sin(math.radians(360.0 * (284 + n) / 365.0))


def pv_profile(peak_kw: float, day: date, zone: ZoneInfo,
               latitude_deg: float = ROME_LATITUDE_DEG) -> np.ndarray:
    """A clear-sky PV output curve for every MTU of a day, from the sun's path alone.

    A stand-in for the weather-driven generation forecast of Platone A.3 (no weather, no
    clouds, no atmosphere): output is ``peak_kw · cos θz``, θz the solar zenith angle of a
    horizontal panel, cos θz = sin φ sin δ + cos φ cos δ cos ω. It is a bell between
    sunrise and sunset (where cos θz = 0, ω_s = arccos(−tan φ tan δ)), zero at night, and
    its noon height cos(φ − δ) is lower in winter. Solar noon is taken at 12:00 local
    standard time (13:00 under daylight saving); ignoring longitude within the zone and
    the equation of time shifts the curve by up to about half an hour. Each MTU is valued
    at its midpoint.

    Args:
        peak_kw: the plant's peak power, kW, ≥ 0 (output under the sun at zenith).
        day: the local day.
        zone: the time zone whose MTUs are returned.
        latitude_deg: the plant's latitude, degrees north (−90..90; Rome by default).

    Returns:
        PV output per MTU of ``delivery_mtus(day, zone)`` (96, or 92 / 100), kW, each in
        0..peak_kw.

    Raises:
        ForecastError: on a negative or non-finite peak or a latitude outside −90..90.
    """
    if not (math.isfinite(peak_kw) and peak_kw >= 0):
        raise ForecastError(f"peak_kw must be finite and ≥ 0, not {peak_kw!r}",
                            field="peak_kw")
    if not -90.0 <= latitude_deg <= 90.0:
        raise ForecastError(f"latitude_deg must be within −90..90, not {latitude_deg!r}",
                            field="latitude_deg")
    phi = math.radians(latitude_deg)
    delta = math.radians(solar_declination_deg(day))
    hours: list[float] = []
    for mtu in delivery_mtus(day, zone):
        local = (mtu.start + MTU / 2).astimezone(zone)
        standard = local - (local.dst() or timedelta(0))  # solar time ignores DST
        hours.append(standard.hour + standard.minute / 60 + standard.second / 3600)
    omega = np.radians(15.0 * (np.asarray(hours) - 12.0))  # 15° of hour angle per hour
    cos_zenith = math.sin(phi) * math.sin(delta) + math.cos(phi) * math.cos(delta) * np.cos(
        omega)
    return peak_kw * np.clip(cos_zenith, 0.0, 1.0)
