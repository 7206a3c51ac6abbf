"""Issue 7's authorisation matrix, generated from the OpenAPI document: every operation ×
every role × own or another participant's records → the status its ``x-roles`` implies.

- no token → 401; a role the operation does not declare → 403 ``ROLE_NOT_ALLOWED``;
- a declared role on its own records → 2xx;
- on another participant's records → 403 ``NOT_YOURS`` for an ``own`` scope, 2xx for
  ``any`` (the DSO reads any PoD of its grid).

``CALLS`` says how to call each operation for a tenant; the test fails when an operation
of the document has no entry (no endpoint left undeclared) or an entry has no operation.
The world it calls into is real: the API in process, its writes on Kafka, a worker
projecting and anchoring them on an anvil of its own (``api_world``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from fastapi.testclient import TestClient

from ledger.auth.tokens import Keyring, SigningKey
from ledger.settings import Settings
from market.api.app import create_app
from tests.auth import bearer, token
from tests.builders import (
    DA_SESSION,
    make_max_flexibility,
    make_offer_body,
    make_request_body,
)
from tests.integration.api_world import (
    DELIVERY_DAY,
    EVENTS,
    OTHER,
    OWN,
    ROLES,
    SESSION,
    Tenant,
    api_world,
    pod_body,
)
from tests.uftp_samples import offer_xml, request_xml

pytestmark = [pytest.mark.integration, pytest.mark.slow]



@dataclass(frozen=True)
class Call:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: Any = None
    xml: str | None = None  # a USEF/UFTP message


# How to call each operation as participant ``me`` (of role ``role``) on the records of
# tenant ``t``; ``fresh`` is unique per call, for writes that must not collide.
Build = Callable[[Tenant, str, str], Call]


def _slots() -> list[dict[str, float]]:
    return [{"mtu": m, "p_kw": 3.0, "q_kvar": 0.5} for m in range(96)]


def _owner(t: Tenant, role: str) -> str:
    """Whose id a call names: the caller's role's participant in tenant ``t``."""
    return t.ids[role]


def _uftp_message(t: Tenant, role: str, fresh: str) -> str:
    """A UFTP message of the role's participant in tenant ``t`` (its default domain): an
    aggregator's FlexOffer for its PoD, a DSO's FlexRequest at feeder PS-1-F1, a TSO's at
    PoM PS-1; a new MessageID per call."""
    domain, message_id = f"{_owner(t, role).lower()}.flexmarket.local", str(uuid5(
        NAMESPACE_URL, f"matrix:{fresh}"))
    if role == "aggregator":
        return offer_xml(domain, t.pod, message_id)
    return request_xml(domain, "mv_feeder/PS-1-F1" if role == "dso" else "pom/PS-1",
                       message_id)


CALLS: dict[tuple[str, str], Build] = {
    ("GET", "/v1/sessions"): lambda t, role, fresh: Call(
        "GET", "/v1/sessions", {"delivery_day": DELIVERY_DAY.isoformat()}),
    ("GET", "/v1/sessions/{session_id}"): lambda t, role, fresh: Call("GET", SESSION),
    ("POST", "/v1/sessions/{session_id}/requests"): lambda t, role, fresh: Call(
        "POST", f"{SESSION}/requests", json=make_request_body(
            requester_id=_owner(t, role), role=role.upper())
        if role == "dso" else make_request_body(
            requester_id=_owner(t, role), role=role.upper(),
            location={"kind": "pom", "id": "PS-1"}, eligible_pods=[])),
    ("GET", "/v1/sessions/{session_id}/requests"): lambda t, role, fresh: Call(
        "GET", f"{SESSION}/requests"),
    ("POST", "/v1/requests/{request_id}/withdrawal"): lambda t, role, fresh: Call(
        "POST", f"/v1/requests/{t.request if role == 'dso' else t.tso_request}/withdrawal",
        json={"requester_id": _owner(t, role)}),
    ("GET", "/v1/requests/{request_id}"): lambda t, role, fresh: Call(
        "GET", f"/v1/requests/{OWN.request}"),
    ("POST", "/v1/sessions/{session_id}/offers"): lambda t, role, fresh: Call(
        "POST", f"{SESSION}/offers", json=make_offer_body(
            aggregator_id=t.ids["aggregator"], pod_id=t.pod)),
    ("GET", "/v1/sessions/{session_id}/offers"): lambda t, role, fresh: Call(
        "GET", f"{SESSION}/offers", {"aggregator_id": t.ids["aggregator"]}),
    ("POST", "/v1/offers/{offer_id}/withdrawal"): lambda t, role, fresh: Call(
        "POST", f"/v1/offers/{t.offer}/withdrawal",
        json={"aggregator_id": t.ids["aggregator"]}),
    ("GET", "/v1/offers/{offer_id}"): lambda t, role, fresh: Call(
        "GET", f"/v1/offers/{t.offer}"),
    ("GET", "/v1/sessions/{session_id}/outcomes/{stage}"): lambda t, role, fresh: Call(
        "GET", f"{SESSION}/outcomes/validated"),
    ("GET", "/v1/sessions/{session_id}/results/{participant_id}"):
        lambda t, role, fresh: Call("GET", f"{SESSION}/results/{_owner(t, role)}"),
    ("GET", "/v1/pods"): lambda t, role, fresh: Call(
        "GET", "/v1/pods", {"aggregator_id": t.ids["aggregator"]}),
    ("GET", "/v1/pods/{pod_id}"): lambda t, role, fresh: Call("GET", f"/v1/pods/{t.pod}"),
    ("POST", "/v1/scd/pods"): lambda t, role, fresh: Call(
        "POST", "/v1/scd/pods", json=pod_body(t, fresh)),
    ("PUT", "/v1/scd/pods/{pod_id}"): lambda t, role, fresh: Call(
        "PUT", f"/v1/scd/pods/{t.pod}", json={
            "aggregator_id": t.ids["aggregator"], "flexibility_type": "continuous",
            "max_flexibility": make_max_flexibility().model_dump()}),
    ("POST", "/v1/scd/pods/{pod_id}/unregistration"): lambda t, role, fresh: Call(
        "POST", f"/v1/scd/pods/{'POD-M-LEAVING' if t is OWN else t.pod}/unregistration",
        json={"aggregator_id": t.ids["aggregator"], "reason": "the customer moved"}),
    ("PUT", "/v1/scd/pods/{pod_id}/light-node"): lambda t, role, fresh: Call(
        "PUT", f"/v1/scd/pods/{t.pod}/light-node",
        json={"aggregator_id": t.ids["aggregator"], "node_address": "0x" + "ab" * 20}),
    ("PUT", "/v1/scd/pods/{pod_id}/baselines/{delivery_day}"): lambda t, role, fresh: Call(
        "PUT", f"/v1/scd/pods/{t.pod}/baselines/{DELIVERY_DAY}",
        json={"aggregator_id": t.ids["aggregator"], "slots": _slots()}),
    ("GET", "/v1/scd/pods/{pod_id}/baselines/{delivery_day}"): lambda t, role, fresh: Call(
        "GET", f"/v1/scd/pods/{t.pod}/baselines/{DELIVERY_DAY}"),
    ("POST", "/v1/scd/pods/{pod_id}/baselines/{delivery_day}/computation"):
        lambda t, role, fresh: Call(
            "POST", f"/v1/scd/pods/{t.pod}/baselines/{DELIVERY_DAY}/computation",
            json={"aggregator_id": t.ids["aggregator"], "method": "high_x_of_y", "x": 1,
                  "y": 1}),
    ("GET", "/v1/scd/pods/{pod_id}/readings"): lambda t, role, fresh: Call(
        "GET", f"/v1/scd/pods/{t.pod}/readings",
        {"from": "2026-06-09T08:00:00Z", "to": "2026-06-09T09:00:00Z"}),
    ("GET", "/v1/scd/aggregators/{aggregator_id}/quarter-hours/{interval_start}"):
        lambda t, role, fresh: Call(
            "GET", f"/v1/scd/aggregators/{t.ids['aggregator']}/quarter-hours/"
                   "2026-06-09T08:00:00Z"),
    ("GET", "/v1/scd/pods/{pod_id}/setpoints"): lambda t, role, fresh: Call(
        "GET", f"/v1/scd/pods/{t.pod}/setpoints", {"delivery_day": DELIVERY_DAY.isoformat()}),
    ("PUT", "/v1/aggregators/{aggregator_id}/pods/{pod_id}/offer-terms"):
        lambda t, role, fresh: Call(
            "PUT", f"/v1/aggregators/{t.ids['aggregator']}/pods/{t.pod}/offer-terms",
            json={"enabled": True,
                  "cost_curve": [{"share": 1.0, "price_eur_per_mwh": 90.0}]}),
    ("POST", "/v1/settlement-mechanisms"): lambda t, role, fresh: Call(
        "POST", "/v1/settlement-mechanisms", json={
            "mechanism_id": f"MECH-{fresh}", "aggregator_id": t.ids["aggregator"],
            "revenue_share_pct": 50}),
    ("GET", "/v1/settlement-mechanisms"): lambda t, role, fresh: Call(
        "GET", "/v1/settlement-mechanisms", {"aggregator_id": t.ids["aggregator"]}),
    ("POST", "/v1/fundings"): lambda t, role, fresh: Call(
        "POST", "/v1/fundings", json={"funding_id": f"FUND-{fresh}",
                                      "operator_id": _owner(t, role), "amount_cents": 100}),
    ("GET", "/v1/participants/{participant_id}/settlements"): lambda t, role, fresh: Call(
        "GET", f"/v1/participants/{_owner(t, role)}/settlements",
        {"day": DELIVERY_DAY.isoformat()}),
    ("GET", "/v1/wallets/{participant_id}"): lambda t, role, fresh: Call(
        "GET", f"/v1/wallets/{_owner(t, role)}"),
    ("GET", "/v1/kpis/end-of-day"): lambda t, role, fresh: Call(
        "GET", "/v1/kpis/end-of-day", {"delivery_day": DELIVERY_DAY.isoformat()}),
    ("GET", "/v1/dso/grid"): lambda t, role, fresh: Call("GET", "/v1/dso/grid"),
    ("GET", "/v1/dso/state"): lambda t, role, fresh: Call(
        "GET", "/v1/dso/state", {"at": "2026-06-09T08:00:00+00:00"}),
    ("GET", "/v1/dso/sessions/{session_id}/grid-picture"): lambda t, role, fresh: Call(
        "GET", f"/v1/dso/sessions/{DA_SESSION}/grid-picture", {"mtu": 70}),
    ("GET", "/v1/dso/kpis/forecast-reliability"): lambda t, role, fresh: Call(
        "GET", "/v1/dso/kpis/forecast-reliability", {"delivery_day": "2026-06-09"}),
    ("GET", "/audit/events/{event_id}/proof"): lambda t, role, fresh: Call(
        "GET", f"/audit/events/{_event_of(t, role)}/proof"),
    ("GET", "/audit/batches"): lambda t, role, fresh: Call("GET", "/audit/batches"),
    ("POST", "/v1/uftp/messages"): lambda t, role, fresh: Call(
        "POST", "/v1/uftp/messages", xml=_uftp_message(t, role, fresh)),
    ("GET", "/v1/uftp/offers/{offer_id}"): lambda t, role, fresh: Call(
        "GET", f"/v1/uftp/offers/{t.offer}"),
    ("GET", "/v1/uftp/requests/{request_id}"): lambda t, role, fresh: Call(
        "GET", f"/v1/uftp/requests/{OWN.request}"),
    ("GET", "/v1/uftp/sessions/{session_id}/orders/{participant_id}"):
        lambda t, role, fresh: Call(
            "GET", f"/v1/uftp/sessions/{DA_SESSION}/orders/{_owner(t, role)}"),
}

# Operations with no tenant: everyone allowed reads the same thing.
SHARED = {("GET", "/v1/sessions"), ("GET", "/v1/sessions/{session_id}"),
          ("GET", "/v1/sessions/{session_id}/requests"), ("GET", "/v1/requests/{request_id}"),
          ("GET", "/v1/sessions/{session_id}/outcomes/{stage}"),
          ("GET", "/v1/kpis/end-of-day"), ("GET", "/v1/dso/grid"), ("GET", "/v1/dso/state"),
          ("GET", "/v1/dso/sessions/{session_id}/grid-picture"),
          ("GET", "/v1/dso/kpis/forecast-reliability"), ("GET", "/audit/batches"),
          ("GET", "/v1/uftp/requests/{request_id}")}
# Destructive own writes run once, by the first role allowed: a second would be a 409.
ONCE = {("POST", "/v1/requests/{request_id}/withdrawal"),
        ("POST", "/v1/offers/{offer_id}/withdrawal"),
        ("POST", "/v1/scd/pods/{pod_id}/unregistration")}


def _event_of(t: Tenant, role: str) -> str:
    """An anchored event the caller published: its offer, request or the TSO's; any
    other role (auditor, admin) reads the offer's."""
    return EVENTS.get((role, "own" if t is OWN else "other")) or EVENTS[("aggregator", "own")]


DOCUMENT = create_app().openapi()
OPERATIONS = sorted((method.upper(), path) for path, item in DOCUMENT["paths"].items()
                    for method in item if not item[method].get("x-public"))


def test_every_operation_of_the_document_has_a_call_in_the_matrix() -> None:
    """No endpoint left undeclared: the matrix covers the OpenAPI document exactly."""
    assert sorted(CALLS) == OPERATIONS


@pytest.fixture(scope="module")
def world(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with api_world(stack, tmp_path_factory.mktemp("matrix")) as client:
        yield client


def _declared(method: str, path: str) -> dict[str, str]:
    return DOCUMENT["paths"][path][method.lower()]["x-roles"]  # type: ignore[no-any-return]


def _send(client: TestClient, call: Call, headers: dict[str, str]) -> Any:
    if call.xml is not None:
        return client.request(call.method, call.url, params=call.params, content=call.xml,
                              headers={**headers, "Content-Type": "application/xml"})
    return client.request(call.method, call.url, params=call.params, json=call.json,
                          headers=headers)


CASES = [(method, path, role) for method, path in OPERATIONS for role in ROLES]


@pytest.mark.parametrize(("method", "path", "role"), CASES,
                         ids=[f"{m} {p} as {r}" for m, p, r in CASES])
def test_authorisation_matrix(world: TestClient, method: str, path: str, role: str) -> None:
    """Issue 7: the operation answers ``role`` as its ``x-roles`` declare, for the
    caller's own records and another participant's, and 401 without a token."""
    declared = _declared(method, path)
    build = CALLS[(method, path)]
    me = OWN.ids[role]
    fresh = f"{role}-{CASES.index((method, path, role))}"
    own, other = OWN, OTHER
    anonymous = _send(world, build(own, role if role in declared else "aggregator", fresh),
                      {"Authorization": ""})
    assert anonymous.status_code == 401, anonymous.text
    if role not in declared:
        answer = _send(world, build(own, "aggregator", fresh), bearer(me, role))
        assert (answer.status_code, answer.json()["code"]) == (403, "ROLE_NOT_ALLOWED")
        return
    if (method, path) in ONCE and role != next(iter(declared)):
        return
    answer = _send(world, build(own, role, fresh), bearer(me, role))
    assert 200 <= answer.status_code < 300, (answer.status_code, answer.text)
    if (method, path) in SHARED:
        return
    answer = _send(world, build(other, role, fresh + "-x"), bearer(me, role))
    if declared[role] == "own":
        assert (answer.status_code, answer.json()["code"]) == (403, "NOT_YOURS"), answer.text
    else:
        assert 200 <= answer.status_code < 300, (answer.status_code, answer.text)


def test_a_token_of_a_past_day_or_another_key_is_refused_everywhere(world: TestClient) -> None:
    """Issue 7: signed JWT with expiry — an expired token, or one signed by a key the API
    does not hold, is a 401 on every operation."""
    stranger = Keyring((SigningKey("test-1", b"x" * 40),))
    expired = token("ADMIN-1", "market_admin", ttl=timedelta(seconds=-1))
    forged = token("ADMIN-1", "market_admin", keyring=stranger)
    for method, path in OPERATIONS:
        call = CALLS[(method, path)](OWN, "aggregator", "refused")
        for bad in (expired, forged):
            answer = _send(world, call, {"Authorization": f"Bearer {bad}"})
            assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_TOKEN"), path
