"""The blockchain access layer's checks on a light-node packet (FR_BAL_TS_1; MARKET_RULES.md
"Activation and metering"): forged, tampered, unenrolled and replayed packets become
rejections with their reason; a valid one certifies what the packet says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from access_layer.domain.certification import certify, rejection_of_malformed
from access_layer.domain.events import (
    MeterReadingCertified,
    MeterReadingRejected,
    SetpointAcknowledged,
)
from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import (
    MalformedPacket,
    Packet,
    encode_packet,
    packet_hash,
    parse_packet,
)

START = datetime(2026, 6, 10, 16, 45, tzinfo=UTC)
NODE = LightNode.from_seed("test-certification/POD-1")
OTHER = LightNode.from_seed("test-certification/intruder")
SOURCE = "readings.raw/3/1234"


def reading(node: LightNode = NODE) -> Packet:
    return node.reading_packet("POD-1", START, 2.0, 0.25, 0.5, 15)


def ack(node: LightNode = NODE) -> Packet:
    return node.acknowledge("POD-1", "ACT-7", [(66, -1.5, 0.0)], START,
                            START + timedelta(seconds=1), START + timedelta(seconds=3))


def forged(packet: Packet, claimed: LightNode = NODE, signer: LightNode = OTHER) -> Packet:
    """``packet`` re-signed by ``signer`` while it still names ``claimed``'s address."""
    return packet.model_copy(update={"signed_hash": signer.seal(packet.data).signed_hash,
                                     "address": claimed.address})


def decide(packet: Packet, *, enrolled: str | None = NODE.address,
           already_certified: bool = False
           ) -> MeterReadingCertified | SetpointAcknowledged | MeterReadingRejected:
    # Through the wire, so the packet checked is the one the bytes carry.
    return certify(parse_packet(encode_packet(packet)), source=SOURCE,
                   enrolled_address=enrolled, already_certified=already_certified)


def rejected(event: object) -> MeterReadingRejected:
    assert isinstance(event, MeterReadingRejected), event
    return event


def test_fr_ln_rmd_2_a_valid_reading_certifies_what_the_packet_says() -> None:
    packet = reading()
    event = decide(packet)
    assert event == MeterReadingCertified(
        pod_id="POD-1", interval_start=START, p_kw=2.0, q_kvar=0.25, energy_kwh=0.5,
        node_address=NODE.address, packet_hash=packet.hash, signature=packet.signed_hash)


def test_fr_ln_sm_5_a_valid_acknowledgement_records_its_three_times() -> None:
    packet = ack()
    event = decide(packet)
    assert event == SetpointAcknowledged(
        activation_id="ACT-7", pod_id="POD-1", node_address=NODE.address,
        sent_by_dso_at=START, received_by_node_at=START + timedelta(seconds=1),
        received_by_device_at=START + timedelta(seconds=3), packet_hash=packet.hash,
        signature=packet.signed_hash)


def test_fr_bal_ts_1_a_forged_signature_is_rejected() -> None:
    # Signed by another key, claiming the enrolled node's address.
    event = rejected(decide(forged(reading())))
    assert event.code == "BAD_SIGNATURE"
    assert event.node_address == NODE.address
    assert NODE.address in event.reason


def test_fr_bal_ts_1_a_signature_of_other_data_is_rejected() -> None:
    # The node's own genuine signature, but of another reading: a splice.
    other = NODE.reading_packet("POD-1", START, 9.0, 0.25, 2.25, 15)
    packet = reading().model_copy(update={"signed_hash": other.signed_hash})
    assert rejected(decide(packet)).code == "BAD_SIGNATURE"


def test_fr_bal_ts_1_a_forged_acknowledgement_is_rejected() -> None:
    event = rejected(decide(forged(ack())))
    assert (event.code, event.interval_start) == ("BAD_SIGNATURE", None)


def test_tampered_data_is_a_hash_mismatch() -> None:
    # The bytes edited in transit: 2 kW becomes 0.2 kW, the hash and signature kept.
    wire = encode_packet(reading())
    assert b'"p_kw":2,' in wire
    event = rejected(certify(parse_packet(wire.replace(b'"p_kw":2,', b'"p_kw":0.2,')),
                             source=SOURCE, enrolled_address=NODE.address,
                             already_certified=False))
    assert event.code == "HASH_MISMATCH"
    assert event.packet_hash == reading().hash


def test_tampered_data_re_hashed_but_not_re_signed_is_a_bad_signature() -> None:
    original = reading()
    data = original.data.model_copy(update={"p_kw": 0.2})
    packet = original.model_copy(update={"data": data, "hash": packet_hash(data)})
    assert rejected(decide(packet)).code == "BAD_SIGNATURE"


def test_a_reading_from_a_pod_without_an_enrolled_node_is_rejected() -> None:
    event = rejected(decide(reading(), enrolled=None))
    assert event.code == "NODE_NOT_ENROLLED"
    assert "POD-1" in event.reason


def test_a_reading_signed_by_another_node_than_the_enrolled_one_is_rejected() -> None:
    event = rejected(decide(reading(OTHER)))
    assert event.code == "NOT_THE_ENROLLED_NODE"
    assert event.node_address == OTHER.address
    assert NODE.address in event.reason and OTHER.address in event.reason


def test_the_enrolled_address_may_be_written_in_checksum_case() -> None:
    checksum = NODE.private_key.public_key.to_checksum_address()
    assert checksum != NODE.address
    assert isinstance(decide(reading(), enrolled=checksum), MeterReadingCertified)


def test_a_replayed_reading_is_rejected_as_already_certified() -> None:
    event = rejected(decide(reading(), already_certified=True))
    assert event.code == "ALREADY_CERTIFIED"
    assert "replay" in event.reason


def test_an_acknowledgement_is_not_a_replay_of_a_reading() -> None:
    assert isinstance(decide(ack(), already_certified=True), SetpointAcknowledged)


@pytest.mark.parametrize(("packet", "enrolled", "already", "code"), [
    # Tampered and forged: the hash is checked first.
    (forged(reading()).model_copy(update={"data": reading().data.model_copy(
        update={"samples": 14})}), None, True, "HASH_MISMATCH"),
    # Forged and not enrolled, replayed: the signature comes before the enrolment.
    (forged(reading()), None, True, "BAD_SIGNATURE"),
    # Not enrolled and replayed: the enrolment comes before the replay.
    (reading(), None, True, "NODE_NOT_ENROLLED"),
    (reading(OTHER), NODE.address, True, "NOT_THE_ENROLLED_NODE"),
])
def test_the_checks_come_in_their_order(packet: Packet, enrolled: str | None, already: bool,
                                        code: str) -> None:
    assert rejected(decide(packet, enrolled=enrolled, already_certified=already)).code == code


def test_a_rejection_keeps_what_the_packet_claimed_and_where_it_came_from() -> None:
    packet = forged(reading())
    event = rejected(decide(packet))
    assert (event.pod_id, event.interval_start, event.node_address, event.packet_hash,
            event.source) == ("POD-1", START, NODE.address, packet.hash, SOURCE)
    assert event.partition_key() == "POD-1"


def test_a_malformed_packet_is_rejected_under_the_pod_it_claims() -> None:
    wire = json.loads(encode_packet(reading()))
    wire["data"]["p_kw"] = 7e6
    raw = json.dumps(wire).encode()
    with pytest.raises(MalformedPacket) as caught:
        parse_packet(raw)
    event = rejection_of_malformed(raw, caught.value.reason, SOURCE)
    assert (event.code, event.pod_id, event.source) == ("MALFORMED_PACKET", "POD-1", SOURCE)
    assert "data.p_kw" in event.reason
    assert (event.interval_start, event.node_address, event.packet_hash) == (
        START, NODE.address, wire["hash"])


@pytest.mark.parametrize("raw", [
    b"\x00\xff not json",
    b"[]",
    b'{"pod": "POD 1 with blanks"}',
    b'{"pod": 17}',
    b'{"pod": "' + b"P" * 101 + b'"}',
    b'{"pod": ""}',
    b'{"pod": "POD-1\\n"}',
    b"[" * 100_000,
])
def test_a_packet_without_a_readable_pod_is_rejected_as_unknown_pod(raw: bytes) -> None:
    event = rejection_of_malformed(raw, "the packet is malformed", SOURCE)
    assert (event.code, event.pod_id) == ("MALFORMED_PACKET", "UNKNOWN-POD")
    assert (event.interval_start, event.node_address, event.packet_hash) == (None, None, None)


def test_claims_not_of_their_format_are_not_kept() -> None:
    raw = json.dumps({"pod": "POD-1", "address": "0x" + "AB" * 20, "hash": "0x12",
                      "data": {"kind": "reading", "interval_start": "2026-02-30T00:00:00Z"}})
    event = rejection_of_malformed(raw.encode(), "data.interval_start: no such day", SOURCE)
    assert (event.pod_id, event.interval_start, event.node_address, event.packet_hash) == (
        "POD-1", None, None, None)


def test_a_long_reason_is_cut_to_what_the_event_holds() -> None:
    event = rejection_of_malformed(b"{}", "x" * 2000, SOURCE)
    assert len(event.reason) == 500
    assert rejection_of_malformed(b"{}", "  ", SOURCE).reason
