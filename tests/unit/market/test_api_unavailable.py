"""Issue 7, failure behaviour at the API: when Kafka, PostgreSQL or the chain does not
answer, a request gets 503 with Retry-After and the one error body — never a 500 — and a
write that could not be published leaves nothing behind, so its retry is a first try."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.worker_process import free_port
from market.api.app import create_app
from market.store.models import IdempotencyKeyRow
from tests.auth import TEST_AUTH_KEYS, as_dso

FUNDING = {"funding_id": "FUND-1", "operator_id": "DSO-1", "amount_cents": 100}


def _closed() -> str:
    """An address on loopback where nothing listens."""
    return f"127.0.0.1:{free_port()}"


def _client(**settings: object) -> TestClient:
    return TestClient(create_app(Settings(auth_keys=TEST_AUTH_KEYS, retry_after_seconds=9,
                                          **settings)),  # type: ignore[arg-type]
                      raise_server_exceptions=False, headers=as_dso())


def _unavailable(answer) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "9"
    assert answer.json()["code"] == "SERVICE_UNAVAILABLE"


@pytest.fixture
def read_models(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'read_models.db'}"
    upgrade(url)
    yield url


def test_kafka_unreachable_a_write_is_503_and_leaves_no_key_behind(read_models: str) -> None:
    with _client(database_url=read_models, kafka_bootstrap=_closed(),
                 kafka_timeout_seconds=2) as client:
        _unavailable(client.post("/v1/fundings", json=FUNDING,
                                 headers={"Idempotency-Key": "fund-once"}))
    with create_engine(read_models).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(IdempotencyKeyRow)) == 0


def test_postgresql_unreachable_reads_and_writes_are_503() -> None:
    url = f"postgresql+psycopg://flexmarket:secret@{_closed()}/flexmarket"
    with _client(database_url=url, profile="demo") as client:
        _unavailable(client.get("/v1/pods"))
        _unavailable(client.post("/v1/fundings", json=FUNDING))


def test_the_chain_unreachable_a_wallet_is_503(read_models: str) -> None:
    with _client(database_url=read_models, chain_url=f"http://{_closed()}") as client:
        _unavailable(client.get("/v1/wallets/DSO-1"))
