"""Issue 7: schemathesis against the full OpenAPI document — generated requests to every
operation, each with a token of a role the operation declares, get no 5xx, and every
answer conforms to the document (its status declared, its body the declared schema, its
content type the declared one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.settings import Settings
from market.api.app import create_app
from tests.auth import bearer
from tests.integration.api_world import OWN, api_world

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OPERATIONS = sorted((path, method) for path, item in create_app().openapi()["paths"].items()
                    for method in item)


@pytest.fixture(scope="module")
def api_schema(stack: Settings, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[schemathesis.BaseSchema]:
    with api_world(stack, tmp_path_factory.mktemp("schemathesis")) as client:
        yield schemathesis.openapi.from_asgi("/openapi.json", client.app)


@pytest.mark.parametrize(("path", "method"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_as_documented_and_never_5xx(
        api_schema: schemathesis.BaseSchema, path: str, method: str) -> None:
    operation = api_schema[path][method]
    roles = operation.definition.raw.get("x-roles")
    role = next(iter(roles)) if roles else None
    headers = bearer(OWN.ids[role], role) if role else {}

    # Valid requests and invalid ones (wrong types, missing fields, out-of-range values).
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
           | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(max_examples=50, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    answers_as_documented()
