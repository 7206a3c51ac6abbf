"""A PoD's baseline for a delivery day, the basis of its offers, setpoints and settlement:
uploaded by the aggregator, "high X of Y" from metered history, or a typical profile
(Platone FR_AP_PR_2, D3.3 A.2 "Baseline and Cost Aggregation").

Every baseline is a ``BaselineUploaded`` with one slot per MTU of the day (92, 96 or 100 on
the local clock of the market's time zone), P in kW and Q in kVAr, withdrawal positive.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from aggregator.domain.events import BaselineMethod, BaselineSlot, BaselineUploaded
from dso.domain.forecast import ForecastError, ProfileBook, day_type, forecast_day
from ledger.errors import Rejected
from market.domain.calendar import Mtu, delivery_mtus

M = TypeVar("M", bound=BaseModel)

# BaselineSlot and SetpointSlot accept |value| ≤ 1e6 kW (kVAr).
MAX_ABS_POWER = 1e6
MAX_ID_LENGTH = 100  # the events' Identifier


class AggregatorError(Rejected):
    """A rule of the Aggregator Platform that its input breaks; nothing is produced.

    A ``Rejected`` (HTTP 422 through the API's one error handler) so an adapter that lets
    it through still answers with its code and field, never a 500.

    Args:
        message: what went wrong, for a person.
        code: a stable machine-readable code (``BASELINE_SLOTS``).
        field: the argument at fault, dotted (``slots.3``), if any.
    """


def make_event(model: type[M], *, code: str, **fields: Any) -> M:
    """Build a payload, turning a schema violation into an ``AggregatorError``.

    Why: the events' field rules (identifier pattern, ±1e6 kW, slot counts) are the final
    word; a caller gets them as one error naming the field, not a pydantic traceback.

    Args:
        model: the payload or value class.
        code: the error code to raise with.
        **fields: the model's fields.

    Returns:
        The validated model.

    Raises:
        AggregatorError: ``code`` on the first field the model rejects.
    """
    try:
        return model(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise AggregatorError(f"{model.__name__}: {field}: {first['msg']}", code=code,
                              field=field) from None


def pattern_safe_id(prefix: str, middle: str, suffix: str = "") -> str:
    """A deterministic identifier ``prefix-middle`` + ``suffix`` for the events' pattern
    ``^[A-Za-z0-9._:-]+$``, with ``middle`` (a PoD id, already in that alphabet) replaced
    by 24 hex digits of its SHA-256 when the whole would pass 100 characters.

    Args:
        prefix: the fixed start (``OFR-DA-2026-06-10``).
        middle: the variable, possibly long part.
        suffix: appended as given (``-up-P``).

    Returns:
        The identifier, at most 100 characters for prefixes and suffixes under 75.
    """
    full = f"{prefix}-{middle}{suffix}"
    if len(full) <= MAX_ID_LENGTH:
        return full
    return f"{prefix}-{hashlib.sha256(middle.encode()).hexdigest()[:24]}{suffix}"


def _local_slot(mtu: Mtu, zone: ZoneInfo) -> int:
    """The local quarter-hour of the day (0..95) that an MTU starts in."""
    local = mtu.start.astimezone(zone)
    return local.hour * 4 + local.minute // 15


def _check_power(value: float, field: str) -> None:
    if not (math.isfinite(value) and abs(value) <= MAX_ABS_POWER):
        raise AggregatorError(f"{field} must be finite and within ±{MAX_ABS_POWER:g}, not "
                              f"{value!r}", code="BASELINE_VALUE", field=field)


def _baseline(pod_id: str, aggregator_id: str, day: date, method: BaselineMethod,
              values: Sequence[tuple[float, float]]) -> BaselineUploaded:
    slots = tuple(BaselineSlot(mtu=i, p_kw=p, q_kvar=q) for i, (p, q) in enumerate(values))
    return make_event(BaselineUploaded, code="BASELINE_INVALID", pod_id=pod_id,
                      aggregator_id=aggregator_id, delivery_day=day, method=method,
                      slots=slots)


def uploaded_baseline(pod_id: str, aggregator_id: str, day: date,
                      slots: Sequence[tuple[float, float]], zone: ZoneInfo) -> BaselineUploaded:
    """A baseline the aggregator's user set by hand or imported (FR_AP_PR_2 ways 1 and 2).

    Args:
        pod_id: the PoD.
        aggregator_id: its aggregator.
        day: the local delivery day.
        slots: ``(p_kw, q_kvar)`` per MTU of the day, in order (kW, kVAr, withdrawal
            positive).
        zone: the market's time zone, whose local day sets the MTU count.

    Returns:
        The baseline, method ``"uploaded"``.

    Raises:
        AggregatorError: ``BASELINE_SLOTS`` (field ``slots``) when the count is not the
            day's 92, 96 or 100 MTUs; ``BASELINE_VALUE`` (``slots.<i>``) on a non-finite
            or out-of-range power; ``BASELINE_INVALID`` on an id the event refuses.
    """
    expected = len(delivery_mtus(day, zone))
    if len(slots) != expected:
        raise AggregatorError(f"{day.isoformat()} has {expected} MTUs in {zone.key}; the "
                              f"baseline has {len(slots)} slots", code="BASELINE_SLOTS",
                              field="slots")
    values: list[tuple[float, float]] = []
    for i, slot in enumerate(slots):
        if len(slot) != 2:
            raise AggregatorError(f"slot {i} must be (p_kw, q_kvar), not {slot!r}",
                                  code="BASELINE_VALUE", field=f"slots.{i}")
        p_kw, q_kvar = float(slot[0]), float(slot[1])
        _check_power(p_kw, f"slots.{i}")
        _check_power(q_kvar, f"slots.{i}")
        values.append((p_kw, q_kvar))
    return _baseline(pod_id, aggregator_id, day, "uploaded", values)


def _by_local_slot(day: date, values: Sequence[tuple[float, float]],
                   zone: ZoneInfo) -> dict[int, tuple[float, float]] | None:
    """A history day's (P, Q) per local quarter-hour, or None if it is incomplete.

    Both passes of an autumn day's repeated hour fall on the same quarter-hours; their
    mean stands for the day, so that day counts once like any other.
    """
    mtus = delivery_mtus(day, zone)
    if len(values) != len(mtus):
        return None
    sums: dict[int, list[float]] = {}
    for mtu, value in zip(mtus, values, strict=True):
        if len(value) != 2 or not all(math.isfinite(v) for v in value):
            return None
        entry = sums.setdefault(_local_slot(mtu, zone), [0.0, 0.0, 0.0])
        entry[0] += value[0]
        entry[1] += value[1]
        entry[2] += 1
    return {slot: (p / n, q / n) for slot, (p, q, n) in sums.items()}


def high_x_of_y_baseline(pod_id: str, aggregator_id: str, day: date,
                         history: Mapping[date, Sequence[tuple[float, float]]],
                         zone: ZoneInfo, *, x: int = 5, y: int = 10,
                         excluded_days: Collection[date] = ()) -> BaselineUploaded:
    """The "high X of Y" baseline from metered history (FR_AP_PR_2 way 3; FR_AP_MI&O_1
    step 3 feeds the history).

    The usual demand-response customer baseline: the candidates are the ``y`` most recent
    days before ``day`` of its day type (weekday, Saturday, Sunday/holiday, as in
    ``dso.domain.forecast.day_type``), looking further back past a day that is excluded
    (a day with activations, whose metering is not "no flexibility called") or whose
    history is incomplete (not one finite (P, Q) per MTU of that day). Of the candidates,
    the ``x`` with the highest total energy Σ P · 0.25 h are kept (at equal energy the more
    recent), and each MTU of ``day`` takes their mean at the same local clock time. Why
    the high ones: a baseline that is too low makes an "up" delivery look short, and a
    customer is paid only for delivery against the baseline.

    Local clock alignment makes daylight-saving days work: on a 100-MTU day the repeated
    hour takes the values of that clock time twice; a 92-MTU day has no 02:00–03:00 and
    needs none. A 100-MTU history day gives the mean of its two passes; a 92-MTU history
    day gives no value for 02:00–03:00, which then is the mean of the other kept days.

    Args:
        pod_id: the PoD.
        aggregator_id: its aggregator.
        day: the local delivery day.
        history: metered ``(p_kw, q_kvar)`` per MTU (kW, kVAr, withdrawal positive) of
            past local days; days on or after ``day`` are ignored.
        zone: the market's time zone, whose local clock the MTUs follow.
        x: how many candidate days to average, ≥ 1.
        y: how many candidate days to look at, ≥ ``x``.
        excluded_days: days not to use (activations, outages).

    Returns:
        The baseline, method ``"high_x_of_y"``; Q is averaged over the same days as P.

    Raises:
        AggregatorError: ``BASELINE_PARAMS`` (field ``x`` or ``y``) unless 1 ≤ x ≤ y;
            ``BASELINE_HISTORY`` (field ``history``) with fewer than ``x`` candidates, or
            when no kept day has a clock time ``day`` needs.
    """
    for name, value in (("x", x), ("y", y)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AggregatorError(f"{name} must be an integer ≥ 1, not {value!r}",
                                  code="BASELINE_PARAMS", field=name)
    if x > y:
        raise AggregatorError(f"x ({x}) cannot exceed y ({y})", code="BASELINE_PARAMS",
                              field="x")
    wanted = day_type(day)
    excluded = set(excluded_days)
    candidates: list[tuple[date, dict[int, tuple[float, float]]]] = []
    for past in sorted((d for d in history if d < day), reverse=True):
        if len(candidates) == y:
            break
        if past in excluded or day_type(past) != wanted:
            continue
        by_slot = _by_local_slot(past, history[past], zone)
        if by_slot is not None:
            candidates.append((past, by_slot))
    if len(candidates) < x:
        raise AggregatorError(
            f"high {x} of {y} baseline of PoD {pod_id} for {day.isoformat()} needs {x} "
            f"complete {wanted} days before it without activations; found "
            f"{len(candidates)}", code="BASELINE_HISTORY", field="history")
    energy = {past: sum(p_kw for p_kw, _ in history[past]) for past, _ in candidates}
    kept = sorted(candidates, key=lambda c: (-energy[c[0]], -c[0].toordinal()))[:x]
    values: list[tuple[float, float]] = []
    for mtu in delivery_mtus(day, zone):
        slot = _local_slot(mtu, zone)
        found = [by_slot[slot] for _, by_slot in kept if slot in by_slot]
        if not found:
            hour, quarter = divmod(slot, 4)
            raise AggregatorError(
                f"none of the kept days {[d.isoformat() for d, _ in kept]} has "
                f"{hour:02d}:{quarter * 15:02d} local", code="BASELINE_HISTORY",
                field="history")
        values.append((sum(p for p, _ in found) / len(found),
                       sum(q for _, q in found) / len(found)))
    return _baseline(pod_id, aggregator_id, day, "high_x_of_y", values)


def typical_profile_baseline(pod_id: str, aggregator_id: str, day: date, book: ProfileBook,
                             zone: ZoneInfo) -> BaselineUploaded:
    """The baseline from the PoD's typical consumption profile for the day's month and day
    type (FR_AP_PR_2 way 3: "a basic forecast algorithm based on typical consumption"),
    by ``dso.domain.forecast.forecast_day``.

    Args:
        pod_id: the PoD.
        aggregator_id: its aggregator.
        day: the local delivery day.
        book: profiles learned from the PoD's readings (``learn_profiles``) in ``zone``.
        zone: the market's time zone.

    Returns:
        The baseline, method ``"typical_profile"``, one slot per MTU of ``day``.

    Raises:
        AggregatorError: ``BASELINE_FORECAST`` with the forecast's message, field ``zone``
            when the book was learned in another zone, ``book`` when the PoD has no usable
            profile; ``BASELINE_VALUE`` when a profile is out of range.
    """
    try:
        forecast = forecast_day(book, [pod_id], day, zone)[pod_id]
    except ForecastError as err:
        raise AggregatorError(err.message, code="BASELINE_FORECAST",
                              field="zone" if err.field == "zone" else "book") from err
    values = [(float(p), float(q)) for p, q in forecast]
    for p_kw, q_kvar in values:
        _check_power(p_kw, "book")
        _check_power(q_kvar, "book")
    return _baseline(pod_id, aggregator_id, day, "typical_profile", values)

