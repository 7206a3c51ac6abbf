"""The shared customer database, aggregator and settlement writes over REST on the real
stack: each write becomes one event, and each rule broken is a 4xx naming the field
with nothing written (Platone A.5 write policy: baselines only for days not delivered)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from aggregator.store.models import BaselineRow
from ledger.settings import Settings
from ledger.store.models import PodRow
from market.store.models import SettlementMechanismRow
from tests.auth import as_aggregator, as_dso, bearer
from tests.builders import make_location, make_max_flexibility
from tests.integration.market.harness import Market, running_market

pytestmark = pytest.mark.integration
TOMORROW = date.today() + timedelta(days=2)
AGG_1 = as_aggregator("AGG-1")
AGG_2 = as_aggregator("AGG-2")
NO_TOKEN = {"Authorization": ""}


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("scd-api"),
                        processors="projector") as running:
        yield running


@pytest.fixture
def client(market: Market) -> Iterator[TestClient]:
    with market.client(headers=AGG_1) as c:
        yield c


def _error(answer) -> tuple[int, str, str | None]:  # type: ignore[no-untyped-def]
    body = answer.json()
    return answer.status_code, body["code"], body["field"]


def _slots(n: int = 96) -> list[dict[str, float]]:
    return [{"mtu": m, "p_kw": 3.0, "q_kvar": 0.5} for m in range(n)]


def test_fr_scd_ca_1_pods_are_registered_once_per_aggregator(market: Market,
                                                            client: TestClient) -> None:
    body = {"pod_id": "POD-NEW", "aggregator_id": "AGG-1", "customer_id": "CUST-NEW",
            "location": make_location().model_dump(),
            "max_flexibility": make_max_flexibility().model_dump()}
    answer = client.post("/v1/scd/pods", json=body)
    assert answer.status_code == 201 and answer.json()["id"] == "POD-NEW"
    market.wait_until(select(func.count()).select_from(PodRow), 5, "POD-NEW projected")
    taken = client.post("/v1/scd/pods", json={**body, "aggregator_id": "AGG-2"}, headers=AGG_2)
    assert _error(taken) == (409, "POD_REGISTERED", "pod_id")
    unknown = client.post("/v1/scd/pods", json={**body, "settlement_mechanism_id": "NOPE"})
    assert _error(unknown) == (404, "UNKNOWN_MECHANISM", "settlement_mechanism_id")


def test_light_nodes_are_enrolled_by_the_pods_aggregator_only(client: TestClient) -> None:
    node = {"aggregator_id": "AGG-1", "node_address": "0x" + "Ab" * 20}
    assert client.put("/v1/scd/pods/POD-000001/light-node", json=node).status_code == 201
    other = client.put("/v1/scd/pods/POD-000001/light-node",
                       json={**node, "aggregator_id": "AGG-2"}, headers=AGG_2)
    assert _error(other) == (403, "NOT_YOUR_POD", "aggregator_id")
    posing = client.put("/v1/scd/pods/POD-000001/light-node",
                        json={**node, "aggregator_id": "AGG-2"})
    assert _error(posing) == (403, "NOT_YOURS", "aggregator_id")
    assert _error(client.put("/v1/scd/pods/POD-NONE/light-node", json=node))[:2] == (
        404, "UNKNOWN_POD")
    bad = client.put("/v1/scd/pods/POD-000001/light-node",
                     json={**node, "node_address": "0x12"})
    assert _error(bad) == (422, "INVALID_REQUEST", "node_address")


def test_fr_ap_pr_2_a_baseline_changes_only_for_a_day_not_delivered(
        market: Market, client: TestClient) -> None:
    """Tomorrow's baseline is accepted and readable by its aggregator and the DSO, not by
    another aggregator; today's cannot change any more; a wrong slot count is named."""
    url = f"/v1/scd/pods/POD-000001/baselines/{TOMORROW}"
    body = {"aggregator_id": "AGG-1", "slots": _slots()}
    assert client.put(url, json=body).status_code == 201
    today = client.put(f"/v1/scd/pods/POD-000001/baselines/{date.today()}", json=body)
    assert _error(today) == (409, "BASELINE_DAY_DELIVERED", "delivery_day")
    short = client.put(url, json={**body, "slots": _slots(95)})
    assert _error(short) == (422, "BASELINE_SLOTS", "slots")
    market.wait_until(select(func.count()).select_from(BaselineRow), 1, "baseline projected")
    assert client.get(url, headers=AGG_1).json()["method"] == "uploaded"
    assert client.get(url, headers=as_dso(market.settings.dso_id)).status_code == 200
    assert client.get(url, headers=bearer("CUST-1", "customer")).status_code == 200
    assert _error(client.get(url, headers=AGG_2)) == (403, "NOT_YOURS", "pod_id")
    assert _error(client.get(url, headers=bearer("CUST-2", "customer"))) == (
        403, "NOT_YOURS", "pod_id")
    assert _error(client.get(url, headers=NO_TOKEN)) == (
        401, "NOT_AUTHENTICATED", "Authorization")


def test_a_baseline_without_history_cannot_be_computed(client: TestClient) -> None:
    answer = client.post(f"/v1/scd/pods/POD-000002/baselines/{TOMORROW}/computation",
                         json={"aggregator_id": "AGG-1", "method": "high_x_of_y"})
    status, code, _ = _error(answer)
    assert (status, code) == (422, "BASELINE_HISTORY")


def test_fr_scd_pd_3_the_quarter_hour_packet_is_the_aggregators_own(
        client: TestClient) -> None:
    at = "2026-11-30T09:00:00Z"
    own = client.get(f"/v1/scd/aggregators/AGG-1/quarter-hours/{at}", headers=AGG_1)
    assert own.status_code == 200
    assert {p["pod_id"]: p["status"] for p in own.json()["pods"]} == {"POD-000001": "pending"}
    other = client.get(f"/v1/scd/aggregators/AGG-1/quarter-hours/{at}", headers=AGG_2)
    assert _error(other) == (403, "NOT_YOURS", "aggregator_id")


def test_fr_mp_set_1_2_mechanisms_fundings_and_offer_terms(market: Market,
                                                           client: TestClient) -> None:
    mechanism = {"mechanism_id": "MECH-A", "aggregator_id": "AGG-1",
                 "revenue_share_pct": 60}
    assert client.post("/v1/settlement-mechanisms", json=mechanism).status_code == 201
    market.wait_until(select(func.count()).select_from(SettlementMechanismRow), 1,
                      "mechanism projected")
    assert _error(client.post("/v1/settlement-mechanisms", json=mechanism)) == (
        409, "MECHANISM_EXISTS", "mechanism_id")
    listed = client.get("/v1/settlement-mechanisms", params={"aggregator_id": "AGG-1"})
    assert [m["mechanism_id"] for m in listed.json()["items"]] == ["MECH-A"]
    too_big = client.post("/v1/settlement-mechanisms", json={**mechanism, "mechanism_id": "M2",
                                                             "revenue_share_pct": 101})
    assert _error(too_big) == (422, "INVALID_REQUEST", "revenue_share_pct")

    funding = {"funding_id": "F-1", "operator_id": "DSO-1", "amount_cents": 5000}
    assert _error(client.post("/v1/fundings", json=funding)) == (
        403, "ROLE_NOT_ALLOWED", "Authorization")
    assert _error(client.post("/v1/fundings", json=funding, headers=bearer("TSO-1", "tso"))
                  ) == (403, "NOT_YOURS", "operator_id")
    assert client.post("/v1/fundings", json=funding, headers=as_dso()).status_code == 201

    terms = {"enabled": True, "cost_curve": [{"share": 0.6, "price_eur_per_mwh": 90},
                                             {"share": 1.0, "price_eur_per_mwh": 80}]}
    falling = client.put("/v1/aggregators/AGG-1/pods/POD-000001/offer-terms", json=terms,
                         headers=AGG_1)
    assert _error(falling) == (422, "COST_CURVE", "steps.1")
    terms["cost_curve"][1]["price_eur_per_mwh"] = 120
    assert client.put("/v1/aggregators/AGG-1/pods/POD-000001/offer-terms", json=terms,
                      headers=AGG_1).status_code == 201
    stranger = client.put("/v1/aggregators/AGG-1/pods/POD-000004/offer-terms", json=terms,
                          headers=AGG_1)
    assert _error(stranger) == (403, "NOT_YOUR_POD", "pod_id")
