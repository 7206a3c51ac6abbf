"""The audit API's answers that need no Kafka or chain: errors name the field, no 500s,
and batches page newest first (FR_MP_BC_2: participants look up their certified data)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert

from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import AnchorBatchRow, EventRow
from market.api.app import create_app
from tests.auth import TEST_AUTH_KEYS, bearer
from tests.builders import make_event


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'read_models.db'}"
    upgrade(url)
    event = make_event()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(EventRow).values(
            event_id=str(event.event_id), type=event.type, version=event.version,
            occurred_at=event.occurred_at, actor=event.actor, key=event.key,
            payload=event.payload, hash=event.hash, topic="registry", partition=0, offset=7))
        conn.execute(insert(AnchorBatchRow), [
            {"topic": "registry", "partition": p, "first_offset": 0, "last_offset": 3,
             "count": 4, "root": "0x" + f"{p:02x}" * 32, "chain_id": 31337,
             "contract": "0x" + "ab" * 20, "tx_hash": "0x" + f"{p:02x}" * 32,
             "block_number": 10 + p, "anchored_at": datetime(2026, 11, 22, tzinfo=UTC),
             "event_id": str(event.event_id)} for p in range(3)])
    engine.dispose()
    settings = Settings(database_url=url, kafka_bootstrap="127.0.0.1:9",
                        auth_keys=TEST_AUTH_KEYS)
    with TestClient(create_app(settings), headers=bearer("AUDITOR-1", "auditor")) as test_client:
        test_client.event_id = str(event.event_id)  # type: ignore[attr-defined]
        yield test_client


def test_fr_mp_bc_2_event_not_yet_anchored_is_a_409_naming_the_event(
        client: TestClient) -> None:
    answer = client.get(f"/audit/events/{client.event_id}/proof")  # type: ignore[attr-defined]
    assert answer.status_code == 409
    assert answer.json()["code"] == "EVENT_NOT_YET_ANCHORED"
    assert answer.json()["field"] == "event_id"


def test_unknown_and_malformed_event_ids(client: TestClient) -> None:
    unknown = client.get("/audit/events/01972fb5-4c1b-7000-8000-00000000ffff/proof")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "EVENT_NOT_FOUND")
    malformed = client.get("/audit/events/%00'%20or%201=1/proof")
    assert (malformed.status_code, malformed.json()["field"]) == (422, "event_id")


def test_fr_mp_bc_2_batches_newest_first_with_a_count(client: TestClient) -> None:
    page = client.get("/audit/batches", params={"limit": 2}).json()
    assert page["count"] == 3
    assert [b["block_number"] for b in page["items"]] == [12, 11]
    assert page["items"][0]["anchored_at"] == "2026-11-22T00:00:00.000000Z"
    rest = client.get("/audit/batches", params={"limit": 2, "offset": 2}).json()
    assert [b["partition"] for b in rest["items"]] == [0]
    only = client.get("/audit/batches", params={"partition": 1}).json()
    assert [b["partition"] for b in only["items"]] == [1]
    none = client.get("/audit/batches", params={"topic": "offers"}).json()
    assert none == {"count": 0, "items": []}


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"offset": -1}, "offset"),
    ({"partition": "x"}, "partition"), ({"topic": "t" * 201}, "topic"),
])
def test_bad_query_parameters_are_422_naming_the_field(client: TestClient,
                                                       params: dict[str, object],
                                                       field: str) -> None:
    answer = client.get("/audit/batches", params=params)
    assert answer.status_code == 422
    assert answer.json()["code"] == "INVALID_REQUEST"
    assert answer.json()["field"] == field


def test_a_service_behind_the_api_failing_is_a_503_not_a_500(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'missing' / 'x.db'}",
                        auth_keys=TEST_AUTH_KEYS, retry_after_seconds=7)
    with TestClient(create_app(settings), raise_server_exceptions=False,
                    headers=bearer("AUDITOR-1", "auditor")) as broken:
        answer = broken.get("/audit/batches")
    assert answer.status_code == 503
    assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
    assert answer.headers["Retry-After"] == "7"
