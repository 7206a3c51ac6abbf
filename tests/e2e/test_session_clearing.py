"""A day-ahead session end to end on the real stack, on a simulated clock: requests and
offers over REST, gate closure by the scheduler, NSGA-II clearing, a technical validation,
final clearing and the per-participant results topics (FR_MP_FS_1/3/4/5, FR_MP_I_1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.envelope import parse_event
from ledger.kafka_log import end_offsets, read_partitions
from ledger.settings import Settings
from ledger.topics import topic_name
from market.store.models import OutcomeRow
from tests.auth import as_aggregator, as_dso, bearer
from tests.builders import DA_CLOSED_AT, DA_SESSION, make_offer_body, make_request_body
from tests.integration.market.harness import Market, running_market

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# Simulated time runs 4x: the gate closes 30 real seconds after the worker starts.
SPEED = 4.0
LEAD = timedelta(seconds=120)


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("session"), clock="simulated",
                        clock_start=DA_CLOSED_AT - LEAD, clock_anchor=datetime.now(UTC),
                        clock_speed=SPEED, clearing_engine="nsga2",
                        clearing_settle_seconds=1.0) as running:
        yield running


def _outcome(market: Market, stage: str) -> OutcomeRow | None:
    with market.engine.connect() as conn:
        return conn.execute(select(OutcomeRow).where(OutcomeRow.session_id == DA_SESSION,
                                                     OutcomeRow.stage == stage)).first()


def test_fr_mp_fs_3_dso_request_is_served_before_the_tso_request_end_to_end(
        market: Market) -> None:
    """One offer wanted by a DSO and a TSO request goes to the DSO; the TSO gets the next
    offer; the DSO platform validates the outcome by power flow (FR_DTP_ATV_1/2), and each
    participant receives its share."""
    offers = f"/v1/sessions/{DA_SESSION}/offers"
    requests = f"/v1/sessions/{DA_SESSION}/requests"
    mtu70 = [{"mtu": 70, "quantity": 4.0}]
    tso_token = bearer("TSO-1", "tso")
    with market.client(headers=tso_token) as client:
        posted = [
            client.post(requests, json=make_request_body(quantities=mtu70,
                                                         eligible_pods=["POD-000001"]),
                        headers=as_dso()),
            client.post(requests, json=make_request_body(
                requester_id="TSO-1", role="TSO", location={"kind": "pom", "id": "PS-1"},
                eligible_pods=[], quantities=mtu70)),
            client.post(offers, json=make_offer_body(steps=[
                {"mtu": 70, "quantity": 4.0, "price_eur_per_mwh": 100.0}]),
                        headers=as_aggregator("AGG-1")),
            client.post(offers, json=make_offer_body(
                aggregator_id="AGG-2", pod_id="POD-000004",
                steps=[{"mtu": 70, "quantity": 3.0, "price_eur_per_mwh": 200.0}]),
                        headers=as_aggregator("AGG-2")),
        ]
        assert [p.status_code for p in posted] == [201] * 4, [p.text for p in posted]
        dso_id, tso_id = posted[0].json()["id"], posted[1].json()["id"]

        market.worker.wait_until(lambda: _outcome(market, "market") is not None,
                                 what="the market outcome", timeout_s=120)
        cleared = _outcome(market, "market")
        assert cleared is not None
        awards = {(a["request_id"], a["pod_id"]): a["quantity"]
                  for a in cleared.payload["awards"]}
        assert awards == {(dso_id, "POD-000001"): 4.0, (tso_id, "POD-000004"): 3.0}
        assert cleared.payload["engine"] == "nsga2"
        assert cleared.payload["unserved"] == [{"request_id": tso_id, "mtu": 70,
                                                "quantity": 1.0}]
        assert len(cleared.payload["pareto_front"]) >= 1
        session = client.get(f"/v1/sessions/{DA_SESSION}").json()
        assert session["state"] == "closed"
        assert session["outcomes"]["market"] == cleared.event_id

        # The DSO platform checks the outcome against its grid (CIGRE MV): a few kW at
        # the evening peak cause no violation, so every award passes (FR_DTP_ATV_2).
        market.worker.wait_until(lambda: _outcome(market, "validated") is not None,
                                 what="the validated outcome", timeout_s=60)
        technical = _outcome(market, "technical")
        assert technical is not None
        assert technical.market_outcome_event_id == cleared.event_id
        assert technical.payload["grid"] == "cigre_mv"
        assert technical.payload["non_converged_mtus"] == []
        assert {v["status"] for v in technical.payload["verdicts"]} == {"accepted"}
        assert technical.payload["statistics"]["power_flows"] >= 2
        tso = client.get(f"/v1/sessions/{DA_SESSION}/results/TSO-1").json()
        assert [(a["quantity"], a["status"]) for a in tso["awards"]] == [(3.0, "accepted")]
        assert tso["total_value_cents"] == 15  # 3 kW · 0.25 h · 200 €/MWh = 0.15 €

    # Final clearing publishes each participant's copy after the validated outcome: wait
    # for it on the participant's topic rather than assume it is there already.
    topic = topic_name(market.settings, "results.AGG-2")
    market.worker.wait_until(lambda: sum(end_offsets(market.settings, [topic]).values()) > 0,
                             what="AGG-2's results", timeout_s=30)
    ends = end_offsets(market.settings, [topic])
    delivered = [parse_event(r.value or b"") for r in read_partitions(
        market.settings, {k: (0, end) for k, end in ends.items()})]
    assert [e.type for e in delivered] == ["ParticipantResultsPublished"]
    assert [a["pod_id"] for a in delivered[0].payload["awards"]] == ["POD-000004"]

