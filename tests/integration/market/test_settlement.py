"""Settlement on the real stack (FR_MP_SET_3..7): a delivery day's validated awards,
baselines and light-node readings (one PoD's packets forged) settle into FlexToken
transfers on anvil; tokens are conserved; funding pays what was outstanding; a second
worker replaying every topic from offset 0 pays nobody twice; and the REST reads are
each participant's own.

The day: three PoDs awarded 10 kW "up" by DSO-1 in MTUs 40 and 41 (10:00–10:30 in
Rome) at 100 €/MWh, 25 cents an MTU, over a 20 kW baseline. POD-A measures 12 kW (80 %,
paid 40 cents), POD-B 14 kW (60 %: paid 30, penalised 20), POD-C's packets are forged, so
it proved nothing: 50 cents of penalty, which its aggregator AGG-2 cannot pay until it
is funded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

from access_layer.domain.events import LightNodeEnrolled, MeteringDayClosed
from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import encode_packet
from access_layer.ingest import send_packets
from access_layer.simulator import forged_packet
from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow
from ledger.worker_process import WorkerProcess
from market.api.app import create_app
from market.chain.tokens import TokenLedger
from market.domain.events import (
    FlexOfferSubmitted,
    OperatorFunded,
    PriceStep,
    SettlementMechanismCreated,
    ValidatedAward,
)
from market.domain.settlement import (
    PodAccount,
    SettledAward,
    SettlementRules,
    settle_pod,
    transfers_of,
)
from market.processors.settlement import pay_day
from market.store.models import DaySettlementRow, PodSettlementRow, TokenTransferRow
from tests.auth import as_aggregator, as_dso, bearer
from tests.builders import (
    make_baseline,
    make_pod_registered,
    make_validated_award,
    make_validated_outcome,
)
from tests.integration.anchoring_harness import anchoring_settings, running_chain
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 30)
SESSION = "DA-2026-11-30"
MTUS = (40, 41)
START = {40: datetime(2026, 11, 30, 9, 0, tzinfo=UTC), 41: datetime(2026, 11, 30, 9, 15,
                                                                    tzinfo=UTC)}
MEASURED = {"POD-A": 12.0, "POD-B": 14.0, "POD-C": 12.0}
NODES = {pod: LightNode.from_seed(f"settlement-{pod}") for pod in MEASURED}


@dataclass
class Day:
    settings: Settings
    engine: Engine
    tmp: Path

    def count(self, model) -> int:  # type: ignore[no-untyped-def]
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(model)) or 0

    def wait(self, worker: WorkerProcess, model, expected: int, what: str) -> None:  # type: ignore[no-untyped-def]
        worker.wait_until(lambda: self.count(model) >= expected, what=what, timeout_s=90)


def _award(pod: str, aggregator: str, mtu: int) -> ValidatedAward:
    return make_validated_award(award_id=f"AW-{pod}-{mtu}", offer_id=f"OFR-{pod}",
                                aggregator_id=aggregator, pod_id=pod, mtu=mtu)


def _day_log() -> list:  # type: ignore[type-arg]
    pods = [("POD-A", "AGG-1", "CUST-A", "MECH-1"), ("POD-B", "AGG-1", "CUST-B", "MECH-1"),
            ("POD-C", "AGG-2", "CUST-C", None)]
    events = [new_event(SettlementMechanismCreated(
        mechanism_id="MECH-1", aggregator_id="AGG-1", revenue_share_pct=50,
        reward_cents_per_kwh=0, penalty_pass_through_pct=100), actor="AGG-1")]
    for pod, aggregator, customer, mechanism in pods:
        events.append(new_event(make_pod_registered(
            pod_id=pod, aggregator_id=aggregator, customer_id=customer,
            settlement_mechanism_id=mechanism), actor=aggregator))
        events.append(new_event(LightNodeEnrolled(
            pod_id=pod, aggregator_id=aggregator, node_address=NODES[pod].address),
            actor=aggregator))
        events.append(new_event(make_baseline(DAY, pod_id=pod, aggregator_id=aggregator),
                                actor=aggregator))
        events.append(new_event(FlexOfferSubmitted(
            offer_id=f"OFR-{pod}", session_id=SESSION, aggregator_id=aggregator, pod_id=pod,
            quantity_type="P", direction="up",
            steps=tuple(PriceStep(mtu=m, quantity=10.0, price_eur_per_mwh=100.0)
                        for m in MTUS),
            player_service_id=f"{aggregator}::{pod}::DA::2026-11-30"), actor=aggregator))
    awards = tuple(_award(pod, aggregator, m) for pod, aggregator, _, _ in pods for m in MTUS)
    events.append(new_event(make_validated_outcome(awards, session_id=SESSION),
                            actor="flexmarket-market"))
    events.append(new_event(OperatorFunded(funding_id="F-1", operator_id="DSO-1",
                                           amount_cents=10_000), actor="DSO-1"))
    return events


def _packets() -> list[bytes]:
    packets = []
    for pod, p_kw in MEASURED.items():
        for mtu in MTUS:
            packet = NODES[pod].reading_packet(pod, START[mtu], p_kw, 1.0, p_kw / 4, 15)
            if pod == "POD-C":
                packet = forged_packet(packet.data, NODES[pod], LightNode.from_seed("forger"))
            packets.append(encode_packet(packet))
    return packets


@pytest.fixture(scope="module")
def day(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    tmp = tmp_path_factory.mktemp("settlement")
    settings = anchoring_settings(stack, tmp, processors="projector,certification,settlement")
    with running_chain(settings):
        engine = create_engine(settings.read_model_url)
        settled = Day(settings, engine, tmp)
        publish(settings, _day_log())
        send_packets(settings, _packets())
        with WorkerProcess(settings, tmp / "worker.log") as worker:
            worker.wait_until(lambda: _answered(engine) == 6, what="packets answered",
                              timeout_s=90)
            publish(settings, [new_event(MeteringDayClosed(
                delivery_day=DAY, pods=3, certified=4, missing=0, rejected=2),
                actor="flexmarket-scd")])
            settled.wait(worker, DaySettlementRow, 1, "the day settled")
            yield settled
        engine.dispose()


def _answered(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(EventRow).where(
            EventRow.type.in_(["MeterReadingCertified", "MeterReadingRejected"]))) or 0


def _balances(settings: Settings) -> dict[str, int]:
    return TokenLedger.open(settings).balances(
        ["DSO-1", "AGG-1", "AGG-2", "CUST-A", "CUST-B", "CUST-C"])


def test_fr_mp_set_4_pods_are_settled_per_mtu_with_the_penalty_band(day: Day) -> None:
    with day.engine.connect() as conn:
        rows = {r.pod_id: r for r in conn.execute(select(PodSettlementRow))}
    assert {p: (r.payment_cents, r.penalty_cents, r.customer_cents, r.penalised)
            for p, r in rows.items()} == {
        "POD-A": (40, 0, 20, False), "POD-B": (30, 20, 0, True), "POD-C": (0, 50, 0, True)}
    mtus = rows["POD-C"].payload["mtus"]
    assert [(m["mtu"], m["measured"], m["delivered"]) for m in mtus] == [
        (40, None, 0.0), (41, None, 0.0)], "a forged reading proves no delivery"


def test_fr_mp_set_5_tokens_move_and_are_conserved(day: Day) -> None:
    """DSO-1 pays AGG-1 for POD-A (40) and POD-B (30 − 20), AGG-1 pays CUST-A its half of
    40; AGG-2 owes 50 it does not have: outstanding, not paid, nothing invented."""
    with day.engine.connect() as conn:
        transfers = {(t.kind, t.payer_id, t.payee_id, t.amount_cents) for t in conn.execute(
            select(TokenTransferRow))}
        (run,) = conn.execute(select(DaySettlementRow)).all()
    assert transfers == {("payment", "DSO-1", "AGG-1", 40), ("payment", "DSO-1", "AGG-1", 10),
                         ("customer_reward", "AGG-1", "CUST-A", 20)}
    assert (run.outstanding_cents, run.paid_cents) == (50, 70)
    balances = _balances(day.settings)
    assert balances == {"DSO-1": 9_950, "AGG-1": 30, "AGG-2": 0, "CUST-A": 20, "CUST-B": 0,
                        "CUST-C": 0}
    tokens = TokenLedger.open(day.settings)
    assert sum(balances.values()) == tokens.total_supply() == tokens.total_funded() == 10_000


def test_funding_pays_what_was_outstanding_and_a_replay_pays_nobody_twice(day: Day) -> None:
    """AGG-2 is funded and its penalty is paid (run 2); then a second worker reads every
    topic from offset 0 and settles again: no transfer, no balance changes."""
    publish(day.settings, [new_event(OperatorFunded(funding_id="F-2", operator_id="AGG-2",
                                                    amount_cents=100), actor="AGG-2")])
    with WorkerProcess(day.settings, day.tmp / "worker-2.log") as worker:
        day.wait(worker, DaySettlementRow, 2, "the outstanding penalty paid")
    after_funding = _balances(day.settings)
    assert (after_funding["AGG-2"], after_funding["DSO-1"]) == (50, 10_000)
    transfers = day.count(TokenTransferRow)

    replay = day.settings.model_copy(update={"app_id": day.settings.app_id + "-replay",
                                             "processors": "projector,settlement"})
    with WorkerProcess(replay, day.tmp / "replay.log") as worker:
        worker.wait_until(lambda: "settlement replayed" in _replayed(day), what="replay",
                          timeout_s=30)
    assert day.count(TokenTransferRow) == transfers == 4
    assert day.count(DaySettlementRow) == 2
    assert _balances(day.settings) == after_funding
    tokens = TokenLedger.open(day.settings)
    assert sum(after_funding.values()) == tokens.total_supply() == tokens.total_funded()


def _replayed(day: Day) -> str:
    # The replaying worker has read the day's bundle and both fundings once its group's
    # committed offsets pass them; until then settling again could still be under way.
    from ledger.kafka_log import committed_offsets, end_offsets
    from ledger.topics import Topic, topic_name

    names = [topic_name(day.settings, t) for t in (Topic.READINGS, Topic.SETTLEMENTS)]
    ends = end_offsets(day.settings, names)
    done = committed_offsets(day.settings, day.settings.app_id + "-replay", names)
    return "settlement replayed" if all(done.get(k, 0) >= e for k, e in ends.items()) else ""


def test_fr_mp_set_6_7_settlements_and_wallets_are_their_owners(day: Day) -> None:
    with _client(day.settings) as client:
        own = client.get("/v1/participants/AGG-1/settlements", params={"day": "2026-11-30"},
                         headers=as_aggregator("AGG-1"))
        assert own.status_code == 200
        assert [i["pod_id"] for i in own.json()["items"]] == ["POD-A", "POD-B"]
        month = client.get("/v1/participants/DSO-1/settlements",
                           params={"day": "2026-11-02", "period": "month", "format": "csv"},
                           headers=as_dso("DSO-1"))
        assert month.status_code == 200 and month.headers["content-type"].startswith("text/csv")
        lines = month.text.strip().splitlines()
        assert lines[0].startswith("delivery_day,pod_id") and len(lines) == 4
        other = client.get("/v1/participants/AGG-1/settlements", params={"day": "2026-11-30"},
                           headers=as_aggregator("AGG-2"))
        assert (other.status_code, other.json()["code"]) == (403, "NOT_YOURS")
        wallet = client.get("/v1/wallets/CUST-A", headers=bearer("CUST-A", "customer"))
        assert wallet.status_code == 200
        assert (wallet.json()["balance_cents"], len(wallet.json()["transfers"])) == (20, 1)
        assert client.get("/v1/wallets/CUST-A",
                          headers=bearer("CUST-B", "customer")).status_code == 403
        assert client.get("/v1/wallets/CUST-A").status_code == 401


def test_an_aggregator_reading_another_aggregators_pod_gets_403(day: Day) -> None:
    """Platone A.5 access matrix: an aggregator reads its own PoDs, the DSO any."""
    period = {"from": "2026-11-30T09:00:00Z", "to": "2026-11-30T09:30:00Z"}
    with _client(day.settings) as client:
        own = client.get("/v1/scd/pods/POD-A/readings", params=period,
                         headers=as_aggregator("AGG-1"))
        assert own.status_code == 200
        assert [r["status"] for r in own.json()["readings"]] == ["certified", "certified"]
        stranger = client.get("/v1/scd/pods/POD-A/readings", params=period,
                              headers=as_aggregator("AGG-2"))
        assert (stranger.status_code, stranger.json()["code"]) == (403, "NOT_YOURS")
        dso = client.get("/v1/scd/pods/POD-C/readings", params=period,
                         headers=as_dso(day.settings.dso_id))
        assert dso.status_code == 200
        body = dso.json()
        assert [r["status"] for r in body["readings"]] == ["pending", "pending"]
        assert {r["code"] for r in body["rejections"]} == {"BAD_SIGNATURE"}


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_the_end_of_day_kpi_report_reads_the_day(day: Day) -> None:
    """KPI_PR_03: 10 kW offered per PoD over 20 kW baselines, 50 %; KPI_PR_04: delivered
    8, 6 and (forged) 0 of 10 kW in each MTU, (0.8 + 0.6 + 0) / 3 = 46.7 %; KPI_PR_02: all
    three customers offered; KPI_PR_01 from the campaign's 30 contacted, 10 %."""
    with _client(day.settings) as client:
        answer = client.get("/v1/kpis/end-of-day", params={"delivery_day": "2026-11-30",
                                                           "customers_contacted": 30},
                            headers=as_dso(day.settings.dso_id))
    assert answer.status_code == 200
    lines = {(line["kpi"], line["scope"]): line for line in answer.json()["lines"]}
    assert lines[("KPI_PR_01", "all")]["value_pct"] == pytest.approx(10.0)
    assert lines[("KPI_PR_02", "all")]["value_pct"] == pytest.approx(100.0)
    assert lines[("KPI_PR_03", "congestion up")]["value_pct"] == pytest.approx(50.0)
    effectiveness = lines[("KPI_PR_04", "congestion")]
    assert effectiveness["value_pct"] == pytest.approx(140 / 3)
    assert effectiveness["met"] is False
    assert {kpi for kpi, _ in lines} >= {"KPI_IT_02", "KPI_IT_03"}


def test_a_transfer_paid_but_never_announced_is_announced_from_the_chain(day: Day) -> None:
    """A run that paid a transfer and stopped before publishing it: the next run finds
    it paid on chain, announces it with that transaction, pays the rest, and moves no
    token twice."""
    other_day = date(2026, 11, 29)
    awards = [SettledAward(request_id="REQ-9", requester_id="DSO-1", aggregator_id="AGG-1",
                           pod_id="POD-A", mtu=40, direction="up", quantity_type="P",
                           quantity=10.0, value_cents=25)]
    mechanism = SettlementMechanismCreated(mechanism_id="MECH-1", aggregator_id="AGG-1",
                                           revenue_share_pct=50, reward_cents_per_kwh=0,
                                           penalty_pass_through_pct=100)
    outcome = settle_pod(other_day, "POD-A", PodAccount("AGG-1", "CUST-A", "MECH-1"), awards,
                         {40: (20.0, 5.0)}, {40: (12.0, 1.0)}, mechanism, SettlementRules())
    transfers = transfers_of(outcome, day.settings.topic_prefix)
    assert [(t.kind, t.amount_cents) for t in transfers] == [("payment", 20),
                                                            ("customer_reward", 10)]
    tokens = TokenLedger.open(day.settings)
    before = _balances(day.settings)
    earlier = tokens.settle(transfers[:1])  # the run that stopped before announcing it
    events = pay_day(day.settings, day.engine, tokens, other_day, [outcome], True)
    announced = {e.payload["settlement_id"]: e.payload for e in events
                 if e.type == "TokensTransferred"}
    assert set(announced) == {t.settlement_id for t in transfers}
    assert announced[transfers[0].settlement_id]["tx_hash"] == earlier.tx_hash
    after = _balances(day.settings)
    assert (after["DSO-1"], after["AGG-1"], after["CUST-A"]) == (
        before["DSO-1"] - 20, before["AGG-1"] + 10, before["CUST-A"] + 10)
