"""The market's REST API on the real stack (Kafka, the projector, SQLite read models):
every accepted write is one event, every refused one writes nothing (FR_MP_FS_1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.settings import Settings
from market.domain.clock import ManualClock
from market.store.models import FlexOfferRow, IdempotencyKeyRow
from tests.auth import as_aggregator, as_dso, bearer
from tests.builders import (
    DA_CLOSED_AT,
    DA_OPEN_AT,
    DA_SESSION,
    make_offer_body,
    make_request_body,
)
from tests.integration.market.harness import Market, running_market

pytestmark = pytest.mark.integration
OFFERS = f"/v1/sessions/{DA_SESSION}/offers"
REQUESTS = f"/v1/sessions/{DA_SESSION}/requests"


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("market")) as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DA_OPEN_AT)


@pytest.fixture
def client(market: Market, clock: ManualClock) -> Iterator[TestClient]:
    with market.client(clock, headers=as_aggregator("AGG-1")) as client:
        yield client


def _keys(market: Market) -> int:
    with market.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(IdempotencyKeyRow)) or 0


def test_fr_mp_fs_1_an_offer_becomes_one_event_and_is_projected(market: Market,
                                                                client: TestClient) -> None:
    before = market.submissions_on_log()
    answer = client.post(OFFERS, json=make_offer_body())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["code"] == "ACCEPTED" and body["id"] == body["event_id"]
    assert body["player_service_id"] == (
        "AGG-1::POD-000001::dayAhead::2026-06-10T00:00:00.000+02:00")
    assert market.submissions_on_log() == before + 1
    market.wait_until(select(func.count()).select_from(FlexOfferRow).where(
        FlexOfferRow.offer_id == body["id"]), 1, "offer projected")
    read = client.get(f"/v1/offers/{body['id']}").json()
    assert (read["pod_id"], read["steps"][1]["price_eur_per_mwh"]) == ("POD-000001", 150.0)
    listed = client.get(OFFERS, params={"aggregator_id": "AGG-1"}).json()
    assert body["id"] in {o["offer_id"] for o in listed["items"]}


def test_a_dso_and_a_tso_request_are_accepted(market: Market, client: TestClient) -> None:
    dso = client.post(REQUESTS, json=make_request_body(), headers=as_dso())
    tso = client.post(REQUESTS, json=make_request_body(
        requester_id="TSO-1", role="TSO", location={"kind": "pom", "id": "PS-1"},
        eligible_pods=[]), headers=bearer("TSO-1", "tso"))
    assert (dso.status_code, tso.status_code) == (201, 201), (dso.text, tso.text)


def test_a_retry_with_the_same_idempotency_key_writes_no_second_event(
        market: Market, client: TestClient) -> None:
    headers = {"Idempotency-Key": "offer-retry-1"}
    first = client.post(OFFERS, json=make_offer_body(), headers=headers)
    before = market.submissions_on_log()
    again = client.post(OFFERS, json=make_offer_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["code"] == "ALREADY_ACCEPTED"
    assert again.json()["event_id"] == first.json()["event_id"]
    assert market.submissions_on_log() == before
    other = client.post(OFFERS, json=make_offer_body(divisible=False), headers=headers)
    assert other.status_code == 422
    assert (other.json()["code"], other.json()["field"]) == ("IDEMPOTENCY_KEY_REUSED",
                                                            "Idempotency-Key")


def test_a_retry_after_gate_closure_still_gets_its_first_answer(
        client: TestClient, clock: ManualClock) -> None:
    headers = {"Idempotency-Key": "offer-before-gate"}
    assert client.post(OFFERS, json=make_offer_body(), headers=headers).status_code == 201
    clock.set(DA_CLOSED_AT + timedelta(minutes=5))
    assert client.post(OFFERS, json=make_offer_body(), headers=headers).status_code == 200


BAD_OFFERS: list[tuple[str, dict[str, Any] | str, int, str, str]] = [
    ("unknown PoD", make_offer_body(pod_id="POD-999999"), 422, "UNKNOWN_POD", "pod_id"),
    ("another aggregator's PoD", make_offer_body(pod_id="POD-000004"), 403,
     "POD_OF_ANOTHER_AGGREGATOR", "pod_id"),
    ("above max flexibility", make_offer_body(steps=[
        {"mtu": 70, "quantity": 5.5, "price_eur_per_mwh": 100}]), 422, "ABOVE_MAX_FLEXIBILITY",
     "steps.0.quantity"),
    ("MTU outside the session", make_offer_body(steps=[
        {"mtu": 96, "quantity": 1, "price_eur_per_mwh": 100}]), 422, "MTU_OUTSIDE_SESSION",
     "steps.0.mtu"),
    ("negative quantity", make_offer_body(steps=[
        {"mtu": 70, "quantity": -1, "price_eur_per_mwh": 100}]), 422, "INVALID_REQUEST",
     "steps.0.quantity"),
    ("negative price", make_offer_body(steps=[
        {"mtu": 70, "quantity": 1, "price_eur_per_mwh": -5}]), 422, "INVALID_REQUEST",
     "steps.0.price_eur_per_mwh"),
    ("NaN quantity", json.dumps(make_offer_body()).replace('"quantity": 2.0',
                                                           '"quantity": NaN'),
     422, "INVALID_REQUEST", "steps.0.quantity"),
    ("infinite price", json.dumps(make_offer_body()).replace('"price_eur_per_mwh": 150.0',
                                                             '"price_eur_per_mwh": Infinity'),
     422, "INVALID_REQUEST", "steps.1.price_eur_per_mwh"),
    ("wrong session type", make_offer_body(market_type="RT"), 422, "SESSION_TYPE_MISMATCH",
     "market_type"),
    ("malformed JSON", '{"aggregator_id": "AGG-1", ', 422, "INVALID_REQUEST", "body"),
    ("unknown field", make_offer_body(colour="blue"), 422, "INVALID_REQUEST", "colour"),
    ("missing field", {k: v for k, v in make_offer_body().items() if k != "direction"}, 422,
     "INVALID_REQUEST", "direction"),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "field"), BAD_OFFERS,
                         ids=[c[0] for c in BAD_OFFERS])
def test_fr_mp_fs_1_bad_offers_get_a_4xx_naming_the_field_and_write_nothing(
        market: Market, client: TestClient, case: str, body: dict[str, Any] | str,
        status: int, code: str, field: str) -> None:
    before, keys = market.submissions_on_log(), _keys(market)
    headers = {"Idempotency-Key": "bad-" + case.replace(" ", "-"),
               "Content-Type": "application/json"}
    content = body if isinstance(body, str) else json.dumps(body)
    answer = client.post(OFFERS, content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert (market.submissions_on_log(), _keys(market)) == (before, keys)


BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("unknown eligible PoD", make_request_body(eligible_pods=["POD-999999"]), 422,
     "UNKNOWN_POD", "eligible_pods.0"),
    ("PoD not under the feeder", make_request_body(eligible_pods=["POD-000003"]), 422,
     "POD_NOT_UNDER_LOCATION", "eligible_pods.0"),
    ("unknown PoM", make_request_body(role="TSO", requester_id="TSO-1", eligible_pods=[],
                                      location={"kind": "pom", "id": "PS-404"}), 422,
     "UNKNOWN_POM", "location.id"),
    ("zero quantity", make_request_body(quantities=[{"mtu": 70, "quantity": 0}]), 422,
     "INVALID_REQUEST", "quantities.0.quantity"),
    ("MTU outside the session", make_request_body(quantities=[{"mtu": 97, "quantity": 1}]),
     422, "MTU_OUTSIDE_SESSION", "quantities.0.mtu"),
    ("requester id that cannot name a topic", make_request_body(requester_id="DSO:1"), 422,
     "INVALID_REQUEST", "requester_id"),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "field"), BAD_REQUESTS,
                         ids=[c[0] for c in BAD_REQUESTS])
def test_fr_mp_fs_1_bad_requests_get_a_4xx_naming_the_field_and_write_nothing(
        market: Market, client: TestClient, case: str, body: dict[str, Any], status: int,
        code: str, field: str) -> None:
    before = market.submissions_on_log()
    answer = client.post(REQUESTS, json=body,
                         headers=bearer(body["requester_id"], body["role"].lower()))
    assert answer.status_code == status, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert market.submissions_on_log() == before


def test_fr_mp_fs_1_offer_after_gate_closure_gets_409_and_writes_nothing(
        market: Market, client: TestClient, clock: ManualClock) -> None:
    clock.set(DA_CLOSED_AT)
    before = market.submissions_on_log()
    answer = client.post(OFFERS, json=make_offer_body())
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["field"]) == ("OFFER_AFTER_GATE_CLOSURE",
                                                              "session_id")
    assert client.post(REQUESTS, json=make_request_body(), headers=as_dso()).json()["code"] == (
        "REQUEST_AFTER_GATE_CLOSURE")
    assert market.submissions_on_log() == before


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/v1/sessions/DA-2026-02-30/offers", 404, "UNKNOWN_SESSION"),
    ("/v1/sessions/nonsense/offers", 422, "INVALID_REQUEST"),
])
def test_offers_to_a_session_not_in_the_calendar_are_refused(
        client: TestClient, path: str, status: int, code: str) -> None:
    answer = client.post(path, json=make_offer_body())
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_withdrawal_by_the_owner_only_and_once(market: Market, client: TestClient) -> None:
    offer_id = client.post(OFFERS, json=make_offer_body()).json()["id"]
    market.wait_until(select(func.count()).select_from(FlexOfferRow).where(
        FlexOfferRow.offer_id == offer_id), 1, "offer projected")
    stranger = client.post(f"/v1/offers/{offer_id}/withdrawal", json={"aggregator_id": "AGG-2"},
                           headers=as_aggregator("AGG-2"))
    assert (stranger.status_code, stranger.json()["code"]) == (403, "NOT_THE_AGGREGATOR")
    posing = client.post(f"/v1/offers/{offer_id}/withdrawal", json={"aggregator_id": "AGG-2"})
    assert (posing.status_code, posing.json()["code"]) == (403, "NOT_YOURS")
    owner = client.post(f"/v1/offers/{offer_id}/withdrawal", json={"aggregator_id": "AGG-1"})
    assert owner.status_code == 201
    market.wait_until(select(FlexOfferRow.withdrawn).where(FlexOfferRow.offer_id == offer_id),
                      True, "withdrawal projected")
    again = client.post(f"/v1/offers/{offer_id}/withdrawal", json={"aggregator_id": "AGG-1"})
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_WITHDRAWN")
    unknown = client.post("/v1/offers/nope/withdrawal", json={"aggregator_id": "AGG-1"})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "offer_id")


def test_sessions_of_a_day_with_their_state(client: TestClient) -> None:
    day = client.get("/v1/sessions", params={"delivery_day": "2026-06-10"}).json()
    assert day["count"] == 7
    states = {s["session_id"]: s["state"] for s in day["items"]}
    assert states[DA_SESSION] == "open" and states["RT-2026-06-10-0"] == "scheduled"
    spring = client.get("/v1/sessions/DA-2026-03-29").json()
    assert (spring["mtu_count"], spring["state"]) == (92, "closed")
    assert client.get("/v1/sessions/DA-2026-13-01").status_code == 404


def test_registry_reads_each_aggregator_its_own_the_dso_all(client: TestClient) -> None:
    pods = client.get("/v1/pods", params={"aggregator_id": "AGG-1"}).json()
    assert pods["total"] == 3
    assert client.get("/v1/pods").json()["total"] == 3
    assert client.get("/v1/pods", headers=as_dso()).json()["total"] == 4
    assert client.get("/v1/pods/POD-000004", headers=as_dso()).json()["up_p_kw"] == 50.0
    other = client.get("/v1/pods/POD-000004")
    assert (other.status_code, other.json()["code"]) == (403, "NOT_YOURS")
    assert client.get("/v1/pods", params={"aggregator_id": "AGG-2"}).status_code == 403
    # An unknown PoD is a 404 only to whom may read any PoD: others learn nothing.
    assert client.get("/v1/pods/POD-404", headers=as_dso()).status_code == 404
    assert client.get("/v1/pods/POD-404").status_code == 403
    assert client.get(f"/v1/sessions/{DA_SESSION}/outcomes/market",
                      headers=as_dso()).json()["code"] == "NO_OUTCOME_YET"


JSONISH = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(make_offer_body())), value=JSONISH)
def test_no_offer_body_produces_a_500(client: TestClient, field: str, value: Any) -> None:
    """Any value in any field: a 2xx or a 4xx naming a field, never a 5xx. The body is
    encoded here, not by the client, so NaN and Infinity literals reach the server too."""
    body = json.dumps({**make_offer_body(), field: value}, allow_nan=True)
    answer = client.post(OFFERS, content=body, headers={"content-type": "application/json"})
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["field"]




def test_a_body_that_cannot_be_parsed_is_a_422_naming_the_body(client: TestClient) -> None:
    """Found by schemathesis (issue 7): bytes that are not UTF-8 made FastAPI answer its
    own 400 ``{"detail": …}``, a status and body the document does not declare."""
    answer = client.post(OFFERS, content=b"\xff\xfe\x00garbage",
                         headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
        422, "INVALID_REQUEST", "body")
    missing = client.get("/v1/no-such-thing")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
