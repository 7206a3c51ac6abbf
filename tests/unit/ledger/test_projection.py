"""Projection rules: a Kafka record becomes read-model row changes or a dead letter."""

from __future__ import annotations

import json

from ledger.projection import MAX_RAW_BYTES, DeadLetter, Projected, RowChange, project
from tests.builders import (
    EVENT_AT,
    EVENT_ID,
    event_bytes,
    make_event,
    make_pod_registered,
    make_pod_unregistered,
    make_pod_updated,
    make_record,
)


def _projected(value: bytes, **record: object) -> Projected:
    outcome = project(make_record(value, **record))
    assert isinstance(outcome, Projected), outcome
    return outcome


def _dead(value: bytes | None, **record: object) -> DeadLetter:
    outcome = project(make_record(value, **record))
    assert isinstance(outcome, DeadLetter), outcome
    return outcome


def test_pod_registered_upserts_the_pod_row() -> None:
    event = make_event(make_pod_registered())
    outcome = _projected(event.to_bytes())
    assert outcome.event == event
    assert outcome.changes == [RowChange("pods", "upsert", {
        "pod_id": "POD-000001", "aggregator_id": "AGG-1", "customer_id": "CUST-1",
        "primary_substation": "PS-1", "mv_feeder": "PS-1-F1", "secondary_substation": "SS-5",
        "up_p_kw": 5.0, "down_p_kw": 3.0, "up_q_kvar": 2.0, "down_q_kvar": 1.0,
        "flexibility_type": "continuous", "settlement_mechanism_id": None, "active": True,
        "pom_id": None,
        "registered_at": EVENT_AT, "last_event_id": str(EVENT_ID)}, ("pod_id",))]


def test_pod_updated_updates_limits_and_type_only() -> None:
    outcome = _projected(make_event(make_pod_updated()).to_bytes())
    assert outcome.changes == [RowChange("pods", "update", {
        "pod_id": "POD-000001", "up_p_kw": 7.5, "down_p_kw": 3.0, "up_q_kvar": 2.0,
        "down_q_kvar": 1.0, "flexibility_type": "discrete",
        "last_event_id": str(EVENT_ID)}, ("pod_id",))]


def test_pod_unregistered_marks_the_pod_inactive() -> None:
    outcome = _projected(make_event(make_pod_unregistered()).to_bytes())
    assert outcome.changes == [RowChange("pods", "update", {
        "pod_id": "POD-000001", "active": False, "last_event_id": str(EVENT_ID)}, ("pod_id",))]


def test_record_without_a_key_is_still_projected() -> None:
    assert _projected(make_event().to_bytes(), key=None).changes[0].op == "upsert"


def test_event_row_carries_the_envelope_and_the_record_position() -> None:
    event = make_event()
    row = _projected(event.to_bytes(), partition=3, offset=7).event_row()
    assert row == {"event_id": str(EVENT_ID), "type": "PodRegistered", "version": 1,
                   "occurred_at": EVENT_AT, "actor": "AGG-1", "key": "POD-000001",
                   "payload": event.payload, "hash": event.hash, "topic": "registry",
                   "partition": 3, "offset": 7}


def test_record_without_a_value_is_dead_lettered_as_empty() -> None:
    assert _dead(None).code == "EVENT_EMPTY"


def test_garbage_is_dead_lettered_as_not_json() -> None:
    assert _dead(b"\x00not json").code == "EVENT_NOT_JSON"


def test_unknown_event_type_is_dead_lettered() -> None:
    dead = _dead(make_event(type="PodTeleported").to_bytes())
    assert dead.code == "UNKNOWN_EVENT_TYPE"
    assert "PodTeleported" in dead.reason


def test_type_changed_without_resealing_is_a_hash_mismatch_not_an_unknown_type() -> None:
    data = {**json.loads(make_event().to_bytes()), "type": "PodTeleported"}
    assert _dead(event_bytes(data)).code == "EVENT_HASH_MISMATCH"


def test_tampered_event_is_dead_lettered_as_hash_mismatch() -> None:
    raw = make_event().to_bytes().replace(b'"CUST-1"', b'"SOMEONE-ELSE"')
    assert _dead(raw).code == "EVENT_HASH_MISMATCH"


def test_payload_that_breaks_its_model_is_dead_lettered() -> None:
    payload = {**make_pod_registered().model_dump(mode="json"), "customer_id": ""}
    assert _dead(make_event(payload).to_bytes()).code == "PAYLOAD_INVALID"


def test_record_key_other_than_the_event_key_is_dead_lettered() -> None:
    dead = _dead(make_event().to_bytes(), key=b"POD-000002")
    assert dead.code == "RECORD_KEY_MISMATCH"


def test_dead_letter_row_keeps_the_record_position_code_and_raw_value() -> None:
    row = _dead(b"oops", topic="registry", partition=2, offset=9).row()
    assert {k: v for k, v in row.items() if k != "reason"} == {
        "topic": "registry", "partition": 2, "offset": 9, "code": "EVENT_NOT_JSON",
        "raw": b"oops"}


def test_dead_letter_row_of_an_empty_record_has_empty_raw() -> None:
    assert _dead(None).row()["raw"] == b""


def test_dead_letter_row_truncates_raw_to_max_raw_bytes() -> None:
    raw = b"x" * (MAX_RAW_BYTES + 10)
    row = _dead(raw).row()
    assert row["raw"] == b"x" * MAX_RAW_BYTES


def test_dead_letter_row_keeps_the_exact_bytes_even_nul_and_invalid_utf8() -> None:
    assert _dead(b"\x00\xff\xfeabc").row()["raw"] == b"\x00\xff\xfeabc"


def test_dead_letter_reason_never_carries_nul_into_a_text_column() -> None:
    row = DeadLetter(make_record(b"x"), "EVENT_INVALID", "bad \x00 value").row()
    assert "\x00" not in row["reason"] and "bad" in row["reason"]


# --- Records that once escaped the dead-letter path ----------------------------------------

def test_payload_number_jcs_cannot_encode_is_dead_lettered_not_raised() -> None:
    raw = make_event().to_bytes().replace(b'"up_p_kw":5', b'"up_p_kw":NaN')
    assert isinstance(project(make_record(raw)), DeadLetter)


def test_deeply_nested_json_is_dead_lettered_not_raised() -> None:
    assert isinstance(project(make_record(b"[" * 100_000)), DeadLetter)
