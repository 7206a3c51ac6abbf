"""The published envelope vectors (ledger/vectors/envelope_v1.json) hold for an independent
computation and for ``ledger.envelope``."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import rfc8785
from eth_hash.auto import keccak

from ledger.catalog import typed_payload
from ledger.envelope import Event, parse_event, seal

VECTORS_FILE = Path(__file__).resolve().parents[3] / "ledger" / "vectors" / "envelope_v1.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
HASHED_FIELDS = {"event_id", "type", "version", "occurred_at", "actor", "key", "payload"}


def _by_name(vector: dict[str, Any]) -> str:
    return vector["name"]


def _seal(fields: dict[str, Any]) -> Event:
    return seal(event_id=UUID(fields["event_id"]), type=fields["type"],
                version=fields["version"],
                occurred_at=datetime.fromisoformat(fields["occurred_at"]),
                actor=fields["actor"], key=fields["key"], payload=fields["payload"])


def test_there_are_several_vectors_with_distinct_names_and_hashes() -> None:
    assert len(VECTORS) >= 4
    assert len({v["name"] for v in VECTORS}) == len({v["hash"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_vector_fields_are_exactly_the_hashed_envelope_members(vector: dict[str, Any]) -> None:
    fields = vector["fields"]
    assert set(fields) == HASHED_FIELDS
    assert UUID(fields["event_id"]).version == 7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fields["occurred_at"])
    assert re.fullmatch(r"0x[0-9a-f]{64}", vector["hash"])


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_vector_canonical_bytes_are_rfc8785_of_the_fields(vector: dict[str, Any]) -> None:
    assert rfc8785.dumps(vector["fields"]) == vector["canonical"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_vector_hash_is_keccak256_of_the_canonical_bytes(vector: dict[str, Any]) -> None:
    assert "0x" + keccak(vector["canonical"].encode("utf-8")).hex() == vector["hash"]


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_seal_with_the_vector_fields_gives_the_vector_hash(vector: dict[str, Any]) -> None:
    assert _seal(vector["fields"]).hash == vector["hash"]


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_sealed_vector_round_trips_through_its_bytes(vector: dict[str, Any]) -> None:
    event = _seal(vector["fields"])
    parsed = parse_event(event.to_bytes())
    assert parsed == event
    assert parsed.hash == vector["hash"]


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_event_bytes_are_the_canonical_fields_plus_the_hash(vector: dict[str, Any]) -> None:
    expected = rfc8785.dumps({**vector["fields"], "hash": vector["hash"]})
    assert _seal(vector["fields"]).to_bytes() == expected


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_vector_is_a_valid_catalog_event(vector: dict[str, Any]) -> None:
    event = _seal(vector["fields"])
    assert typed_payload(event).partition_key() == vector["fields"]["key"]


def test_vectors_cover_nesting_non_ascii_floats_and_integers() -> None:
    canonical = "".join(v["canonical"] for v in VECTORS)
    assert '"location":{' in canonical
    assert "€" in canonical and "🔌" in canonical
    assert ":0.1," in canonical and ":250," in canonical
    assert "1e+21" in canonical and "1e-7" in canonical and "\\u001f" in canonical
