"""The OpenAPI document at /docs is complete: every operation declares its answer's model
and every error it may give, each as the one error body."""

from __future__ import annotations

from typing import Any

import pytest

from market.api.app import create_app

DOCUMENT = create_app().openapi()
OPERATIONS = [(path, method, op) for path, item in DOCUMENT["paths"].items()
              for method, op in item.items()]
ERROR_BODY = "#/components/schemas/ErrorBody"


def _schema_ref(response: dict[str, Any], media_type: str = "application/json") -> str | None:
    schema = response.get("content", {}).get(media_type, {}).get("schema", {})
    return schema.get("$ref")


def _answer_ref(response: dict[str, Any]) -> str | None:
    """The model of a success: JSON, or XML for the USEF/UFTP routes (docs/uftp.md)."""
    return _schema_ref(response) or _schema_ref(response, "application/xml")


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_declares_its_model_and_errors(path: str, method: str,
                                                       op: dict[str, Any]) -> None:
    responses = op["responses"]
    ok = [code for code in responses if code.startswith("2")]
    assert ok and all(_answer_ref(responses[c]) for c in ok), f"{path}: no response model"
    assert {"401", "403", "422", "503"} <= set(responses)
    errors = [code for code in responses if code[0] in "45"]
    assert all(_schema_ref(responses[c]) == ERROR_BODY for c in errors), path
    if "{" in path and method == "get":
        assert "404" in responses, f"{path} reads one thing but declares no 404"
    if method == "post" and not op.get("x-public"):
        assert {"200", "201", "409"} <= set(responses), path
    assert op.get("summary") and op.get("description"), f"{path} has no docstring"


def test_the_market_api_is_all_there() -> None:
    paths = set(DOCUMENT["paths"])
    assert {"/v1/sessions", "/v1/sessions/{session_id}", "/v1/sessions/{session_id}/requests",
            "/v1/sessions/{session_id}/offers", "/v1/requests/{request_id}/withdrawal",
            "/v1/offers/{offer_id}/withdrawal", "/v1/pods", "/v1/pods/{pod_id}",
            "/v1/sessions/{session_id}/outcomes/{stage}",
            "/v1/sessions/{session_id}/results/{participant_id}"} <= paths


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_declares_who_may_call_it(path: str, method: str,
                                                 op: dict[str, Any]) -> None:
    """Issue 7: every endpoint declares its roles (``x-roles``, role → own/any) and asks
    for a bearer token; only the token endpoint is public."""
    if op.get("x-public"):
        assert (method, path) in {("post", "/v1/auth/token"), ("get", "/v1/health")}
        return
    roles = op["x-roles"]
    assert roles and set(roles) <= {"dso", "tso", "aggregator", "customer", "auditor",
                                    "market_admin"}
    assert set(roles.values()) <= {"own", "any"}
    assert op["security"] == [{"HTTPBearer": []}]
