"""A world for tests that call every operation of the API: two tenants (own and other)
with a participant of each role, their records projected, and the API on a clock where
the day-ahead gate is open (the authorisation matrix, schemathesis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import AnchorBatchRow, EventRow
from ledger.worker_process import free_port
from market.api.app import create_app
from market.domain.clock import ManualClock
from market.store.models import FlexOfferRow, FlexRequestRow
from tests.auth import bearer
from tests.builders import (
    DA_OPEN_AT,
    DA_SESSION,
    make_baseline,
    make_location,
    make_max_flexibility,
    make_offer_body,
    make_offer_submitted,
    make_reading,
    make_request_body,
    make_validated_award,
    make_validated_outcome,
)
from tests.integration.anchoring_harness import running_chain
from tests.integration.market.harness import running_market
from tests.integration.projection_harness import publish

ROLES = ("dso", "tso", "aggregator", "customer", "auditor", "market_admin")
DELIVERY_DAY = date(2026, 6, 10)
HISTORY_START = datetime(2026, 6, 2, 22, 0, tzinfo=UTC)  # 3 June, midnight in Rome
SESSION = f"/v1/sessions/{DA_SESSION}"


@dataclass
class Tenant:
    """The ids of one participant of each role, in the harness's registry (PODS), and the
    offer and requests the world fixture submits for them."""

    ids: dict[str, str]  # role → participant id
    pod: str  # a PoD of the aggregator, whose customer is ids["customer"]
    offer: str = ""
    request: str = ""
    tso_request: str = ""


OWN = Tenant({"dso": "DSO-1", "tso": "TSO-1", "aggregator": "AGG-1", "customer": "CUST-1",
              "auditor": "AUDITOR-1", "market_admin": "ADMIN-1"}, pod="POD-000001")
OTHER = Tenant({"dso": "DSO-2", "tso": "TSO-2", "aggregator": "AGG-2", "customer": "CUST-4",
                "auditor": "AUDITOR-2", "market_admin": "ADMIN-2"}, pod="POD-000004")


EVENTS: dict[tuple[str, str], str] = {}
"""(role, "own" or "other") → the id of an event that participant published."""


def pod_body(t: Tenant, fresh: str) -> dict[str, Any]:
    return {"pod_id": f"POD-M-{fresh}", "aggregator_id": t.ids["aggregator"],
            "customer_id": f"CUST-M-{fresh}", "location": make_location().model_dump(),
            "max_flexibility": make_max_flexibility().model_dump()}


@contextmanager
def api_world(stack: Settings, tmp: Path) -> Iterator[TestClient]:
    """The API in process on the DA session's open gate, over the harness's PoDs (PODS),
    with an offer and requests of each tenant, a validated outcome and its offer,
    baselines, a week of readings and a PoD to unregister, all projected, and the
    submissions anchored on an anvil of its own."""
    port = free_port()
    chain = {"var_dir": tmp / "var", "anvil_port": port,
             "chain_url": f"http://127.0.0.1:{port}"}
    with running_chain(stack.model_copy(update=chain)), \
            running_market(stack, tmp, processors="projector,anchor", **chain) as market, \
            TestClient(create_app(market.settings, clock=ManualClock(DA_OPEN_AT)),
                       raise_server_exceptions=False) as client:
        award = make_validated_award()
        publish(market.settings, [
            new_event(make_validated_outcome((award,)), actor="MARKET"),
            # The offer the outcome's award is of (its FlexOrder repeats the offer).
            new_event(make_offer_submitted(), actor="AGG-1"),
            new_event(make_baseline(DELIVERY_DAY), actor="AGG-1"),
            new_event(make_baseline(DELIVERY_DAY, pod_id="POD-000004",
                                    aggregator_id="AGG-2"), actor="AGG-2"),
            # A week of POD-000001's readings: the history a computed baseline needs.
            *(new_event(make_reading("POD-000001", HISTORY_START + timedelta(minutes=15 * q),
                                     2.0), actor="BAL") for q in range(7 * 96))])
        leaving = client.post("/v1/scd/pods", json=pod_body(OWN, "LEAVING"),
                              headers=bearer("AGG-1", "aggregator"))
        assert leaving.status_code == 201, leaving.text
        for tenant, name in ((OWN, "own"), (OTHER, "other")):
            offer = _post(client, f"{SESSION}/offers", make_offer_body(
                aggregator_id=tenant.ids["aggregator"], pod_id=tenant.pod), tenant, "aggregator")
            request = _post(client, f"{SESSION}/requests", make_request_body(
                requester_id=tenant.ids["dso"]), tenant, "dso")
            tso = _post(client, f"{SESSION}/requests", make_request_body(
                requester_id=tenant.ids["tso"], role="TSO",
                location={"kind": "pom", "id": "PS-1"}, eligible_pods=[]), tenant, "tso")
            for role, answer in (("aggregator", offer), ("dso", request), ("tso", tso)):
                EVENTS[(role, name)] = answer["event_id"]
            tenant.offer, tenant.request, tenant.tso_request = (
                offer["id"], request["id"], tso["id"])
        market.wait_until(select(func.count()).select_from(FlexOfferRow), 3, "offers projected")
        market.wait_until(select(func.count()).select_from(FlexRequestRow), 4,
                          "requests projected")
        anchored = select(func.count()).select_from(EventRow).join(
            AnchorBatchRow, (AnchorBatchRow.topic == EventRow.topic)
            & (AnchorBatchRow.partition == EventRow.partition)
            & (AnchorBatchRow.first_offset <= EventRow.offset)
            & (AnchorBatchRow.last_offset >= EventRow.offset)).where(
            EventRow.event_id.in_(list(EVENTS.values())))
        market.wait_until(anchored, len(EVENTS), "the submissions anchored", timeout_s=90)
        yield client


def _post(client: TestClient, url: str, body: dict[str, Any], tenant: Tenant,
          role: str) -> dict[str, Any]:
    answer = client.post(url, json=body, headers=bearer(tenant.ids[role], role))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]
