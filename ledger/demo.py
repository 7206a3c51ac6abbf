"""``make demo``: PoDs registered by three aggregators travel as events through Kafka and
the projector into the PostgreSQL read models, are anchored on the anvil chain in Merkle
batches, and one of them is proven against the chain; then one market day runs on a
simulated clock (``market.demo``: the day-ahead session, the delivery day's six real-time
sessions, setpoints, light nodes' readings, settlement), an independent audit scans it
(``market.demo_audit``) and a summary says what it did (``market.demo_summary``).
"""

from __future__ import annotations

import random
from collections import Counter

import click
from sqlalchemy import create_engine, func, select
from tqdm import tqdm

from aggregator.domain.events import (
    GridLocation,
    MaxFlexibility,
    PodRegistered,
    PodUnregistered,
    PodUpdated,
)
from deploy.stack.services import services
from dso.domain.grid import Grid, load_grid
from ledger.audit.proofs import ProofService
from ledger.audit.verify import verify
from ledger.catalog import new_event
from ledger.chain import ensure_deployed
from ledger.envelope import Event
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.digest import table_digests
from ledger.store.migrate import upgrade
from ledger.store.models import AnchorBatchRow, DeadLetterRow, EventRow, PodRow
from ledger.store.queries import find_batch
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess
from market.demo import run_market_day
from market.demo_audit import run_audit
from market.demo_browse import report_and_dashboard
from market.demo_summary import day_summary, print_summary, zero_counts
from market.demo_support import wait_or_fail
from market.domain.events import SettlementMechanismCreated

AGGREGATORS = ("AGG-ROMA-1", "AGG-ROMA-2", "AGG-ROMA-3")


def registry_events(pods: int, grid: Grid, seed: int = 7) -> list[Event]:
    """The aggregators' settlement mechanisms, PoDs spread over them and the secondary
    substations of the DSO's grid, then a few changes."""
    rng = random.Random(seed)
    # Each aggregator shares 60 % of what a PoD earns with its customer, plus 2 cents per
    # kWh delivered, and passes half of any penalty on (FR_MP_SET_1).
    events: list[Event] = [new_event(SettlementMechanismCreated(
        mechanism_id=f"MECH-{a}", aggregator_id=a, revenue_share_pct=60.0,
        reward_cents_per_kwh=2.0, penalty_pass_through_pct=50.0,
        terms="60 % of revenue, 2 cents/kWh, half of penalties"), actor=a) for a in AGGREGATORS]
    substations = [p.point_id for p in grid.of_kind("secondary_substation")]
    for i in range(pods):
        aggregator = AGGREGATORS[i % len(AGGREGATORS)]
        location = grid.location_of(substations[i % len(substations)])
        events.append(new_event(PodRegistered(
            pod_id=f"POD-{i:05d}", aggregator_id=aggregator, customer_id=f"CUST-{i:05d}",
            location=GridLocation(**location), settlement_mechanism_id=f"MECH-{aggregator}",
            max_flexibility=MaxFlexibility(up_p_kw=rng.choice((3.0, 6.0, 10.0, 50.0)),
                                           down_p_kw=rng.choice((0.0, 3.0, 6.0)),
                                           up_q_kvar=0.0, down_q_kvar=0.0)), actor=aggregator))
    for i in range(0, pods, 10):
        aggregator = AGGREGATORS[i % len(AGGREGATORS)]
        events.append(new_event(PodUpdated(
            pod_id=f"POD-{i:05d}", aggregator_id=aggregator, flexibility_type="discrete",
            max_flexibility=MaxFlexibility(up_p_kw=20.0, down_p_kw=5.0, up_q_kvar=2.0,
                                           down_q_kvar=2.0)), actor=aggregator))
    events.append(new_event(PodUnregistered(pod_id="POD-00001", aggregator_id=AGGREGATORS[1],
                                            reason="customer moved"), actor=AGGREGATORS[1]))
    return events


def run_demo(settings: Settings, *, pods: int) -> None:
    """Start the stack, publish registry events, wait for the projection, run a market
    day on a simulated clock, audit it and print what it did."""
    # The demo is the demo profile: the stack's well-known secrets and signing key.
    settings = settings.model_copy(update={"profile": "demo"})
    if not settings.database_url:
        settings = settings.model_copy(update={"database_url": settings.postgres_url})
    click.secho("1. local stack", bold=True)
    for service in services(settings):
        service.start()
        status = service.status()
        click.echo(f"   {status.name:<9} {status.where:<24} {status.detail}")
    ensure_topics(settings)
    upgrade(settings.read_model_url)
    deployment, _ = ensure_deployed(settings)
    click.echo(f"   contracts  EventAnchor {deployment.addresses['EventAnchor']}")

    click.secho("2. worker: projector and anchor processor (Faust)", bold=True)
    engine = create_engine(settings.read_model_url)
    with WorkerProcess(settings, settings.var_dir / "log" / "demo-worker.log") as worker:
        events = registry_events(pods, load_grid(settings.dso_grid))
        click.secho(f"3. publishing {len(events)} registry events to Kafka", bold=True)
        with EventProducer(settings) as producer:
            producer.publish_all(events)
        _wait_projected(engine, [str(e.event_id) for e in events], worker)
        _wait_anchored(engine, [str(e.event_id) for e in events], worker)
    _summary(engine, events)
    _audit(settings, engine, events[len(events) // 2], deployment.addresses["EventAnchor"])
    engine.dispose()  # the stack's read models; the market day runs on a deployment of its own
    market, plan = run_market_day(settings, registry_events(pods, load_grid(settings.dso_grid)))
    audit = run_audit(market, plan)
    # The demo's own deployment (topics demo-<run>., a SQLite read-model file), its day
    # and sessions: what the summary reads, and what a report of the day would read.
    settings, engine, day, session_ids = (market.settings, market.engine, market.day,
                                          market.session_ids)
    try:
        summary = day_summary(settings, engine, day, session_ids, audit=audit)
        print_summary(summary)
        missing = zero_counts(summary)
        if missing:
            raise click.ClickException(f"stages that counted nothing: {', '.join(missing)}")
        report_and_dashboard(settings, engine, day, summary)
    finally:
        engine.dispose()


def _wait_projected(engine, event_ids: list[str], worker: WorkerProcess,  # type: ignore[no-untyped-def]
                    timeout_s: float = 120.0) -> None:
    with tqdm(total=len(event_ids), desc="   projected", unit="ev", mininterval=2.0) as bar:

        def all_projected() -> bool:
            with engine.connect() as conn:
                done = conn.scalar(select(func.count()).select_from(EventRow)
                                   .where(EventRow.event_id.in_(event_ids)))
            bar.update(done - bar.n)
            return bar.n >= len(event_ids)

        wait_or_fail(worker, all_projected, "the events projected", timeout_s)


def _wait_anchored(engine, event_ids: list[str], worker: WorkerProcess,  # type: ignore[no-untyped-def]
                   timeout_s: float = 120.0) -> None:
    """Until every event is in an anchored batch: the last of each partition, since a
    partition's batches are anchored in order (the events spread over partitions whose
    backlogs differ, so the last one published says nothing of the others)."""

    def anchored() -> bool:
        with engine.connect() as conn:
            last: dict[tuple[str, int], int] = {}
            for row in conn.execute(select(EventRow.topic, EventRow.partition, EventRow.offset)
                                    .where(EventRow.event_id.in_(event_ids))):
                key = (row.topic, row.partition)
                last[key] = max(last.get(key, -1), row.offset)
            return all(find_batch(conn, topic, partition, offset) is not None
                       for (topic, partition), offset in last.items())

    wait_or_fail(worker, anchored, "the events anchored (is anvil up?)", timeout_s)


def _audit(settings: Settings, engine, event: Event,  # type: ignore[no-untyped-def]
           anchor_address: str) -> None:
    click.secho("5. an auditor checks one event against the chain", bold=True)
    with engine.connect() as conn:
        batches = conn.scalar(select(func.count()).select_from(AnchorBatchRow))
    click.echo(f"   {batches} batches anchored on chain (GET /audit/batches)")
    proof = ProofService(settings, engine).proof(str(event.event_id))
    click.echo(f"   proof of {event.type} {event.event_id}: leaf {proof.leaf_index + 1} of "
               f"{proof.batch.count}, {len(proof.path)} sibling hashes")
    verdict = verify(proof, settings.chain_endpoint, anchor_address)
    for step in verdict.steps:
        click.echo(f"   {step}")
    if not verdict.ok:
        raise click.ClickException("the event could not be proven against the chain")
    click.echo("   the same from a shell: flexmarket serve & "
               f"flexmarket audit verify {event.event_id}")


def _summary(engine, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
    click.secho("4. what happened", bold=True)
    for event_type, n in sorted(Counter(e.type for e in events).items()):
        click.echo(f"   {n:>6} × {event_type}")
    with engine.connect() as conn:
        per_aggregator = conn.execute(
            select(PodRow.aggregator_id, func.count(), func.sum(PodRow.up_p_kw))
            .where(PodRow.active).group_by(PodRow.aggregator_id)
            .order_by(PodRow.aggregator_id)).all()
        dead = conn.scalar(select(func.count()).select_from(DeadLetterRow))
    click.echo("   active PoDs in the read model (Shared Customer Database):")
    for aggregator, count, up_kw in per_aggregator:
        click.echo(f"     {aggregator:<12} {count:>5} PoDs  {up_kw:>9.1f} kW upward flexibility")
    click.echo(f"   dead letters: {dead}")
    click.echo("   table digests (equal after any replay of the same log):")
    for table, digest in table_digests(engine).items():
        click.echo(f"     {table:<18} {digest['rows']:>7} rows  sha256 {digest['sha256'][:16]}…")
