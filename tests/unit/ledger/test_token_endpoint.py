"""Issue 7's token endpoint and bearer checks, in process on a SQLite read model: a
registered participant trades its id and secret for a token naming it and its role
(OAuth2 client credentials), which the API's routes then accept or refuse by role;
wrong, unknown or disabled credentials and bad tokens are 401s naming the reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from ledger.auth.roles import Role
from ledger.auth.store import disable_participant, new_secret, register_participant
from ledger.auth.tokens import verify
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from market.api.app import create_app
from tests.auth import KEYRING, TEST_AUTH_KEYS, bearer

TOKEN_MINUTES = 10


@dataclass
class Market:
    client: TestClient
    engine: Engine
    secrets: dict[str, str]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'read_models.db'}"
    upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        secrets = {pid: register_participant(conn, pid, role, now=now) for pid, role in [
            ("CUST-1", Role.CUSTOMER), ("AGG-ROTATE", Role.AGGREGATOR),
            ("AGG-GONE", Role.AGGREGATOR)]}
    settings = Settings(database_url=url, kafka_bootstrap="127.0.0.1:9",
                        auth_keys=TEST_AUTH_KEYS, auth_token_minutes=TOKEN_MINUTES)
    with TestClient(create_app(settings)) as client:
        yield Market(client, engine, secrets)
    engine.dispose()


def _ask(client: TestClient, client_id: str, client_secret: str | None,
         grant_type: str = "client_credentials") -> httpx.Response:
    form = {"grant_type": grant_type, "client_id": client_id}
    if client_secret is not None:
        form["client_secret"] = client_secret
    return client.post("/v1/auth/token", data=form)


def _token(market: Market, participant_id: str) -> str:
    answer = _ask(market.client, participant_id, market.secrets[participant_id])
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _assert_invalid_client(answer: httpx.Response) -> None:
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert set(answer.json()) == {"code", "message", "field"}
    assert answer.json()["code"] == "INVALID_CLIENT"
    assert answer.json()["field"] == "client_secret"


def test_issue_7_client_credentials_give_a_bearer_token_of_the_participant_and_role(
        market: Market) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    answer = _ask(market.client, "CUST-1", market.secrets["CUST-1"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == TOKEN_MINUTES * 60
    assert (body["participant_id"], body["role"]) == ("CUST-1", "customer")
    claims = verify(KEYRING, body["access_token"], now=datetime.now(UTC))
    assert (claims.participant_id, claims.role) == ("CUST-1", Role.CUSTOMER)
    lifetime = timedelta(minutes=TOKEN_MINUTES)
    assert before + lifetime <= claims.expires_at <= datetime.now(UTC) + lifetime


def test_issue_7_the_issued_token_is_accepted_and_its_role_limits_the_routes(
        market: Market) -> None:
    """A customer's token reads what any participant may, and is refused the DSO's grid."""
    headers = {"Authorization": f"Bearer {_token(market, 'CUST-1')}"}
    batches = market.client.get("/audit/batches", headers=headers)
    assert batches.status_code == 200, batches.text
    assert batches.json() == {"count": 0, "items": []}
    grid = market.client.get("/v1/dso/grid", headers=headers)
    assert grid.status_code == 403
    assert grid.json()["code"] == "ROLE_NOT_ALLOWED"
    assert grid.json()["field"] == "Authorization"
    assert "customer" in grid.json()["message"]


def test_issue_7_a_wrong_secret_is_a_401_invalid_client(market: Market) -> None:
    _assert_invalid_client(_ask(market.client, "CUST-1", market.secrets["CUST-1"] + "x"))
    _assert_invalid_client(_ask(market.client, "CUST-1", market.secrets["AGG-ROTATE"]))


def test_issue_7_an_unknown_participant_is_a_401_invalid_client(market: Market) -> None:
    _assert_invalid_client(_ask(market.client, "NOBODY", market.secrets["CUST-1"]))


def test_issue_7_a_disabled_participant_gets_no_token(market: Market) -> None:
    assert _ask(market.client, "AGG-GONE", market.secrets["AGG-GONE"]).status_code == 200
    with market.engine.begin() as conn:
        assert disable_participant(conn, "AGG-GONE", now=datetime.now(UTC))
    _assert_invalid_client(_ask(market.client, "AGG-GONE", market.secrets["AGG-GONE"]))


def test_issue_7_a_new_secret_replaces_the_old_one(market: Market) -> None:
    old = market.secrets["AGG-ROTATE"]
    with market.engine.begin() as conn:
        fresh = new_secret(conn, "AGG-ROTATE")
    assert fresh is not None and fresh != old
    _assert_invalid_client(_ask(market.client, "AGG-ROTATE", old))
    answer = _ask(market.client, "AGG-ROTATE", fresh)
    assert answer.status_code == 200, answer.text
    assert answer.json()["participant_id"] == "AGG-ROTATE"
    market.secrets["AGG-ROTATE"] = fresh


def test_issue_7_only_the_client_credentials_grant_is_served(market: Market) -> None:
    answer = _ask(market.client, "CUST-1", market.secrets["CUST-1"], grant_type="password")
    assert answer.status_code == 422
    assert (answer.json()["code"], answer.json()["field"]) == ("INVALID_REQUEST",
                                                               "grant_type")


def test_issue_7_a_missing_client_secret_is_a_422_naming_it(market: Market) -> None:
    answer = _ask(market.client, "CUST-1", None)
    assert answer.status_code == 422
    assert (answer.json()["code"], answer.json()["field"]) == ("INVALID_REQUEST",
                                                               "client_secret")


def test_issue_7_a_protected_route_without_a_token_is_a_401_naming_authorization(
        market: Market) -> None:
    answer = market.client.get("/audit/batches")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["code"] == "NOT_AUTHENTICATED"
    assert answer.json()["field"] == "Authorization"
    assert "Authorization" in answer.json()["message"]


@pytest.mark.parametrize("authorization", [
    "Bearer not-a-jwt",
    "Bearer " + "e30.e30.",
], ids=["garbage", "empty-jwt"])
def test_issue_7_a_garbage_bearer_is_a_401_invalid_token(market: Market,
                                                         authorization: str) -> None:
    answer = market.client.get("/audit/batches", headers={"Authorization": authorization})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert (answer.json()["code"], answer.json()["field"]) == ("INVALID_TOKEN",
                                                               "Authorization")


def test_issue_7_an_expired_token_is_a_401_invalid_token(market: Market) -> None:
    expired = bearer("CUST-1", Role.CUSTOMER, now=datetime.now(UTC) - timedelta(hours=1))
    answer = market.client.get("/audit/batches", headers=expired)
    assert answer.status_code == 401
    assert answer.json()["code"] == "INVALID_TOKEN"
    assert "expired" in answer.json()["message"]
    fresh = market.client.get("/audit/batches", headers=bearer("CUST-1", Role.CUSTOMER))
    assert fresh.status_code == 200
