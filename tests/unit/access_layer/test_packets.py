"""The light node's wire format (Platone Table 21): a packet another implementation writes
by hand reads and hashes the same; anything off the format is refused naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_keys import keys

from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import (
    MalformedPacket,
    ReadingData,
    SetpointAckData,
    encode_packet,
    format_timestamp,
    packet_hash,
    parse_packet,
    parse_timestamp,
    recover_address,
)
from ledger.canonical import keccak_hex

START = datetime(2026, 6, 10, 16, 45, tzinfo=UTC)
NODE = LightNode.from_seed("test-packets-node")
# secp256k1's group order, written out here rather than imported: the oracle of EIP-2.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# web3.py's documentation account: this private key has this address.
DOC_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DOC_ADDRESS = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"


def reading_wire(**data_overrides: Any) -> dict[str, Any]:
    """A valid reading packet as a JSON value."""
    packet = NODE.reading_packet("POD-1", START, 2.0, 0.25, 0.5, 15)
    wire = json.loads(encode_packet(packet))
    wire["data"].update(data_overrides)
    return wire


def ack_wire(**data_overrides: Any) -> dict[str, Any]:
    """A valid setpoint acknowledgement packet as a JSON value."""
    packet = NODE.acknowledge("POD-1", "ACT-7", [(66, -1.5, 0.0), (67, -1.5, 0.1)],
                              START, START.replace(second=1), START.replace(second=2))
    wire = json.loads(encode_packet(packet))
    wire["data"].update(data_overrides)
    return wire


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_fr_ln_rmd_2_the_hash_is_keccak_of_the_canonical_json_of_the_data() -> None:
    data = ReadingData(kind="reading", pod="POD-1", interval_start=START, p_kw=2.0,
                       q_kvar=0.25, energy_kwh=0.5, samples=15)
    # RFC 8785 by hand: keys sorted, no blanks, 2.0 written as 2.
    canonical = (b'{"energy_kwh":0.5,"interval_start":"2026-06-10T16:45:00Z","kind":"reading",'
                 b'"p_kw":2,"pod":"POD-1","q_kvar":0.25,"samples":15}')
    assert packet_hash(data) == keccak_hex(canonical)


def test_a_packet_written_by_another_implementation_parses_to_the_same_hash() -> None:
    # Key order, blanks and the spellings 2.0 and 0.50 are the sender's; the hash is of
    # the data in canonical form, hashed and signed here without this package.
    digest = keccak_hex(b'{"energy_kwh":0.5,"interval_start":"2026-06-10T16:45:00Z",'
                        b'"kind":"reading","p_kw":2,"pod":"POD-1","q_kvar":0.25,"samples":15}')
    signature = keys.PrivateKey(DOC_KEY).sign_msg_hash(bytes.fromhex(digest[2:]))
    text = ('{ "pod": "POD-1", "address": "' + DOC_ADDRESS + '", "hash": "' + digest + '",\n'
            '  "signed_hash": "0x' + signature.to_bytes().hex() + '",\n'
            '  "data": {"samples": 15, "p_kw": 2.0, "q_kvar": 0.25, "energy_kwh": 0.50,\n'
            '           "pod": "POD-1", "kind": "reading",'
            ' "interval_start": "2026-06-10T16:45:00Z"} }')
    packet = parse_packet(text.encode())
    assert packet_hash(packet.data) == packet.hash == digest
    assert recover_address(packet.hash, packet.signed_hash) == DOC_ADDRESS


def test_encoding_then_parsing_gives_the_packet_back() -> None:
    for wire in (reading_wire(), ack_wire()):
        packet = parse_packet(raw(wire))
        assert json.loads(encode_packet(packet)) == wire
        assert parse_packet(encode_packet(packet)) == packet


def test_the_encoding_is_canonical_json() -> None:
    encoded = encode_packet(parse_packet(raw(reading_wire())))
    assert encoded == json.dumps(json.loads(encoded), sort_keys=True,
                                 separators=(",", ":")).encode()
    assert encoded.startswith(b'{"address":"0x')


def test_the_interval_start_reads_as_a_utc_quarter_hour() -> None:
    data = parse_packet(raw(reading_wire())).data
    assert isinstance(data, ReadingData)
    assert data.interval_start == START
    assert data.interval_start.utcoffset() is not None


def test_fr_ln_sm_5_the_acknowledgement_reads_its_three_times() -> None:
    data = parse_packet(raw(ack_wire(status=["2026-06-10T16:45:00Z",
                                             "2026-06-10T16:45:00.5Z",
                                             "2026-06-10T16:45:01.250+00:00"]))).data
    assert isinstance(data, SetpointAckData)
    assert (data.sent_by_dso_at, data.received_by_node_at, data.received_by_device_at) == (
        START, START.replace(microsecond=500_000), START.replace(second=1, microsecond=250_000))
    assert [(slot.mtu, slot.p_kw, slot.q_kvar) for slot in data.setpoint] == [
        (66, -1.5, 0.0), (67, -1.5, 0.1)]


def _without(wire: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k != key}


def _data_without(wire: dict[str, Any], key: str) -> dict[str, Any]:
    return {**wire, "data": _without(wire["data"], key)}


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "not JSON"),
    ("not utf-8", b'{"pod": "\xff"}', "UTF-8"),
    ("an array", b"[1, 2]", "not a JSON object"),
    ("repeated key", b'{"pod": "A", "pod": "B"}', "'pod' appears twice"),
    ("NaN literal", raw(reading_wire()).replace(b'"p_kw": 2', b'"p_kw": NaN'), "NaN"),
    ("Infinity literal", raw(reading_wire()).replace(b'"p_kw": 2', b'"p_kw": Infinity'),
     "Infinity"),
    ("missing hash", raw(_without(reading_wire(), "hash")), "hash is missing"),
    ("extra field", raw({**reading_wire(), "public_key": "0x04"}), "public_key"),
    ("missing data field", raw(_data_without(reading_wire(), "samples")),
     "data.samples is missing"),
    ("extra data field", raw(reading_wire(unit="kW")), "data.unit"),
    ("unknown kind", raw(reading_wire(kind="anomaly")), "data.kind"),
    ("offset not UTC", raw(reading_wire(interval_start="2026-06-10T18:45:00+02:00")),
     "data.interval_start"),
    ("UTC spelled +00:00", raw(reading_wire(interval_start="2026-06-10T16:45:00+00:00")),
     "data.interval_start"),
    ("naive time", raw(reading_wire(interval_start="2026-06-10T16:45:00")),
     "data.interval_start"),
    ("not a quarter-hour", raw(reading_wire(interval_start="2026-06-10T16:50:00Z")),
     "data.interval_start"),
    ("no such day", raw(reading_wire(interval_start="2026-02-30T16:45:00Z")),
     "data.interval_start"),
    ("a number for a time", raw(reading_wire(interval_start=1781109900)),
     "data.interval_start: not a string"),
    ("beyond 1e6", raw(reading_wire(p_kw=1.000001e6)), "data.p_kw"),
    ("below -1e6", raw(reading_wire(energy_kwh=-2e6)), "data.energy_kwh"),
    ("a string for a number", raw(reading_wire(q_kvar="0.25")), "data.q_kvar"),
    ("a boolean for a number", raw(reading_wire(p_kw=True)), "data.p_kw"),
    ("no samples", raw(reading_wire(samples=0)), "data.samples"),
    ("fractional samples", raw(reading_wire(samples=1.5)), "data.samples"),
    ("pod of data differs", raw(reading_wire(pod="POD-2")), "data.pod 'POD-2'"),
    ("pod not an identifier", raw({**reading_wire(pod="POD 1"), "pod": "POD 1"}),
     "pod: String should match"),
    ("upper-case address", raw({**reading_wire(), "address": "0x" + "AB" * 20}), "address"),
    ("short hash", raw({**reading_wire(), "hash": "0x" + "ab" * 31}), "hash"),
    ("signature without 0x", raw({**reading_wire(), "signed_hash": "ab" * 66}),
     "signed_hash"),
    ("status decreasing", raw(ack_wire(status=["2026-06-10T16:45:02Z", "2026-06-10T16:45:01Z",
                                               "2026-06-10T16:45:03Z"])), "data.status"),
    ("status of two", raw(ack_wire(status=["2026-06-10T16:45:00Z", "2026-06-10T16:45:01Z"])),
     "data.status"),
    ("status not UTC", raw(ack_wire(status=["2026-06-10T16:45:00Z", "2026-06-10T18:45:01+02:00",
                                            "2026-06-10T16:45:03Z"])), "data.status[1]"),
    ("status offset unknown", raw(ack_wire(status=[
        "2026-06-10T16:45:00Z", "2026-06-10T16:45:01Z", "2026-06-10T16:45:03-00:00"])),
     "data.status[2]"),
    ("no setpoint", raw(ack_wire(setpoint=[])), "data.setpoint"),
    ("21 setpoint slots", raw(ack_wire(setpoint=[{"mtu": i, "p_kw": 1.0, "q_kvar": 0.0}
                                                 for i in range(21)])), "data.setpoint"),
    ("two slots for one MTU", raw(ack_wire(setpoint=[{"mtu": 3, "p_kw": 1.0, "q_kvar": 0.0},
                                                     {"mtu": 3, "p_kw": 2.0, "q_kvar": 0.0}])),
     "the same MTU"),
    ("MTU beyond a day", raw(ack_wire(setpoint=[{"mtu": 100, "p_kw": 1.0, "q_kvar": 0.0}])),
     "data.setpoint[0].mtu"),
    ("activation id not an identifier", raw(ack_wire(activation_id="")),
     "data.activation_id"),
]


@pytest.mark.parametrize(("raw_packet", "field"), [(r, f) for _, r, f in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_a_malformed_packet_is_refused_naming_what_is_wrong(raw_packet: bytes,
                                                            field: str) -> None:
    with pytest.raises(MalformedPacket) as caught:
        parse_packet(raw_packet)
    assert field in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_the_valid_packets_the_malformed_cases_start_from_parse() -> None:
    # Without this, a case could be refused for a defect of its base, not its own.
    for wire in (reading_wire(), ack_wire()):
        parse_packet(raw(wire))


def test_fr_bal_ts_1_the_signature_recovers_the_signers_address() -> None:
    digest = "0x" + "11" * 32
    signature = keys.PrivateKey(DOC_KEY).sign_msg_hash(bytes.fromhex(digest[2:])).to_bytes()
    assert recover_address(digest, "0x" + signature.hex()) == DOC_ADDRESS
    assert recover_address("0x" + "12" * 32, "0x" + signature.hex()) != DOC_ADDRESS


def test_the_mirror_image_of_a_signature_is_refused() -> None:
    digest = bytes.fromhex("22" * 32)
    signature = keys.PrivateKey(DOC_KEY).sign_msg_hash(digest).to_bytes()
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    mirror = r + (N - s).to_bytes(32, "big") + bytes([1 - v])
    # Plain ecrecover accepts it: without EIP-2's rule one packet would have two valid
    # signatures.
    assert keys.Signature(mirror).recover_public_key_from_msg_hash(
        digest).to_address() == DOC_ADDRESS
    assert recover_address("0x" + digest.hex(), "0x" + mirror.hex()) is None


@pytest.mark.parametrize("signature", [
    "0x" + "00" * 65,  # r = s = 0
    "0x" + "ff" * 64 + "00",  # r, s beyond the curve order
    "0x" + "11" * 64 + "02",  # v = 2
    "0x" + "11" * 64 + "1b",  # v = 27: Ethereum's transaction form, not this format
    "0x" + "11" * 64,  # 64 bytes
    "0x" + "zz" * 65,
    "11" * 65 + "00",
    "",
])
def test_an_unrecoverable_signature_recovers_nothing(signature: str) -> None:
    assert recover_address("0x" + "11" * 32, signature) is None


def test_a_malformed_hash_recovers_nothing() -> None:
    signature = "0x" + keys.PrivateKey(DOC_KEY).sign_msg_hash(b"\x11" * 32).to_bytes().hex()
    assert recover_address("0x" + "11" * 32, signature) == DOC_ADDRESS
    assert recover_address("0x" + "11" * 31, signature) is None
    assert recover_address(" 0x" + "11" * 32, signature) is None


def test_timestamps_are_rfc_3339_in_utc() -> None:
    assert parse_timestamp("2026-06-10T16:45:00.123456789Z") == START.replace(
        microsecond=123456)
    assert format_timestamp(START.replace(microsecond=500_000)) == "2026-06-10T16:45:00.5Z"
    assert format_timestamp(START) == "2026-06-10T16:45:00Z"
    for text in ("2026-06-10 16:45:00Z", "2026-06-10T16:45Z", "2026-06-10T16:45:00z",
                 "2026-06-10T16:45:00+01:00", "2026-06-10T16:45:00.Z"):
        with pytest.raises(ValueError):
            parse_timestamp(text)
    with pytest.raises(ValueError):
        format_timestamp(START.replace(tzinfo=None))


@pytest.mark.parametrize("raw", [b"[" * 100_000, b"{" * 65, b" " * (16 * 1024 + 1)])
def test_bytes_too_deep_or_too_long_are_refused_before_they_are_parsed(raw: bytes) -> None:
    """The BAL must never crash on a packet: deep JSON would recurse in the C decoder."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)  # as some libraries do; the check must not need it
    try:
        with pytest.raises(MalformedPacket):
            parse_packet(raw)
    finally:
        sys.setrecursionlimit(limit)
