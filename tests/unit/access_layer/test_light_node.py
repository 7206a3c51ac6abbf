"""The light node (Platone A.4, Annex B): its identity, its signed readings and setpoint
acknowledgements, and the quarter-hour aggregation of meter samples (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from eth_keys import keys

from access_layer.domain.light_node import LightNode, QuarterHourReading, aggregate_quarter_hour
from access_layer.domain.packets import (
    ReadingData,
    SetpointAckData,
    SetpointSlot,
    encode_packet,
    packet_hash,
    parse_packet,
    recover_address,
)

START = datetime(2026, 6, 10, 16, 45, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# web3.py's documentation account: this private key has this address.
DOC_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DOC_ADDRESS = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
# Keccak-256 of "abc" (the Keccak team's test vector, not NIST SHA3-256).
KECCAK_ABC = bytes.fromhex("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")


def test_the_address_is_the_ethereum_address_of_the_key() -> None:
    assert LightNode(keys.PrivateKey(DOC_KEY)).address == DOC_ADDRESS


def test_a_node_from_a_seed_has_the_keccak_of_the_seed_as_its_key() -> None:
    node = LightNode.from_seed("abc")
    assert node.private_key.to_bytes() == KECCAK_ABC
    assert LightNode.from_seed("abc") == node
    assert LightNode.from_seed("abd").address != node.address


def test_generated_nodes_have_distinct_keys() -> None:
    addresses = {LightNode.generate().address for _ in range(5)}
    assert len(addresses) == 5
    assert all(address == address.lower() and len(address) == 42 for address in addresses)


def test_the_private_key_is_not_in_the_repr() -> None:
    node = LightNode(keys.PrivateKey(DOC_KEY))
    assert DOC_KEY.hex() not in repr(node)
    assert DOC_ADDRESS in repr(node)


def test_fr_ln_rmd_2_a_reading_is_hashed_and_signed_by_the_node() -> None:
    node = LightNode(keys.PrivateKey(DOC_KEY))
    packet = node.reading_packet("POD-1", START, 2.0, 0.25, 0.5, 15)
    assert packet.data == ReadingData(kind="reading", pod="POD-1", interval_start=START,
                                      p_kw=2.0, q_kvar=0.25, energy_kwh=0.5, samples=15)
    assert packet.pod == "POD-1"
    assert packet.hash == packet_hash(packet.data)
    assert packet.address == DOC_ADDRESS
    assert recover_address(packet.hash, packet.signed_hash) == DOC_ADDRESS
    # The fast signing path gives eth_keys' bytes (both RFC 6979, deterministic).
    reference = keys.PrivateKey(DOC_KEY).sign_msg_hash(bytes.fromhex(packet.hash[2:]))
    assert packet.signed_hash == "0x" + reference.to_bytes().hex()


def test_fr_ln_rmd_3_what_the_node_sends_parses_back() -> None:
    packet = LightNode.from_seed("n").reading_packet("POD-1", START, -0.3, 0.0, -0.075, 900)
    assert parse_packet(encode_packet(packet)) == packet


def test_a_reading_outside_the_format_is_not_signed() -> None:
    node = LightNode.from_seed("n")
    with pytest.raises(ValueError, match="interval_start"):
        node.reading_packet("POD-1", START + MINUTE, 2.0, 0.25, 0.5, 15)
    with pytest.raises(ValueError, match="p_kw"):
        node.reading_packet("POD-1", START, float("inf"), 0.25, 0.5, 15)
    with pytest.raises(ValueError, match="samples"):
        node.reading_packet("POD-1", START, 2.0, 0.25, 0.5, 0)


def test_fr_ln_sm_5_an_acknowledgement_carries_the_setpoint_and_three_times() -> None:
    node = LightNode(keys.PrivateKey(DOC_KEY))
    rome = timezone(timedelta(hours=2))
    sent = datetime(2026, 6, 10, 18, 30, tzinfo=rome)
    packet = node.acknowledge("POD-1", "ACT-7", [(74, -1.5, 0.0), SetpointSlot(
        mtu=75, p_kw=-1.0, q_kvar=0.2)], sent, sent + timedelta(milliseconds=250),
        sent + timedelta(seconds=1, microseconds=500))
    data = packet.data
    assert isinstance(data, SetpointAckData)
    assert data.status == ("2026-06-10T16:30:00Z", "2026-06-10T16:30:00.25Z",
                           "2026-06-10T16:30:01.0005Z")
    assert data.sent_by_dso_at == sent
    assert data.received_by_device_at - data.sent_by_dso_at == timedelta(seconds=1,
                                                                         microseconds=500)
    assert [(slot.mtu, slot.p_kw, slot.q_kvar) for slot in data.setpoint] == [
        (74, -1.5, 0.0), (75, -1.0, 0.2)]
    assert recover_address(packet.hash, packet.signed_hash) == DOC_ADDRESS
    assert packet.hash == packet_hash(data)


def test_an_acknowledgement_with_decreasing_times_is_not_signed() -> None:
    node = LightNode.from_seed("n")
    with pytest.raises(ValueError, match="decrease"):
        node.acknowledge("POD-1", "ACT-7", [(0, 1.0, 0.0)], START, START - MINUTE, START)
    with pytest.raises(ValueError, match="time zone"):
        node.acknowledge("POD-1", "ACT-7", [(0, 1.0, 0.0)], START.replace(tzinfo=None),
                         START, START)


# --- FR_LN_RMD_1: aggregation into quarter-hours ------------------------------------


def test_fr_ln_rmd_1_constant_minute_samples_give_their_power_and_a_quarter_of_it_in_kwh(
        ) -> None:
    samples = [(START + k * MINUTE, 2.0, 0.4) for k in range(15)]
    assert aggregate_quarter_hour(samples, START) == QuarterHourReading(
        interval_start=START, p_kw=2.0, q_kvar=0.4, energy_kwh=0.5, samples=15)


def test_fr_ln_rmd_1_each_sample_holds_until_the_next() -> None:
    # 4 kW for 5 min, then 1 kW for 10 min: (4·5 + 1·10) / 15 = 2 kW; 2 kW · 0.25 h.
    samples = [(START, 4.0, 1.0), (START + 5 * MINUTE, 1.0, -0.5)]
    reading = aggregate_quarter_hour(samples, START)
    assert reading is not None
    assert reading.p_kw == pytest.approx(2.0, abs=1e-12)
    assert reading.q_kvar == pytest.approx((1.0 * 5 - 0.5 * 10) / 15, abs=1e-12)
    assert reading.energy_kwh == pytest.approx(0.5, abs=1e-12)
    assert reading.samples == 2


def test_fr_ln_rmd_1_the_first_sample_also_holds_back_to_the_start() -> None:
    # 2 kW from 0 to 9 min (first sample at 3 min), 6 kW from 9 to 15:
    # (2·9 + 6·6) / 15 = 3.6 kW; 0.9 kWh.
    samples = [(START + 3 * MINUTE, 2.0, 0.0), (START + 9 * MINUTE, 6.0, 0.0)]
    reading = aggregate_quarter_hour(samples, START)
    assert reading is not None
    assert (reading.p_kw, reading.energy_kwh) == (pytest.approx(3.6), pytest.approx(0.9))


def test_fr_ln_rmd_1_irregular_seconds_resolution_is_time_weighted() -> None:
    # 1 s samples: 600 at 1 kW, then 300 at 4 kW: (600 + 1200) / 900 = 2 kW.
    second = timedelta(seconds=1)
    samples = [(START + k * second, 1.0 if k < 600 else 4.0, 0.0) for k in range(900)]
    reading = aggregate_quarter_hour(samples, START)
    assert reading is not None
    assert (reading.p_kw, reading.energy_kwh, reading.samples) == (
        pytest.approx(2.0), pytest.approx(0.5), 900)


def test_fr_ln_rmd_1_only_samples_in_the_quarter_hour_count() -> None:
    end = START + timedelta(minutes=15)
    samples = [(START - timedelta(seconds=1), 100.0, 0.0), (START, 1.0, 0.0),
               (START + 10 * MINUTE, 3.0, 0.0), (end, 100.0, 0.0)]
    # 1 kW for 10 min, 3 kW for 5 min: 25 / 15 kW.
    reading = aggregate_quarter_hour(samples, START)
    assert reading is not None
    assert reading.p_kw == pytest.approx(25 / 15)
    assert reading.samples == 2


def test_fr_ln_rmd_1_samples_in_any_order_give_the_same_reading() -> None:
    samples = [(START + k * MINUTE, float(k), float(-k)) for k in range(15)]
    assert aggregate_quarter_hour(samples[::-1], START) == aggregate_quarter_hour(
        samples, START)


def test_a_quarter_hour_without_samples_is_missing_not_zero() -> None:
    assert aggregate_quarter_hour([], START) is None
    outside = [(START - MINUTE, 2.0, 0.0), (START + timedelta(minutes=15), 2.0, 0.0)]
    assert aggregate_quarter_hour(outside, START) is None


def test_sample_times_in_another_offset_are_the_same_instants() -> None:
    rome = timezone(timedelta(hours=2))
    samples = [((START + k * MINUTE).astimezone(rome), 2.0, 0.0) for k in range(15)]
    reading = aggregate_quarter_hour(samples, START)
    assert reading is not None
    assert reading.p_kw == 2.0


def test_aggregation_refuses_what_it_cannot_place() -> None:
    with pytest.raises(ValueError, match="quarter-hour"):
        aggregate_quarter_hour([(START, 1.0, 0.0)], START + MINUTE)
    with pytest.raises(ValueError, match="UTC"):
        aggregate_quarter_hour([(START, 1.0, 0.0)], START.replace(tzinfo=None))
    with pytest.raises(ValueError, match="time zone"):
        aggregate_quarter_hour([(START.replace(tzinfo=None), 1.0, 0.0)], START)
    with pytest.raises(ValueError, match="finite"):
        aggregate_quarter_hour([(START, float("nan"), 0.0)], START)
