"""Dispatch of the Aggregator Platform (Platone FR_AP_A_2: a setpoint per unit from the
market outputs and its constraints; FR_AP_A_3: the setpoints for the next four hours, 15
minutes before the window; MARKET_RULES.md "Activation and metering": baseline ± awarded
flexibility within the PoD's limits), on hand-computed examples in Europe/Rome."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.domain.baselines import AggregatorError, uploaded_baseline
from aggregator.domain.dispatch import (
    ActivatedQuantity,
    activation_id,
    issue_time,
    window_mtus,
    window_setpoints,
)
from aggregator.domain.events import BaselineUploaded
from dso.domain.events import SetpointRelayed
from dso.domain.setpoints import relay
from market.domain.calendar import delivery_mtus, find_session
from market.domain.submissions import PodView

ROME = ZoneInfo("Europe/Rome")
DAY = date(2026, 6, 10)
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)
POD = PodView(pod_id="POD-1", aggregator_id="AGG-1", primary_substation="PS-1",
              mv_feeder="PS-1-F1", secondary_substation="SS-5", up_p_kw=5.0, down_p_kw=3.0,
              up_q_kvar=2.0, down_q_kvar=1.0)
PODS = {"POD-1": POD, "POD-2": replace(POD, pod_id="POD-2")}


def _baseline(pod_id: str = "POD-1", day: date = DAY) -> BaselineUploaded:
    return uploaded_baseline(pod_id, "AGG-1", day,
                             [(10.0, 1.0)] * len(delivery_mtus(day, ROME)), ROME)


def _act(mtu: int, direction: str, quantity_type: str, quantity: float,
         pod_id: str = "POD-1") -> ActivatedQuantity:
    return ActivatedQuantity(pod_id, mtu, direction, quantity_type,  # type: ignore[arg-type]
                             quantity)


@pytest.mark.parametrize(("day", "window", "mtus"), [
    (DAY, 0, list(range(0, 16))),
    (DAY, 4, list(range(64, 80))),
    (DAY, 5, list(range(80, 96))),
    (SPRING, 0, list(range(0, 12))),  # 00:00–04:00 local is 3 hours on 29 March
    (SPRING, 1, list(range(12, 28))),
    (AUTUMN, 0, list(range(0, 20))),  # and 5 hours on 25 October
    (AUTUMN, 5, list(range(84, 100))),
])
def test_fr_ap_a_3_a_window_is_four_local_hours(day: date, window: int,
                                                mtus: list[int]) -> None:
    """FR_AP_A_3 "the next four hours": local [4k h, 4k + 4 h), 16 MTUs off DST days."""
    assert window_mtus(day, window, ROME) == mtus


@pytest.mark.parametrize(("day", "window", "at"), [
    (DAY, 4, datetime(2026, 6, 10, 13, 45, tzinfo=UTC)),  # 16:00 CEST − 15 min
    (DAY, 0, datetime(2026, 6, 9, 21, 45, tzinfo=UTC)),  # midnight CEST − 15 min
    (AUTUMN, 1, datetime(2026, 10, 25, 2, 45, tzinfo=UTC)),  # 04:00 CET − 15 min
])
def test_fr_ap_a_3_setpoints_are_sent_15_minutes_before_the_window(day: date, window: int,
                                                                   at: datetime) -> None:
    assert issue_time(day, window, ROME) == at


@pytest.mark.parametrize("window", [-1, 6, True])
def test_a_window_outside_0_to_5_is_refused(window: int) -> None:
    for call in (window_mtus, issue_time):
        with pytest.raises(AggregatorError) as caught:
            call(DAY, window, ROME)
        assert (caught.value.code, caught.value.field) == ("WINDOW", "window")


def test_fr_ap_a_2_the_setpoint_is_the_baseline_plus_the_net_award_within_limits() -> None:
    """FR_AP_A_2 / MARKET_RULES "Activation and metering", window 4 (MTUs 64–79), baseline
    10 kW / 1 kVAr, limits up 5 kW, down 3 kW, up 2 kVAr, down 1 kVAr:

    - 64: up 2 kW → 8 kW;  65: DA up 2 + RT up 4 = 6 > 5 → clamped, 5 kW;
    - 66: down 1 kW → 11 kW;  67: up 3, down 1 → net up 2 → 8 kW;
    - 68: up 1.5 kVAr → −0.5 kVAr;  69: down 2 kVAr > 1 → 2 kVAr;
    - 70: down 4 kW > 3 → 13 kW; the rest (and MTU 80, outside) hold the baseline."""
    activations = [_act(64, "up", "P", 2.0), _act(65, "up", "P", 2.0), _act(65, "up", "P", 4.0),
                   _act(66, "down", "P", 1.0), _act(67, "up", "P", 3.0),
                   _act(67, "down", "P", 1.0), _act(68, "up", "Q", 1.5),
                   _act(69, "down", "Q", 2.0), _act(70, "down", "P", 4.0),
                   _act(80, "up", "P", 5.0)]
    [setpoint] = window_setpoints(DAY, 4, ROME, "AGG-1", PODS, {"POD-1": _baseline()},
                                  activations)
    assert (setpoint.activation_id, setpoint.session_id, setpoint.pod_id,
            setpoint.aggregator_id) == ("ACT-2026-06-10-4-POD-1", "RT-2026-06-10-4", "POD-1",
                                        "AGG-1")
    expected = {64: (8.0, 1.0), 65: (5.0, 1.0), 66: (11.0, 1.0), 67: (8.0, 1.0),
                68: (10.0, -0.5), 69: (10.0, 2.0), 70: (13.0, 1.0)}
    assert [(s.mtu, s.p_kw, s.q_kvar) for s in setpoint.slots] == [
        (m, *expected.get(m, (10.0, 1.0))) for m in range(64, 80)]


def test_fr_ap_a_3_only_pods_activated_in_the_window_get_a_setpoint_in_pod_order() -> None:
    """POD-3 is activated only outside the window, POD-4 only by zero (a rejected award):
    neither needs a baseline nor gets a setpoint."""
    activations = [_act(70, "up", "P", 1.0, "POD-2"), _act(64, "down", "P", 1.0, "POD-1"),
                   _act(81, "up", "P", 1.0, "POD-3"), _act(66, "up", "P", 0.0, "POD-4")]
    issued = window_setpoints(DAY, 4, ROME, "AGG-1", PODS,
                              {"POD-1": _baseline(), "POD-2": _baseline("POD-2")},
                              reversed(activations))
    assert [s.pod_id for s in issued] == ["POD-1", "POD-2"]
    assert [s.activation_id for s in issued] == ["ACT-2026-06-10-4-POD-1",
                                                 "ACT-2026-06-10-4-POD-2"]
    assert window_setpoints(DAY, 3, ROME, "AGG-1", PODS, {}, activations) == []


def test_fr_ap_a_3_the_100_mtu_days_first_window_has_20_slots_the_dso_relays() -> None:
    """25 October's window 0 holds 5 local hours; the DSO's relay (FR_DTP_SCO_1) takes it."""
    [setpoint] = window_setpoints(AUTUMN, 0, ROME, "AGG-1", PODS,
                                  {"POD-1": _baseline(day=AUTUMN)},
                                  [_act(19, "up", "P", 1.0)])
    assert [s.mtu for s in setpoint.slots] == list(range(20))
    assert setpoint.slots[-1].p_kw == 9.0
    relayed = relay(setpoint, POD, find_session(setpoint.session_id, ROME), "EV-1")
    assert isinstance(relayed, SetpointRelayed)


def test_fr_ap_a_2_an_activated_pod_without_a_baseline_for_the_day_is_an_error() -> None:
    """Raised, not skipped: an award never dispatched turns into a penalty at settlement."""
    for baselines in ({}, {"POD-1": _baseline(day=DAY - timedelta(days=1))}):
        with pytest.raises(AggregatorError) as caught:
            window_setpoints(DAY, 4, ROME, "AGG-1", PODS, baselines, [_act(64, "up", "P", 1.0)])
        assert (caught.value.code, caught.value.field) == ("NO_BASELINE", "baselines")


@pytest.mark.parametrize(("pods", "code", "field"), [
    ({}, "UNKNOWN_POD", "pods"),
    ({"POD-1": replace(POD, aggregator_id="AGG-2")}, "POD_OF_ANOTHER_AGGREGATOR",
     "activations"),
])
def test_a_setpoint_for_a_pod_the_aggregator_does_not_manage_is_refused(
        pods: dict[str, PodView], code: str, field: str) -> None:
    with pytest.raises(AggregatorError) as caught:
        window_setpoints(DAY, 4, ROME, "AGG-1", pods, {"POD-1": _baseline()},
                         [_act(64, "up", "P", 1.0)])
    assert (caught.value.code, caught.value.field) == (code, field)


@pytest.mark.parametrize(("fields", "field"), [
    ({"quantity": -1.0}, "quantity"),
    ({"quantity": float("inf")}, "quantity"),
    ({"mtu": -1}, "mtu"),
    ({"direction": "sideways"}, "direction"),
    ({"quantity_type": "S"}, "quantity_type"),
])
def test_an_activated_quantity_with_a_bad_value_is_refused(fields: dict[str, object],
                                                           field: str) -> None:
    values: dict[str, object] = {"pod_id": "POD-1", "mtu": 64, "direction": "up",
                                 "quantity_type": "P", "quantity": 1.0, **fields}
    with pytest.raises(AggregatorError) as caught:
        ActivatedQuantity(**values)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.field) == ("ACTIVATION", field)


def test_a_long_pod_id_gives_a_pattern_safe_activation_id() -> None:
    long_id = "P" * 100
    ident = activation_id(DAY, 4, long_id)
    assert ident.startswith("ACT-2026-06-10-4-") and len(ident) <= 100
    assert ident == activation_id(DAY, 4, long_id) != activation_id(DAY, 4, "P" * 99 + "Q")
