"""Issue 7's load: 60 s of sustained offer submissions from a second process against the
API as served (uvicorn), with zero errors and nothing lost — every accepted offer is
projected. The figures (throughput, p50/p99) are printed here and measured against the
aim by ``bench/api_load.py``; a test asserts no timing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.api_load import drive, served_market
from ledger.settings import Settings
from tests.integration.projection_harness import isolated

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sixty_seconds_of_offers_from_a_second_process_with_zero_errors(
        stack: Settings, fresh_database_factory: Callable[[str], str],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = isolated(stack, database_url=fresh_database_factory("postgresql"),
                        var_dir=tmp_path_factory.mktemp("load"))
    with served_market(settings, pods=200) as served:
        load = drive(served.base_url, served.token, what="offers", seconds=60, rate=50,
                     concurrency=8, session_id=served.session_id, pods=served.pods)
        print(f"\n60 s of offers at 50/s aimed: {load.per_s}/s, p50 {load.p50_ms} ms, "
              f"p99 {load.p99_ms} ms, {load.errors} errors")
        assert load.errors == 0, load.statuses
        assert load.requests == load.statuses["201"] > 2000
        served.wait_projected(load.requests)
        assert served.offers_projected() == load.requests
