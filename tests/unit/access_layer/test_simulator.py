"""Simulated light nodes: a delivery day of packets per PoD on the local clock (92/96/100
quarter-hours), in time order, all certifiable except the forged and the skipped ones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

import pytest

from access_layer.domain.certification import certify
from access_layer.domain.events import MeterReadingCertified, MeterReadingRejected
from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import ReadingData, parse_packet
from access_layer.simulator import SimulatedNode, daily_shape, node_for, simulate_day

ROME = ZoneInfo("Europe/Rome")
DAY = date(2026, 6, 10)
PODS = ("POD-A", "POD-B", "POD-C")
NODES = [SimulatedNode(pod, node_for(pod, "test")) for pod in PODS]
ENROLLED = {item.pod_id: item.node.address for item in NODES}


def readings(raws: list[bytes]) -> list[ReadingData]:
    data = [parse_packet(raw).data for raw in raws]
    assert all(isinstance(item, ReadingData) for item in data)
    return data  # type: ignore[return-value]


def certified(raw: bytes) -> MeterReadingCertified | MeterReadingRejected:
    packet = parse_packet(raw)
    event = certify(packet, source="readings.raw/0/0", enrolled_address=ENROLLED[packet.pod],
                    already_certified=False)
    assert isinstance(event, MeterReadingCertified | MeterReadingRejected)
    return event


@pytest.mark.parametrize(("day", "quarter_hours"), [
    (DAY, 96),
    (date(2026, 3, 29), 92),  # clocks go forward at 02:00 in Rome
    (date(2026, 10, 25), 100),  # and back at 03:00
])
def test_every_quarter_hour_of_the_local_day_has_one_packet_per_pod(day: date,
                                                                    quarter_hours: int) -> None:
    data = readings(list(simulate_day(NODES, day, ROME, seed=1)))
    assert len(data) == quarter_hours * len(PODS)
    assert Counter(item.pod for item in data) == dict.fromkeys(PODS, quarter_hours)
    first = datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)
    expected = [first + k * timedelta(minutes=15) for k in range(quarter_hours)]
    assert sorted({item.interval_start for item in data}) == expected


def test_packets_come_in_time_order() -> None:
    starts = [item.interval_start for item in readings(list(simulate_day(NODES, DAY, ROME,
                                                                          seed=1)))]
    assert starts == sorted(starts)
    assert starts[0] == datetime(2026, 6, 9, 22, 0, tzinfo=UTC)  # Rome's midnight in summer


def test_fr_ln_rmd_2_every_simulated_packet_certifies() -> None:
    events = [certified(raw) for raw in simulate_day(NODES, DAY, ROME, seed=2)]
    assert all(isinstance(event, MeterReadingCertified) for event in events)


def test_a_forged_pods_packets_fail_their_signature_and_the_others_certify() -> None:
    events = [certified(raw) for raw in simulate_day(NODES, DAY, ROME, seed=2,
                                                     forge={"POD-B"})]
    codes = Counter((event.pod_id, getattr(event, "code", "CERTIFIED")) for event in events)
    assert codes == {("POD-A", "CERTIFIED"): 96, ("POD-B", "BAD_SIGNATURE"): 96,
                     ("POD-C", "CERTIFIED"): 96}
    # The forgery names the enrolled node's address; only the key is another.
    assert {parse_packet(raw).address for raw in simulate_day(
        NODES[1:2], DAY, ROME, seed=2, forge={"POD-B"})} == {ENROLLED["POD-B"]}


def test_skipped_quarter_hours_are_missing_and_the_rest_unchanged() -> None:
    gap = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    full = list(simulate_day(NODES, DAY, ROME, seed=3))
    holed = list(simulate_day(NODES, DAY, ROME, seed=3, skip={("POD-A", gap),
                                                             ("POD-C", gap)}))
    missing = [raw for raw in full if raw not in set(holed)]
    assert [(item.pod, item.interval_start) for item in readings(missing)] == [
        ("POD-A", gap), ("POD-C", gap)]
    assert len(holed) == len(full) - 2


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_loads() -> None:
    once = list(simulate_day(NODES, DAY, ROME, seed=4))
    assert list(simulate_day(NODES, DAY, ROME, seed=4)) == once
    other = readings(list(simulate_day(NODES, DAY, ROME, seed=5)))
    assert [item.p_kw for item in other] != [item.p_kw for item in readings(once)]


def test_a_pods_readings_do_not_depend_on_which_others_are_simulated() -> None:
    alone = list(simulate_day(NODES[1:2], DAY, ROME, seed=6))
    together = [raw for raw in simulate_day(NODES, DAY, ROME, seed=6)
                if parse_packet(raw).pod == "POD-B"]
    assert alone == together


def test_the_load_has_the_base_as_its_daily_mean_and_an_evening_peak() -> None:
    data = readings(list(simulate_day(NODES[:1], DAY, ROME, seed=7, base_kw=2.0)))
    assert fmean(item.p_kw for item in data) == pytest.approx(2.0, rel=0.1)
    local_hour = [item.interval_start.astimezone(ROME).hour for item in data]
    evening = fmean(item.p_kw for item, hour in zip(data, local_hour, strict=True)
                    if 19 <= hour < 22)
    night = fmean(item.p_kw for item, hour in zip(data, local_hour, strict=True)
                  if 1 <= hour < 5)
    assert evening > 2.5 * night
    assert all(item.p_kw >= 0 for item in data)
    assert fmean(daily_shape(minute / 60) for minute in range(1440)) == pytest.approx(1.0)


def test_the_base_may_differ_per_pod() -> None:
    levels = {"POD-A": 0.5, "POD-B": 5.0, "POD-C": 50.0}
    data = readings(list(simulate_day(NODES, DAY, ROME, seed=8, base_kw=levels.__getitem__)))
    for pod, level in levels.items():
        assert fmean(item.p_kw for item in data if item.pod == pod) == pytest.approx(
            level, rel=0.1)


def test_readings_are_consistent_aggregates_of_the_meter_samples() -> None:
    for resolution_s, samples in ((60, 15), (300, 3), (1, 900)):
        data = readings(list(simulate_day(NODES[:1], DAY, ROME, seed=9,
                                          resolution_s=resolution_s)))[:8]
        for item in data:
            assert item.samples == samples
            assert item.energy_kwh == pytest.approx(item.p_kw * 0.25, rel=1e-12)
            assert 0.2 < item.q_kvar / item.p_kw < 0.5  # cos φ about 0.95: tan φ ≈ 0.33


def test_a_resolution_that_does_not_divide_a_quarter_hour_is_refused() -> None:
    for resolution_s in (0, 7, 901, -60):
        with pytest.raises(ValueError, match="resolution_s"):
            next(simulate_day(NODES, DAY, ROME, seed=1, resolution_s=resolution_s))


def test_a_pods_node_is_the_same_for_the_same_seed() -> None:
    assert node_for("POD-A", "s") == node_for("POD-A", "s")
    assert len({node_for("POD-A", "s").address, node_for("POD-B", "s").address,
                node_for("POD-A", "t").address}) == 3
    assert isinstance(node_for("POD-A", "s"), LightNode)


def test_pods_of_the_same_base_have_loads_of_their_own() -> None:
    data = readings(list(simulate_day(NODES[:2], DAY, ROME, seed=10)))
    assert [item.p_kw for item in data if item.pod == "POD-A"] != [
        item.p_kw for item in data if item.pod == "POD-B"]
