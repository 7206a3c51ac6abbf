"""Metering and settlement: signed light-node packets in → certified readings projected
into PostgreSQL, end to end with every signature checked, against plain Kafka produce +
consume of the same packets in the same run; and one delivery day of 10,000 awarded PoDs
settled and paid in FlexTokens on anvil.

Run by ``make bench``; prints a readable summary and, as its last line, one JSON object.
Rome's 1.6 million PoDs at one reading each per 15 minutes need about 1,800 readings/s;
the aim is 5,000.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text

from access_layer.domain.events import LightNodeEnrolled
from access_layer.ingest import packet_pod, send_packets
from access_layer.simulator import SimulatedNode, node_for, simulate_day
from access_layer.store.models import MeterReadingRow
from aggregator.store.models import BaselineRow
from bench._common import bench_settings, pod_registrations
from bench.ledger_throughput import ROME_EVENTS_PER_S, kafka_raw
from ledger.catalog import new_event
from ledger.chain import ensure_deployed
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import PodRow
from ledger.worker_process import WorkerProcess
from market.chain.tokens import TokenLedger
from market.domain.calendar import delivery_mtus
from market.processors.settlement import pay_day, settle_day
from market.store.models import AwardRow, FlexOfferRow, OutcomeRow, SettlementMechanismRow

DAY = date(2026, 11, 30)
AWARDED_MTUS = range(40, 44)


def _count(engine, table: str, like: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE pod_id LIKE :p"),
                            {"p": like}).scalar_one()


def certification(settings: Settings, pods: int, split: bool) -> dict[str, float]:
    """A simulated day of readings of ``pods`` enrolled PoDs' light nodes, certified.

    With ``split``, the blockchain access layer runs in a worker of its own (its own
    consumer group), beside the projector's, as a deployment scales it; else one worker
    runs both.
    """
    run = uuid.uuid4().hex[:8]
    together = settings.model_copy(update={
        "processors": "projector" if split else "projector,certification"})
    bal = settings.model_copy(update={"processors": "certification",
                                      "app_id": f"{settings.app_id}-bal-{run}"})
    upgrade(settings.read_model_url)
    engine = create_engine(settings.read_model_url)
    registrations = pod_registrations(pods, run)
    nodes = [SimulatedNode(e.key, node_for(e.key, run)) for e in registrations]
    enrolments = [new_event(LightNodeEnrolled(pod_id=n.pod_id, aggregator_id="AGG-1",
                                              node_address=n.node.address), actor="AGG-1")
                  for n in nodes]
    print(f"  the simulator signs a day of readings of {pods:,} light nodes (1-minute "
          "samples) …", flush=True)
    packets = list(simulate_day(nodes, DAY, ZoneInfo(settings.time_zone), seed=1))
    logs = settings.var_dir / "log"
    with ExitStack() as stack:
        worker = stack.enter_context(WorkerProcess(together, logs / "bench-metering.log"))
        if split:
            stack.enter_context(WorkerProcess(bal, logs / "bench-metering-bal.log"))
        producer = stack.enter_context(EventProducer(settings))
        producer.publish_all(registrations + enrolments)
        worker.wait_until(lambda: _count(engine, "light_nodes", f"{run}-%") == pods,
                          what="light nodes enrolled", timeout_s=600, poll_s=0.2)
        send_packets(settings, packets[:pods])  # warm-up: the first quarter-hour
        worker.wait_until(lambda: _count(engine, "meter_readings", f"{run}-%") == pods,
                          what="warm-up readings", timeout_s=600, poll_s=0.1)
        measured = packets[pods:]
        start = time.perf_counter()
        send_packets(settings, measured)
        produced_s = time.perf_counter() - start
        worker.wait_until(lambda: _count(engine, "meter_readings", f"{run}-%") >= len(packets),
                          what=f"{len(measured):,} readings certified", timeout_s=1200,
                          poll_s=0.1, report_every_s=10)
        total_s = time.perf_counter() - start
    engine.dispose()
    return {"packets": len(measured), "certified_per_s": len(measured) / total_s,
            "produce_s": produced_s, "end_to_end_s": total_s,
            "sample": measured}


def _fill_day(settings: Settings, pods: int, run: str) -> None:
    """One day's read models for ``pods`` PoDs, written straight into SQL (what the
    projector would have written): each awarded 10 kW up in four MTUs by one DSO, with a
    baseline and readings that deliver 80 %, and a revenue-sharing mechanism."""
    engine = create_engine(settings.read_model_url)
    now = datetime.now(UTC)
    zone_mtus = delivery_mtus(DAY, ZoneInfo(settings.time_zone))
    session = f"DA-{DAY.isoformat()}"
    outcome_id = str(uuid.uuid4())
    ids = [f"{run}-{i:07d}" for i in range(pods)]
    with engine.begin() as conn:
        conn.execute(insert(SettlementMechanismRow).values(
            mechanism_id=f"{run}-MECH", aggregator_id="AGG-1", revenue_share_pct=60.0,
            reward_cents_per_kwh=1.0, penalty_pass_through_pct=50.0, terms="",
            created_at=now, event_id=str(uuid.uuid4())))
        conn.execute(insert(PodRow), [dict(
            pod_id=p, aggregator_id="AGG-1", customer_id=f"C-{p}", primary_substation="PS-1",
            mv_feeder="PS-1-F1", secondary_substation="SS-5", up_p_kw=20.0, down_p_kw=0.0,
            up_q_kvar=0.0, down_q_kvar=0.0, flexibility_type="continuous",
            settlement_mechanism_id=f"{run}-MECH", active=True, pom_id="PS-1",
            registered_at=now, last_event_id=str(uuid.uuid4())) for p in ids])
        conn.execute(insert(FlexOfferRow), [dict(
            offer_id=f"OFR-{p}", session_id=session, aggregator_id="AGG-1", pod_id=p,
            quantity_type="P", direction="up", divisible=True, steps=[], block=None,
            player_service_id=f"AGG-1::{p}::DA::{DAY}", withdrawn=False, submitted_at=now,
            event_id=str(uuid.uuid4())) for p in ids])
        conn.execute(insert(OutcomeRow).values(
            event_id=outcome_id, session_id=session, stage="validated",
            market_outcome_event_id=str(uuid.uuid4()), published_at=now, payload={}))
        conn.execute(insert(AwardRow), [dict(
            event_id=outcome_id, line=i * len(AWARDED_MTUS) + k, session_id=session,
            stage="validated", request_id="REQ-1", requester_id="DSO-BENCH",
            offer_id=f"OFR-{p}", aggregator_id="AGG-1", pod_id=p, mtu=m, quantity=10.0,
            price_eur_per_mwh=100.0, value_cents=25)
            for i, p in enumerate(ids) for k, m in enumerate(AWARDED_MTUS)])
        conn.execute(insert(BaselineRow), [dict(
            pod_id=p, delivery_day=DAY, aggregator_id="AGG-1", method="uploaded",
            slots=[{"mtu": m.index, "p_kw": 20.0, "q_kvar": 0.0} for m in zone_mtus],
            uploaded_at=now, event_id=str(uuid.uuid4())) for p in ids])
        conn.execute(insert(MeterReadingRow), [dict(
            pod_id=p, interval_start=zone_mtus[m].start, p_kw=12.0, q_kvar=0.0,
            energy_kwh=3.0, node_address="0x" + "0" * 40, event_id=str(uuid.uuid4()))
            for p in ids for m in AWARDED_MTUS])
    engine.dispose()


def settlement(settings: Settings, pods: int) -> dict[str, float]:
    """Settle and pay one day of ``pods`` awarded PoDs on the stack's anvil."""
    run = uuid.uuid4().hex[:8]
    upgrade(settings.read_model_url)
    print(f"  writing one day of {pods:,} awarded PoDs into the read models …", flush=True)
    _fill_day(settings, pods, run)
    ensure_deployed(settings)
    tokens = TokenLedger.open(settings)
    tokens.fund("DSO-BENCH", pods * 100_000, f"bench-{run}")
    engine = create_engine(settings.read_model_url)
    start = time.perf_counter()
    outcomes = settle_day(settings, engine, DAY, datetime.now(UTC))
    computed_s = time.perf_counter() - start
    paid = pay_day(settings, engine, tokens, DAY, outcomes.settled, True)
    total_s = time.perf_counter() - start
    engine.dispose()
    transfers = sum(1 for e in paid if e.type == "TokensTransferred")
    txs = len({e.payload["tx_hash"] for e in paid if e.type == "TokensTransferred"})
    return {"pods": len(outcomes.settled), "compute_s": computed_s, "settlement_s": total_s,
            "transfers": transfers, "transactions": txs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=500,
                        help="light nodes sending a day of readings each")
    parser.add_argument("--settle-pods", type=int, default=10_000)
    args = parser.parse_args()
    settings = bench_settings(chain=True)
    print(f"metering: {args.pods:,} light nodes × one day of quarter-hours, "
          f"{settings.topic_partitions} partitions, read models on PostgreSQL")
    print("  the access layer in a worker of its own, beside the projector's:")
    cert = certification(settings, args.pods, split=True)
    print("  one worker running both:")
    single = certification(settings, args.pods, split=False)
    raw = kafka_raw(settings, [(packet_pod(p) or b"", p) for p in cert["sample"]])
    print(f"settlement: one day of {args.settle_pods:,} PoDs on anvil")
    settled = settlement(settings, args.settle_pods) if args.settle_pods else {
        "pods": 0, "compute_s": 0.0, "settlement_s": 0.0, "transfers": 0, "transactions": 0}
    result = {
        "packets": cert["packets"],
        "certified_readings_per_s": round(cert["certified_per_s"], 1),
        "single_worker_readings_per_s": round(single["certified_per_s"], 1),
        "kafka_raw_events_per_s": round(raw, 1),
        "ratio": round(cert["certified_per_s"] / raw, 3),
        "end_to_end_s": round(cert["end_to_end_s"], 2),
        "rome_readings_per_s": round(ROME_EVENTS_PER_S),
        "target_readings_per_s": 5000,
        "settlement_pods": settled["pods"],
        "settlement_s": round(settled["settlement_s"], 2),
        "settlement_compute_s": round(settled["compute_s"], 2),
        "settlement_transfers": settled["transfers"],
        "settlement_transactions": settled["transactions"],
    }
    print(f"  certified end to end (packets → PostgreSQL): "
          f"{result['certified_readings_per_s']:>9,.0f} readings/s (two workers), "
          f"{result['single_worker_readings_per_s']:,.0f} (one)")
    print(f"  plain Kafka produce+consume, same packets:    "
          f"{result['kafka_raw_events_per_s']:>9,.0f} records/s  (ratio {result['ratio']:.3f})")
    print(f"  Rome needs ≈ {ROME_EVENTS_PER_S:,.0f} readings/s; the aim is 5,000")
    print(f"  settlement of {settled['pods']:,} PoDs: {result['settlement_s']:.1f} s "
          f"({result['settlement_compute_s']:.1f} s computing, {settled['transfers']:,} "
          f"transfers in {settled['transactions']} transactions)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
