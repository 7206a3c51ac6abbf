"""``GET /v1/dso/state`` on the real stack (Platone A.3.1 grid state estimation): from the
latest certified readings in the shared customer database, a PoD that withdraws far more
than its typical profile moves the estimate at its bus; without fresh readings the
estimate is the forecast alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from access_layer.store.models import MeterReadingRow
from ledger.catalog import new_event
from ledger.settings import Settings
from tests.auth import as_dso
from tests.builders import make_reading
from tests.integration.market.harness import Market, running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
LATEST = datetime(2026, 6, 10, 16, 45, tzinfo=UTC)  # a Wednesday, 18:45 in Rome
AT = LATEST + timedelta(minutes=22)


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("state")) as running:
        # POD-000001 (bus 5 of CIGRE MV) drew 1 kW at this quarter-hour on the two days
        # before, and 300 kW now.
        history = [make_reading("POD-000001", LATEST - timedelta(days=d), 1.0) for d in (1, 2)]
        publish(running.settings, [new_event(r, actor="BAL") for r in
                                   [*history, make_reading("POD-000001", LATEST, 300.0)]])
        running.wait_until(select(func.count()).select_from(MeterReadingRow), 3,
                           "readings projected")
        yield running


def _state(client: TestClient, at: datetime) -> dict:  # type: ignore[type-arg]
    answer = client.get("/v1/dso/state", params={"at": at.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_metered_deviation_moves_the_estimate_at_its_bus(market: Market) -> None:
    with market.client(headers=as_dso()) as client:
        now = _state(client, AT)
        stale = _state(client, AT + timedelta(hours=2))  # no reading is fresh any more
    assert now["grid"] == "cigre_mv" and now["converged"]
    assert now["metered_pods"] == 1 and now["measured_buses"] == 1
    bus5 = {b["bus"]: b for b in now["buses"]}[5]
    assert bus5["measured"] and bus5["grid_point"] == "SS-5"
    assert stale["metered_pods"] == 0 and stale["measured_buses"] == 0
    # A week before, same weekday and quarter-hour, nothing was metered: the forecast
    # alone. Now the readings, 300 kW against a 1 kW profile, add about 0.3 MW at bus 5.
    with market.client(headers=as_dso()) as client:
        baseline = client.get("/v1/dso/state", params={
            "at": (AT - timedelta(days=7)).isoformat()}).json()
    forecast_only = {b["bus"]: b for b in baseline["buses"]}[5]
    assert bus5["p_mw"] - forecast_only["p_mw"] == pytest.approx(0.299, abs=0.03)
    assert bus5["vm_pu"] < forecast_only["vm_pu"]


def test_bad_input_is_a_4xx_naming_the_field(market: Market) -> None:
    with market.client(headers=as_dso()) as client:
        answers = [client.get("/v1/dso/state", params={"at": at}) for at in (
            "2026-06-10T17:00:00", "yesterday", "1500-01-01T00:00:00Z",
            "9999-12-31T23:00:00Z")]
        day = client.get("/v1/dso/kpis/forecast-reliability",
                         params={"delivery_day": "0001-01-01"})
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "at"
    assert (day.status_code, day.json()["field"]) == (422, "delivery_day")


def test_kpi_it_02_and_kpi_it_03_of_the_day_from_the_readings(market: Market) -> None:
    """One reading on the day, 300 kW against a 1 kW weekday profile: |300 − 1| / 300. The
    4-hour forecast had no reading 4 hours before to start from: excluded, counted."""
    with market.client(headers=as_dso()) as client:
        answer = client.get("/v1/dso/kpis/forecast-reliability",
                            params={"delivery_day": "2026-06-10"})
        bad = client.get("/v1/dso/kpis/forecast-reliability",
                         params={"delivery_day": "2026-13-40"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    day_ahead = report["kpi_it_02"]["next_24h"]
    assert day_ahead["value_pct"] == pytest.approx(100 * 299 / 300)
    assert (day_ahead["terms"], day_ahead["target_pct"], day_ahead["met"]) == (1, 25.0, False)
    assert report["kpi_it_02"]["next_4h"]["value_pct"] is None
    assert report["kpi_it_02"]["next_4h"]["excluded_terms"] == 1
    grid = report["kpi_it_03"]["next_24h"]
    assert grid["secondary_substation"]["value_pct"] == pytest.approx(100 * 299 / 300)
    assert grid["primary_substation"]["target_pct"] == 30.0
    assert bad.status_code == 422 and bad.json()["field"] == "delivery_day"


def test_the_grid_points_aggregators_register_pods_under(market: Market) -> None:
    with market.client(headers=as_dso()) as client:
        answer = client.get("/v1/dso/grid")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    points = {p["point_id"]: p for p in body["points"]}
    assert body["grid"] == "cigre_mv"
    assert points["PS-1"]["kind"] == "primary_substation" and points["PS-1"]["parent"] is None
    assert points["PS-1-F2"]["parent"] == "PS-1"
    assert points["SS-13"] == {"point_id": "SS-13", "kind": "secondary_substation",
                               "parent": "PS-1-F2", "buses": 1}
    assert [p["kind"] for p in body["points"]][:2] == ["primary_substation", "mv_feeder"]
