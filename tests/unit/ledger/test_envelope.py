"""Envelope and catalog validation: a bad event is rejected with a stable code and the field."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
import rfc8785
from eth_hash.auto import keccak
from pydantic import ValidationError

from aggregator.domain.events import PodRegistered
from ledger.catalog import new_event, typed_payload
from ledger.envelope import parse_event, seal
from ledger.errors import InvalidEvent
from tests.builders import (
    EVENT_AT,
    event_bytes,
    make_event,
    make_pod_registered,
    make_pod_updated,
)

MEMBERS = ("event_id", "type", "version", "occurred_at", "actor", "key", "payload", "hash")

def _valid() -> dict[str, Any]:
    """A valid envelope as a JSON dict (a fresh copy: tests may change it)."""
    return json.loads(make_event().to_bytes())


def _rejected(raw: bytes) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    return info.value


def _auditor_hash(envelope: dict[str, Any]) -> str:
    """The hash recomputed as ledger/vectors/README.md says, independently of ledger."""
    hashed = {name: value for name, value in envelope.items() if name != "hash"}
    return "0x" + keccak(rfc8785.dumps(hashed)).hex()


# --- The envelope: well-formed events --------------------------------------------------

def test_sealed_event_round_trips_through_its_bytes() -> None:
    event = make_event()
    assert parse_event(event.to_bytes()) == event


def test_hash_is_keccak256_of_the_canonical_members_other_than_hash() -> None:
    event = make_event()
    assert event.hash == _auditor_hash(json.loads(event.to_bytes()))


def test_seal_stores_the_time_in_utc_with_a_z() -> None:
    local = EVENT_AT.astimezone(timezone(timedelta(hours=2)))
    event = make_event(occurred_at=local)
    assert event.hashed_fields()["occurred_at"] == "2025-06-02T08:15:00.123456Z"
    assert event.hash == make_event(occurred_at=EVENT_AT).hash


# --- The envelope: malformed events ----------------------------------------------------

@pytest.mark.parametrize("member", MEMBERS)
def test_missing_member_is_rejected_naming_the_member(member: str) -> None:
    data = _valid()
    del data[member]
    error = _rejected(event_bytes(data))
    assert (error.code, error.field) == ("EVENT_INVALID", member)
    assert member in error.message


def test_event_id_that_is_a_uuid4_is_rejected() -> None:
    data = {**_valid(), "event_id": str(uuid4())}
    error = _rejected(event_bytes(data))
    assert (error.code, error.field) == ("EVENT_INVALID", "event_id")
    assert "UUIDv7" in error.message


def test_event_id_that_is_not_a_uuid_is_rejected() -> None:
    error = _rejected(event_bytes({**_valid(), "event_id": "event-1"}))
    assert error.field == "event_id"


def test_seal_refuses_a_uuid4_event_id() -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(event_id=uuid4())
    assert info.value.field == "event_id"


def test_occurred_at_without_time_zone_is_rejected() -> None:
    data = {**_valid(), "occurred_at": "2025-06-02T08:15:00.123456"}
    error = _rejected(event_bytes(data))
    assert (error.code, error.field) == ("EVENT_INVALID", "occurred_at")
    assert "time zone" in error.message


def test_seal_refuses_a_naive_occurred_at_naming_occurred_at() -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(occurred_at=datetime(2025, 6, 2, 8, 15))
    assert info.value.field == "occurred_at"


@pytest.mark.parametrize("bad_hash", [
    "0x" + "AB" * 32,  # upper case
    "ab" * 32,  # no 0x
    "0x" + "a" * 63,
    "0x" + "a" * 65,
    "0x" + "g" * 64,
    "",
])
def test_hash_that_is_not_0x_and_64_lowercase_hex_digits_is_rejected(bad_hash: str) -> None:
    error = _rejected(event_bytes({**_valid(), "hash": bad_hash}))
    assert (error.code, error.field) == ("EVENT_INVALID", "hash")


def test_payload_changed_in_the_bytes_is_a_hash_mismatch() -> None:
    raw = make_event().to_bytes()
    tampered = raw.replace(b'"customer_id":"CUST-1"', b'"customer_id":"CUST-2"')
    assert tampered != raw
    error = _rejected(tampered)
    assert (error.code, error.field) == ("EVENT_HASH_MISMATCH", "hash")


@pytest.mark.parametrize(("member", "value"), [
    ("event_id", "01972fb5-4c1b-7000-8000-000000000002"),
    ("type", "PodUpdated"),
    ("version", 2),
    ("occurred_at", "2025-06-02T08:15:00.123457Z"),
    ("actor", "AGG-2"),
    ("key", "POD-000002"),
    ("payload", {}),
])
def test_changing_any_hashed_member_is_a_hash_mismatch(member: str, value: Any) -> None:
    error = _rejected(event_bytes({**_valid(), member: value}))
    assert error.code == "EVENT_HASH_MISMATCH"


@pytest.mark.parametrize("raw", [b"not json", b"", b"{\"type\":", b"\x80\x81\x82"])
def test_bytes_that_are_not_json_are_rejected(raw: bytes) -> None:
    assert _rejected(raw).code == "EVENT_NOT_JSON"


@pytest.mark.parametrize("raw", [b"[]", b'[{"type":"PodRegistered"}]', b'"event"', b"42",
                                 b"null"])
def test_json_that_is_not_an_object_is_rejected(raw: bytes) -> None:
    assert _rejected(raw).code == "EVENT_NOT_OBJECT"


@pytest.mark.parametrize("type_", ["podRegistered", "Pod_Registered", "Pod Registered",
                                   "pod-registered", "Pod.Registered", "1PodRegistered"])
def test_type_that_is_not_pascal_case_is_rejected(type_: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(type=type_)
    assert (info.value.code, info.value.field) == ("EVENT_INVALID", "type")
    assert "PascalCase" in info.value.message


def test_unknown_top_level_member_is_rejected_naming_it() -> None:
    error = _rejected(event_bytes({**_valid(), "signature": "0x00"}))
    assert (error.code, error.field) == ("EVENT_INVALID", "signature")


@pytest.mark.parametrize(("member", "value"), [("version", 0), ("actor", ""), ("key", "")])
def test_out_of_range_member_is_rejected_naming_it(member: str, value: Any) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(**{member: value})
    assert info.value.field == member


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_seal_refuses_a_non_finite_payload_number(value: float) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(payload={"pod_id": "POD-000001", "p_kw": value})
    assert (info.value.code, info.value.field) == ("EVENT_NOT_CANONICAL", "payload")


# --- The envelope: strict input and one spelling per event ------------------------------

@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity",
                                     b"18446744073709551616", b'"\\ud800"'])
def test_parse_event_rejects_a_payload_value_jcs_cannot_encode_as_invalid_event(
        literal: bytes) -> None:
    raw = make_event().to_bytes().replace(b'"up_p_kw":5', b'"up_p_kw":' + literal)
    error = _rejected(raw)
    assert error.field is not None and error.field.startswith("payload")


@pytest.mark.parametrize(("member", "spelling"), [
    ("version", "1"),
    ("version", True),
    ("event_id", "01972FB5-4C1B-7000-8000-000000000001"),
    ("occurred_at", "2025-06-02T08:15:00.123456+00:00"),
    ("occurred_at", "2025-06-02T10:15:00.123456+02:00"),
])
def test_an_accepted_event_has_a_hash_an_auditor_can_recompute(member: str,
                                                                spelling: Any) -> None:
    # Other spellings of the same values keep the original hash; an auditor recomputing
    # it over the received members (ledger/vectors/README.md) must then agree.
    data = {**_valid(), member: spelling}
    try:
        parse_event(event_bytes(data))
    except InvalidEvent:
        return  # rejecting a non-canonical spelling is a correct outcome too
    assert _auditor_hash(data) == data["hash"]


def test_parse_event_rejects_duplicate_member_names() -> None:
    # Another parser may read "MALLORY" as the actor of an event whose hash checks;
    # RFC 8785 input must be I-JSON, which has no duplicate names.
    raw = b'{"actor":"MALLORY",' + make_event().to_bytes()[1:]
    _rejected(raw)


# --- The catalog -----------------------------------------------------------------------

def test_typed_payload_returns_the_catalog_model() -> None:
    assert typed_payload(make_event()) == make_pod_registered()


def test_new_event_keys_the_event_by_the_catalog_key_field() -> None:
    event = new_event(make_pod_updated(pod_id="POD-000007"), actor="AGG-1")
    assert (event.type, event.version, event.key) == ("PodUpdated", 1, "POD-000007")


@pytest.mark.parametrize(("type_", "version"), [("PodTeleported", 1), ("PodRegistered", 2)])
def test_unknown_type_or_version_is_rejected(type_: str, version: int) -> None:
    with pytest.raises(InvalidEvent) as info:
        typed_payload(make_event(type=type_, version=version))
    assert (info.value.code, info.value.field) == ("UNKNOWN_EVENT_TYPE", "type")
    assert type_ in info.value.message


def _payload(**changes: Any) -> dict[str, Any]:
    return {**make_pod_registered().model_dump(mode="json"), **changes}


def _payload_error(payload: dict[str, Any], key: str = "POD-000001") -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        typed_payload(make_event(payload, key=key))
    return info.value


def test_payload_missing_a_field_is_rejected_naming_it() -> None:
    payload = _payload()
    del payload["customer_id"]
    error = _payload_error(payload)
    assert (error.code, error.field) == ("PAYLOAD_INVALID", "payload.customer_id")


def test_negative_flexibility_is_rejected_naming_the_nested_field() -> None:
    limits = {**make_pod_registered().max_flexibility.model_dump(), "up_p_kw": -1.0}
    error = _payload_error(_payload(max_flexibility=limits))
    assert (error.code, error.field) == ("PAYLOAD_INVALID", "payload.max_flexibility.up_p_kw")
    assert "payload.max_flexibility.up_p_kw" in error.message


@pytest.mark.parametrize(("changes", "field"), [
    ({"colour": "red"}, "payload.colour"),
    ({"flexibility_type": "sometimes"}, "payload.flexibility_type"),
    ({"customer_id": "CUST 1"}, "payload.customer_id"),
    ({"location": {"primary_substation": "PS-1"}}, "payload.location.mv_feeder"),
])
def test_payload_that_breaks_its_model_is_rejected_naming_the_field(changes: dict[str, Any],
                                                                    field: str) -> None:
    error = _payload_error(_payload(**changes))
    assert (error.code, error.field) == ("PAYLOAD_INVALID", field)


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_payload_model_refuses_non_finite_flexibility(value: float) -> None:
    limits = {**make_pod_registered().max_flexibility.model_dump(), "up_p_kw": value}
    with pytest.raises(ValidationError) as info:
        PodRegistered.model_validate(_payload(max_flexibility=limits))
    assert info.value.errors()[0]["loc"] == ("max_flexibility", "up_p_kw")


def test_key_other_than_the_payload_pod_id_is_rejected() -> None:
    error = _payload_error(_payload(), key="POD-000002")
    assert (error.code, error.field) == ("EVENT_KEY_MISMATCH", "key")


def test_event_id_of_the_builder_is_a_uuid7_from_the_event_time() -> None:
    # The builder's fixed id is a real UUIDv7: its first 48 bits are EVENT_AT in ms.
    event_id = make_event().event_id
    assert event_id.version == 7
    assert event_id.int >> 80 == int(EVENT_AT.timestamp() * 1000)


@pytest.mark.parametrize("member", ["actor", "key"])
def test_nul_in_a_text_member_is_rejected_naming_it(member: str) -> None:
    # Read models keep actor and key in text columns, which cannot hold NUL on PostgreSQL.
    with pytest.raises(InvalidEvent) as info:
        make_event(**{member: "AGG\x001"})
    assert info.value.field == member


def test_nesting_beyond_the_limit_is_refused_before_the_decoder_recurses() -> None:
    """The decoder would recurse past the C stack (web3's imports lift the recursion limit)."""
    with pytest.raises(InvalidEvent, match="nested deeper than 64") as caught:
        parse_event(b"[" * 100_000)
    assert caught.value.code == "EVENT_NOT_JSON"
    with pytest.raises(InvalidEvent, match="nested deeper"):
        parse_event(b'{"a":' * 65 + b"1" + b"}" * 65)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    event = seal(type="PodRegistered", version=1, actor="AGG-1", key="POD-1",
                 payload={"note": "[{" * 500 + '\\"]'})
    assert parse_event(event.to_bytes()) == event


def test_fr_mp_bc_1_only_the_canonical_bytes_of_an_event_are_accepted() -> None:
    """The anchored leaf is over the record's bytes and auditors rebuild them from the event,
    so the same event spaced out or reordered is refused rather than made unprovable."""
    event = make_event()
    spaced = json.dumps(json.loads(event.to_bytes()), indent=2).encode()
    reordered = json.dumps(dict(reversed(json.loads(event.to_bytes()).items())),
                           separators=(",", ":"), ensure_ascii=False).encode()
    for raw in (spaced, reordered):
        with pytest.raises(InvalidEvent) as caught:
            parse_event(raw)
        assert caught.value.code == "EVENT_NOT_CANONICAL"
    assert parse_event(event.to_bytes()) == event
