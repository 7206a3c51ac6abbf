"""Dispatch: the setpoint of each activated PoD for a 4-hour window, from its baseline and
the flexibility the validated outcomes awarded it (Platone FR_AP_A_2, FR_AP_A_3;
MARKET_RULES.md "Activation and metering").
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aggregator.domain.baselines import AggregatorError, make_event, pattern_safe_id
from aggregator.domain.events import BaselineUploaded, SetpointIssued, SetpointSlot
from aggregator.domain.offers import DIRECTIONS, QUANTITY_TYPES
from market.domain.calendar import (
    RT_SETPOINTS_BEFORE,
    RT_WINDOWS,
    SessionKind,
    SessionSlot,
    day_sessions,
    session_id,
)
from market.domain.events import Direction, QuantityType
from market.domain.submissions import PodView


@dataclass(frozen=True)
class ActivatedQuantity:
    """Flexibility a PoD must deliver in one MTU: the accepted quantity of a validated
    award (``ValidatedAward.quantity``), with its offer's direction and quantity type,
    joined by the caller. Day-ahead and real-time awards of the same MTU add up.

    Attributes:
        pod_id: the PoD.
        mtu: the MTU of the delivery day, from 0.
        direction: ``"up"`` (less withdrawal) or ``"down"``.
        quantity_type: ``"P"`` or ``"Q"``.
        quantity: kW (P) or kVAr (Q), ≥ 0.

    Raises:
        AggregatorError: ``ACTIVATION`` (field named) on a bad value.
    """

    pod_id: str
    mtu: int
    direction: Direction
    quantity_type: QuantityType
    quantity: float

    def __post_init__(self) -> None:
        if isinstance(self.mtu, bool) or not isinstance(self.mtu, int) or self.mtu < 0:
            raise AggregatorError(f"mtu must be an integer ≥ 0, not {self.mtu!r}",
                                  code="ACTIVATION", field="mtu")
        if self.direction not in DIRECTIONS:
            raise AggregatorError(f"direction must be one of {DIRECTIONS}, not "
                                  f"{self.direction!r}", code="ACTIVATION", field="direction")
        if self.quantity_type not in QUANTITY_TYPES:
            raise AggregatorError(f"quantity type must be one of {QUANTITY_TYPES}, not "
                                  f"{self.quantity_type!r}", code="ACTIVATION",
                                  field="quantity_type")
        if not (math.isfinite(self.quantity) and self.quantity >= 0):
            raise AggregatorError(f"quantity must be finite and ≥ 0, not {self.quantity!r}",
                                  code="ACTIVATION", field="quantity")


def _rt_session(day: date, window: int, zone: ZoneInfo) -> SessionSlot:
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window < RT_WINDOWS:
        raise AggregatorError(f"window must be 0..{RT_WINDOWS - 1}, not {window!r}",
                              code="WINDOW", field="window")
    wanted = session_id(SessionKind.REAL_TIME, day, window)
    return next(s for s in day_sessions(day, zone) if s.session_id == wanted)


def window_mtus(day: date, window: int, zone: ZoneInfo) -> list[int]:
    """The MTUs of ``day`` in 4-hour window ``window``: local [4k h, 4k + 4 h)
    (MARKET_RULES.md "Time").

    Args:
        day: the local delivery day.
        window: 0..5.
        zone: the market's time zone.

    Returns:
        MTU indices of the day, in order: 16, or 12 / 20 in the window of a clock change.

    Raises:
        AggregatorError: ``WINDOW`` (field ``window``) outside 0..5.
    """
    slot = _rt_session(day, window, zone)
    return list(range(slot.first_mtu, slot.first_mtu + slot.mtu_count))


def issue_time(day: date, window: int, zone: ZoneInfo) -> datetime:
    """When the window's setpoints are sent: 15 minutes before it starts (FR_AP_A_3 step 4).

    Args:
        day: the local delivery day.
        window: 0..5.
        zone: the market's time zone.

    Returns:
        The instant, UTC.

    Raises:
        AggregatorError: ``WINDOW`` (field ``window``) outside 0..5.
    """
    return _rt_session(day, window, zone).delivery_start - RT_SETPOINTS_BEFORE


def activation_id(day: date, window: int, pod_id: str) -> str:
    """The deterministic id of a PoD's activation in a window (``ACT-2026-06-10-4-POD-1``;
    the PoD id is hashed when the whole would pass 100 characters), so a re-run of the
    dispatch issues the same activation."""
    return pattern_safe_id(f"ACT-{day.isoformat()}-{window}", pod_id)


def window_setpoints(day: date, window: int, zone: ZoneInfo, aggregator_id: str,
                     pods: Mapping[str, PodView], baselines: Mapping[str, BaselineUploaded],
                     activations: Iterable[ActivatedQuantity]) -> list[SetpointIssued]:
    """The setpoints of every activated PoD for the next four hours (FR_AP_A_2: from the
    market outputs and each PoD's constraints; FR_AP_A_3: the next four hours, sent 15
    minutes before the window, for DA and RT activations alike).

    Each PoD with a non-zero activation in the window gets one setpoint with a slot for
    every MTU of the window (16, or 12 / 20 on a clock change), withdrawal positive:

        p_kw = baseline_p + clamp(Σ down_P − Σ up_P, −up_p_kw, down_p_kw)

    and the same for Q, since "up" lowers withdrawal. The clamp keeps a setpoint within
    the PoD's max flexibility even when DA and RT awards of one MTU add past it. An MTU
    without activation holds the baseline. Activations outside the window are ignored.

    A PoD activated without a baseline for ``day`` raises rather than being skipped: an
    award that is silently not dispatched becomes a penalty at settlement, and a setpoint
    cannot be computed without the power it departs from.

    Args:
        day: the local delivery day.
        window: 0..5, local [4k h, 4k + 4 h).
        zone: the market's time zone.
        aggregator_id: the aggregator issuing the setpoints.
        pods: the aggregator's PoDs by id.
        baselines: the baseline per PoD id.
        activations: the accepted quantities of the day's validated awards.

    Returns:
        One ``SetpointIssued`` per activated PoD, ordered by PoD id, with session id the
        window's real-time session (``RT-<day>-<window>``) and id ``activation_id(...)``.

    Raises:
        AggregatorError: ``WINDOW`` outside 0..5; ``UNKNOWN_POD`` (field ``pods``) for an
            activated PoD not in ``pods``; ``POD_OF_ANOTHER_AGGREGATOR`` (``activations``);
            ``NO_BASELINE`` (``baselines``) without a baseline for ``day`` or a slot of
            the window; ``SETPOINT_INVALID`` on a value the event refuses.
    """
    mtus = window_mtus(day, window, zone)
    in_window = set(mtus)
    # One signed sum per PoD and MTU (down +, up −, as withdrawal is positive), so DA and RT
    # awards of opposite directions net out before the limits clamp them.
    net: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for activation in activations:
        if activation.mtu not in in_window or activation.quantity == 0:
            continue
        sign = 1.0 if activation.direction == "down" else -1.0
        column = 0 if activation.quantity_type == "P" else 1
        net[activation.pod_id][activation.mtu][column] += sign * activation.quantity
    issued: list[SetpointIssued] = []
    for pod_id in sorted(net):
        pod = pods.get(pod_id)
        if pod is None:
            raise AggregatorError(f"PoD {pod_id} is activated but not registered",
                                  code="UNKNOWN_POD", field="pods")
        if pod.aggregator_id != aggregator_id:
            raise AggregatorError(f"PoD {pod_id} belongs to aggregator {pod.aggregator_id}, "
                                  f"not {aggregator_id}", code="POD_OF_ANOTHER_AGGREGATOR",
                                  field="activations")
        baseline = baselines.get(pod_id)
        if baseline is None or baseline.delivery_day != day:
            raise AggregatorError(f"PoD {pod_id} is activated on {day.isoformat()} but has no "
                                  "baseline for that day", code="NO_BASELINE",
                                  field="baselines")
        base = {slot.mtu: slot for slot in baseline.slots}
        missing = [m for m in mtus if m not in base]
        if missing:
            raise AggregatorError(f"PoD {pod_id}'s baseline for {day.isoformat()} has no "
                                  f"MTUs {missing}", code="NO_BASELINE", field="baselines")
        slots = []
        for mtu in mtus:
            p_net, q_net = net[pod_id].get(mtu, (0.0, 0.0))
            slots.append(make_event(
                SetpointSlot, code="SETPOINT_INVALID", mtu=mtu,
                p_kw=base[mtu].p_kw + min(max(p_net, -pod.up_p_kw), pod.down_p_kw),
                q_kvar=base[mtu].q_kvar + min(max(q_net, -pod.up_q_kvar), pod.down_q_kvar)))
        issued.append(make_event(
            SetpointIssued, code="SETPOINT_INVALID",
            activation_id=activation_id(day, window, pod_id), pod_id=pod_id,
            aggregator_id=aggregator_id, session_id=session_id(SessionKind.REAL_TIME, day,
                                                               window),
            slots=tuple(slots)))
    return issued
